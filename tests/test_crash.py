#!/usr/bin/env python3
"""SIGKILL loop: nothing acknowledged is lost, nothing is torn
(docs/reliability.md).

Usage: test_crash.py PATH/TO/vgmo [--kills N] [--seed S] [--report FILE]

One state directory, N cycles. Each cycle starts `vgmo serve`, checks what
it restored, then streams client reports from a thread while the main
thread makes admin writes one after another (PUT /v1/batch-size, PUT
/v1/config, POST /v1/monitoring/stop|start), and SIGKILLs the daemon at a
random moment: during its start (one cycle in eight, before it serves), or
while the writes and reports are in flight.

The rule checked after every kill and every restart: the lasting state
(state.json, and what the restarted daemon serves) is exactly the last
acknowledged one (the last write answered 200), or that plus the one write
in flight when the kill came (it may have been saved before the answer was
sent: then it is the new acknowledged state). state.json always parses
(never torn); no state.json.tmp.* is left once the daemon has started
again; the audit log and the history have at most one cut line per kill,
and never two lines run together. Writes are sequential, so at most one
is in flight. In make check with --kills 40; tests/soak/crash_soak.sh runs
it with 250.
"""
import argparse
import glob
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib  # noqa: E402
import relylib as R  # noqa: E402

DEFAULT_MAX = 16       # vgmo_config defaults: max_batch_size
DEFAULT_STRATEGY = "balanced"


def effective(state_file):
    """The model (config keys we change, manual batch size, monitoring) of
    a state.json; raises if it does not parse."""
    with open(state_file) as f:
        st = json.load(f)
    over = st["config_overrides"]
    manual = 0
    for b in st["batch_size_overrides"]:
        if b["worker"] == "default" and b["gpu"] == 0:
            manual = b["batch_size"]
    return {"max_batch_size": over.get("max_batch_size", DEFAULT_MAX),
            "strategy": over.get("strategy", DEFAULT_STRATEGY),
            "manual": manual, "monitoring": st["monitoring"]}


def served(d):
    """The same model, as the running daemon serves it."""
    cfg = d.json("GET", "/v1/config")
    bs = d.json("GET", "/v1/batch-size")
    status = d.json("GET", "/v1/status")
    return {"max_batch_size": cfg["max_batch_size"],
            "strategy": cfg["strategy"],
            "manual": bs["manual_batch_size"] or 0,
            "monitoring": status["monitoring"]}


class Reporter(threading.Thread):
    """Streams reports for one client until stopped or the daemon dies."""

    def __init__(self, port, client, secret):
        super().__init__(daemon=True)
        self.port, self.client, self.stop = port, client, False
        self.secret = secret
        self.ok = 0

    def run(self):
        conn = None
        body = json.dumps({"items": 4, "peak_bytes": 3 << 30,
                           "allocated_bytes": 1 << 30,
                           "reserved_bytes": 4 << 30, "seconds": 0.02})
        while not self.stop:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                      timeout=2)
                conn.request("POST", "/v1/clients/%d/report" % self.client,
                             body, {R.SECRET_HEADER: self.secret})
                r = conn.getresponse()
                r.read()
                self.ok += r.status == 200
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
        if conn is not None:
            conn.close()


class Writer:
    """Admin writes, one at a time; the model of what was acknowledged."""

    def __init__(self, rng, model):
        self.rng = rng
        self.acked = dict(model)
        self.inflight = None
        self.writes = 0

    def next_change(self):
        r = self.rng.random()
        want = dict(self.acked)
        if r < 0.4:
            n = self.rng.choice([0, 1, 2, 3, 5, 8, 13, 16])
            want["manual"] = n
            return want, "PUT", "/v1/batch-size", {"batch_size": n or None}
        if r < 0.8:
            want["max_batch_size"] = self.rng.randint(16, 64)
            want["strategy"] = self.rng.choice(
                ["balanced", "conservative", "aggressive", "adaptive"])
            return want, "PUT", "/v1/config", {
                "max_batch_size": want["max_batch_size"],
                "strategy": want["strategy"]}
        want["monitoring"] = not self.acked["monitoring"]
        return want, "POST", ("/v1/monitoring/start" if want["monitoring"]
                              else "/v1/monitoring/stop"), None

    def run(self, port, until):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            while time.monotonic() < until:
                want, method, path, body = self.next_change()
                self.inflight = want
                conn.request(method, path,
                             json.dumps(body) if body is not None else None)
                r = conn.getresponse()
                data = r.read()
                if r.status != 200:
                    raise AssertionError("%s %s: %d %s" %
                                         (method, path, r.status, data))
                self.acked, self.inflight = want, None
                self.writes += 1
        except (OSError, http.client.HTTPException):
            pass  # killed under us: self.inflight may or may not have landed
        finally:
            conn.close()

    def settle(self, found, where):
        """`found` must be the acknowledged state or the in-flight one."""
        if found == self.acked:
            self.inflight = None
            return "acked"
        if self.inflight is not None and found == self.inflight:
            self.acked, self.inflight = self.inflight, None
            return "in flight"
        raise AssertionError("%s: state %r is neither the acknowledged %r "
                             "nor the in-flight %r" %
                             (where, found, self.acked, self.inflight))


