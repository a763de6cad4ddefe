#!/usr/bin/env python3
"""Injected faults against the real `vgmo serve` (docs/reliability.md).

Usage: test_faults.py PATH/TO/vgmo FAKE_NVML_DIR [unittest options]

NVML, through the fake libnvidia-ml.so.1 (tests/fake_nvml/, scenarios at
the top of scenario.c) loaded by the real dlopen path:
- init failure, a failing device count, no GPU at start: `--backend nvml`
  stops with one clear line; `--backend auto` says so and serves the
  simulated GPU;
- a GPU lost and back: vlm_gpu_up 0 then 1, /ready 503 naming the GPU and
  the NVML error then 200, /v1/status up:false with the reason, all without
  a restart; with two GPUs the other stays up and /ready stays 200;
- every call failing from the start: the daemon serves, the GPU is down;
  every field unsupported: the GPU is up and its series are absent, not 0;
- a call that hangs 4 s, longer than the monitoring interval (0.25 s, so
  the call times out after 0.25 s): /metrics, /health and the API answer
  within two seconds throughout, the hung GPU is reported down ("NVML
  call timed out") and comes back when the call returns; all 8 GPUs hung
  at once while running: /health stays 200 (not "dead");
- a GPU lost under a client that had a budget: /v1/clients, /v1/status
  and /metrics all show its budget and share as unknown (null, no
  series), never the last value.
Disk, on a small tmpfs mounted on the state directory (as root; where
mount is not permitted, the read-only case is injected by putting a
directory where state.json's temp file must go, and ENOSPC is skipped):
- read-only: every admin write is a 503 naming the cause, nothing changes
  (GET reads the same), reads keep working; writable again: writes work,
  no restart;
- full (ENOSPC): the same;
- corrupted, truncated or wrong-shaped state.json at start: the daemon
  starts, keeps the bad file as state.json.corrupt-*, logs "STATE FILE
  CORRUPTED" and serves the defaults; a cut history line is skipped.
Python standard library only; every mount is undone.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relylib as R  # noqa: E402

BIN = None
FAKE = None
INTERVAL = "0.25"


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def stop_all(case, daemons):
    """Stops every daemon (shows its log when the test failed); returns
    the sanitizer reports, to raise once everything is cleaned up."""
    errors = []
    for d in daemons:
        if R.test_failed(case):
            print("\n--- daemon stderr:\n" + d.stderr()[-3000:],
                  file=sys.stderr)
        try:
            d.cleanup()
        except AssertionError as e:
            errors.append(str(e))
    return errors


def fake_lib():
    return os.path.join(FAKE, "full", "libnvidia-ml.so.1")


class Nvml(unittest.TestCase):
    def setUp(self):
        self.tmp = R.TempDir("vgmo-test-faults-")
        self.daemons = []

    def tearDown(self):
        errors = stop_all(self, self.daemons)
        self.tmp.remove()
        if errors:
            raise AssertionError("\n".join(errors))

    def scenario(self, text):
        path = os.path.join(self.tmp.path, "scenario")
        with open(path, "w") as f:
            f.write(text)
        return {"VGMO_FAKE_NVML_SCENARIO": path}

    def start(self, text, backend="nvml", wait=True):
        d = R.Daemon(BIN, os.path.join(self.tmp.path, "state"),
                     "--nvml-library", fake_lib(), backend=backend,
                     env=self.scenario(text), interval=INTERVAL, wait=wait)
        self.daemons.append(d)
        return d

    def probe(self, d):
        """(vlm_gpu_up per GPU, /ready status, reason, /v1/status gpus)."""
        _, _, m = d.request("GET", "/metrics", timeout=2)
        text = m.decode()
        ups = {}
        for line in text.splitlines():
            if line.startswith("vlm_gpu_up{"):
                gpu = line.split('gpu="', 1)[1].split('"', 1)[0]
                ups[gpu] = float(line.rsplit(" ", 1)[1])
        st, _, body = d.request("GET", "/ready", health=True, timeout=2)
        reason = json.loads(body).get("reason")
        gpus = d.json("GET", "/v1/status", timeout=2)["gpus"]
        return ups, st, reason, gpus, text

    def test_init_failures(self):
        for text, words in (("init_error 9\n", "driver not loaded"),
                            ("count_error 999\n", "cannot count GPUs"),
                            ("devices 0\n", "no GPUs found")):
            with self.subTest(scenario=text.strip()):
                d = self.start(text, wait=False)
                rc = d.proc.wait(timeout=20)
                self.assertNotEqual(rc, 0)
                err = d.stderr()
                self.assertIn("vgmo: NVML: " + words, err)
                self.assertEqual(d.proc.stdout.read(), b"")
                # auto: the same line, then the simulated GPU.
                d = self.start(text, backend="auto")
                self.assertIn("vgmo: NVML: %s" % words, d.stderr())
                self.assertIn("using the simulated GPU", d.stderr())
                self.assertEqual(d.json("GET", "/v1/status")["backend"],
                                 "sim")
                self.assertTrue(d.alive())
                d.stop()

    def test_gpu_lost_and_back(self):
        # GPU 0's calls 30 and 31 fail: lost after about a second, retried
        # after 1 s (fails), then 2 s (succeeds): back within ~4 s.
        d = self.start("devices 1\nfail 0 lost_after 30 back_after 32\n")
        seen_up, seen_down = False, None
        deadline = time.monotonic() + 20
        mixed = 0
        while time.monotonic() < deadline:
            ups, ready, reason, gpus, _ = self.probe(d)
            self.assertEqual(d.request("GET", "/health")[0], 200)
            # The three reads are not one snapshot: a sample may land
            # between them. Judge only reads that agree (a few may not).
            if (ups.get("0") == 1.0) != gpus[0]["up"] or \
                    (ready == 200) != gpus[0]["up"]:
                mixed += 1
                self.assertLess(mixed, 4, "reads keep disagreeing")
                continue
            mixed = 0
            if ups.get("0") == 1.0 and seen_down is None:
                seen_up = True
                self.assertEqual(ready, 200)
                self.assertTrue(gpus[0]["up"])
            elif ups.get("0") == 0.0:
                seen_down = gpus[0]
                self.assertEqual(ready, 503)
                self.assertIn("GPU 0", reason)
                self.assertIn("GPU is lost (NVML error 15)", reason)
                self.assertFalse(gpus[0]["up"])
                self.assertIn("NVML error 15", gpus[0]["down_reason"])
            elif ups.get("0") == 1.0 and seen_down is not None:
                self.assertEqual(ready, 200)
                self.assertTrue(gpus[0]["up"])
                break
            time.sleep(0.1)
        else:
            self.fail("not back within 20 s (up before: %s, down: %s)" %
                      (seen_up, seen_down))
        self.assertTrue(seen_up)
        self.assertEqual(d.proc.poll(), None)

    def test_one_of_two_lost(self):
        d = self.start("devices 2\nfail 1 lost_after 1 back_after 0\n")
        ups, ready, reason, gpus, _ = self.probe(d)
        self.assertEqual(ups, {"0": 1.0, "1": 0.0})
        self.assertEqual(ready, 200, reason)
        self.assertEqual([g["up"] for g in gpus], [True, False])

    def test_every_call_failing(self):
        d = self.start("devices 1\nfail 0 lost_after 1 back_after 0\n")
        for _ in range(3):
            ups, ready, reason, gpus, text = self.probe(d)
            self.assertEqual(ups, {"0": 0.0})
            self.assertEqual(ready, 503)
            self.assertIn("GPU is lost", reason)
            # Down: no value series for it, never 0.
            self.assertIsNone(R.metric(text, "vlm_memory_used_bytes"))
            # Never planned: the default worker's optimum is unknown in
            # /v1/status, /v1/batch-size and /metrics alike (was 0 in
            # /v1/batch-size).
            st = d.json("GET", "/v1/status")
            self.assertIsNone(st["optimal_batch_size"])
            self.assertIsNone(
                d.json("GET", "/v1/batch-size")["optimal_batch_size"])
            self.assertIsNone(R.metric(text, "vlm_optimal_batch_size"))
            self.assertTrue(d.alive())
            time.sleep(0.3)

    def budgets(self, d, name):
        """Client `name`'s budget and share as /v1/clients, /v1/status's
        workers and /metrics have them (None: null or no series), and
        whether its GPU is up in /v1/status."""
        _, _, m = d.request("GET", "/metrics", timeout=2)
        text = m.decode()
        st = d.json("GET", "/v1/status", timeout=2)
        c = [c for c in d.json("GET", "/v1/clients", timeout=2)["clients"]
             if c["name"] == name][0]
        w = [w for w in st["workers"] if w["name"] == name][0]
        return (st["gpus"][c["gpu"]]["up"],
                (c["budget_bytes"], c["share"]),
                (w["budget_bytes"], w["share"]),
                (R.metric(text, "vlm_client_budget_bytes", client=name),
                 R.metric(text, "vlm_client_share_ratio", client=name)))

    def test_lost_gpu_budget_unknown_everywhere(self):
        # GPU 1 is lost after a few seconds: its client's budget is then
        # unknown in all three renderings (null, no series), never the
        # last one it had; the client on GPU 0 keeps its budget.
        d = self.start("devices 2\nfail 1 lost_after 150 back_after 0\n")
        report = {"items": 4, "peak_bytes": 8 << 30,
                  "reserved_bytes": 9 << 30, "seconds": 0.5}
        ids = {}
        for gpu, name in ((0, "stays"), (1, "loses")):
            ids[name] = d.json("POST", "/v1/clients",
                               {"name": name, "gpu": gpu}, want=201)["id"]
        seen_budget = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for name in ids:
                d.json("POST", "/v1/clients/%d/report" % ids[name], report)
            up, clients, status, metrics = self.budgets(d, "loses")
            if up and clients[0] is not None:
                seen_budget = True
            if not up and clients[0] is None and status[0] is None:
                break
            time.sleep(0.1)
        else:
            self.fail("GPU 1 not reported down within 30 s")
        self.assertTrue(seen_budget, "no budget while GPU 1 was up")
        # One schema: a client has every key its /v1/status worker entry
        # has (the same function renders both), plus its own.
        c = d.json("GET", "/v1/clients/%d" % ids["loses"])
        w = [w for w in d.json("GET", "/v1/status")["workers"]
             if w["name"] == "loses"][0]
        self.assertEqual(set(c) - set(w),
                         {"uuid", "state", "lease_seconds"})
        self.assertEqual(set(w) - set(c), set())
        for _ in range(3):  # stays so, sample after sample
            up, clients, status, metrics = self.budgets(d, "loses")
            self.assertFalse(up)
            self.assertEqual(clients, (None, None))
            self.assertEqual(status, (None, None))
            self.assertEqual(metrics, (None, None))
            up, clients, status, metrics = self.budgets(d, "stays")
            self.assertTrue(up)
            self.assertIsNotNone(clients[0])
            self.assertEqual(clients, status)
            self.assertEqual(metrics[0], clients[0])
            time.sleep(0.3)

    def test_everything_unsupported(self):
        d = self.start("devices 1\nunsupported 0 name uuid pci memory util "
                       "temp power energy processes mig\n")
        ups, ready, _, gpus, text = self.probe(d)
        self.assertEqual(ups, {"0": 1.0})
        for family in ("vlm_memory_used_bytes", "vlm_memory_total_bytes",
                       "vlm_gpu_temperature_celsius",
                       "vlm_gpu_power_usage_watts",
                       "vlm_gpu_utilization_percent", "vlm_memory_status"):
            self.assertIsNone(R.metric(text, family), family)
        # Its memory status is unknown in /v1/status too (was "healthy").
        self.assertTrue(gpus[0]["up"])
        self.assertIsNone(gpus[0]["status"])
        self.assertIsNone(gpus[0]["memory_usage_percent"])
        self.assertTrue(d.alive())

    def test_hung_call(self):
        # GPU 0's first memory call sleeps 4 s; the call timeout is the
        # monitoring interval, 0.25 s. GPU 1 answers.
        t0 = time.monotonic()
        d = self.start("devices 2\nhang 0 seconds 4\n")
        seen_hung = False
        while time.monotonic() - t0 < 15:
            t = time.monotonic()
            ups, ready, reason, gpus, _ = self.probe(d)
            self.assertEqual(d.request("GET", "/health", timeout=2)[0], 200)
            self.assertEqual(d.request("GET", "/health", health=True,
                                       timeout=2)[0], 200)
            self.assertLess(time.monotonic() - t, 2.0,
                            "answers held up by the hung call")
            self.assertEqual(ups.get("1"), 1.0)
            self.assertEqual(ready, 200, reason)
            if ups.get("0") == 0.0:
                seen_hung = True
                if not gpus[0]["up"]:  # read a moment later than ups
                    self.assertIn("NVML call timed out",
                                  gpus[0]["down_reason"])
            elif seen_hung and ups.get("0") == 1.0:
                break
            time.sleep(0.2)
        else:
            self.fail("GPU 0 not reported hung then back (hung seen: %s)" %
                      seen_hung)
        self.assertTrue(seen_hung)

    def test_all_gpus_hang_at_run_time(self):
        # A driver-wide hang on 8 GPUs once the daemon runs: one loop pass
        # waits out 8 call timeouts (8 x 0.25 s = 2 s, longer than the
        # liveness limit of max(3 intervals, 2 s) alone). /health must not
        # call the daemon dead (a liveness probe would restart it for
        # nothing); the GPUs are reported down, then back.
        d = self.start("devices 8\n" + "".join(
            "hang %d seconds 4 after 6\n" % i for i in range(8)))
        t0 = time.monotonic()
        seen_hung = seen_back = False
        while time.monotonic() - t0 < 20 and not seen_back:
            st, _, body = d.request("GET", "/health", health=True,
                                    timeout=5)
            self.assertEqual(st, 200, body)
            ups = self.probe(d)[0]
            if ups and all(v == 0.0 for v in ups.values()):
                seen_hung = True
            elif seen_hung and ups and all(v == 1.0 for v in ups.values()):
                seen_back = True
            time.sleep(0.1)
        self.assertTrue(seen_hung and seen_back, (seen_hung, seen_back))

    def test_hung_only_gpu_not_ready(self):
        d = self.start("devices 1\nhang 0 seconds 5\n")
        ups, ready, reason, gpus, _ = self.probe(d)
        self.assertEqual(ups, {"0": 0.0})
        self.assertEqual(ready, 503)
        self.assertIn("NVML call timed out", reason)
        self.assertEqual(d.request("GET", "/health")[0], 200)
        R.wait_for("the GPU back after the hang",
                   lambda: self.probe(d)[0] == {"0": 1.0}, timeout=10)
        R.wait_for("ready again",
                   lambda: self.probe(d)[1] == 200, timeout=5)


# ----------------------------------------------------------------- disk

ADMIN_WRITES = [("PUT", "/v1/batch-size", {"batch_size": 5}),
                ("PUT", "/v1/config", {"max_batch_size": 20}),
                ("POST", "/v1/disable", None),
                ("POST", "/v1/monitoring/stop", None)]


def can_mount(path):
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k",
                        "tmpfs", path], capture_output=True)
    return r.returncode == 0


class Disk(unittest.TestCase):
    def setUp(self):
        self.tmp = R.TempDir("vgmo-test-disk-")
        self.mnt = os.path.join(self.tmp.path, "mnt")
        os.makedirs(self.mnt)
        self.mounted = can_mount(self.mnt)
        self.state = os.path.join(self.mnt, "state")
        self.daemons = []

    def tearDown(self):
        errors = stop_all(self, self.daemons)
        if self.mounted:
            subprocess.run(["umount", "-l", self.mnt])
        self.tmp.remove()
        if errors:
            raise AssertionError("\n".join(errors))

    def start(self, *extra):
        d = R.Daemon(BIN, self.state, *extra)
        self.daemons.append(d)
        return d

    def snapshot(self, d):
        return (d.json("GET", "/v1/batch-size")["manual_batch_size"],
                d.json("GET", "/v1/config"),
                d.json("GET", "/v1/status")["monitoring"])

    def assert_refused_unchanged(self, d, cause, state_file=None):
        state_file = state_file or os.path.join(self.state, "state.json")
        before = self.snapshot(d)
        on_disk = read(state_file)
        for method, path, body in ADMIN_WRITES:
            st, _, data = d.request(method, path, body)
            self.assertEqual(st, 503, (path, data))
            err = json.loads(data)["error"]
            self.assertIn("the change was not applied: cannot save the "
                          "state", err["message"])
            self.assertIn(cause, err["message"])
        self.assertEqual(self.snapshot(d), before)
        self.assertEqual(read(state_file), on_disk)
        # Reads keep working.
        self.assertEqual(d.request("GET", "/metrics")[0], 200)
        self.assertEqual(d.request("GET", "/v1/history")[0], 200)
        self.assertTrue(d.alive())
        self.assertIn("cannot save the state: change refused", d.stderr())

    def assert_writable(self, d):
        d.json("PUT", "/v1/batch-size", {"batch_size": 6})
        self.assertEqual(d.json("GET", "/v1/batch-size")["manual_batch_size"],
                         6)
        d.json("PUT", "/v1/batch-size", {"batch_size": None})

    def test_read_only(self):
        d = self.start()
        d.json("PUT", "/v1/batch-size", {"batch_size": 3})
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,ro", self.mnt],
                           check=True)
            try:
                self.assert_refused_unchanged(d, "Read-only file system")
            finally:
                subprocess.run(["mount", "-o", "remount,rw", self.mnt],
                               check=True)
        self.assert_writable(d)

    def test_unusable_state_dir(self):
        # Injected (works without mount, and as root, whom 0500 does not
        # stop): a file where the state directory was, so the temp file
        # cannot be made.
        d = self.start()
        d.json("PUT", "/v1/batch-size", {"batch_size": 3})
        real = self.state + ".real"
        os.rename(self.state, real)
        with open(self.state, "w") as f:
            f.write("not a directory")
        try:
            self.assert_refused_unchanged(
                d, "Not a directory", os.path.join(real, "state.json"))
        finally:
            os.unlink(self.state)
            os.rename(real, self.state)
        self.assert_writable(d)

    def test_read_only_at_start(self):
        if not self.mounted:
            self.skipTest("mount not permitted")
        d = self.start()
        d.json("PUT", "/v1/batch-size", {"batch_size": 4})
        d.stop()
        subprocess.run(["mount", "-o", "remount,ro", self.mnt], check=True)
        try:
            d = self.start()
            self.assertEqual(
                d.json("GET", "/v1/batch-size")["manual_batch_size"], 4)
            self.assert_refused_unchanged(d, "Read-only file system")
        finally:
            subprocess.run(["mount", "-o", "remount,rw", self.mnt],
                           check=True)
        self.assert_writable(d)

    def test_full(self):
        if not self.mounted:
            self.skipTest("mount not permitted: no ENOSPC to inject")
        d = self.start()
        d.json("PUT", "/v1/batch-size", {"batch_size": 3})
        filler = os.path.join(self.mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        try:
            self.assert_refused_unchanged(d, "No space left on device")
        finally:
            os.unlink(filler)
        self.assert_writable(d)
        self.assertEqual(glob.glob(os.path.join(self.state, "*.tmp.*")), [])

    def corrupt_start(self, text):
        os.makedirs(self.state, exist_ok=True)
        for f in glob.glob(os.path.join(self.state, "*")):
            os.unlink(f)
        with open(os.path.join(self.state, "state.json"), "wb") as f:
            f.write(text)
        d = self.start()
        err = d.stderr()
        self.assertIn("STATE FILE CORRUPTED: starting from defaults", err)
        self.assertIn("level=error", err)
        copies = glob.glob(os.path.join(self.state, "state.json.corrupt-*"))
        self.assertEqual(len(copies), 1)
        self.assertEqual(read(copies[0], "rb"), text)
        # Defaults, and a state that works.
        self.assertIsNone(d.json("GET", "/v1/batch-size")[
            "manual_batch_size"])
        self.assertEqual(d.json("GET", "/v1/config")["max_batch_size"], 16)
        self.assert_writable(d)
        d.stop()

    def test_corrupted_state_at_start(self):
        d = self.start()
        d.json("PUT", "/v1/batch-size", {"batch_size": 3})
        d.json("PUT", "/v1/config", {"max_batch_size": 24})
        d.stop()
        good = read(os.path.join(self.state, "state.json"), "rb")
        for text in (good[:len(good) // 2],            # truncated
                     b"\x00" * 64,                      # zeroed
                     b"",                               # empty
                     b"garbage {{{",                    # not JSON
                     b'{"config_overrides": [], "monitoring": true, '
                     b'"batch_size_overrides": []}',    # wrong shape
                     good.replace(b'"monitoring": true',
                                  b'"monitoring": "yes"')):
            with self.subTest(text=text[:30]):
                self.corrupt_start(text)

    def test_cut_history_line(self):
        d = self.start()
        d.stop()
        hist = os.path.join(self.state, "history.jsonl")
        with open(hist, "ab") as f:
            f.write(b'{"success": true, "action_taken": "batch_')
        d = self.start()
        self.assertIn("history partly unreadable", d.stderr())
        self.assertTrue(d.alive())


class Ranges(unittest.TestCase):
    """Issue 13, items 1 and 2: a value out of range is refused the same
    way from a flag, the environment, a file and the API, and a saved one
    is dropped at start with its reason."""

    def setUp(self):
        self.tmp = R.TempDir("vgmo-test-ranges-")
        self.state = os.path.join(self.tmp.path, "state")

    def tearDown(self):
        self.tmp.remove()

    def refused_at_start(self, *extra, env=None):
        d = R.Daemon(BIN, self.state, *extra, env=env, wait=False)
        try:
            rc = d.proc.wait(timeout=10)
        finally:
            d.stop()
        return rc, d.stderr()

    def test_int_max_refused_everywhere(self):
        rc, err = self.refused_at_start("--max-batch-size", "2147483647")
        self.assertNotEqual(rc, 0)
        self.assertIn("max_batch_size: must be at most 1000000", err)
        for flag in ("--max-clients", "--lease", "--max-client-weight"):
            rc, err = self.refused_at_start(flag, "2147483647")
            self.assertNotEqual(rc, 0)
            self.assertIn("invalid " + flag, err)
        rc, err = self.refused_at_start(
            env={"VGMO_MONITORING_INTERVAL": "1e-9"})
        self.assertNotEqual(rc, 0)
        self.assertIn("monitoring_interval: must be at least 0.1", err)
        cfg = os.path.join(self.tmp.path, "c.json")
        with open(cfg, "w") as f:
            f.write('{"memory_reserve_mb": 9223372036854775807}')
        rc, err = self.refused_at_start("--config", cfg)
        self.assertNotEqual(rc, 0)
        self.assertIn("memory_reserve_mb: must be at most 16777216", err)
        d = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            for key, value in (("max_batch_size", 2147483647),
                               ("min_batch_size", 2147483647),
                               ("memory_reserve_mb", 2 ** 63 - 1),
                               ("monitoring_interval", 1e-9),
                               ("temperature_threshold", 1e300)):
                st, _, data = d.request("PUT", "/v1/config", {key: value})
                self.assertEqual(st, 400, data)
                self.assertEqual(json.loads(data)["error"]["fields"][-1],
                                 key)
            self.assertEqual(d.json("GET", "/v1/config")["max_batch_size"],
                             16)
            # The other integers the API takes, at INT_MAX and past it.
            for path, body, field in (
                    ("/v1/batch-size", {"batch_size": 2147483647},
                     "batch_size"),
                    ("/v1/batch-size", {"batch_size": 2 ** 63 - 1},
                     "batch_size"),
                    ("/v1/clients", {"name": "w", "gpu": 2147483647},
                     "gpu")):
                st, _, data = d.request("PUT" if "batch" in path else
                                        "POST", path, body)
                self.assertEqual(st, 400, (path, data))
                self.assertIn(field, data.decode())
            # A registration and /health answer at once.
            d.json("POST", "/v1/clients", {"name": "w1"}, want=201)
            self.assertTrue(d.alive())
        finally:
            d.cleanup()

    def test_saved_override_out_of_range_dropped(self):
        os.makedirs(self.state)
        with open(os.path.join(self.state, "state.json"), "w") as f:
            json.dump({"version": 1, "monitoring": True, "epoch": 3,
                       "batch_size_overrides": [],
                       "config_overrides": {
                           "max_batch_size": 2147483647,
                           "monitoring_interval": 1e-9,
                           "gc_threshold": 0.5}}, f)
        d = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            cfg = d.json("GET", "/v1/config")
            self.assertEqual(cfg["max_batch_size"], 16)
            self.assertEqual(cfg["monitoring_interval"], 0.5)
            self.assertEqual(cfg["gc_threshold"], 0.5)  # the valid one
            err = d.stderr()
            self.assertIn("saved configuration override dropped", err)
            self.assertIn("max_batch_size: must be at most 1000000", err)
            self.assertIn("monitoring_interval: must be at least 0.1", err)
            self.assertTrue(d.alive())
            # Forgotten by the next save.
            d.json("PUT", "/v1/config", {"cleanup_interval": 100})
            with open(os.path.join(self.state, "state.json")) as f:
                saved = json.load(f)["config_overrides"]
            self.assertEqual(saved, {"gc_threshold": 0.5,
                                     "cleanup_interval": 100.0})
        finally:
            d.cleanup()


class StateDirTraps(unittest.TestCase):
    """Issue 13, item 8: links and FIFOs planted in the state directory
    (and as the config file) are refused, never followed, never waited
    on; and import-config echoes nothing of a file it cannot parse."""

    def setUp(self):
        self.tmp = R.TempDir("vgmo-test-traps-")
        self.state = os.path.join(self.tmp.path, "state")
        os.makedirs(self.state)

    def tearDown(self):
        self.tmp.remove()

    def test_audit_symlink_not_followed(self):
        target = os.path.join(self.tmp.path, "target")
        with open(target, "w") as f:
            f.write("keep\n")
        os.symlink(target, os.path.join(self.state, "audit.log"))
        d = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            d.json("PUT", "/v1/config", {"max_batch_size": 12})
            self.assertEqual(d.json("GET", "/v1/config")["max_batch_size"],
                             12)
            self.assertIn("cannot write the audit log", d.stderr())
            self.assertTrue(d.alive())
        finally:
            d.cleanup()
        self.assertEqual(read(target), "keep\n")

    def test_fifo_history_does_not_block(self):
        os.mkfifo(os.path.join(self.state, "history.jsonl"))
        d = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            d.json("POST", "/v1/optimize")
            R.wait_for("the history error", lambda:
                       "not a regular file" in d.stderr(), timeout=5)
            self.assertTrue(d.alive())
        finally:
            d.cleanup()

    def test_fifo_state_refused_at_once(self):
        os.mkfifo(os.path.join(self.state, "state.json"))
        t0 = time.monotonic()
        d = R.Daemon(BIN, self.state, wait=False)
        try:
            rc = d.proc.wait(timeout=10)
        finally:
            d.stop()
        self.assertNotEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("state.json: not a regular file", d.stderr())

    def test_fifo_config_refused_and_reload_not_blocked(self):
        cfg = os.path.join(self.tmp.path, "c.json")
        os.mkfifo(cfg)
        d = R.Daemon(BIN, self.state, "--config", cfg, wait=False)
        try:
            rc = d.proc.wait(timeout=10)
        finally:
            d.stop()
        self.assertNotEqual(rc, 0)
        self.assertIn("not a regular file", d.stderr())
        os.unlink(cfg)
        with open(cfg, "w") as f:
            f.write('{"max_batch_size": 10}')
        d = R.Daemon(BIN, self.state, "--config", cfg)
        try:
            os.unlink(cfg)
            os.mkfifo(cfg)
            d.proc.send_signal(signal.SIGHUP)
            R.wait_for("the reload to fail", lambda:
                       "reload failed" in d.stderr(), timeout=5)
            self.assertTrue(d.alive())
            self.assertEqual(d.json("GET", "/v1/config")["max_batch_size"],
                             10)
        finally:
            d.cleanup()

    def test_export_config_replaces_only_regular_files(self):
        # Item 9: --output over a FIFO, a link or a device is refused and
        # leaves it as it was; over a regular file it works.
        fifo = os.path.join(self.tmp.path, "fifo")
        os.mkfifo(fifo)
        target = os.path.join(self.tmp.path, "target")
        with open(target, "w") as f:
            f.write("keep")
        link = os.path.join(self.tmp.path, "link")
        os.symlink(target, link)
        plain = os.path.join(self.tmp.path, "plain.json")
        with open(plain, "w") as f:
            f.write("old")
        d = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            for path in (fifo, link, "/dev/null"):
                p = subprocess.run([BIN, "export-config", "--output", path,
                                    "--server", "http://" + d.main],
                                   capture_output=True, text=True,
                                   timeout=10)
                self.assertNotEqual(p.returncode, 0, path)
                self.assertIn("not a regular file", p.stderr)
            p = subprocess.run([BIN, "export-config", "--output", plain,
                                "--server", "http://" + d.main],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            d.cleanup()
        import stat
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        self.assertTrue(os.path.islink(link))
        self.assertEqual(read(target), "keep")
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))
        self.assertEqual(json.loads(read(plain))["max_batch_size"], 16)

    def test_import_config_echoes_no_content(self):
        secret = os.path.join(self.tmp.path, "shadow")
        with open(secret, "w") as f:
            f.write("root:$6$s3cr3tHash:19000:0:99999:7:::\n")
        d = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            p = subprocess.run([BIN, "import-config", secret, "--server",
                                "http://" + d.main], capture_output=True,
                               text=True, timeout=10)
        finally:
            d.cleanup()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(secret, p.stderr)
        self.assertNotIn("root", p.stderr.replace(secret, ""))
        self.assertNotIn("s3cr3t", p.stderr)


class OneDaemonPerStateDir(unittest.TestCase):
    """Issue 13, item 7: a second daemon on the same state directory, or
    one that cannot bind its port, stops before it writes anything."""

    def setUp(self):
        self.tmp = R.TempDir("vgmo-test-lock-")
        self.state = os.path.join(self.tmp.path, "state")

    def tearDown(self):
        self.tmp.remove()

    def epoch(self):
        with open(os.path.join(self.state, "state.json")) as f:
            return json.load(f)["epoch"]

    def test_second_daemon_refused(self):
        first = R.Daemon(BIN, self.state, "--sim-workload", "none")
        try:
            first.json("PUT", "/v1/config", {"max_batch_size": 20})
            epoch = self.epoch()
            before = read(os.path.join(self.state, "state.json"), "rb")
            # A temp file of a save in flight must survive a second start.
            planted = os.path.join(self.state, "state.json.tmp.abcdef")
            with open(planted, "w") as f:
                f.write("{}")
            second = R.Daemon(BIN, self.state, wait=False)
            rc = second.proc.wait(timeout=10)
            second.stop()
            self.assertNotEqual(rc, 0)
            self.assertIn("in use by another vgmo serve", second.stderr())
            self.assertEqual(self.epoch(), epoch)
            self.assertEqual(read(os.path.join(self.state, "state.json"),
                                  "rb"), before)
            self.assertTrue(os.path.exists(planted))
            os.unlink(planted)
            # A daemon that cannot bind touches nothing either.
            third = R.Daemon(BIN, self.state, "--listen", first.main,
                             wait=False)
            rc = third.proc.wait(timeout=10)
            third.stop()
            self.assertNotEqual(rc, 0)
            self.assertNotIn("in use by another", third.stderr())
            self.assertEqual(self.epoch(), epoch)
            first.json("PUT", "/v1/config", {"max_batch_size": 21})
            self.assertTrue(first.alive())
        finally:
            first.cleanup()
        # Released with the process: the next start takes it.
        d = R.Daemon(BIN, self.state)
        try:
            self.assertEqual(d.json("GET", "/v1/config")["max_batch_size"],
                             21)
        finally:
            d.cleanup()


class LargeState(unittest.TestCase):
    """Issue 13, item 8: start-up is linear in the state's size."""

    def test_50k_batch_overrides(self):
        tmp = R.TempDir("vgmo-test-large-")
        state = os.path.join(tmp.path, "state")
        os.makedirs(state)
        try:
            batch = [{"worker": "w%d" % i, "gpu": 0, "batch_size": 3}
                     for i in range(50000)]
            batch.append({"worker": "w7", "gpu": 0, "batch_size": 5})
            with open(os.path.join(state, "state.json"), "w") as f:
                json.dump({"version": 1, "monitoring": True, "epoch": 1,
                           "config_overrides": {},
                           "batch_size_overrides": batch}, f)
            t0 = time.monotonic()
            d = R.Daemon(BIN, state, "--sim-workload", "none")
            took = time.monotonic() - t0
            try:
                # Quadratic took minutes; linear well under a second
                # (10 s leaves room for sanitizer builds).
                self.assertLess(took, 10)
                # A client gets its saved size when it registers; the last
                # entry for a name wins.
                for name, size in (("w7", 5), ("w49999", 3)):
                    c = d.json("POST", "/v1/clients",
                               {"name": name, "gpu": 0}, want=201)
                    got = d.json("GET", "/v1/clients/%d" % c["id"])
                    self.assertEqual(got["manual_batch_size"], size)
                self.assertTrue(d.alive())
            finally:
                d.cleanup()
        finally:
            tmp.remove()


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    FAKE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
