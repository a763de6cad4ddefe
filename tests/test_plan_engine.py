#!/usr/bin/env python3
"""test_plan_engine.py - `vgmo plan --engine ...` through the real binary:
the text and JSON answers agree, the flags paste, bad input gets one line
naming the flag, and the live answer (--server URL --gpu N) follows a real
`vgmo serve --backend sim` whose GPU another client fills.

usage: python3 tests/test_plan_engine.py path/to/vgmo [unittest options]
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relylib  # noqa: E402

VGMO = None
FAKE_NVML = ""
GIB = 1 << 30


def run(*args, ok=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGMO_")}
    p = subprocess.run([VGMO, "plan", *args], capture_output=True, text=True,
                       env=env, timeout=30)
    if ok and p.returncode != 0:
        raise AssertionError("vgmo plan %s: %d %s" % (args, p.returncode,
                                                       p.stderr))
    return p


def plan_json(*args):
    return json.loads(run(*args, "--json").stdout)


class Offline(unittest.TestCase):
    def test_text_and_json_agree(self):
        for engine in ("vllm", "sglang", "tgi", "transformers"):
            args = ("--engine", engine, "--model", "qwen2-vl-7b", "--gpu",
                    "l4-24gb", "--max-pixels", "1003520")
            text = run(*args).stdout
            js = plan_json(*args)
            self.assertEqual(js["engine"], engine)
            self.assertEqual(js["request"]["image_tokens"], 1280)
            self.assertEqual(js["request"]["max_pixels"], 1003520)
            for flag, value in js["settings"].items():
                self.assertRegex(text, r"\n  %s +%s\n" % (
                    re.escape(flag), re.escape(value)))
                self.assertTrue(js["why"][flag])
            pred = js["predicted"]
            # The instance and the margin fit the GPU.
            self.assertLessEqual(
                pred["instance_bytes"] + js["memory"]["margin_bytes"],
                js["gpu"]["total_bytes"] + 1)
            self.assertIsNone(js["gpu"]["free_bytes"])
            self.assertIsNone(js["clients"])
            if engine != "transformers":
                self.assertIn("paste:", text)
                line = [l for l in text.splitlines()
                        if l.startswith("  vllm serve") or
                        l.startswith("  python -m sglang") or
                        l.startswith("  text-generation-launcher")][0]
                for flag, value in js["settings"].items():
                    self.assertIn(flag, line)

    def test_vllm_flags(self):
        js = plan_json("--engine", "vllm", "--model", "qwen2-vl-7b",
                       "--image", "1280x960", "--images-per-request", "2",
                       "--max-output-tokens", "512", "--concurrency", "8")
        s = js["settings"]
        self.assertEqual(s["--limit-mm-per-prompt"], '{"image": 2}')
        # 1280x960 -> 46 x 34 tokens of 28 px = 1564 a image.
        self.assertEqual(js["request"]["image_tokens"], 1564)
        self.assertEqual(int(s["--max-model-len"]) % 16, 0)
        self.assertEqual(int(s["--max-model-len"]),
                         -(-(2 * 1564 + 128 + 512) // 16) * 16)
        self.assertEqual(s["--max-num-seqs"], "8")
        self.assertEqual(s["--mm-processor-kwargs"],
                         '{"max_pixels": %d}' % (1564 * 784))
        kw = js["kwargs"]  # vllm.LLM(**kw), ray.data.llm engine_kwargs
        self.assertEqual(kw["limit_mm_per_prompt"], {"image": 2})
        self.assertEqual(kw["max_num_seqs"], 8)
        self.assertEqual(kw["mm_processor_kwargs"],
                         {"max_pixels": 1564 * 784})
        self.assertEqual(kw["gpu_memory_utilization"],
                         float(s["--gpu-memory-utilization"]))
        # It takes what 8 sequences need, not the whole GPU.
        self.assertLess(float(s["--gpu-memory-utilization"]), 0.5)
        self.assertGreaterEqual(js["predicted"]["sequences_at_max_len"], 8)

    def test_instances_split_the_gpu(self):
        one = plan_json("--engine", "vllm", "--model", "qwen2-vl-2b")
        two = plan_json("--engine", "vllm", "--model", "qwen2-vl-2b",
                        "--instances", "2")
        self.assertEqual(len(two["fractions"]), 2)
        self.assertLess(two["fractions"][0], one["fractions"][0] / 2 + 0.01)
        self.assertGreaterEqual(two["predicted"]["headroom_bytes"],
                                two["memory"]["margin_bytes"] * 0.99)
        sg = plan_json("--engine", "sglang", "--model", "qwen2-vl-2b",
                       "--instances", "2")
        # The second SGLang instance sees the first: a larger fraction of
        # less free memory.
        self.assertGreater(sg["fractions"][1], sg["fractions"][0])

    def test_bad_input_names_the_flag(self):
        cases = [
            (("--engine", "ollama", "--model", "qwen2-vl-7b"), "--engine"),
            (("--engine", "vllm"), "--model"),
            (("--engine", "vllm", "--model", "qwen2-vl-7b", "--gpu", "0"),
             "--server"),
            (("--engine", "vllm", "--model", "qwen2-vl-7b", "--instances",
              "0"), "--instances"),
            (("--engine", "vllm", "--model", "qwen2-vl-7b", "--max-pixels",
              "lots"), "--max-pixels"),
            (("--engine", "vllm", "--model", "qwen2-vl-7b", "--gpu-memory",
              "4GB", "--server", "http://127.0.0.1:1"), "--gpu-memory"),
            (("--engine", "tgi", "--model", "llava-1.5-7b", "--gpu-memory",
              "8GiB"), "does not fit"),
        ]
        for args, want in cases:
            p = run(*args, ok=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(want, p.stderr, args)
            self.assertEqual(p.stdout, "", args)


class Live(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vgmo-plan-engine-")
        self.d = relylib.Daemon(VGMO, self.dir, "--sim-workload", "none")

    def tearDown(self):
        self.d.stop()
        relylib.shutil.rmtree(self.dir, ignore_errors=True)

    def live(self, engine="vllm"):
        return plan_json("--engine", engine, "--model", "qwen2-vl-7b",
                         "--server", "http://" + self.d.main, "--gpu", "0")

    def test_follows_another_process(self):
        before = self.live()
        status = self.d.json("GET", "/v1/status")
        self.assertEqual(before["gpu"]["free_bytes"],
                         status["gpus"][0]["memory_free_bytes"])
        self.assertEqual(before["clients"]["count"], 0)
        # A training job registers and holds 30 GiB.
        c = self.d.json("POST", "/v1/clients", {"name": "trainer"}, want=201)
        self.d.json("POST", "/v1/clients/%d/report" % c["id"], {
            "items": 1, "peak_bytes": 30 * GIB, "allocated_bytes": 30 * GIB,
            "reserved_bytes": 30 * GIB})
        deadline = time.monotonic() + 10
        after = self.live()
        while (after["gpu"]["free_bytes"] == before["gpu"]["free_bytes"]
               and time.monotonic() < deadline):
            time.sleep(0.1)
            after = self.live()
        self.assertEqual(before["gpu"]["free_bytes"] -
                         after["gpu"]["free_bytes"], 30 * GIB)
        drop = before["fractions"][0] - after["fractions"][0]
        self.assertAlmostEqual(drop, 30 * GIB / after["gpu"]["total_bytes"],
                               delta=0.011)
        self.assertEqual(after["clients"]["count"], 1)
        self.assertEqual(after["clients"]["names"], "trainer")
        # vLLM's start-up check: utilization x total within free memory.
        self.assertLessEqual(after["fractions"][0] *
                             after["gpu"]["total_bytes"],
                             after["gpu"]["free_bytes"])
        text = run("--engine", "tgi", "--model", "qwen2-vl-7b", "--server",
                   "http://" + self.d.main, "--gpu", "0").stdout
        self.assertIn("vgmo clients on this GPU: trainer", text)

    def test_unknown_gpu(self):
        p = run("--engine", "vllm", "--model", "qwen2-vl-7b", "--server",
                "http://" + self.d.main, "--gpu", "3", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--gpu 3", p.stderr)


class LiveNvml(unittest.TestCase):
    """The same answer through the NVML backend, on the fake
    libnvidia-ml.so.1 (tests/fake_nvml): a GPU with a 20 GiB process on it
    against the same GPU without."""

    def plan_on(self, scenario):
        d = tempfile.mkdtemp(prefix="vgmo-plan-nvml-")
        path = os.path.join(d, "scenario")
        with open(path, "w") as f:
            f.write(scenario)
        daemon = relylib.Daemon(
            VGMO, os.path.join(d, "state"), "--nvml-library",
            os.path.join(FAKE_NVML, "full", "libnvidia-ml.so.1"),
            backend="nvml", env={"VGMO_FAKE_NVML_SCENARIO": path})
        try:
            return plan_json("--engine", "sglang", "--model", "qwen2-vl-7b",
                             "--server", "http://" + daemon.main, "--gpu",
                             "0")
        finally:
            daemon.stop()
            relylib.shutil.rmtree(d, ignore_errors=True)

    @unittest.skipUnless(os.environ.get("VGMO_FAKE_NVML_DIR"),
                         "needs the fake NVML (VGMO_FAKE_NVML_DIR)")
    def test_process_on_the_gpu(self):
        base = "device 0 total 85520809984 used 1073741824 reserved 0\n"
        empty = self.plan_on(base)
        busy = self.plan_on(base.replace("used 1073741824",
                                         "used %d" % (21 * GIB)) +
                            "proc 0 4242 %d\n" % (20 * GIB))
        self.assertEqual(empty["gpu"]["free_bytes"] -
                         busy["gpu"]["free_bytes"], 20 * GIB)
        self.assertEqual(busy["processes"], {"count": 1,
                                             "used_bytes": 20 * GIB})
        # SGLang's fraction is of the free memory: the same pool needs a
        # larger fraction of less; the pool itself is what the share holds.
        self.assertLess(busy["predicted"]["kv_pool_bytes"],
                        empty["predicted"]["kv_pool_bytes"] - 19 * GIB)


if __name__ == "__main__":
    VGMO = os.path.abspath(sys.argv.pop(1))
    FAKE_NVML = os.environ.get("VGMO_FAKE_NVML_DIR", "")
    unittest.main()
