#!/usr/bin/env python3
"""Tests of the Python package (python/vgmo, docs/python.md).

Usage: test_python.py PATH/TO/vgmo BUILD_DIR [unittest options]

- vgmo.Client against a real `vgmo serve --backend sim` on loopback:
  registration, reports converging to the fake worker's per-item cost, OOM
  back-off, lease expiry, two clients sharing a GPU, a daemon restart in
  the middle of a run, the bearer token, the example worker; and against a
  small stub server for what a real daemon will not do on demand (5xx,
  forgetting one client).
- vgmo.torch.Runner on a FAKE `torch` module put in sys.modules: PyTorch
  is not installed here, and the helper only calls torch.cuda's memory
  functions, which the fake counts and scripts.
- The seed's in-process API (VLMGPUMemoryOptimizer ...) on BUILD_DIR's
  libvgmo.so through ctypes, with the ctypes struct mirrors checked against
  the C compiler's sizes and offsets (BUILD_DIR/tests/abi_layout).

The stub server and the fakes are in vgmo_fakes.py. Standard library
only.
"""
import asyncio
import json
import logging
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import types
import unittest
import zlib

import daemonlib  # tests/daemonlib.py, beside this file
import relylib
import urllib.request

from vgmo_fakes import FakeCuda, RecordingClient, Stub, write_png

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = BUILD = None
GIB = 1 << 30
START_TIMEOUT = 10.0


