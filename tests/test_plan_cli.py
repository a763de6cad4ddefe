#!/usr/bin/env python3
"""test_plan_cli.py - `vgmo plan` and `vgmo benchmark` through the real
binary, option by option: each option's effect is checked in the answer
(the numbers worked out again here from the documented estimate, not read
back from the binary), and bad input is refused with exit 2 and a first
line that names the flag. `vgmo plan --check` and `--engine` have suites of
their own (test_vlm_scripts.py, test_plan_engine.py); the benchmark's
tables, plots and truth parameters are in test_bench_cli.sh.

usage: python3 tests/test_plan_cli.py path/to/vgmo [unittest options]
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

VGMO = None
GIB = 1 << 30
MIB = 1 << 20
# docs/planner.md: the fixed parts of every plan.
WORKSPACE = 256 * MIB
CONTEXT = 512 * MIB
H100 = 81559 * MIB  # the h100-80gb preset
L4 = 23034 * MIB  # the l4-24gb preset


def vgmo(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGMO_")}
    return subprocess.run([VGMO, *args], capture_output=True, text=True,
                          env=env, timeout=120)


def ok(*args):
    p = vgmo(*args)
    if p.returncode != 0:
        raise AssertionError("vgmo %s: exit %d\n%s" % (" ".join(args),
                                                       p.returncode,
                                                       p.stderr))
    return p.stdout


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vgmo-plan-cli.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, obj):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def refused(self, cmd, args, flag, text=None):
        """Exit 2, the reason on the first line naming the flag, then
        only the pointer to --help."""
        p = vgmo(cmd, *args)
        self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
        self.assertEqual(p.stdout, "", args)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 2, (args, p.stderr))
        self.assertTrue(lines[0].startswith("vgmo %s: " % cmd), lines)
        self.assertIn(flag, lines[0], args)
        if text:
            self.assertIn(text, lines[0], args)
        self.assertEqual(lines[1], "try 'vgmo %s --help'" % cmd)

    def failed(self, cmd, args, text):
        """Exit 1 with one line that says why."""
        p = vgmo(cmd, *args)
        self.assertEqual(p.returncode, 1, (args, p.stdout, p.stderr))
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, (args, p.stderr))
        self.assertTrue(lines[0].startswith("vgmo: "), lines)
        self.assertIn(text, lines[0], args)


def plan(*args):
    return json.loads(ok("plan", *args, "--json"))


def qwen_image_tokens(w, h, factor=28, lo=3136, hi=12845056):
    """Qwen2-VL's smart_resize, as its processor documents it."""
    hb = max(factor, round(h / factor) * factor)
    wb = max(factor, round(w / factor) * factor)
    if hb * wb > hi:
        beta = math.sqrt(h * w / hi)
        hb = math.floor(h / beta / factor) * factor
        wb = math.floor(w / beta / factor) * factor
    elif hb * wb < lo:
        beta = math.sqrt(lo / (h * w))
        hb = math.ceil(h * beta / factor) * factor
        wb = math.ceil(w * beta / factor) * factor
    return (hb // factor) * (wb // factor)


class Plan(Tmp):
    def expect(self, p, total, images=1, text=128, output=256, width=1024,
               height=1024, kv_bytes=2, reserve_mib=1024):
        """Check a qwen2-vl-7b plan against the estimate worked out here."""
        m = p["model"]
        it = qwen_image_tokens(width, height)
        tokens = images * it + text + output
        self.assertEqual(p["gpu"]["total_bytes"], total)
        self.assertEqual(p["request"]["image_tokens"], it)
        self.assertEqual(p["request"]["request_tokens"], tokens)
        for k, v in (("image_width", width), ("image_height", height),
                     ("images", images), ("text_tokens", text),
                     ("output_tokens", output)):
            self.assertEqual(p["request"][k], v, k)
        mem = p["memory"]
        kv = 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * kv_bytes
        self.assertEqual(mem["kv_bytes_per_token"], kv)
        self.assertEqual(mem["kv_bytes"], kv * tokens)
        self.assertEqual(mem["weights_bytes"], int(m["params"] * kv_bytes))
        self.assertEqual(mem["workspace_bytes"], WORKSPACE)
        self.assertEqual(mem["context_bytes"], CONTEXT)
        self.assertEqual(mem["reserve_bytes"], reserve_mib * MIB)
        self.assertEqual(mem["fixed_bytes"],
                         mem["weights_bytes"] + WORKSPACE)
        # Activations stay 16-bit: the larger of decoder and vision
        # encoder over the request's tokens, plus fp32 logits.
        dec = 2 * (4 * m["hidden"] + 3 * m["intermediate"]) * (
            images * it + text)
        vis = 2 * m["patches_per_token"] * (
            4 * m["vision_hidden"] + 3 * m["vision_intermediate"]) * (
            images * it)
        act = max(dec, vis) + 4 * m["vocab"]
        self.assertAlmostEqual(mem["activation_bytes"], act, delta=1)
        self.assertEqual(mem["request_bytes"],
                         mem["kv_bytes"] + mem["activation_bytes"])
        # The rooms of the strategy table: conservative keeps the reserve,
        # the others fill all but the CUDA context (a plan knows of no
        # other process whose rise balanced would keep headroom for).
        full = total - CONTEXT
        cons = full - reserve_mib * MIB
        self.assertEqual(p["room_bytes"], {
            "conservative": cons, "balanced": full, "aggressive": full,
            "adaptive": full})
        item = mem["request_bytes"]
        fixed = mem["fixed_bytes"]
        bal = max(0, math.floor((full - fixed) / item))
        self.assertEqual(p["batch"], {
            "conservative": max(0, math.floor((cons - fixed) / item)),
            "balanced": bal, "aggressive": bal, "adaptive": bal})
        return bal

    def test_defaults(self):
        p = plan("--model", "qwen2-vl-7b")
        self.assertEqual(p["gpu"]["name"], "h100-80gb")
        self.assertEqual(p["dtype"], "bf16")
        self.assertEqual(p["model"]["name"], "qwen2-vl-7b")
        self.assertEqual(p["max_batch_size"], 16)
        self.assertGreater(self.expect(p, H100), 100)

    def test_gpu_preset_and_memory(self):
        p = plan("--model", "qwen2-vl-7b", "--gpu", "l4-24gb")
        self.assertEqual(p["gpu"]["name"], "l4-24gb")
        small = self.expect(p, L4)
        self.assertLess(small, self.expect(plan("--model", "qwen2-vl-7b"),
                                           H100))
        for size, total in (("24GB", 24 * 10**9), ("81920MiB", 81920 * MIB),
                            ("40GiB", 40 * GIB), ("0.5TB", 5 * 10**11),
                            ("30000000KiB", 30000000 * 1024)):
            p = plan("--model", "qwen2-vl-7b", "--gpu-memory", size)
            self.assertIsNone(p["gpu"]["name"], size)
            self.expect(p, total)
        # The last of --gpu and --gpu-memory wins.
        p = plan("--model", "qwen2-vl-7b", "--gpu-memory", "24GB", "--gpu",
                 "l4-24gb")
        self.assertEqual((p["gpu"]["name"], p["gpu"]["total_bytes"]),
                         ("l4-24gb", L4))

    def test_request_shape(self):
        for args, kw in (
                (("--image", "448x448"), dict(width=448, height=448)),
                (("--image", "1920x1080"), dict(width=1920, height=1080)),
                (("--image", "20x20"), dict(width=20, height=20)),
                (("--images-per-request", "3"), dict(images=3)),
                (("--images-per-request", "0"), dict(images=0)),
                (("--text-tokens", "2000"), dict(text=2000)),
                (("--text-tokens", "0", "--output-tokens", "0"),
                 dict(text=0, output=0)),
                (("--output-tokens", "4096"), dict(output=4096))):
            self.expect(plan("--model", "qwen2-vl-7b", *args), H100, **kw)
        self.assertEqual(plan("--model", "qwen2-vl-7b", "--image",
                              "448x448")["request"]["image_tokens"], 256)
        # More per request, fewer requests per batch.
        b = [plan("--model", "qwen2-vl-7b", "--images-per-request",
                  str(n))["batch"]["balanced"] for n in (1, 2, 4)]
        self.assertGreater(b[0], b[1])
        self.assertGreater(b[1], b[2])

    def test_dtype(self):
        bf16 = plan("--model", "qwen2-vl-7b")
        fp16 = plan("--model", "qwen2-vl-7b", "--dtype", "fp16")
        fp8 = plan("--model", "qwen2-vl-7b", "--dtype", "fp8")
        self.assertEqual(fp8["dtype"], "fp8")
        self.expect(fp8, H100, kv_bytes=1)
        self.assertEqual(fp16["dtype"], "fp16")
        self.assertEqual(fp16["memory"], bf16["memory"])
        self.assertEqual(fp8["memory"]["kv_bytes_per_token"] * 2,
                         bf16["memory"]["kv_bytes_per_token"])
        self.assertGreater(fp8["batch"]["balanced"],
                           bf16["batch"]["balanced"])

    def test_config_thresholds_reserve_and_cap(self):
        cfg = self.write("c.json", {"memory_reserve_mb": 4096,
                                    "memory_threshold_warning": 0.7,
                                    "memory_threshold_critical": 0.8,
                                    "memory_threshold_oom": 0.9,
                                    "max_batch_size": 8})
        p = plan("--model", "qwen2-vl-7b", "--config", cfg)
        self.expect(p, H100, reserve_mib=4096)
        self.assertEqual(p["max_batch_size"], 8)
        text = ok("plan", "--model", "qwen2-vl-7b", "--config", cfg)
        self.assertIn("max_batch_size is 8: vgmo would not go past it (raise it",
                      text)
        # The thresholds classify a GPU's status; they size no batch.
        self.assertNotIn("0.80", text)
        self.assertIn("room, conservative", text)
        # Without the file the default cap (16) is also below the plan.
        self.assertIn("max_batch_size is 16",
                      ok("plan", "--model", "qwen2-vl-7b"))
        big = self.write("big.json", {"max_batch_size": 100000})
        self.assertNotIn("max_batch_size is",
                         ok("plan", "--model", "qwen2-vl-7b", "--config",
                            big))

    def test_model_file(self):
        m = plan("--model", "qwen2-vl-7b")["model"]
        m["name"] = "my-vlm"
        m["kv_heads"] = 8
        path = self.write("m.json", m)
        p = plan("--model", path)
        self.assertEqual(p["model"]["name"], "my-vlm")
        self.expect(p, H100)
        self.assertEqual(p["memory"]["kv_bytes_per_token"],
                         2 * 28 * 8 * 128 * 2)

    def test_text_agrees_with_json(self):
        args = ("--model", "qwen2-vl-7b", "--gpu", "l4-24gb", "--image",
                "448x448", "--images-per-request", "2", "--text-tokens",
                "64", "--output-tokens", "32")
        p = plan(*args)
        text = ok("plan", *args).splitlines()
        self.assertEqual(text[0], "qwen2-vl-7b on l4-24gb (%.1f GiB), bf16"
                         % (L4 / GIB))
        self.assertEqual(text[1], "request: 2 images of 448x448 = 256 tokens"
                         " each, 64 text, 32 output: 608 tokens")
        rows = {}
        for line in text:
            f = line.split()
            if len(f) >= 2 and f[0] in p["batch"]:
                rows[f[0]] = int(f[1])
        self.assertEqual(rows, p["batch"])
        weights = [l for l in text if l.strip().startswith("weights")][0]
        self.assertAlmostEqual(float(weights.split()[-1]),
                               p["memory"]["weights_bytes"] / GIB, places=2)
        gpu = ok("plan", "--model", "qwen2-vl-7b", "--gpu-memory", "24GB")
        self.assertTrue(gpu.startswith("qwen2-vl-7b on GPU (22.4 GiB)"))

    def test_nothing_fits(self):
        p = plan("--model", "qwen2-vl-7b", "--gpu-memory", "16GiB")
        self.assertEqual(p["batch"], {"conservative": 0, "balanced": 0,
                                      "aggressive": 0, "adaptive": 0})
        self.assertIn("nothing fits: the weights alone exceed the budget.",
                      ok("plan", "--model", "qwen2-vl-7b", "--gpu-memory",
                         "16GiB"))
        self.assertNotIn("nothing fits", ok("plan", "--model",
                                            "qwen2-vl-7b"))

    def test_help_lists_presets(self):
        out = ok("plan", "--help")
        for word in ("--gpu-memory", "--images-per-request", "--dtype",
                     "qwen2-vl-7b", "h100-80gb", "l4-24gb"):
            self.assertIn(word, out)

    def test_bad_input_names_the_flag(self):
        m = ("--model", "qwen2-vl-7b")
        # Every preset --help lists is offered, not only some.
        presets = [l for l in ok("plan", "--help").splitlines()
                   if l.startswith("GPU presets:")][0]
        presets = presets.split(":", 1)[1].replace(",", " ").split()
        self.assertGreaterEqual(len(presets), 8)
        p = vgmo("plan", "--model", "qwen2-vl-7b", "--gpu", "b200")
        for name in presets:
            self.assertIn(name, p.stderr.splitlines()[0])
        for args, flag in (
                (("--gpu", "b200"), "--gpu"),
                (("--gpu-memory", "0"), "--gpu-memory"),
                (("--gpu-memory", "-1GB"), "--gpu-memory"),
                (("--gpu-memory", "12XB"), "--gpu-memory"),
                (("--gpu-memory", "GB"), "--gpu-memory"),
                (("--gpu-memory", "1e30"), "--gpu-memory"),
                (("--image", "1024"), "--image"),
                (("--image", "0x10"), "--image"),
                (("--image", "10x"), "--image"),
                (("--image", "100001x10"), "--image"),
                (("--image", "10x10px"), "--image"),
                (("--images-per-request", "-1"), "--images-per-request"),
                (("--images-per-request", "1000001"),
                 "--images-per-request"),
                (("--text-tokens", "many"), "--text-tokens"),
                (("--output-tokens", "1.5"), "--output-tokens"),
                (("--dtype", "int4"), "--dtype")):
            self.refused("plan", m + args, flag, "'%s'" % args[1])
        self.refused("plan", (), "--model", "required")
        self.refused("plan", ("--check", "x.jsonl", "--image", "64x64"),
                     "--check")
        self.refused("plan", m + ("--bogus",), "--bogus")
        self.refused("plan", ("--model",), "--model")

    def test_bad_files_fail_in_one_line(self):
        self.failed("plan", ("--model", "no-such-model"), "no-such-model")
        self.failed("plan", ("--model", os.path.join(self.dir, "none.json")),
                    "none.json")
        bad = self.write("bad.json", {"memory_threshold_critical": 2})
        self.failed("plan", ("--model", "qwen2-vl-7b", "--config", bad),
                    "memory_threshold_critical")
        m = plan("--model", "qwen2-vl-7b")["model"]
        m["layers"] = 0
        self.failed("plan", ("--model", self.write("m.json", m)), "layers")


def bench(*args):
    """One quick run: one seed, a short virtual duration."""
    return ok("benchmark", "--quiet", "--seeds", "1", "--duration", "200",
              *args)


class Benchmark(Tmp):
    def run_json(self, *args):
        out = os.path.join(self.dir, "r.json")
        text = bench(*args, "--output", out)
        with open(out) as f:
            return json.load(f), text

    def pol(self, w, name, run=0):
        for p in w["runs"][run]["policies"]:
            if p["policy"] == name:
                return p
        raise AssertionError("no policy %s" % name)

    def test_seeds_duration_gpu_model(self):
        out = os.path.join(self.dir, "s.json")
        text = ok("benchmark", "--quiet", "--workload", "photos", "--seeds",
                  "3-5", "--duration", "150", "--policies", "oracle",
                  "--gpu", "l4-24gb", "--model", "qwen2-vl-2b", "--output",
                  out)
        with open(out) as f:
            w = json.load(f)["workloads"][0]
        self.assertEqual([r["seed"] for r in w["runs"]], [3, 4, 5])
        self.assertEqual({r["duration"] for r in w["runs"]}, {150.0})
        self.assertEqual((w["gpu"], w["model"]), ("l4-24gb", "qwen2-vl-2b"))
        self.assertIn("qwen2-vl-2b on l4-24gb, seeds 3-5", text)
        # --seed N is --seeds N.
        a, _ = self.run_json("--workload", "docs", "--policies", "oracle",
                             "--seed", "4")
        b, _ = self.run_json("--workload", "docs", "--policies", "oracle",
                             "--seeds", "4-4")
        self.assertEqual(a["workloads"][0]["runs"][0]["seed"], 4)
        self.assertEqual(a["workloads"], b["workloads"])
        # Another seed is another workload.
        c, _ = self.run_json("--workload", "docs", "--policies", "oracle",
                             "--seed", "5")
        self.assertNotEqual(a["workloads"][0]["runs"][0]["requests"],
                            c["workloads"][0]["runs"][0]["requests"])

    def test_auto_duration(self):
        out = os.path.join(self.dir, "a.json")
        ok("benchmark", "--quiet", "--workload", "photos", "--seeds", "1",
           "--duration", "auto", "--policies", "oracle", "--output", out)
        with open(out) as f:
            run = json.load(f)["workloads"][0]["runs"][0]
        self.assertGreaterEqual(run["duration"], 3600)
        self.assertGreaterEqual(run["oracle_batches"], 200)

    def test_fixed_and_max_batch_size(self):
        d, _ = self.run_json("--workload", "photos", "--policies",
                             "fixed,balanced", "--fixed", "2")
        w = d["workloads"][0]
        self.assertLessEqual(self.pol(w, "fixed")["mean_batch_size"], 2)
        self.assertEqual(self.pol(w, "fixed")["batch_size_changes"], 0)
        d8, _ = self.run_json("--workload", "photos", "--policies", "fixed",
                              "--fixed", "8")
        self.assertGreater(self.pol(d8["workloads"][0], "fixed")
                           ["mean_batch_size"], 2)
        self.assertGreater(self.pol(w, "balanced")["mean_batch_size"], 3)
        d3, _ = self.run_json("--workload", "photos", "--policies",
                              "balanced", "--max-batch-size", "3")
        w3 = d3["workloads"][0]
        self.assertEqual(w3["max_batch_size"], 3)
        for p in w3["runs"][0]["policies"]:
            self.assertLessEqual(p["mean_batch_size"], 3, p["policy"])

    def test_unit_and_no_prior(self):
        tok, text = self.run_json("--workload", "docs", "--policies",
                                  "balanced")
        items, itext = self.run_json("--workload", "docs", "--policies",
                                     "balanced", "--unit", "items")
        self.assertEqual(tok["workloads"][0]["unit"], "tokens")
        self.assertEqual(items["workloads"][0]["unit"], "items")
        self.assertIn("vgmo counting tokens", text)
        self.assertIn("vgmo counting items", itext)
        self.assertNotEqual(self.pol(tok["workloads"][0], "balanced"),
                            self.pol(items["workloads"][0], "balanced"))
        # The prior is the planner's estimate of a model's tokens: without
        # it, vgmo counting tokens learns everything from the batches.
        args = ("--workload", "tiny-huge", "--duration", "300",
                "--policies", "balanced")
        prior, _ = self.run_json(*args)
        bare, _ = self.run_json(*args, "--no-prior")
        self.assertNotEqual(self.pol(bare["workloads"][0], "balanced"),
                            self.pol(prior["workloads"][0], "balanced"))
        # The worker declares the attention it runs (an eager encoder
        # here): the prior prices its square; not told, vgmo meets it
        # first in an OOM.
        args = ("--workload", "photos", "--seeds", "1-3", "--duration",
                "300", "--policies", "balanced", "--truth",
                "vision_attention=1")
        told, _ = self.run_json(*args)
        blind, _ = self.run_json(*args, "--undeclared")
        ooms = [sum(self.pol(d["workloads"][0], "balanced", i)["ooms"]
                    for i in range(3))
                for d in (told, blind)]
        self.assertEqual(ooms[0], 0)
        self.assertGreater(ooms[1], 0)

    def test_token_budget(self):
        d, _ = self.run_json("--workload", "photos", "--policies", "tokens",
                             "--token-budget", "4000")
        small = self.pol(d["workloads"][0], "tokens")
        d, _ = self.run_json("--workload", "photos", "--policies", "tokens",
                             "--token-budget", "40000")
        big = self.pol(d["workloads"][0], "tokens")
        self.assertLess(small["mean_batch_size"], big["mean_batch_size"])

    def test_config(self):
        cfg = self.write("c.json", {"max_batch_size": 5})
        d, _ = self.run_json("--workload", "photos", "--policies",
                             "balanced", "--config", cfg)
        w = d["workloads"][0]
        self.assertEqual(w["max_batch_size"], 5)
        self.assertLessEqual(self.pol(w, "balanced")["mean_batch_size"], 5)
        # A file that leaves max_batch_size alone keeps the benchmark's.
        cfg = self.write("r.json", {"memory_reserve_mb": 2048})
        d, _ = self.run_json("--workload", "photos", "--policies",
                             "balanced", "--config", cfg)
        self.assertEqual(d["workloads"][0]["max_batch_size"], 256)
        # --max-batch-size wins over the file.
        cfg = self.write("m.json", {"max_batch_size": 5})
        d, _ = self.run_json("--workload", "photos", "--policies",
                             "balanced", "--config", cfg,
                             "--max-batch-size", "7")
        self.assertEqual(d["workloads"][0]["max_batch_size"], 7)

    def test_write_trace_replays_the_same_run(self):
        trace = os.path.join(self.dir, "t.jsonl")
        gen, _ = self.run_json("--workload", "docs", "--policies",
                               "oracle,balanced", "--write-trace", trace)
        with open(trace) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        run = gen["workloads"][0]["runs"][0]
        self.assertEqual(sum("t" in l for l in lines), run["requests"])
        rep, _ = self.run_json("--trace", trace, "--policies",
                               "oracle,balanced")
        r = rep["workloads"][0]["runs"][0]
        self.assertEqual(r["requests"], run["requests"])
        self.assertEqual(r["policies"][0]["completed"],
                         run["policies"][0]["completed"])

    def test_strict(self):
        # Items-counting balanced without its prior misses the oracle
        # target on this workload; --strict turns that into exit 1.
        args = ("benchmark", "--quiet", "--workload", "docs", "--seeds", "1",
                "--duration", "300", "--policies", "balanced", "--unit",
                "items", "--no-prior")
        p = vgmo(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("targets: 1 missed: balanced", p.stdout)
        p = vgmo(*args, "--strict")
        self.assertEqual(p.returncode, 1)
        self.assertIn("targets: 1 missed", p.stdout)
        p = vgmo("benchmark", "--quiet", "--workload", "photos", "--seeds",
                 "1", "--duration", "200", "--policies", "balanced",
                 "--strict")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("targets: all met", p.stdout)

    def test_sweep(self):
        row = [l for l in ok("benchmark", "--list-truth").splitlines()
               if l.startswith("| `act_scale` |")][0].split("|")
        default = float(row[2])
        lo, hi = (float(x) for x in row[3].split(" to "))
        want = [lo, (lo + default) / 2, default, (default + hi) / 2, hi]
        md = os.path.join(self.dir, "s.md")
        args = ("benchmark", "--quiet", "--workload", "photos", "--seeds",
                "1-2", "--duration", "100", "--policies", "balanced,oracle")
        text = ok(*args, "--sweep", "act_scale", "--markdown", md)
        rows = [l.split() for l in text.splitlines()
                if l.startswith("  act_scale = ")]
        self.assertEqual([float(r[2]) for r in rows], want)
        with open(md) as f:
            mrows = [l for l in f if l.startswith("| act_scale = ")]
        self.assertEqual(len(mrows), 5)
        for r, m in zip(rows, mrows):
            cells = [c.strip() for c in m.strip().strip("|").split("|")]
            self.assertEqual(cells[1], " ".join(r[3:6]))
            self.assertEqual(cells[2], "1.000 (1.000) 0")  # the oracle
        # Each row is the run at that value: the last, as --truth sets it.
        out = os.path.join(self.dir, "hi.json")
        ok(*args, "--truth", "act_scale=%g" % hi, "--output", out)
        with open(out) as f:
            s = json.load(f)["workloads"][0]["summary"][0]
        self.assertEqual(rows[-1][3:5], ["%.3f" % s["ratio_median"],
                                         "(%.3f)" % s["ratio_min"]])
        # A discrete parameter visits each of its integers.
        text = ok(*args, "--sweep", "logits")
        self.assertEqual([l.split()[2] for l in text.splitlines()
                          if l.startswith("  logits = ")], ["0", "1"])
        self.failed("benchmark", args[1:] + (
            "--sweep", "logits", "--markdown",
            os.path.join(self.dir, "no", "s.md")), "cannot write the tables")

    def test_list_truth(self):
        out = ok("benchmark", "--list-truth").splitlines()
        self.assertTrue(out[0].startswith("| parameter | default | range"))
        keys = [l.split("`")[1] for l in out[2:]]
        help_text = ok("benchmark", "--help")
        for k in keys:
            self.assertIn("  %s " % k, help_text)
        self.assertIn("act_scale", keys)
        self.assertEqual(len(keys), len(set(keys)))

    def test_markdown(self):
        md = os.path.join(self.dir, "r.md")
        bench("--workload", "photos", "--policies", "balanced,fixed",
              "--markdown", md)
        with open(md) as f:
            text = f.read()
        self.assertIn("over seeds 1-1", text)
        self.assertIn("qwen2-vl-7b on h100-80gb", text)
        self.assertIn("| fixed |", text)
        self.assertIn("Targets: all met.", text)

    def test_bad_input_names_the_flag(self):
        for args, flag in (
                (("--duration", "-1"), "--duration"),
                (("--duration", "soon"), "--duration"),
                (("--duration", "600000"), "--duration"),
                (("--max-batch-size", "0"), "--max-batch-size"),
                (("--max-pixels", "10"), "--max-pixels"),
                (("--fixed", "0"), "--fixed"),
                (("--token-budget", "0"), "--token-budget"),
                (("--unit", "bytes"), "--unit"),
                (("--workload", "nope"), "--workload"),
                (("--policies", "nope"), "--policies"),
                (("--policies", ","), "--policies"),
                (("--gpu", "b200"), "--gpu"),
                (("--seeds", "1-1001"), "--seeds"),
                (("--seeds", "x"), "--seeds"),
                (("--seed", "-3"), "--seeds"),
                (("--truth", "padding"), "--truth"),
                (("--sweep", "speed"), "--sweep"),
                (("--trace", "t.jsonl", "--workload", "docs"), "--trace"),
                (("--write-trace", "t.jsonl"), "--write-trace"),
                (("--nope",), "--nope")):
            self.refused("benchmark", args, flag)

    def test_bad_files_fail_in_one_line(self):
        self.failed("benchmark", ("--quiet", "--trace",
                                  os.path.join(self.dir, "none.jsonl")),
                    "none.jsonl")
        self.failed("benchmark", ("--quiet", "--model", "no-such-model"),
                    "no-such-model")
        bad = self.write("bad.json", {"max_batch_size": -4})
        self.failed("benchmark", ("--quiet", "--config", bad),
                    "max_batch_size")
        out = os.path.join(self.dir, "no", "such", "dir", "r.json")
        self.failed("benchmark", ("--quiet", "--workload", "photos",
                                  "--seeds", "1", "--duration", "100",
                                  "--policies", "oracle", "--output", out),
                    "cannot write the results")
        self.failed("benchmark", ("--quiet", "--workload", "photos",
                                  "--seeds", "1", "--duration", "100",
                                  "--policies", "oracle", "--markdown", out),
                    "cannot write the tables")


if __name__ == "__main__":
    VGMO = os.path.abspath(sys.argv.pop(1))
    unittest.main()
