#!/usr/bin/env python3
"""vlm-measure.py - what batches of real VLM architectures cost on a GPU.

Builds vision-language models from their public configurations with random
weights (no download: the config objects are made in code, scripts/
vlmbench.py), in bf16 on the GPU, and runs a grid of batches over batch
size x image size x images per request x prompt tokens x max_new_tokens,
in generate mode (model.generate, as a worker runs it) and in forward
mode (one forward pass, no KV cache). For each batch it measures the
peak allocated and reserved bytes (torch.cuda.max_memory_allocated /
max_memory_reserved, reset before each batch), the bytes of the KV cache,
NVML's used bytes at their peak, prefill and decode seconds, and whether
it ran out of memory. One JSON line per point, flushed as it is written;
the fields are listed in bench/measurements/README.md (and by
--list-fields). Progress goes to stderr.

The grid is budgeted (--budget-seconds, from the script's start): each
model gets an equal share of the time left when its turn comes, its points
run in order of importance, a point predicted not to fit in its share is
skipped (and written as skipped), a sweep stops at its first out-of-memory
batch, and measured times correct the predictions as the run goes.

    python3 scripts/vlm-measure.py --output vlm.jsonl      # on a GPU
    python3 scripts/vlm-measure.py --dry-run               # no torch

--dry-run plans the same grid without torch, writes the same lines with
null measurements and "dry_run": true, and prints the planned point count
and the estimated time on stderr.
"""

import argparse
import datetime
import gc
import json
import os
import platform
import random
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vlmbench  # noqa: E402
from vlmbench import GIB, IMAGES, MODELS, now  # noqa: E402

SCRIPT_VERSION = "1.0"
FORMAT = "vgmo-vlm-measure"
FORMAT_VERSION = 1
DEFAULT_MODELS = ["qwen2-vl-7b", "llava-1.5-7b", "smolvlm-instruct",
                  "qwen2-vl-2b", "qwen2.5-vl-7b"]
# An H100 80GB as the dry run assumes it (what torch reports of one).
PLAN_GPU_BYTES = int(79.1 * GIB)
IMPORT_SECONDS = 20.0  # torch + transformers import, CUDA init (a guess)
POINT_OVERHEAD = 0.3   # input building, synchronisation, cleanup

#: Every line's fields, in order. Every line has all of its kind's fields
#: (null where not known); emit() refuses anything else, so the dry run
#: shows the exact format and `vgmo plan --check` reads every run.
FIELDS = {
    "header": ["kind", "format", "format_version", "script_version",
               "dry_run", "started_utc", "command", "gpu_name",
               "gpu_total_bytes", "gpu_count", "driver_version",
               "cuda_version", "torch_version", "transformers_version",
               "python_version", "nvml_source", "dtype",
               "attn_implementation", "budget_seconds", "models",
               "planned_points", "plan_gpu_bytes", "seed"],
    "model": ["kind", "model", "arch", "config_source", "dry_run", "status",
              "reason", "params", "param_bytes", "weights_allocated_bytes",
              "reserved_bytes", "nvml_used_bytes", "build_seconds"],
    "point": ["kind", "model", "mode", "sweep", "status", "reason",
              "dry_run", "batch", "image", "image_width", "image_height",
              "images_per_request", "prompt_tokens", "max_new_tokens",
              "padding", "image_tokens", "input_tokens", "logits",
              "est_seconds", "oom", "new_tokens", "base_allocated_bytes",
              "peak_allocated_bytes", "peak_reserved_bytes",
              "prefill_peak_allocated_bytes", "kv_cache_bytes",
              "nvml_used_peak_bytes", "alloc_retries", "prefill_seconds",
              "decode_seconds", "total_seconds"],
    "end": ["kind", "dry_run", "status", "points_measured", "points_oom",
            "points_error", "points_skipped", "seconds", "est_seconds"],
}
MEASURED = ["oom", "new_tokens", "base_allocated_bytes",
            "peak_allocated_bytes", "peak_reserved_bytes",
            "prefill_peak_allocated_bytes", "kv_cache_bytes",
            "nvml_used_peak_bytes", "alloc_retries", "prefill_seconds",
            "decode_seconds", "total_seconds"]