def check_journal(path, kills):
    """At most one cut line per kill, and never two lines run together."""
    bad = 0
    for name in (path, path + ".1"):
        if not os.path.exists(name):
            continue
        with open(name, "rb") as f:
            for line in f.read().split(b"\n"):
                if not line:
                    continue
                try:
                    json.loads(line)
                except ValueError:
                    bad += 1
                    if b"}{" in line:
                        raise AssertionError("%s: two lines run together: "
                                             "%r" % (name, line[:200]))
    if bad > kills:
        raise AssertionError("%s: %d cut lines after %d kills" %
                             (name, bad, kills))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vgmo")
    ap.add_argument("--kills", type=int, default=40)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--report")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tmp = R.TempDir("vgmo-test-crash-")
    state_dir = os.path.join(tmp.path, "state")
    state_file = os.path.join(state_dir, "state.json")
    writer = Writer(rng, {"max_batch_size": DEFAULT_MAX,
                          "strategy": DEFAULT_STRATEGY, "manual": 0,
                          "monitoring": True})
    stats = {"seed": a.seed, "kills": 0, "kills_in_start": 0,
             "writes_acked": 0, "inflight_landed": 0, "inflight_lost": 0,
             "temp_files_found_after_kill": 0, "reports_ok": 0,
             "audit_cut_lines": 0, "history_cut_lines": 0}
    t0 = time.monotonic()
    d = None
    print("test_crash: seed %d, %d kills" % (a.seed, a.kills), flush=True)
    try:
        while stats["kills"] < a.kills:
            if rng.random() < 0.125:
                # Killed while starting: loading, cleaning, saving.
                p = subprocess.Popen(
                    daemonlib.serve_args(a.vgmo, state_dir),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, 0.05))
                p.kill()
                p.wait()
                stats["kills_in_start"] += 1
            else:
                d = R.Daemon(a.vgmo, state_dir)
                # Restored exactly; no temp file survives a start.
                left = glob.glob(state_file + ".tmp.*")
                if left:
                    raise AssertionError("temp files after start: %r" % left)
                where = "restart %d" % stats["kills"]
                writer.settle(served(d), where)
                client = d.json("POST", "/v1/clients",
                                {"name": "crash", "gpu": 0}, want=201)["id"]
                rep = Reporter(d.port, client, d.secret(client))
                rep.start()
                timer = threading.Timer(rng.uniform(0.0, 0.3), d.proc.kill)
                timer.start()
                writer.run(d.port, time.monotonic() + 5)
                timer.join()
                d.kill()
                rep.stop = True
                rep.join()
                stats["reports_ok"] += rep.ok
                d.cleanup()
                d = None
            stats["kills"] += 1
            # Never torn: what is on disk parses, and is acked or in flight.
            stats["temp_files_found_after_kill"] += len(
                glob.glob(state_file + ".tmp.*"))
            had_inflight = writer.inflight is not None
            if os.path.exists(state_file):
                how = writer.settle(effective(state_file),
                                    "after kill %d" % stats["kills"])
                if had_inflight:
                    stats["inflight_landed" if how == "in flight"
                          else "inflight_lost"] += 1
        # The last start: restored, clean, serving; then a clean stop.
        d = R.Daemon(a.vgmo, state_dir)
        if glob.glob(state_file + ".tmp.*"):
            raise AssertionError("temp files after the last start")
        writer.settle(served(d), "last restart")
        if not d.alive():
            raise AssertionError("not serving after the last restart")
        if d.stop() != 0:
            raise AssertionError("unclean stop: " + d.stderr())
        d.cleanup()
        d = None
        stats["writes_acked"] = writer.writes
        stats["audit_cut_lines"] = check_journal(
            os.path.join(state_dir, "audit.log"), stats["kills"])
        stats["history_cut_lines"] = check_journal(
            os.path.join(state_dir, "history.jsonl"), stats["kills"])
        stats["seconds"] = round(time.monotonic() - t0, 1)
        print("test_crash: PASS " + json.dumps(stats), flush=True)
        if a.report:
            with open(a.report, "w") as f:
                json.dump(stats, f, indent=1)
        return 0
    except AssertionError as e:
        print("test_crash: FAIL (seed %d): %s" % (a.seed, e), flush=True)
        if d is not None:
            print(d.stderr()[-3000:])
        return 1
    finally:
        if d is not None:
            d.cleanup()
        tmp.remove()


if __name__ == "__main__":
    sys.exit(main())