def _asan_runtime(lib):
    """The sanitizer runtimes a sanitized libvgmo.so needs preloaded into
    python (ldd's paths), or [] for a plain build."""
    try:
        out = subprocess.run(["ldd", lib], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        return []
    return re.findall(r"=>\s*(\S*lib(?:asan|ubsan)\.so\S*)", out)


# ------------------------------------------------------------------ daemon

class Daemon(daemonlib.Daemon):
    """One `vgmo serve` on the simulated GPU without its workload
    (daemonlib.Daemon), on `port` (0: a free one); .url is its URL."""

    def __init__(self, state_dir, *extra, port=0):
        super().__init__(BIN, state_dir, "--sim-workload", "none", *extra,
                         interval="1", env=DAEMON_ENV,
                         listen="127.0.0.1:%d" % port,
                         errpath=os.path.join(state_dir, "daemon.stderr"),
                         errmode="ab", start_timeout=START_TIMEOUT)
        self.url = self.main_url

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.load(r)

    def clients(self):
        return {c["name"]: c for c in self.get("/v1/clients")["clients"]}


def wait_for(what, fn, timeout=5.0):
    return relylib.wait_for(what, fn, timeout)


class FakeWorker:
    """A worker whose batch peaks at fixed + items x cost (+ noise). Its
    batches take `pace` seconds, so that a run of them spans the daemon's
    monitoring ticks, where the GPU's budgets are split again."""

    def __init__(self, client, fixed, cost, seed=1, pace=0.03):
        self.client, self.fixed, self.cost = client, fixed, cost
        self.rng = random.Random(seed)
        self.pace = pace

    def step(self):
        time.sleep(self.pace)
        n = self.client.batch_size()
        peak = int(self.fixed + n * self.cost +
                   abs(self.rng.gauss(0, 0.01 * self.cost)))
        return self.client.report(n, peak, allocated_bytes=self.fixed,
                                  reserved_bytes=peak + 256 * (1 << 20),
                                  seconds=0.01 * n)


class DaemonCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vgmo-test-python-")
        self.daemons = []

    def tearDown(self):
        problems = daemonlib.stop_all(self.daemons)
        shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            self.fail("\n".join(problems))

    def start(self, *extra, port=0):
        d = Daemon(self.dir, *extra, port=port)
        self.daemons.append(d)
        return d

    def client(self, d, name, **kw):
        c = vgmo.Client(d.url, name, **kw)
        self.addCleanup(c.close)
        return c


# ------------------------------------------------------- against a daemon

def write_png(path, width, height):
    """A PNG header: all the fake model reads of an image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) +
                chunk + struct.pack(">I", zlib.crc32(chunk)))


class TestClientDaemon(DaemonCase):
    def test_worker_recipe_climbs(self):
        """docs/python.md's recipe: the example worker over 40 pages of
        1024x1024 on an idle simulated H100 (the fake model: 16 GiB fixed,
        4 GiB per megapixel; about 15 fit). It reaches a batch of 12 within
        5 batches and never runs out of memory."""
        d = self.start()
        folder = os.path.join(self.dir, "scans")
        os.mkdir(folder)
        for i in range(40):
            write_png(os.path.join(folder, "p%02d.png" % i), 1024, 1024)
        out = subprocess.run(
            [sys.executable, os.path.join(ROOT, "examples", "vlm_worker.py"),
             "--server", d.url, "--folder", folder, "-v",
             "--seconds-per-image", "0"],
            capture_output=True, text=True, timeout=60, env=DAEMON_ENV)
        self.assertEqual(out.returncode, 0, out.stderr)
        sizes = [int(m) for m in re.findall(r"^batch of (\d+): peak",
                                            out.stdout, re.M)]
        self.assertNotRegex(out.stdout, r"batch of \d+: out of memory")
        self.assertGreaterEqual(max(sizes[:5]), 12, out.stdout)
        self.assertIn("(0 out of memory)", out.stdout)

    def test_fresh_daemon_never_drops_while_healthy(self):
        """The default worker on the simulated GPU's own workload: its
        first recommendation is not below the starting batch size while
        memory is healthy."""
        d = Daemon(self.dir, "--sim-workload", "vlm")
        self.daemons.append(d)
        wait_for("five reports",
                 lambda: d.get("/v1/status")["workers"][0]["reports"] >= 5,
                 timeout=15)
        status = d.get("/v1/status")
        self.assertEqual(status["status"], "healthy")
        changes = [h for h in d.get("/v1/history")["history"]
                   if h["worker"] == "default" and h["new_batch_size"]]
        self.assertTrue(changes)
        self.assertGreaterEqual(changes[0]["new_batch_size"],
                                changes[0]["old_batch_size"], changes[0])
        self.assertGreaterEqual(status["current_batch_size"], 4)

    def test_registration(self):
        d = self.start()
        c = self.client(d, "docparse-1", weight=2.0, unit="images")
        self.assertIsNotNone(c.id)
        self.assertTrue(c.connected)
        self.assertGreaterEqual(c.batch_size(), 1)
        self.assertGreater(c.lease_seconds, 0)
        seen = d.clients()["docparse-1"]
        self.assertEqual((seen["id"], seen["gpu"], seen["weight"],
                          seen["unit"], seen["state"]),
                         (c.id, 0, 2.0, "images", "healthy"))
        self.assertEqual(c.info()["name"], "docparse-1")
        # The same name again, without this client's secret, is another
        # worker's: refused while this one reports (it keeps trying).
        again = self.client(d, "docparse-1", weight=1e-6, unit="images")
        self.assertIsNone(again.id)
        self.assertFalse(again.connected)
        self.assertEqual(d.clients()["docparse-1"]["weight"], 2.0)
        again.close()
        with self.assertRaises(ValueError):
            vgmo.Client(d.url, "bad name")
        with self.assertRaises(vgmo.VgmoError) as cm:
            vgmo.Client(d.url, "w", gpu=7)  # one simulated GPU
        self.assertEqual(cm.exception.status, 400)
        c.close()
        self.assertNotIn("docparse-1", d.clients())

    def test_fit_and_plan(self):
        """A tokens worker of a preset asks before it runs: image sizes
        counted with the model, a request that can never fit refused
        with what would, a plan of the head of its queue, a batch
        reported with its shapes; answers while the daemon is away."""
        d = self.start()
        c = self.client(d, "asker", unit="tokens", model="qwen2-vl-7b",
                        padding="padded", pid=os.getpid())
        page = {"images": [(1700, 2200)], "text_tokens": 120,
                "output_tokens": 512}
        f = c.fit(**page)
        self.assertEqual((f.verdict, f.fits), ("fits", True), f.reason)
        self.assertGreater(f.room_bytes, f.need_bytes)
        huge = c.fit(text_tokens=5_000_000, output_tokens=16)
        self.assertEqual((huge.verdict, huge.fits), ("never", False))
        self.assertIn("never fits", huge.reason)
        self.assertTrue(1000 < huge.max_prompt_tokens < 5_000_000)
        # The model counts image tokens: a bigger page needs more.
        big = c.fit(images=[(3000, 4000)], text_tokens=120,
                    output_tokens=512)
        self.assertGreater(big.need_bytes, f.need_bytes)
        queue = [page, {"image_tokens": 800, "images": 1,
                        "text_tokens": 30}, page]
        plan = c.plan(queue)
        self.assertTrue(1 <= plan.take <= 3, plan)
        self.assertEqual(plan.head.verdict, "fits")
        c.report(2, 19 * GIB, requests=queue[:2])
        seen = d.clients()["asker"]
        self.assertEqual((seen["unit"], seen["reports"]), ("tokens", 1))
        with self.assertRaises(ValueError):
            c.report(3, GIB, requests=queue[:2])
        with self.assertRaises(ValueError):
            c.fit(images=[(0, 10)])
        with self.assertRaises(ValueError):
            c.plan([{"pixels": 3}])
        # An items worker cannot count tokens of image sizes.
        items = self.client(d, "counter", unit="images")
        with self.assertRaises(vgmo.VgmoError) as cm:
            items.fit(images=[(1024, 1024)])
        self.assertEqual((cm.exception.status, cm.exception.field),
                         (400, "image_tokens"))
        d.stop()
        with self.assertLogs("vgmo", logging.WARNING):
            away = c.fit(**page)
        self.assertEqual((away.verdict, away.fits), ("unknown", True))
        self.assertEqual(c.plan(queue).take, min(3, c.batch_size()))

    def test_converges_to_the_cost(self):
        d = self.start()
        fixed, cost = 10 * GIB, 6 * GIB
        w = FakeWorker(self.client(d, "w"), fixed, cost)
        for _ in range(50):
            n = w.step()
        seen = d.clients()["w"]
        model = seen["model"]
        self.assertTrue(model["fitted"])
        self.assertAlmostEqual(model["item_bytes"] / cost, 1.0, delta=0.1)
        budget = seen["budget_bytes"]
        self.assertEqual(seen["batch_size"], n)
        self.assertEqual(w.client.budget_bytes, budget)
        # The batch grew from the first 4, fits the budget, and is not
        # far below it (the margin its own errors call for, and the
        # allocator's overhead, keep it under the very last item).
        self.assertGreater(n, 4)
        self.assertLessEqual(fixed + n * cost, budget)
        cfg = d.get("/v1/config")
        if n < cfg["max_batch_size"]:
            self.assertGreaterEqual(n, 0.85 * (budget - fixed) / cost)
        gpu = d.get("/v1/status")["gpus"][0]
        self.assertLessEqual(budget, gpu["memory_total_bytes"])

    def test_oom_halves_at_once(self):
        d = self.start()
        w = FakeWorker(self.client(d, "w"), 4 * GIB, 1 * GIB)
        for _ in range(20):
            n = w.step()
        self.assertGreaterEqual(n, 4)
        after = w.client.report_oom(n)
        self.assertLessEqual(after, n // 2)
        self.assertTrue(w.client.cleanup_requested)
        self.assertEqual(d.clients()["w"]["ooms"], 1)

    def test_lease_expiry(self):
        d = self.start("--lease", "1")
        c = self.client(d, "sleepy")
        c.report(1, GIB)
        wait_for("unhealthy", lambda: d.clients().get("sleepy", {}).get(
            "state") == "unhealthy", timeout=4)
        wait_for("dropped", lambda: "sleepy" not in d.clients(), timeout=4)
        # The next report registers again by itself.
        self.assertGreaterEqual(c.report(1, GIB), 1)
        self.assertTrue(c.connected)
        self.assertEqual(d.clients()["sleepy"]["state"], "healthy")

    def test_two_clients_share_a_gpu(self):
        d = self.start()
        a = FakeWorker(self.client(d, "a"), 8 * GIB, 3 * GIB, seed=1)
        b = FakeWorker(self.client(d, "b", weight=3.0), 12 * GIB, 2 * GIB,
                       seed=2)
        for _ in range(40):
            a.step()
            b.step()
        seen = d.clients()
        total = d.get("/v1/status")["gpus"][0]["memory_total_bytes"]
        # Balanced, alone with its workers on the GPU, goes to the OOM
        # line: the whole device, split.
        limit = total
        self.assertLessEqual(seen["a"]["share"] + seen["b"]["share"],
                             1.0 + 1e-9)
        self.assertLessEqual(seen["a"]["budget_bytes"] +
                             seen["b"]["budget_bytes"], limit)
        self.assertGreater(seen["b"]["share"], seen["a"]["share"])
        for w in (a, b):
            n = w.client.batch_size()
            self.assertLessEqual(w.fixed + n * w.cost,
                                 seen[w.client.name]["budget_bytes"])

    def test_daemon_restart(self):
        d = self.start()
        c = self.client(d, "survivor", retry_max=0.5)
        w = FakeWorker(c, 4 * GIB, 2 * GIB)
        for _ in range(15):
            n = w.step()
        d.stop()
        self.daemons.remove(d)
        with self.assertLogs("vgmo", logging.WARNING) as logs:
            for _ in range(30):  # never raises, keeps the batch size
                self.assertEqual(w.step(), n)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertFalse(c.connected)
        self.start(port=d.port)
        with self.assertLogs("vgmo", logging.INFO):
            wait_for("reconnection", lambda: (w.step(), c.connected)[1],
                     timeout=5)
        self.assertIn("survivor", self.daemons[-1].clients())

    def test_token(self):
        path = os.path.join(self.dir, "token")
        with open(path, "w") as f:
            f.write("s3cret-token\n")
        d = self.start("--auth-token-file", path)
        with self.assertRaises(vgmo.VgmoError) as cm:
            vgmo.Client(d.url, "w", token="wrong")
        self.assertEqual(cm.exception.status, 401)
        c = self.client(d, "w", token=vgmo.read_token_file(path))
        self.assertGreaterEqual(c.report(2, GIB), 1)

    def test_unreachable_at_start(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with self.assertLogs("vgmo", logging.WARNING):
            c = vgmo.Client("http://127.0.0.1:%d" % port, "w",
                            fallback_batch_size=3)
        self.assertIsNone(c.id)
        self.assertEqual(c.report(3, GIB), 3)
        self.assertEqual(c.report_oom(3), 1)
        c.close()

    def test_example_worker(self):
        d = self.start()
        folder = os.path.join(self.dir, "images")
        os.mkdir(folder)
        for i in range(40):
            write_png(os.path.join(folder, "page%02d.png" % i),
                      1000 + 40 * i, 800)
        out = subprocess.run(
            [sys.executable, os.path.join(ROOT, "examples", "vlm_worker.py"),
             "--server", d.url, "--name", "example", "--folder", folder,
             "--seconds-per-image", "0"],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"processed 40 images in \d+ batches")

    def test_example_worker_refuses_what_never_fits(self):
        """--unit tokens: vgmo plans each batch from the images' sizes; a
        panorama that could never fit (the fake model would need 960 GiB)
        is refused before it runs, with no out-of-memory error."""
        d = self.start()
        folder = os.path.join(self.dir, "pages")
        os.mkdir(folder)
        for i in range(30):
            write_png(os.path.join(folder, "page%02d.png" % i), 1024, 1024)
        write_png(os.path.join(folder, "page20-panorama.png"), 20000, 12000)
        out = subprocess.run(
            [sys.executable, os.path.join(ROOT, "examples", "vlm_worker.py"),
             "--server", d.url, "--folder", folder, "--unit", "tokens",
             "-v", "--seconds-per-image", "0"],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("processed 30 images", out.stdout)
        self.assertIn("(0 out of memory, 1 refused)", out.stdout)
        self.assertRegex(out.stderr, r"page20-panorama.png does not fit: "
                         r"never fits")
        sizes = [int(m) for m in re.findall(r"^batch of (\d+): peak",
                                            out.stdout, re.M)]
        self.assertGreaterEqual(max(sizes), 8, out.stdout)


    def test_python_m_vgmo(self):
        """python3 -m vgmo status|history|monitor, as vgmo's own reads."""
        d = self.start()
        env = dict(DAEMON_ENV, PYTHONPATH=os.path.join(ROOT, "python"))

        def run(*args, rc=0):
            p = subprocess.run([sys.executable, "-m", "vgmo", *args],
                               capture_output=True, text=True, timeout=30,
                               env=env)
            self.assertEqual(p.returncode, rc, p.stderr)
            return p
        out = run("status", "--server", d.url).stdout
        self.assertRegex(out, r"(?m)^backend: +sim$")
        self.assertRegex(out, r"(?m)^ +0  NVIDIA")
        st = json.loads(run("status", "--json", "--server",
                            d.url.replace("http://", "")).stdout)
        self.assertEqual(st["backend"], "sim")
        out = run("history", "--limit", "5", "--server", d.url).stdout
        self.assertTrue(out.startswith(("TIME", "no optimization")), out)
        out = run("monitor", "--interval", "0.2", "--duration", "0.5",
                  "--server", d.url).stdout
        self.assertRegex(out, r"(?m)^\d{4}-\d\d-\d\d .* batch ")
        p = run("status", "--server", "127.0.0.1:1", rc=1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("cannot reach the daemon", p.stderr)
        run("history", "--limit", "0", rc=2)
        run("frobnicate", rc=2)


class TestExamples(unittest.TestCase):
    def test_make_images(self):
        """Valid PNGs (CRCs, sizes, pixel data), the same for a seed."""
        tmp = tempfile.mkdtemp(prefix="vgmo-test-images-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        script = os.path.join(ROOT, "examples", "make_images.py")
        for out in ("a", "b"):
            p = subprocess.run([sys.executable, script, "--out",
                                os.path.join(tmp, out), "--count", "6"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        names = sorted(os.listdir(os.path.join(tmp, "a")))
        self.assertEqual(len(names), 6)
        for name in names:
            with open(os.path.join(tmp, "a", name), "rb") as f:
                data = f.read()
            with open(os.path.join(tmp, "b", name), "rb") as f:
                self.assertEqual(f.read(), data, name)
            self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
            pos, chunks = 8, {}
            while pos < len(data):
                n, kind = struct.unpack(">I4s", data[pos:pos + 8])
                body = data[pos + 4:pos + 8 + n]
                crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
                self.assertEqual(zlib.crc32(body), crc, (name, kind))
                chunks[kind] = body[4:]
                pos += 12 + n
            w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
            self.assertGreaterEqual(min(w, h), 827)
            self.assertEqual(len(zlib.decompress(chunks[b"IDAT"])),
                             (w + 1) * h)
        p = subprocess.run([sys.executable, script, "--out", tmp,
                            "--count", "0"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)

    def test_worker_without_its_folder(self):
        p = subprocess.run(
            [sys.executable, os.path.join(ROOT, "examples", "vlm_worker.py"),
             "--folder", os.path.join(tempfile.gettempdir(), "no-such-dir-"
                                      "vgmo-test")],
            capture_output=True, text=True, timeout=30,
            env=dict(DAEMON_ENV, PYTHONPATH=os.path.join(ROOT, "python")))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("make_images.py", p.stderr)
        p = subprocess.run(
            [sys.executable, os.path.join(ROOT, "examples", "vlm_worker.py"),
             "--help"], capture_output=True, text=True, timeout=30,
            env=dict(DAEMON_ENV, PYTHONPATH=os.path.join(ROOT, "python")))
        # Every option says what it does.
        for words in ("share of the GPU", "time per image",
                      "print each batch", "the vision encoder runs",
                      "the prefill computes logits for", "{last,all}",
                      "{eager,sdpa,flash_attention_2,flash_attention_3,"
                      "flex_attention}"):
            self.assertIn(words, " ".join(p.stdout.split()))


# -------------------------------------------------- against a stub server

class TestClientStub(unittest.TestCase):
    def setUp(self):
        self.stub = Stub()
        self.addCleanup(self.stub.stop)

    def client(self, name, **kw):
        c = vgmo.Client(self.stub.url, name, **kw)
        self.addCleanup(c.close)
        return c

    def test_what_is_sent(self):
        c = vgmo.Client(self.stub.url, "w", gpu="GPU-1234", token="t0k",
                        model="qwen2-vl-7b", unit="tokens")
        self.assertEqual(c.report(4, 5 * GIB, reserved_bytes=6 * GIB,
                                  seconds=0.5, freed_bytes=GIB), 5)
        c.report_oom(5)
        c.close()
        (p1, reg, auth), (p2, rep, _), (p3, oom, _) = self.stub.requests
        self.assertEqual((p1, auth), ("/v1/clients", "Bearer t0k"))
        self.assertEqual(reg, {"name": "w", "gpu": "GPU-1234", "weight": 1.0,
                               "unit": "tokens", "model": "qwen2-vl-7b"})
        self.assertEqual((p2, rep), ("/v1/clients/1/report", {
            "items": 4, "peak_bytes": 5 * GIB, "reserved_bytes": 6 * GIB,
            "seconds": 0.5, "freed_bytes": GIB}))
        self.assertEqual(oom, {"items": 5, "oom": True})
        self.assertEqual(self.stub.clients, {})  # close() left
        with self.assertRaises(ValueError), \
                vgmo.Client(self.stub.url, "w") as c:
            c.report(0, GIB)

    def test_attention_is_sent_when_given(self):
        """attention and vision_attention go in the registration only when
        given; a value not in ATTENTIONS is refused before any request."""
        self.client("a", attention="sdpa",
                    vision_attention="flash_attention_2")
        self.client("b", attention="eager")
        self.client("c")
        regs = [body for p, body, _ in self.stub.requests
                if p == "/v1/clients"]
        self.assertEqual([(r["name"], r.get("attention"),
                           r.get("vision_attention")) for r in regs],
                         [("a", "sdpa", "flash_attention_2"),
                          ("b", "eager", None), ("c", None, None)])
        self.assertNotIn("vision_attention", regs[1])
        self.assertEqual(set(regs[2]), {"name", "gpu", "weight", "unit"})
        self.assertIn("flex_attention", vgmo.client.ATTENTIONS)
        for arg in ("attention", "vision_attention"):
            with self.assertRaisesRegex(
                    ValueError, r"^%s must be one of eager, sdpa, "
                    r"flash_attention_2, flash_attention_3, flex_attention, "
                    r"got 'paged_attention'$" % arg):
                vgmo.Client(self.stub.url, "w", **{arg: "paged_attention"})
        with self.assertRaisesRegex(ValueError, r"^attention must be .*"
                                    r"got 'SDPA'$"):
            vgmo.Client(self.stub.url, "w", attention="SDPA")
        self.assertEqual(len(self.stub.requests), 3)

    def test_logits_is_sent_when_given(self):
        """logits goes in the registration only when given; a value not in
        LOGITS is refused before any request."""
        a = self.client("a", logits="all")
        b = self.client("b", logits="last", attention="sdpa")
        c = self.client("c")
        self.assertEqual((a.logits, b.logits, c.logits),
                         ("all", "last", None))
        regs = [body for p, body, _ in self.stub.requests
                if p == "/v1/clients"]
        self.assertEqual([(r["name"], r.get("logits")) for r in regs],
                         [("a", "all"), ("b", "last"), ("c", None)])
        self.assertEqual(regs[1]["attention"], "sdpa")
        self.assertEqual(set(regs[2]), {"name", "gpu", "weight", "unit"})
        self.assertEqual(vgmo.client.LOGITS, ("last", "all"))
        self.assertIn("LOGITS", vgmo.client.__all__)
        for bad in ("first", "ALL", "", 1):
            with self.assertRaisesRegex(
                    ValueError, r"^logits must be one of last, all, "
                    r"got %s$" % re.escape(repr(bad))):
                vgmo.Client(self.stub.url, "w", logits=bad)
        self.assertEqual(len(self.stub.requests), 3)

    def test_example_worker_sends_attention(self):
        folder = tempfile.mkdtemp(prefix="vgmo-test-attention-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        write_png(os.path.join(folder, "page.png"), 64, 64)
        env = dict(DAEMON_ENV, PYTHONPATH=os.path.join(ROOT, "python"))
        for flags, want in (([], {}),
                            (["--attention", "eager",
                              "--vision-attention", "sdpa"],
                             {"attention": "eager",
                              "vision_attention": "sdpa"}),
                            (["--logits", "all"], {"logits": "all"}),
                            (["--logits", "last", "--attention", "sdpa"],
                             {"logits": "last", "attention": "sdpa"})):
            del self.stub.requests[:]
            p = subprocess.run(
                [sys.executable,
                 os.path.join(ROOT, "examples", "vlm_worker.py"),
                 "--server", self.stub.url, "--folder", folder,
                 "--seconds-per-image", "0"] + flags,
                capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            path, reg, _ = self.stub.requests[0]
            self.assertEqual(path, "/v1/clients")
            self.assertEqual({k: v for k, v in reg.items()
                              if "attention" in k or k == "logits"}, want)

    def test_forgotten_client_registers_again(self):
        c = self.client("w")
        self.stub.clients.clear()  # the daemon forgot it
        self.assertEqual(c.report(4, GIB), 5)
        self.assertEqual(c.id, 2)
        self.assertEqual([p for p, _, _ in self.stub.requests],
                         ["/v1/clients", "/v1/clients/1/report",
                          "/v1/clients", "/v1/clients/2/report"])

    def test_server_errors_back_off(self):
        c = self.client("w", retry_max=0.3)
        self.stub.fail = 503
        with self.assertLogs("vgmo", logging.WARNING) as logs:
            for _ in range(20):
                self.assertEqual(c.report(4, GIB), 4)
        self.assertEqual(len(logs.records), 1)
        # Backing off: far fewer requests than reports.
        self.assertLess(len(self.stub.requests), 6)
        self.stub.fail = None
        time.sleep(0.4)
        self.assertEqual(c.report(4, GIB), 5)
        self.assertTrue(c.connected)

    def test_refusal_is_logged_not_raised(self):
        c = self.client("w")
        self.stub.fail = 400
        with self.assertLogs("vgmo", logging.ERROR) as logs:
            for _ in range(3):
                self.assertEqual(c.report(4, GIB), 4)
        self.assertEqual(len(logs.records), 1)
        self.assertTrue(c.connected)  # the daemon answered


# --------------------------------------------------------- vgmo.torch

class TestTorchHelper(unittest.TestCase):
    """vgmo.torch on a fake torch (PyTorch is not installed here)."""

    def setUp(self):
        self.cuda = FakeCuda()
        fake = types.ModuleType("torch")
        fake.cuda = self.cuda
        saved = sys.modules.get("torch")
        sys.modules["torch"] = fake
        self.addCleanup(lambda: sys.modules.pop("torch") if saved is None
                        else sys.modules.__setitem__("torch", saved))
        import vgmo.torch
        self.vt = vgmo.torch
        self.client = RecordingClient()

    def batch(self, n):
        self.cuda.alloc(n * GIB)   # activations
        self.cuda.allocated -= n * GIB  # freed at the end of the batch
        return "out%d" % n

    def test_reports_the_batch(self):
        r = self.vt.Runner(self.client, device=1)
        self.assertEqual(r.run(self.batch, 3, 3), "out3")
        self.assertEqual(self.cuda.calls, [("reset", 1), ("sync", 1)])
        (rep,) = self.client.reports
        self.assertEqual((rep["items"], rep["peak_bytes"],
                          rep["allocated_bytes"], rep["reserved_bytes"],
                          rep["freed_bytes"]),
                         (3, 13 * GIB, 10 * GIB, 13 * GIB, None))
        self.assertGreaterEqual(rep["seconds"], 0)

    def test_cleanup_when_asked_is_measured(self):
        r = self.vt.Runner(self.client)
        r.run(self.batch, 2, 2)
        self.client.cleanup_requested = True
        r.run(self.batch, 5, 5)  # asks; reserved 15 GiB -> 10 GiB
        self.assertIn(("empty_cache", None), self.cuda.calls)
        self.assertEqual(r.last_freed, 5 * GIB)
        self.client.cleanup_requested = False
        r.run(self.batch, 1, 1)
        self.assertEqual(self.client.reports[-1]["freed_bytes"], 5 * GIB)

    def test_run_requests(self):
        r = self.vt.Runner(self.client)
        reqs = [{"image_tokens": 900, "text_tokens": 20}] * 2
        seen = []
        self.assertEqual(r.run_requests(
            lambda batch, n: seen.append(batch) or self.batch(n), reqs, 2),
            "out2")
        self.assertEqual(seen, [reqs])
        (rep,) = self.client.reports
        self.assertEqual((rep["items"], rep["requests"]), (2, reqs))

    def test_oom(self):
        def boom():
            self.cuda.alloc(30 * GIB)
            raise self.cuda.OutOfMemoryError("CUDA out of memory")
        r = self.vt.Runner(self.client)
        with self.assertRaises(self.cuda.OutOfMemoryError):
            r.run(boom, 8)
        self.assertEqual(self.client.ooms, [8])
        self.assertIn(("empty_cache", None), self.cuda.calls)
        r = self.vt.Runner(self.client, oom="return")
        self.assertIs(r.run(boom, 4), self.vt.OOM)
        self.assertEqual(self.client.ooms, [8, 4])
        self.assertEqual(self.client.reports, [])


class TestAttentionOf(unittest.TestCase):
    """vgmo.torch.attention_of on stand-ins for Hugging Face models; it
    reads configs only and imports no torch."""

    def setUp(self):
        had = "torch" in sys.modules
        import vgmo.torch
        self.of = vgmo.torch.attention_of
        self.torch_imported = not had and "torch" in sys.modules

    @staticmethod
    def model(**config):
        return types.SimpleNamespace(config=types.SimpleNamespace(**config))

    def test_decoder_value_for_both(self):
        self.assertEqual(self.of(self.model(_attn_implementation="sdpa")),
                         {"attention": "sdpa", "vision_attention": "sdpa"})
        self.assertEqual(self.of(self.model(attn_implementation="eager")),
                         {"attention": "eager", "vision_attention": "eager"})
        self.assertFalse(self.torch_imported)

    def test_vision_config_overrides(self):
        m = self.model(_attn_implementation="flash_attention_2",
                       vision_config=types.SimpleNamespace(
                           _attn_implementation="sdpa"))
        self.assertEqual(self.of(m), {"attention": "flash_attention_2",
                                      "vision_attention": "sdpa"})
        # A vision_config that names none: the decoder's.
        m = self.model(_attn_implementation="flex_attention",
                       vision_config=types.SimpleNamespace())
        self.assertEqual(self.of(m), {"attention": "flex_attention",
                                      "vision_attention": "flex_attention"})
        # The config itself works too.
        self.assertEqual(self.of(m.config), self.of(m))

    def test_unknown_values_are_left_out(self):
        m = self.model(_attn_implementation="paged_attention",
                       vision_config=types.SimpleNamespace(
                           _attn_implementation="flash_attention_3"))
        self.assertEqual(self.of(m), {"vision_attention":
                                      "flash_attention_3"})
        # The vision encoder's own unknown value is not the decoder's.
        m = self.model(_attn_implementation="eager",
                       vision_config=types.SimpleNamespace(
                           _attn_implementation="kernels-community/x"))
        self.assertEqual(self.of(m), {"attention": "eager"})
        self.assertEqual(self.of(self.model()), {})
        self.assertEqual(self.of(types.SimpleNamespace()), {})
        self.assertEqual(self.of(self.model(_attn_implementation=None,
                                            attn_implementation="sdpa")),
                         {"attention": "sdpa", "vision_attention": "sdpa"})

    def test_goes_into_a_client(self):
        stub = Stub()
        self.addCleanup(stub.stop)
        m = self.model(_attn_implementation="eager",
                       vision_config=types.SimpleNamespace(
                           _attn_implementation="sdpa"))
        with vgmo.Client(stub.url, "w", **self.of(m)) as c:
            self.assertEqual((c.attention, c.vision_attention),
                             ("eager", "sdpa"))
        path, reg, _ = stub.requests[0]
        self.assertEqual(path, "/v1/clients")
        self.assertEqual((reg["attention"], reg["vision_attention"]),
                         ("eager", "sdpa"))


class TestLogitsOf(unittest.TestCase):
    """vgmo.torch.logits_of on stand-ins for Hugging Face models; it reads
    forward's signature only and imports no torch."""

    def setUp(self):
        had = "torch" in sys.modules
        import vgmo.torch
        self.of = vgmo.torch.logits_of
        self.torch_imported = not had and "torch" in sys.modules

    def test_logits_to_keep_is_last(self):
        class Recent:  # transformers' generate passes logits_to_keep=1
            def forward(self, input_ids, attention_mask=None,
                        logits_to_keep=0, **kwargs):
                raise AssertionError("not called")

        class Older:  # its name before the rename
            def forward(self, input_ids, num_logits_to_keep=0):
                raise AssertionError("not called")

        class KeywordOnly:
            def forward(self, input_ids, *, logits_to_keep=0):
                pass

        for cls in (Recent, Older, KeywordOnly):
            self.assertEqual(self.of(cls()), {"logits": "last"}, cls)
        self.assertFalse(self.torch_imported)

    def test_neither_is_all(self):
        class Old:  # a forward that computes every position's logits
            def forward(self, input_ids, attention_mask=None):
                pass

        self.assertEqual(self.of(Old()), {"logits": "all"})
        # A forward that only takes *args does not take logits_to_keep.
        self.assertEqual(self.of(types.SimpleNamespace(
            forward=lambda *inputs: None)), {"logits": "all"})

    def test_kwargs_catch_all_is_unknown(self):
        class Wrapped:  # logits_to_keep may hide in **kwargs
            def forward(self, input_ids, **kwargs):
                pass

        self.assertEqual(self.of(Wrapped()), {})
        # A parameter only named like the keyword catch-all is not one.
        self.assertEqual(self.of(types.SimpleNamespace(
            forward=lambda input_ids, kwargs=None: None)), {"logits": "all"})

    def test_scoring_is_all(self):
        class Recent:
            def forward(self, input_ids, logits_to_keep=0):
                pass

        self.assertEqual(self.of(Recent(), scoring=True), {"logits": "all"})
        self.assertEqual(self.of(object(), scoring=True), {"logits": "all"})

    def test_model_without_forward(self):
        def model(input_ids, logits_to_keep=0):
            pass

        self.assertEqual(self.of(model), {"logits": "last"})
        self.assertEqual(self.of(lambda input_ids: None), {"logits": "all"})

    def test_unreadable_signature_is_unknown(self):
        class BadSignature:  # inspect.signature raises TypeError
            __signature__ = "not a Signature"

            def __call__(self, input_ids):
                pass

        class Raising:  # reading the signature raises ValueError
            @property
            def __signature__(self):
                raise ValueError("no signature")

            def __call__(self, input_ids):
                pass

        self.assertEqual(self.of(types.SimpleNamespace(
            forward=BadSignature())), {})
        self.assertEqual(self.of(types.SimpleNamespace(forward=Raising())),
                         {})
        self.assertEqual(self.of(Raising()), {})
        self.assertEqual(self.of(object()), {})  # not callable: TypeError
        self.assertEqual(self.of(types.SimpleNamespace(forward=None)), {})

    def test_goes_into_a_client(self):
        stub = Stub()
        self.addCleanup(stub.stop)

        class Recent:
            def forward(self, input_ids, logits_to_keep=0):
                pass

        with vgmo.Client(stub.url, "w", **self.of(Recent())) as c:
            self.assertEqual(c.logits, "last")
        with vgmo.Client(stub.url, "s", **self.of(Recent(),
                                                  scoring=True)) as c:
            self.assertEqual(c.logits, "all")
        with vgmo.Client(stub.url, "u", **self.of(object())) as c:
            self.assertIsNone(c.logits)
        regs = [body for p, body, _ in stub.requests if p == "/v1/clients"]
        self.assertEqual([r.get("logits") for r in regs],
                         ["last", "all", None])
        self.assertNotIn("logits", regs[2])


# ------------------------------------------------ the seed's in-process API

class TestSeedApi(unittest.TestCase):
    def test_struct_layouts_match_the_header(self):
        out = subprocess.run([os.path.join(BUILD, "tests", "abi_layout")],
                             capture_output=True, text=True, check=True,
                             env=DAEMON_ENV).stdout
        seen = set()
        for line in out.splitlines():
            cname, field, value = line.split()
            mirror = native.STRUCTS[cname]
            if field == "-":
                self.assertEqual(ctypes.sizeof(mirror), int(value), cname)
            else:
                self.assertEqual(getattr(mirror, field).offset, int(value),
                                 "%s.%s" % (cname, field))
                seen.add((cname, field))
        for cname, mirror in native.STRUCTS.items():
            for field in mirror._fields_:
                self.assertIn((cname, field[0]), seen)

    def test_library_is_found_beside_the_package(self):
        beside = os.path.join(ROOT, "build", "libvgmo.so")
        self.assertEqual(native._candidates()[0], beside)
        with self.assertRaises(OSError):  # explicit: no fallback
            native.load_library(os.path.join(self.id(), "libvgmo.so"))
        if BUILD != os.path.dirname(beside):
            return  # another build folder: build/ may be stale or absent
        saved = os.environ.pop("VGMO_LIBRARY")
        try:
            self.assertEqual(native.load_library()._name, beside)
        finally:
            os.environ["VGMO_LIBRARY"] = saved

    def test_the_guides_usage(self):
        from vgmo import (MemoryConfig, MemoryOptimizationStrategy,
                          MemoryStatus, VLMGPUMemoryOptimizer)

        async def guide():
            config = MemoryConfig(
                strategy=MemoryOptimizationStrategy.BALANCED,
                memory_threshold_warning=0.8,
                memory_threshold_critical=0.9,
                memory_threshold_oom=0.95, monitoring_interval=0.2)
            optimizer = VLMGPUMemoryOptimizer(config, backend="sim")
            await optimizer.start_monitoring()
            result = await optimizer.optimize_memory()
            batch_size = optimizer.get_current_batch_size()
            status = optimizer.get_memory_status()
            await asyncio.sleep(0.5)
            later = optimizer.get_memory_status()
            await optimizer.stop_monitoring()
            return optimizer, result, batch_size, status, later

        opt, result, batch_size, status, later = asyncio.run(guide())
        self.addCleanup(opt.close)
        self.assertEqual(opt.backend, "sim")
        self.assertTrue(result.success)
        self.assertEqual(result["action_taken"], result.action_taken)
        self.assertTrue(1 <= batch_size <= 16)
        for key in ("status", "gpu_available", "current_batch_size",
                    "optimal_batch_size", "optimization_enabled",
                    "memory_usage_percent", "total_memory_mb", "timestamp"):
            self.assertIn(key, status)
        self.assertIn(status["status"], [s.value for s in MemoryStatus])
        self.assertTrue(status["monitoring"])
        self.assertFalse(opt.get_memory_status()["monitoring"])
        self.assertGreater(later["timestamp"], status["timestamp"])
        history = opt.get_optimization_history()
        self.assertTrue(history)
        for entry in history:
            self.assertIn(entry["action_taken"], entry.values())
            self.assertIsInstance(entry["success"], bool)
        opt.set_batch_size(7)
        self.assertEqual(opt.get_current_batch_size(), 7)
        with self.assertRaises(ValueError):
            opt.set_batch_size(99)
        opt.set_batch_size(None)
        opt.disable_optimization()
        self.assertEqual(opt.optimize_memory_sync().action_taken,
                         "optimization_disabled")
        self.assertFalse(opt.get_memory_status()["optimization_enabled"])
        opt.enable_optimization()
        self.assertTrue(opt.get_memory_status()["optimization_enabled"])

    def test_in_process_reports_and_config(self):
        from vgmo import MemoryConfig, VLMGPUMemoryOptimizer
        with VLMGPUMemoryOptimizer(MemoryConfig(max_batch_size=32),
                                   backend="sim",
                                   sim_workload="none") as opt:
            self.assertEqual(opt.get_config().max_batch_size, 32)
            for _ in range(30):
                n = opt.get_current_batch_size()
                opt.report_batch(n, 8 * GIB + n * 4 * GIB,
                                 allocated_bytes=8 * GIB, seconds=0.1)
            n = opt.get_current_batch_size()
            budget = opt.get_memory_status()["workers"][0]["budget_bytes"]
            # Most of what the budget allows, and within it.
            self.assertLessEqual(8 * GIB + n * 4 * GIB, budget)
            self.assertGreaterEqual(n, 0.75 * (budget - 8 * GIB) / (4 * GIB))
            self.assertEqual(opt.report_batch(n, GIB, oom=True), n // 2)
            with self.assertRaises(ValueError):
                opt.update_config(MemoryConfig(min_batch_size=0))
        with self.assertRaises(vgmo.VgmoError):
            VLMGPUMemoryOptimizer(backend="nope")

    def test_config_refused_at_construction(self):
        from vgmo import MemoryConfig, VLMGPUMemoryOptimizer
        with self.assertRaises(ValueError) as cm:
            MemoryConfig(memory_threshold_warning=1.5, min_batch_size=0)
        self.assertIn("memory_threshold_warning: must be a number from 0 "
                      "to 1 (got 1.5)", str(cm.exception))
        self.assertIn("min_batch_size", str(cm.exception))
        with self.assertRaises(ValueError):
            MemoryConfig(strategy="reckless")
        with self.assertRaises(ValueError):
            MemoryConfig(max_batch_size=2.5)
        self.assertEqual(MemoryConfig(strategy="aggressive").strategy,
                         vgmo.MemoryOptimizationStrategy.AGGRESSIVE)
        # Changed after construction: the engine refuses it, ValueError.
        cfg = MemoryConfig()
        cfg.memory_threshold_oom = 0.5
        with self.assertRaises(ValueError) as cm:
            VLMGPUMemoryOptimizer(cfg, backend="sim")
        self.assertIn("memory_threshold_oom", str(cm.exception))

    def test_config_rules_match_the_library(self):
        """MemoryConfig.violations() says what vgmo_config_validate says."""
        from vgmo import MemoryConfig
        lib = native.load_library(None)
        rng = random.Random(16)
        picks = {
            "monitoring_interval": [5.0, 0.0, -1.0, 1e-3, 0.1, 3601.0],
            "memory_threshold_warning": [0.8, 0.95, 1.5, -0.1, 0.0],
            "memory_threshold_critical": [0.9, 0.8, 2.0, 0.95],
            "memory_threshold_oom": [0.95, 0.9, 1.0, 1.2],
            "temperature_threshold": [80.0, 0.0, -5.0, 0.5, 1e6],
            "optimization_interval": [60.0, 0.0, 1e300],
            "cleanup_interval": [300.0, -1.0, 0.05],
            "max_batch_size": [16, 0, 1, 4, -3, 2 ** 31 - 1],
            "min_batch_size": [1, 0, 8, 20, 2 ** 31 - 1],
            "memory_reserve_mb": [1024, 0, -1, 2 ** 63 - 1],
            "gc_threshold": [0.85, 1.1],
            "fragmentation_threshold": [0.3, -0.2],
        }
        for _ in range(300):
            cfg = MemoryConfig()
            for name, values in picks.items():
                if rng.random() < 0.3:
                    setattr(cfg, name, rng.choice(values))
            err = ctypes.create_string_buffer(2048)
            rc = lib.vgmo_config_validate(ctypes.byref(cfg._to_c()), err,
                                          ctypes.sizeof(err))
            want = err.value.decode().split("; ") if rc else []
            self.assertEqual(cfg.violations(), want, cfg)

    def test_memory_metrics(self):
        from vgmo import MemoryMetrics, VLMGPUMemoryOptimizer
        with VLMGPUMemoryOptimizer(backend="sim", sim_gpus=2) as opt:
            metrics = opt.get_memory_metrics()
            status = opt.get_memory_status()
        self.assertEqual([m.gpu_index for m in metrics], [0, 1])
        self.assertEqual(metrics[0].total_memory_mb,
                         status["gpus"][0]["total_memory_mb"])
        # The simulated GPU has no reserved memory to report: None.
        top = MemoryMetrics.from_status(status)
        self.assertEqual(top.memory_usage_percent,
                         status["memory_usage_percent"])
        self.assertIsNone(MemoryMetrics.from_status({}).gpu_temperature)


def main():
    global BIN, BUILD, DAEMON_ENV, vgmo, native, ctypes
    if len(sys.argv) < 3:
        sys.exit("usage: test_python.py PATH/TO/vgmo BUILD_DIR "
                 "[unittest options]")
    BIN = os.path.abspath(sys.argv.pop(1))
    BUILD = os.path.abspath(sys.argv.pop(1))
    lib = os.path.join(BUILD, "libvgmo.so")
    DAEMON_ENV = dict(os.environ)
    runtimes = _asan_runtime(lib)
    if runtimes and "VGMO_TEST_PRELOADED" not in os.environ:
        # A sanitized libvgmo.so loads only into a process whose first
        # library is the sanitizer's: run again with it preloaded. The
        # interpreter's own allocations are not ours to leak-check.
        env = dict(os.environ, VGMO_TEST_PRELOADED="1",
                   LD_PRELOAD=":".join(runtimes),
                   VGMO_TEST_ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", ""),
                   ASAN_OPTIONS="detect_leaks=0")
        os.execve(sys.executable, [sys.executable, __file__, BIN, BUILD] +
                  sys.argv[1:], env)
    if "VGMO_TEST_PRELOADED" in os.environ:
        # The daemons and abi_layout run as make check asked.
        DAEMON_ENV.pop("LD_PRELOAD", None)
        DAEMON_ENV["ASAN_OPTIONS"] = os.environ["VGMO_TEST_ASAN_OPTIONS"]
    os.environ["VGMO_LIBRARY"] = lib
    os.environ.pop("VGMO_SERVER", None)
    os.environ.pop("VGMO_TOKEN_FILE", None)
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import ctypes as ctypes_mod
    import vgmo as vgmo_mod
    import vgmo._native as native_mod
    vgmo, native, ctypes = vgmo_mod, native_mod, ctypes_mod
    unittest.main()


if __name__ == "__main__":
    main()