class Output:
    """JSON lines, each written whole and flushed at once."""

    def __init__(self, f):
        self.f = f

    def emit(self, kind, **values):
        keys = FIELDS[kind]
        if set(values) != set(keys[1:]):
            raise AssertionError("%s line: fields %s" % (kind, sorted(
                set(values) ^ set(keys[1:]))))
        row = {"kind": kind}
        row.update((k, values[k]) for k in keys[1:])
        self.f.write(json.dumps(row, separators=(",", ":"),
                                allow_nan=False) + "\n")
        self.f.flush()


def log(msg, t0=None):
    stamp = "[%5.0fs] " % (now() - t0) if t0 is not None else ""
    print("vlm-measure: %s%s" % (stamp, msg), file=sys.stderr, flush=True)


# ----------------------------------------------------------------- grid

BASE = {"batch": 4, "image": "1024sq", "images": 1, "prompt": 64, "new": 16}
DYNAMIC_IMAGES = ["448sq", "1024sq", "a4-150dpi", "a4-200dpi", "2048sq"]
FIXED_IMAGES = ["448sq", "a4-200dpi"]  # the processor resizes them alike
SWEEPS = ["image", "new_tokens", "batch", "images", "prompt", "oom"]


class Point:
    def __init__(self, model, mode, shape, sweep):
        self.model = model
        self.mode = mode
        self.batch = shape["batch"]
        self.image = shape["image"]
        self.images = shape["images"]
        self.prompt = shape["prompt"]
        self.new = shape["new"] if mode == "generate" else 0
        self.sweep = sweep
        self.est = 0.0
        self.mem = 0.0

    def key(self):
        return (self.model, self.mode, self.batch, self.image, self.images,
                self.prompt, self.new)


def model_grid(spec, sweeps, modes):
    """(points in order of importance, sweeps as lists of point keys)."""
    images = FIXED_IMAGES if spec.rule == "fixed" else DYNAMIC_IMAGES

    def shapes(**kw):
        return dict(BASE, **kw)
    plan = [
        ("image", "generate", [shapes(image=i) for i in images]),
        ("image", "forward", [shapes(image=i) for i in images]),
        ("new_tokens", "generate", [shapes(new=n) for n in (1, 16, 64)]),
        ("batch", "generate", [shapes(image="a4-150dpi", batch=b)
                               for b in (1, 4, 8, 16, 32)]),
        ("batch", "forward", [shapes(image="a4-150dpi", batch=b)
                              for b in (1, 4, 8, 16, 32)]),
        ("images", "generate", [shapes(images=k) for k in (1, 2, 4)]),
        ("prompt", "generate", [shapes(prompt=t) for t in (16, 64, 512)]),
        ("oom", "forward", [shapes(image="2048sq", batch=b)
                            for b in (16, 32, 64, 128)]),
    ]
    points, seen, lists = [], {}, []
    for sweep, mode, shape_list in plan:
        if sweep not in sweeps or mode not in modes:
            continue
        keys = []
        for shape in shape_list:
            p = Point(spec.name, mode, shape, sweep)
            if p.key() not in seen:
                seen[p.key()] = p
                points.append(p)
            keys.append(p.key())
        lists.append(keys)
    for p in points:
        p.est, p.mem = predict(spec, p)
    return points, lists


def shape_of(spec, p):
    w, h = IMAGES[p.image]
    tokens, patches, _ = spec.image(w, h)
    length = vlmbench.input_length(spec, [(w, h)] * p.images, p.prompt)
    return tokens, patches, length


