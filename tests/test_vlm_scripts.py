#!/usr/bin/env python3
"""The real-VLM measurement tools without a GPU (issue 14):

* scripts/vlm-measure.py --dry-run: plans its grid within the budget, and
  writes exactly the documented format (every field of bench/measurements/
  README.md, measurements null), with image tokens that agree with the
  planner's rules (`vgmo plan --json`);
* the same script's GPU path on a stand-in PyTorch and transformers
  (tests/fake_ml: synthetic, they check the inputs the real models would
  refuse and count memory, but measure nothing), including out-of-memory
  batches and the sweeps they stop;
* `vgmo plan --check` on those files, on the synthetic fixture
  tests/data/measurements/synthetic-h100.jsonl (its numbers checked
  against the documented estimate, computed here independently), and on
  broken files (file:line: field "x": reason);
* scripts/vlm-loop.py --dry-run (simulated GPU, `vgmo serve --backend
  sim`) and its GPU path on the stand-ins.

usage: test_vlm_scripts.py VGMO_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MEASURE = os.path.join(ROOT, "scripts", "vlm-measure.py")
LOOP = os.path.join(ROOT, "scripts", "vlm-loop.py")
FAKES = os.path.join(HERE, "fake_ml")
FIXTURE = os.path.join(HERE, "data", "measurements", "synthetic-h100.jsonl")
README = os.path.join(ROOT, "bench", "measurements", "README.md")
BIN = None

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import vlmbench  # noqa: E402


def run(args, env=None, timeout=120):
    full = dict(os.environ)
    full.pop("PYTHONPATH", None)
    full.update(env or {})
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, env=full, check=False)


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def fields():
    out = run([sys.executable, MEASURE, "--list-fields"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# The documented estimate (lib/tool-internal/vlm_models.h), written again here.
def plan_parts(preset, batch, image_tokens, prompt, new, generate):
    p = preset
    kv_token = 2 * p["layers"] * p["kv_heads"] * p["head_dim"] * 2
    dec = 2 * (4 * p["hidden"] + 3 * p["intermediate"])
    vis = 2 * p["patches_per_token"] * (4 * p["vision_hidden"] +
                                        3 * p["vision_intermediate"])
    act = batch * (max(dec * (image_tokens + prompt), vis * image_tokens) +
                   4 * p["vocab"])
    kv = kv_token * batch * (image_tokens + prompt + new) if generate else 0
    weights = round(p["params"] * 2)
    return weights, kv, act, weights + 256 * 1048576 + kv + act


def preset(name):
    out = run([BIN, "plan", "--model", name, "--json"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["model"]


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vgmo-vlm-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def check(self, path, *extra):
        out = run([BIN, "plan", "--check", path] + list(extra))
        return out


class TestMeasureDryRun(Tmp):
    def dry(self, *extra):
        path = self.path("dry.jsonl")
        out = run([sys.executable, MEASURE, "--dry-run", "-o", path] +
                  list(extra))
        self.assertEqual(out.returncode, 0, out.stderr)
        return read_lines(path), out.stderr

    def test_format_is_exactly_the_documented_one(self):
        lines, err = self.dry()
        want = fields()
        self.assertEqual(lines[0]["kind"], "header")
        self.assertEqual(lines[-1]["kind"], "end")
        for line in lines:
            self.assertEqual(list(line), want[line["kind"]], line)
            self.assertIs(line["dry_run"], True)
        header = lines[0]
        self.assertEqual(header["format"], "vgmo-vlm-measure")
        self.assertEqual(header["format_version"], 1)
        for key in ("gpu_name", "driver_version", "torch_version",
                    "transformers_version"):
            self.assertIsNone(header[key])
        points = [x for x in lines if x["kind"] == "point"]
        self.assertEqual(len(points), header["planned_points"])
        measured = ["oom", "new_tokens", "base_allocated_bytes",
                    "peak_allocated_bytes", "peak_reserved_bytes",
                    "prefill_peak_allocated_bytes", "kv_cache_bytes",
                    "nvml_used_peak_bytes", "alloc_retries",
                    "prefill_seconds", "decode_seconds", "total_seconds"]
        for p in points:
            self.assertIn(p["status"], ("planned", "skipped"))
            for key in measured:
                self.assertIsNone(p[key], key)
            if p["mode"] == "forward":
                self.assertEqual(p["max_new_tokens"], 0)
        models = {x["model"] for x in lines if x["kind"] == "model"}
        self.assertEqual(models, set(header["models"]))
        self.assertGreaterEqual(len(models), 3)
        self.assertEqual(len({vlmbench.MODELS[m].arch for m in models}), 4)
        # Planned count and estimate on stderr; the estimate within budget.
        planned = sum(p["status"] == "planned" for p in points)
        self.assertIn("%d points planned" % planned, err)
        self.assertGreater(planned, 60)
        self.assertLessEqual(lines[-1]["est_seconds"],
                             header["budget_seconds"] + 1)
        # Every sweep is there for the first model.
        sweeps = {p["sweep"] for p in points if p["model"] == "qwen2-vl-7b"}
        self.assertEqual(sweeps, {"image", "new_tokens", "batch", "images",
                                  "prompt", "oom"})

    def test_image_tokens_agree_with_the_planner(self):
        lines, _ = self.dry()
        seen = set()
        for p in lines:
            key = (p.get("model"), p.get("image_width"),
                   p.get("image_height"))
            if p["kind"] != "point" or key in seen:
                continue
            seen.add(key)
            out = run([BIN, "plan", "--model", p["model"], "--image",
                       "%dx%d" % key[1:], "--json"])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout)["request"]
                             ["image_tokens"], p["image_tokens"], key)
        self.assertGreater(len(seen), 15)

    def test_a_smaller_budget_plans_fewer_points(self):
        big, _ = self.dry()
        small, err = self.dry("--budget-seconds", "90", "--models",
                              "smolvlm-instruct,llava-1.5-7b")
        n = sum(p.get("status") == "planned" for p in small)
        self.assertLess(n, sum(p.get("status") == "planned" for p in big))
        self.assertLessEqual(small[-1]["est_seconds"], 91)
        self.assertTrue(any("budget" in (p.get("reason") or "")
                            for p in small))

    def test_vgmo_plan_check_reads_the_dry_run(self):
        self.dry()
        out = self.check(self.path("dry.jsonl"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("dry run", out.stdout)
        self.assertIn("no measured points", out.stdout)

    def test_bad_arguments(self):
        for args, why in ((["--models", "gpt-9"], "unknown model"),
                          (["--sweeps", "width"], "unknown sweep"),
                          (["--budget-seconds", "0"], "must be > 0"),
                          (["--modes", "train"], "--modes")):
            out = run([sys.executable, MEASURE, "--dry-run"] + args)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn(why, out.stderr)

    def test_readme_documents_every_field(self):
        with open(README) as f:
            text = f.read()
        for kind, keys in fields().items():
            for key in keys:
                self.assertIn("`%s`" % key, text, "%s.%s" % (kind, key))
        self.assertIn("scripts/device-vlm.sh", text)


class TestMeasureOnStandIns(Tmp):
    """The GPU path of vlm-measure.py on tests/fake_ml (synthetic)."""

    def test_grid_runs_and_plan_check_reads_it(self):
        path = self.path("fake.jsonl")
        out = run([sys.executable, MEASURE, "--budget-seconds", "100",
                   "--models", "qwen2-vl-7b,llava-1.5-7b,smolvlm-instruct",
                   "-o", path],
                  env={"PYTHONPATH": FAKES, "FAKE_GPU_GIB": "80"},
                  timeout=200)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = read_lines(path)
        want = fields()
        for line in lines:
            self.assertEqual(list(line), want[line["kind"]])
        self.assertEqual(lines[-1]["status"], "done")
        points = [x for x in lines if x["kind"] == "point"]
        status = {}
        for p in points:
            status[p["status"]] = status.get(p["status"], 0) + 1
        self.assertNotIn("error", status, [p["reason"] for p in points
                                           if p["status"] == "error"])
        self.assertGreater(status.get("measured", 0), 60)
        self.assertGreaterEqual(status.get("oom", 0), 1)
        for p in points:
            if p["status"] == "measured":
                self.assertGreaterEqual(p["peak_allocated_bytes"],
                                        p["base_allocated_bytes"])
                if p["mode"] == "generate":
                    self.assertEqual(p["new_tokens"], p["max_new_tokens"])
                    self.assertGreater(p["kv_cache_bytes"], 0)
                    self.assertIsNotNone(p["prefill_seconds"])
                else:
                    self.assertIsNone(p["kv_cache_bytes"])
                    self.assertEqual(p["logits"], "last")
        # An OOM stops the rest of its sweep.
        ooms = [p for p in points if p["status"] == "oom"]
        for o in ooms:
            later = [p for p in points if p["model"] == o["model"] and
                     p["sweep"] == o["sweep"] and p["mode"] == o["mode"] and
                     p["image"] == o["image"] and p["batch"] > o["batch"]]
            for p in later:
                self.assertEqual(p["status"], "skipped")
        built = {x["model"]: x for x in lines if x["kind"] == "model"}
        self.assertTrue(all(m["status"] == "built" and m["params"] > 0
                            for m in built.values()))
        # The stand-in Idefics3 refuses sdpa, as older transformers did:
        # built with the default attention, and said so.
        self.assertIn("refused", built["smolvlm-instruct"]["reason"])
        self.assertIsNone(built["qwen2-vl-7b"]["reason"])
        # The stand-in LLaVA's forward has no logits_to_keep: its head is
        # given the last position only, as logits_to_keep=1 would.
        llava_fwd = [p for p in points if p["model"] == "llava-1.5-7b" and
                     p["mode"] == "forward" and p["status"] == "measured"]
        self.assertTrue(llava_fwd)
        for p in llava_fwd:
            self.assertEqual(p["logits"], "last")
            tokens = p["batch"] * p["input_tokens"]
            # The stand-in's activations and hidden states per token, and
            # float32 logits for one position per request, not for all.
            self.assertLessEqual(p["peak_allocated_bytes"] -
                                 p["base_allocated_bytes"],
                                 tokens * (296448 + 8192) +
                                 p["batch"] * 32064 * 4)
        out = self.check(path, "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        parts = {(s["model"], s["part"]) for s in doc["summary"]}
        for m in ("qwen2-vl-7b", "llava-1.5-7b", "smolvlm-instruct"):
            for part in ("weights", "kv_cache", "activations", "peak"):
                self.assertIn((m, part), parts)
        self.assertEqual(doc["counts"]["oom"], len(ooms))
        # The stand-in's KV cache is the formula's, to within the one
        # token generate does not cache and the padding markers.
        for s in doc["summary"]:
            if s["part"] == "kv_cache":
                self.assertLess(abs(s["worst"]), 0.01, s)
        text = self.check(path)
        self.assertIn("relative error of the planner", text.stdout)

    def test_a_model_that_fails_is_given_up(self):
        path = self.path("broken.jsonl")
        out = run([sys.executable, MEASURE, "--budget-seconds", "60",
                   "--models", "qwen2-vl-2b", "--sweeps", "image", "-o",
                   path],
                  env={"PYTHONPATH": FAKES, "FAKE_GPU_GIB": "3"})
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = read_lines(path)
        model = [x for x in lines if x["kind"] == "model"][0]
        self.assertEqual(model["status"], "error")
        self.assertIn("out of memory", model["reason"])
        points = [x for x in lines if x["kind"] == "point"]
        self.assertTrue(points and all(p["status"] == "skipped"
                                       for p in points))
        self.assertEqual(self.check(path).returncode, 0)


class TestPlanCheck(Tmp):
    def test_fixture_against_the_documented_estimate(self):
        out = self.check(FIXTURE, "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertEqual(doc["counts"], {"measured": 4, "oom": 2,
                                         "oom_planned_fit": 1, "not_run": 1,
                                         "failed": 1})
        self.assertEqual(doc["unmatched_models"], ["my-vlm"])
        q = preset("qwen2-vl-7b")
        rows = [r for r in doc["points"] if r["model"] == "qwen2-vl-7b"]
        gen, fwd = rows[0], rows[1]
        w, kv, act, peak = plan_parts(q, 2, 256, 64, 16, True)
        self.assertEqual(gen["weights"]["plan_bytes"], w)
        self.assertEqual(gen["kv_cache"]["plan_bytes"], kv)
        self.assertEqual(gen["kv_cache"]["measured_bytes"], kv)
        self.assertEqual(gen["activations"]["plan_bytes"], act)
        self.assertEqual(gen["peak"]["plan_bytes"], peak)
        self.assertAlmostEqual(gen["peak"]["error"],
                               (peak - 17100000000) / 17100000000, 6)
        self.assertAlmostEqual(gen["weights"]["error"],
                               (w - 16400000000) / 16400000000, 6)
        _, _, act_f, peak_f = plan_parts(q, 2, 256, 64, 0, False)
        self.assertEqual(fwd["activations"]["measured_bytes"], 2 * act_f)
        self.assertAlmostEqual(fwd["activations"]["error"], -0.5, 9)
        self.assertEqual(fwd["peak"]["plan_bytes"], peak_f)
        # Every logit kept: no activation figure.
        self.assertIsNone(rows[2]["activations"]["measured_bytes"])
        self.assertEqual([r["plan_fits"] for r in rows[3:]], [True, False])
        summary = {(s["model"], s["part"]): s for s in doc["summary"]}
        self.assertEqual(summary[("qwen2-vl-7b", "peak")]["points"], 3)
        self.assertAlmostEqual(summary[("qwen2-vl-7b", "activations")]
                               ["median"], -0.5, 9)
        # "smolvlm" is the smolvlm-instruct preset's alias.
        smol = [r for r in doc["points"] if r["model"] == "smolvlm"][0]
        self.assertEqual(smol["preset"], "smolvlm-instruct")
        self.assertEqual(smol["kv_cache"]["error"], 0)

    def test_fixture_text_and_override(self):
        out = self.check(FIXTURE)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('no planner preset for "my-vlm"', out.stdout)
        self.assertIn("planner: does not fit", out.stdout)
        self.assertIn("the planner said 1 of them would fit", out.stdout)
        self.assertIn("-50.0%", out.stdout)
        out = self.check(FIXTURE, "--model", "llava-1.5-7b", "--json")
        doc = json.loads(out.stdout)
        self.assertEqual(doc["unmatched_models"], [])
        self.assertEqual({r["preset"] for r in doc["points"]},
                         {"llava-1.5-7b"})

    def test_usage(self):
        out = run([BIN, "plan", "--check", FIXTURE, "--image", "100x100"])
        self.assertEqual(out.returncode, 2)
        self.assertIn("--check takes only --model and --json", out.stderr)
        out = self.check(self.path("missing.jsonl"))
        self.assertEqual(out.returncode, 1)
        self.assertIn("missing.jsonl", out.stderr)

    def broken(self, lines, raw=None):
        path = self.path("broken.jsonl")
        with open(path, "w") as f:
            if raw is not None:
                f.write(raw)
            else:
                for line in lines:
                    f.write((line if isinstance(line, str)
                             else json.dumps(line)) + "\n")
        return path

    def test_strict_errors_name_file_line_field(self):
        with open(FIXTURE) as f:
            good = [json.loads(x) for x in f]
        header, model, point = good[0], good[1], good[2]

        def with_(obj, **kw):
            o = dict(obj)
            for k, v in kw.items():
                if v is KeyError:
                    del o[k]
                else:
                    o[k] = v
            return o
        cases = [
            ([model], ":1: field \"kind\": the first line must be the header"),
            ([with_(header, format="other")], ":1: field \"format\""),
            ([with_(header, format_version=2)],
             ":1: field \"format_version\": 2 is not the version"),
            ([with_(header, surprise=1)], ":1: field \"surprise\": unknown"),
            ([header, with_(model, params=KeyError)],
             ":2: field \"params\": missing"),
            ([header, with_(point, batch=0)],
             ":2: field \"batch\": must be an integer >= 1"),
            ([header, with_(point, batch="4")],
             ":2: field \"batch\": must be an integer"),
            ([header, with_(point, mode="train")],
             ":2: field \"mode\": must be \"generate\", \"forward\""),
            ([header, with_(point, model="other")],
             ":2: field \"model\": not in the header"),
            ([header, with_(point, peak_allocated_bytes=None)],
             ":2: field \"peak_allocated_bytes\": must be a number"),
            ([header, with_(point, oom=True)],
             ":2: field \"oom\": is true, but status is \"measured\""),
            ([header, with_(point, dry_run=True)],
             ":2: field \"dry_run\": differs from the header's"),
            ([header, with_(point, total_seconds=-1)],
             ":2: field \"total_seconds\": must be a number >= 0"),
            ([header, with_(point, mode="forward")],
             ":2: field \"max_new_tokens\": must be 0 in forward mode"),
            ([header, "", point], ":2: empty line"),
            ([header, "{\"kind\": \"point\",}"], ":2:"),
            ([header, with_(point, kind="pointe")], ":2: field \"kind\""),
            ([header, header], ":2: field \"kind\": a second header"),
            ([header, good[-1], point],
             ":3: field \"kind\": a line after the \"end\" line"),
            ([header, [1, 2]], ":2:1: the top level must be an object"),
        ]
        for lines, want in cases:
            path = self.broken(lines)
            out = self.check(path)
            self.assertEqual(out.returncode, 1, (want, out.stdout))
            self.assertIn(path + want, out.stderr)
        out = self.check(self.broken(None, raw=""))
        self.assertEqual(out.returncode, 1)
        self.assertIn("empty file", out.stderr)

    def test_a_run_cut_off_mid_line(self):
        with open(FIXTURE) as f:
            text = f.read()
        cut = text[:text.rindex("\n", 0, len(text) - 1) + 40]
        out = self.check(self.broken(None, raw=cut))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("no \"end\" line: the run was cut off", out.stdout)
        self.assertIn("cut off mid-line", out.stdout)


class TestDeviceScript(Tmp):
    def test_whole_device_run_on_stand_ins(self):
        out = run(["sh", os.path.join(ROOT, "scripts", "device-vlm.sh")],
                  env={"PYTHONPATH": FAKES, "VGMO": BIN, "OUT": self.dir,
                       "VLM_MEASURE_SECONDS": "60",
                       "VLM_LOOP_ARM_SECONDS": "5",
                       "VLM_MEASURE_ARGS": "--models smolvlm-instruct "
                                           "--sweeps image,batch",
                       "VLM_LOOP_ARGS": "--backend sim --items 12"},
                  timeout=200)
        self.assertEqual(out.returncode, 0, out.stderr)
        for name in ("env.txt", "vlm-measure.jsonl", "plan-check.txt",
                     "plan-check.json", "vlm-loop.json", "device-vlm.log"):
            self.assertGreater(os.path.getsize(self.path(name)), 0, name)
        with open(self.path("plan-check.json")) as f:
            doc = json.load(f)
        self.assertGreater(doc["counts"]["measured"], 5)
        with open(self.path("vlm-loop.json")) as f:
            self.assertTrue(json.load(f)["complete"])
        self.assertIn("relative error of the planner", out.stderr)
        self.assertIn("torch 0.0+fake", out.stderr)


class TestLoop(Tmp):
    def loop(self, *extra, env=None):
        path = self.path("loop.json")
        out = run([sys.executable, LOOP, "--vgmo", BIN, "--items", "20",
                   "-o", path] + list(extra), env=env, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(path) as f:
            return json.load(f)

    def check_arms(self, doc):
        self.assertTrue(doc["complete"])
        self.assertEqual([a["name"] for a in doc["arms"]],
                         ["vgmo", "accelerate", "fixed"])
        self.assertEqual(sum(doc["mix"].values()), 20)
        for a in doc["arms"]:
            self.assertFalse(a["timed_out"])
            self.assertEqual(a["items_done"] + a["items_failed"], 20, a)
            self.assertEqual(sum(a["batch_sizes"]), a["items_done"])
            self.assertEqual(len(a["batch_sizes"]), a["batches"])
            self.assertGreater(a["peak_allocated_bytes"], 0)
        vg = doc["arms"][0]
        learned = vg["daemon_client"]
        # The daemon heard every batch, out-of-memory ones included.
        self.assertEqual(learned["reports"], vg["batches"] + vg["ooms"])
        self.assertEqual(learned["ooms"], vg["ooms"])

    def test_dry_run(self):
        doc = self.loop("--dry-run")
        self.assertTrue(doc["dry_run"])
        self.check_arms(doc)
        acc = doc["arms"][1]
        self.assertIn("emulated", acc["finder"])
        self.assertGreater(acc["ooms"], 0)  # 64 never fits a 22 GB GPU
        self.assertLess(acc["final_batch"], 64)
        self.assertEqual(doc["daemon"]["backend"], "sim")

    def test_gpu_path_on_stand_ins(self):
        doc = self.loop("--backend", "sim",
                        env={"PYTHONPATH": FAKES, "FAKE_GPU_GIB": "40"})
        self.assertFalse(doc["dry_run"])
        self.check_arms(doc)
        self.assertEqual(doc["gpu_name"], "Fake GPU")
        self.assertIn("accelerate 0.0+fake", doc["arms"][1]["finder"])


def main():
    global BIN
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    BIN = os.path.abspath(sys.argv.pop(1))
    return 0 if unittest.main(exit=False, verbosity=1).result.\
        wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
