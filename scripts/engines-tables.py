#!/usr/bin/env python3
"""engines-tables.py - the per-engine tables of docs/engines.md, from the
binary itself: for each model/GPU pair, the settings `vgmo plan --engine`
computes and the memory the planner predicts for that engine's allocation
rule.

usage: scripts/engines-tables.py path/to/vgmo            # print the tables
       scripts/engines-tables.py path/to/vgmo --check docs/engines.md
                                     # exit 1 when a table is not in the doc
"""
import json
import subprocess
import sys

GIB = float(1 << 30)

# One request: one image, 128 text tokens, 256 output tokens; 32 requests in
# flight per instance. Qwen2-VL gets a pixel cap of 1280 tokens a image.
PAIRS = [
    ("qwen2-vl-7b", "h100-80gb", ["--max-pixels", "1003520"]),
    ("qwen2-vl-2b", "l4-24gb", ["--max-pixels", "1003520"]),
    ("llava-1.5-7b", "a100-40gb", ["--image", "1024x1024"]),
    ("smolvlm-instruct", "l4-24gb", ["--image", "1024x1024"]),
    ("internvl2-8b", "rtx4090-24gb", ["--image", "1024x1024"]),
    ("idefics3-8b", "l40s-48gb", ["--image", "1536x1536"]),
]
COMMON = ["--text-tokens", "128", "--max-output-tokens", "256",
          "--concurrency", "32"]

COLUMNS = {
    "vllm": ["--gpu-memory-utilization", "--max-model-len", "--max-num-seqs",
             "--max-num-batched-tokens", "--mm-processor-kwargs"],
    "sglang": ["--mem-fraction-static", "--context-length",
               "--max-running-requests", "--chunked-prefill-size"],
    "tgi": ["--cuda-memory-fraction", "--max-input-tokens",
            "--max-total-tokens", "--max-batch-prefill-tokens",
            "--max-batch-total-tokens", "--max-batch-size"],
    "transformers": ["batch_size", "max_pixels", "max_new_tokens"],
}


def plan(vgmo, engine, model, gpu, extra):
    out = subprocess.run(
        [vgmo, "plan", "--engine", engine, "--model", model, "--gpu", gpu,
         *extra, *COMMON, "--json"], capture_output=True, text=True,
        check=True).stdout
    return json.loads(out)


def cell(js, flag):
    v = js["settings"].get(flag)
    if v is None:
        return "-"
    if flag == "--mm-processor-kwargs":
        return "max_pixels %d" % js["kwargs"]["mm_processor_kwargs"][
            "max_pixels"]
    return v


def table(vgmo, engine):
    cols = COLUMNS[engine]
    head = ["model", "GPU"] + ["`%s`" % c for c in cols]
    if engine == "transformers":
        head += ["predicted peak GiB", "KV GiB", "free after GiB"]
    else:
        head += ["instance GiB", "KV pool GiB", "KV tokens",
                 "seqs at full length", "free after GiB"]
    rows = ["| " + " | ".join(head) + " |",
            "|" + " --- |" * len(head)]
    for model, gpu, extra in PAIRS:
        js = plan(vgmo, engine, model, gpu, extra)
        p = js["predicted"]
        r = [model, gpu] + [cell(js, c) for c in cols]
        r.append("%.2f" % (p["instance_bytes"] / GIB))
        r.append("%.2f" % (p["kv_pool_bytes"] / GIB))
        if engine != "transformers":
            r.append("%d" % p["kv_pool_tokens"])
            r.append("%d" % p["sequences_at_max_len"])
        r.append("%.2f" % (p["headroom_bytes"] / GIB))
        rows.append("| " + " | ".join(r) + " |")
    return "\n".join(rows)


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--check"):
        sys.exit(__doc__.strip().split("\n\n")[1])
    vgmo = argv[1]
    tables = {e: table(vgmo, e) for e in COLUMNS}
    if len(argv) == 2:
        for e, t in tables.items():
            print("### %s\n\n%s\n" % (e, t))
        return 0
    with open(argv[3]) as f:
        doc = f.read()
    bad = [e for e, t in tables.items() if t not in doc]
    for e in bad:
        print("%s: the %s table differs from what the binary computes:\n%s"
              % (argv[3], e, tables[e]), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