def predict(spec, p):
    """(seconds, bytes) a point is guessed to take: only to plan."""
    tokens, patches, length = shape_of(spec, p)
    all_patches = p.batch * p.images * patches
    seconds = (POINT_OVERHEAD + p.batch * length / spec.prefill_tps +
               all_patches / spec.vision_pps + p.new * spec.step_s)
    ctx = p.batch * (length + p.new)
    weights = 2 * spec.params
    kv = spec.kv_token * ctx if p.mode == "generate" else 0
    # The planner's per-token activations, tripled: a pessimistic guess.
    act = 3 * max(spec.act_token * p.batch * length,
                  spec.vision_patch_bytes * all_patches)
    return seconds, weights + kv + act


# ------------------------------------------------------------ schedule

class Budget:
    """Time left, shared equally by the models still to run."""

    def __init__(self, t0, seconds):
        self.deadline = t0 + seconds

    def slice_end(self, t, models_left):
        return t + max(0.0, self.deadline - t) / max(1, models_left)


class Stop(BaseException):
    """SIGTERM or SIGINT: write the end line and leave (a BaseException,
    so that a point's `except Exception` does not swallow it)."""


def on_signal(signum, frame):
    raise Stop()


# ------------------------------------------------------------ measure

class Runner:
    """Runs points of one model on the GPU."""

    def __init__(self, torch, transformers, spec, model, mem, seed):
        self.torch = torch
        self.transformers = transformers
        self.spec = spec
        self.model = model
        self.mem = mem
        self.rng = random.Random(seed)
        self.fwd_kw, self.logits = vlmbench.forward_kwargs(model)
        self.head_swap = False
        if self.logits == "all" and vlmbench.last_logits(torch, model).ok:
            self.head_swap, self.logits = True, "last"
        self._criteria = self._timer_class()

    def _timer_class(self):
        torch = self.torch
        base = getattr(self.transformers, "StoppingCriteria", object)

        class FirstToken(base):
            """Marks the end of the prefill: the first call comes after
            the first token is chosen."""

            def __init__(self):
                self.t_first = None
                self.prefill_peak = None

            def __call__(self, input_ids, scores, **kwargs):
                if self.t_first is None:
                    torch.cuda.synchronize()
                    self.t_first = now()
                    self.prefill_peak = int(torch.cuda.max_memory_allocated())
                return torch.zeros(input_ids.shape[0], dtype=torch.bool,
                                   device=input_ids.device)
        return FirstToken

    def requests(self, p):
        w, h = IMAGES[p.image]
        return [([(w, h)] * p.images, t)
                for t in vlmbench.text_lengths(p.prompt, p.batch)]

    def run(self, p):
        """Measures one point: a dict of the MEASURED fields, plus
        'status' and 'reason'."""
        torch, cuda = self.torch, self.torch.cuda
        res = dict.fromkeys(MEASURED)
        padding = "left" if p.mode == "generate" else "right"
        gc.collect()
        cuda.empty_cache()
        failure = None
        out = kw = None
        t0 = t_end = None
        timer = self._criteria()
        retries0 = cuda.memory_stats().get("num_alloc_retries", 0)
        cuda.reset_peak_memory_stats()
        self.mem.start()  # the inputs are part of the batch's memory
        try:
            kw, _ = vlmbench.build_batch(torch, self.spec, self.requests(p),
                                         padding, "cuda", self.rng)
            cuda.synchronize()
            res["base_allocated_bytes"] = int(cuda.memory_allocated())
            cuda.reset_peak_memory_stats()
            t0 = now()
            with torch.inference_mode():
                if p.mode == "generate":
                    out = self.model.generate(
                        **kw, max_new_tokens=p.new, min_new_tokens=p.new,
                        do_sample=False, num_beams=1, use_cache=True,
                        return_dict_in_generate=True,
                        pad_token_id=self.spec.pad,
                        stopping_criteria=self._criteria_list(timer))
                elif self.head_swap:
                    with vlmbench.last_logits(torch, self.model):
                        out = self.model(**kw, use_cache=False)
                else:
                    out = self.model(**kw, use_cache=False, **self.fwd_kw)
            cuda.synchronize()
            t_end = now()
        except Exception as e:  # noqa: BLE001 - every failure is recorded
            failure = e
        if failure is not None:
            oom = vlmbench.is_oom(torch, failure)
            res["status"] = "oom" if oom else "error"
            res["reason"] = ("%s: %s" % (type(failure).__name__,
                                         failure))[:400]
            res["oom"] = True if oom else None
            where = _where(failure)
            if not oom and where:
                res["reason"] = (res["reason"] + " at " + where)[:500]
            failure = None
        else:
            res["status"], res["reason"], res["oom"] = "measured", None, False
        res["nvml_used_peak_bytes"] = self.mem.stop()
        if res["status"] != "error":
            res["peak_allocated_bytes"] = int(cuda.max_memory_allocated())
            res["peak_reserved_bytes"] = int(cuda.max_memory_reserved())
            res["alloc_retries"] = int(cuda.memory_stats().get(
                "num_alloc_retries", 0) - retries0)
        if res["status"] == "measured":
            res["total_seconds"] = t_end - t0
            if p.mode == "generate":
                seqs = getattr(out, "sequences", out)
                res["new_tokens"] = int(seqs.shape[1] -
                                        kw["input_ids"].shape[1])
                res["kv_cache_bytes"] = vlmbench.cache_bytes(
                    torch, getattr(out, "past_key_values", None))
                res["prefill_peak_allocated_bytes"] = timer.prefill_peak
                if timer.t_first is not None:
                    res["prefill_seconds"] = timer.t_first - t0
                    res["decode_seconds"] = t_end - timer.t_first
            else:
                res["prefill_seconds"] = t_end - t0
                res["decode_seconds"] = 0.0
        out = kw = None
        gc.collect()
        cuda.empty_cache()
        return res

    def _criteria_list(self, timer):
        cls = getattr(self.transformers, "StoppingCriteriaList", None)
        return cls([timer]) if cls is not None else [timer]

    def warmup(self):
        """One small batch of each mode, not recorded: CUDA kernels,
        cuBLAS workspaces and the allocator's first blocks."""
        for mode in ("generate", "forward"):
            p = Point(self.spec.name, mode, dict(BASE, batch=1,
                                                 image="448sq", new=2),
                      "warmup")
            self.run(p)


def _where(exc):
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return None
    return "%s:%d" % (os.path.basename(last.tb_frame.f_code.co_filename),
                      last.tb_lineno)


# ---------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--output", "-o", help="JSONL file (default stdout)")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help="comma-separated, in order of priority "
                    "(default %(default)s)")
    ap.add_argument("--budget-seconds", type=float, default=300.0,
                    help="the whole run, from the start (default 300)")
    ap.add_argument("--sweeps", default=",".join(SWEEPS),
                    help="subset of %(default)s")
    ap.add_argument("--modes", default="generate,forward",
                    help="generate, forward or both (default both)")
    ap.add_argument("--attn", default="sdpa",
                    help="attn_implementation (default sdpa)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dry-run", action="store_true",
                    help="plan the grid and write the format without torch")
    ap.add_argument("--plan-gpu-gib", type=float,
                    default=PLAN_GPU_BYTES / GIB,
                    help="GPU memory the dry run plans for (default "
                    "%(default).1f, an H100 80GB)")
    ap.add_argument("--list-fields", action="store_true",
                    help="print every line kind's fields as JSON and exit")
    a = ap.parse_args(argv)
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in a.models:
        if m not in MODELS:
            ap.error("unknown model %r (choose from %s)" %
                     (m, ", ".join(MODELS)))
    if len(set(a.models)) != len(a.models):
        ap.error("--models lists a model twice")
    a.sweeps = [s.strip() for s in a.sweeps.split(",") if s.strip()]
    for s in a.sweeps:
        if s not in SWEEPS:
            ap.error("unknown sweep %r (choose from %s)" %
                     (s, ", ".join(SWEEPS)))
    a.modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    if not a.modes or set(a.modes) - {"generate", "forward"}:
        ap.error("--modes takes generate, forward or both")
    if not a.budget_seconds > 0:
        ap.error("--budget-seconds must be > 0")
    return a


def point_values(p, spec, status, reason, dry, logits, res=None):
    tokens, _, length = shape_of(spec, p)
    w, h = IMAGES[p.image]
    v = dict(model=p.model, mode=p.mode, sweep=p.sweep, status=status,
             reason=reason, dry_run=dry, batch=p.batch, image=p.image,
             image_width=w, image_height=h, images_per_request=p.images,
             prompt_tokens=p.prompt, max_new_tokens=p.new,
             padding="left" if p.mode == "generate" else "right",
             image_tokens=tokens, input_tokens=length, logits=logits,
             est_seconds=round(p.est, 3))
    for k in MEASURED:
        v[k] = (res or {}).get(k)
    return v


class Schedule:
    """Walks the models and their points under the budget; `execute`
    measures a point (None in a dry run: the prediction stands in)."""

    def __init__(self, args, out, t0, gpu_bytes):
        self.args = args
        self.out = out
        self.t0 = t0
        self.gpu_bytes = gpu_bytes
        self.budget = Budget(t0, args.budget_seconds)
        self.dry = args.dry_run
        self.clock = t0 + (IMPORT_SECONDS if self.dry else 0.0)
        self.counts = {"measured": 0, "oom": 0, "error": 0, "skipped": 0,
                       "planned": 0}
        self.budget_skips = 0
        self.errors_in_a_row = 0

    def time(self):
        return self.clock if self.dry else now()

    def advance(self, seconds):
        self.clock += seconds

    def run_model(self, name, index, execute, logits):
        """Points of one model: writes their lines."""
        spec = MODELS[name]
        points, sweeps = model_grid(spec, self.args.sweeps, self.args.modes)
        end = self.budget.slice_end(self.time(),
                                    len(self.args.models) - index)
        blocked = set()
        factor = 1.0
        broken = None
        for p in points:
            skip = None
            if broken:
                skip = "given up after 3 failed points in a row: " + broken
            elif p.key() in blocked:
                skip = "a smaller batch of its sweep ran out of memory"
            elif p.mem > 2 * self.gpu_bytes:
                skip = "predicted at %.0f GiB, over twice the GPU" % (
                    p.mem / GIB)
            elif self.time() + p.est * factor > end:
                skip = "budget: predicted %.1f s, %.1f s left for %s" % (
                    p.est * factor, max(0.0, end - self.time()), name)
                self.budget_skips += 1
            if skip:
                self.counts["skipped"] += 1
                self.out.emit("point", **point_values(
                    p, spec, "skipped", skip, self.dry, logits))
                continue
            if execute is None:
                self.advance(p.est)
                self.counts["planned"] += 1
                self.out.emit("point", **point_values(
                    p, spec, "planned", None, True, None))
                continue
            t = now()
            res = execute(p)
            took = now() - t
            if res["status"] == "measured":
                # Scale the predictions by what this model really takes.
                factor = 0.5 * factor + 0.5 * (took / max(p.est, 1e-3))
            self.counts[res["status"]] += 1
            if res["status"] == "oom":
                for keys in sweeps:
                    if p.key() in keys:
                        blocked.update(keys[keys.index(p.key()) + 1:])
            self.out.emit("point", **point_values(
                p, spec, res["status"], res["reason"], False, logits, res))
            log("%s %s b=%d %s x%d p%d n%d: %s" % (
                name, p.mode, p.batch, p.image, p.images, p.prompt, p.new,
                describe(res)), self.t0)
            if res["status"] != "error":
                self.errors_in_a_row = 0
                continue
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= 3:
                broken = (res["reason"] or "")[:200]
                log("%s: giving up after 3 failed points in a row" % name,
                    self.t0)
        return points

    def skip_model(self, name, reason):
        """Writes every point of a model that was not built as skipped."""
        spec = MODELS[name]
        for p in model_grid(spec, self.args.sweeps, self.args.modes)[0]:
            self.counts["skipped"] += 1
            self.out.emit("point", **point_values(
                p, spec, "skipped", reason, self.dry, None))


def describe(res):
    if res["status"] == "measured":
        return "peak %.2f GiB, KV %s, %.2f s" % (
            res["peak_allocated_bytes"] / GIB,
            "-" if res["kv_cache_bytes"] is None else
            "%.2f GiB" % (res["kv_cache_bytes"] / GIB),
            res["total_seconds"])
    return "%s (%s)" % (res["status"].upper(), (res["reason"] or "")[:160])


def header(args, env, planned, gpu_bytes):
    return dict(
        format=FORMAT, format_version=FORMAT_VERSION,
        script_version=SCRIPT_VERSION, dry_run=args.dry_run,
        started_utc=datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
        command=" ".join(["vlm-measure.py"] + sys.argv[1:]),
        gpu_name=env.get("gpu_name"), gpu_total_bytes=env.get("gpu_total"),
        gpu_count=env.get("gpu_count"), driver_version=env.get("driver"),
        cuda_version=env.get("cuda"), torch_version=env.get("torch"),
        transformers_version=env.get("transformers"),
        python_version=platform.python_version(),
        nvml_source=env.get("nvml_source"), dtype="bf16",
        attn_implementation=args.attn, budget_seconds=args.budget_seconds,
        models=args.models, planned_points=planned,
        plan_gpu_bytes=int(gpu_bytes), seed=args.seed)


def dry_run(args, out, t0):
    gpu = args.plan_gpu_gib * GIB
    sched = Schedule(args, out, t0, gpu)
    total = sum(len(model_grid(MODELS[m], args.sweeps, args.modes)[0])
                for m in args.models)
    out.emit("header", **header(args, {}, total, gpu))
    for i, name in enumerate(args.models):
        spec = MODELS[name]
        out.emit("model", model=name, arch=spec.arch,
                 config_source=spec.source, dry_run=True, status="planned",
                 reason=None, params=None, param_bytes=None,
                 weights_allocated_bytes=None, reserved_bytes=None,
                 nvml_used_bytes=None, build_seconds=None)
        sched.advance(spec.build_s + 2.0)  # build + warm-up
        sched.run_model(name, i, None, None)
    est = sched.clock - t0
    c = sched.counts
    out.emit("end", dry_run=True, status="done", points_measured=0,
             points_oom=0, points_error=0, points_skipped=c["skipped"],
             seconds=round(now() - t0, 3), est_seconds=round(est, 1))
    print("vlm-measure: dry run: %d points planned in %d models (%d more "
          "skipped: over the budget, or far over the GPU's memory), "
          "estimated %.0f s of the %.0f s budget on one H100" % (
              c["planned"], len(args.models), c["skipped"], est,
              args.budget_seconds), file=sys.stderr)
    return 0


def smi_driver():
    import subprocess
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                              "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
        return out.strip().splitlines()[0].strip() or None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def environment(torch, transformers, mem):
    props = torch.cuda.get_device_properties(0)
    return {"gpu_name": torch.cuda.get_device_name(0),
            "gpu_total": int(props.total_memory),
            "gpu_count": torch.cuda.device_count(),
            "driver": mem.driver() or smi_driver(),
            "cuda": torch.version.cuda,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "nvml_source": mem.source}


def measure(args, out, t0):
    import torch
    import transformers
    if not torch.cuda.is_available():
        print("vlm-measure: no CUDA device (use --dry-run to plan)",
              file=sys.stderr)
        return 1
    transformers.logging.set_verbosity_error()
    mem = vlmbench.DeviceMemory(torch)
    env = environment(torch, transformers, mem)
    gpu = env["gpu_total"]
    total = sum(len(model_grid(MODELS[m], args.sweeps, args.modes)[0])
                for m in args.models)
    out.emit("header", **header(args, env, total, gpu))
    log("%s, %.1f GiB, torch %s, transformers %s, %d points in %d models, "
        "budget %.0f s" % (env["gpu_name"], gpu / GIB, env["torch"],
                           env["transformers"], total, len(args.models),
                           args.budget_seconds), t0)
    sched = Schedule(args, out, t0, gpu)
    status = "done"
    try:
        for i, name in enumerate(args.models):
            run_one_model(args, out, sched, i, name, torch, transformers,
                          mem, t0)
        if sched.budget_skips:
            status = "budget"
    except Stop:
        status = "interrupted"
        log("interrupted: writing the end line", t0)
    c = sched.counts
    out.emit("end", dry_run=False, status=status,
             points_measured=c["measured"], points_oom=c["oom"],
             points_error=c["error"], points_skipped=c["skipped"],
             seconds=round(now() - t0, 3), est_seconds=None)
    log("%s: %d measured, %d out of memory, %d failed, %d skipped" % (
        status, c["measured"], c["oom"], c["error"], c["skipped"]), t0)
    return 0 if status != "interrupted" else 143


def run_one_model(args, out, sched, i, name, torch, transformers, mem, t0):
    spec = MODELS[name]
    model_line = dict(model=name, arch=spec.arch, config_source=spec.source,
                      dry_run=False, status="built", reason=None,
                      params=None, param_bytes=None,
                      weights_allocated_bytes=None, reserved_bytes=None,
                      nvml_used_bytes=None, build_seconds=None)
    left = sched.budget.deadline - now()
    if left < spec.build_s:
        model_line.update(status="skipped",
                          reason="budget: %.0f s left" % max(0, left))
        out.emit("model", **model_line)
        sched.budget_skips += 1
        sched.skip_model(name, "model not built: " + model_line["reason"])
        return
    log("building %s (%s, random weights, bf16)" % (name, spec.arch), t0)
    model = None
    gc.collect()
    torch.cuda.empty_cache()
    t = now()
    try:
        model, note = vlmbench.build_model(torch, transformers, spec,
                                           args.attn)
        model_line["reason"] = note
        torch.cuda.synchronize()
    except Exception as e:  # noqa: BLE001 - recorded, next model
        model = None
        model_line.update(status="error",
                          reason=("%s: %s at %s" % (type(e).__name__, e,
                                                    _where(e)))[:500])
    if model is not None:
        params = {id(p): p for p in model.parameters()}.values()
        model_line.update(
            build_seconds=round(now() - t, 3),
            params=int(sum(p.numel() for p in params)),
            param_bytes=int(sum(p.numel() * p.element_size()
                                for p in params)),
            weights_allocated_bytes=int(torch.cuda.memory_allocated()),
            reserved_bytes=int(torch.cuda.memory_reserved()),
            nvml_used_bytes=mem.used())
    out.emit("model", **model_line)
    if model is None:
        log("%s: %s" % (name, model_line["reason"]), t0)
        sched.skip_model(name, "model not built")
        return
    log("%s built in %.1f s: %.2f GiB of weights" % (
        name, model_line["build_seconds"],
        model_line["weights_allocated_bytes"] / GIB), t0)
    runner = Runner(torch, transformers, spec, model, mem, args.seed)
    try:
        runner.warmup()
        sched.errors_in_a_row = 0
        sched.run_model(name, i, runner.run, runner.logits)
    finally:
        runner.model = None
        model = None
        gc.collect()
        torch.cuda.empty_cache()


def main(argv=None):
    args = parse_args(argv)
    if args.list_fields:
        print(json.dumps(FIELDS, indent=1))
        return 0
    t0 = now()
    f = open(args.output, "w") if args.output else sys.stdout
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        out = Output(f)
        if args.dry_run:
            return dry_run(args, out, t0)
        return measure(args, out, t0)
    finally:
        if f is not sys.stdout:
            f.close()


if __name__ == "__main__":
    sys.exit(main())
