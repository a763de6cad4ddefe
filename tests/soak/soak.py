#!/usr/bin/env python3
"""Load and soak test of `vgmo serve` (docs/reliability.md). NOT in make check.

Usage: tests/soak/soak.py [--duration 600] [--clients 1000] [--hz 10]
                          [--connections 32] [--vgmo PATH] [--loadgen PATH]
                          [--out results.json]

Starts the daemon on the simulated GPU on loopback, registers CLIENTS
workers and has bench/loadgen.c send each of them HZ batch reports a second
(open loop, over keep-alive connections) while /metrics is scraped every
second, for DURATION seconds. Meanwhile it samples the daemon's resident
memory (VmRSS) and CPU time (utime + stime) from /proc every second.

Passes when: no request failed, p99 latency of the reports under 5 ms, the
generator kept up (sent what was due), the daemon is alive and healthy at
the end, and RSS did not grow over the last half of the run (more than
1 MiB between the means of its first and last tenth counts as growth).
Prints a summary and writes everything to --out. Stops by itself: the
generator ends after DURATION, and everything is killed at DURATION + 120 s.
Without --vgmo/--loadgen it builds build-rel/ (RelWithDebInfo).
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
P99_LIMIT_US = 5000
RSS_GROWTH_LIMIT_KB = 1024
TICK = os.sysconf("SC_CLK_TCK")


def build():
    bdir = os.path.join(ROOT, "build-rel")
    subprocess.run(["cmake", "-S", ROOT, "-B", bdir,
                    "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DVGMO_WERROR=ON"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", bdir, "-j2", "--target", "vgmo",
                    "vgmo_loadgen"], check=True, stdout=subprocess.DEVNULL)
    return (os.path.join(bdir, "vgmo"),
            os.path.join(bdir, "bench", "vgmo_loadgen"))


def proc_sample(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return cpu, rss, threads


def start_daemon(vgmo, state, clients):
    err = open(os.path.join(state, "daemon.stderr"), "wb")
    proc = subprocess.Popen(
        [vgmo, "serve", "--backend", "sim", "--listen", "127.0.0.1:0",
         "--health-listen", "127.0.0.1:0", "--state-dir", state,
         "--monitoring-interval", "1", "--log-level", "warn",
         "--max-clients", str(max(1024, clients))],
        stdout=subprocess.PIPE, stderr=err)
    out, main = b"", None
    health = None
    deadline = time.monotonic() + 10
    while main is None or health is None:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("soak: the daemon did not start")
        r, _, _ = select.select([proc.stdout], [], [], 0.5)
        if r:
            out += os.read(proc.stdout.fileno(), 4096)
        m = re.search(rb"metrics: http://127\.0\.0\.1:(\d+)/", out)
        h = re.search(rb"health:  http://(127\.0\.0\.1:\d+)/", out)
        main = int(m.group(1)) if m else None
        health = h.group(1).decode() if h else None
    return proc, err, main, health


def read_some(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return data.decode()


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--hz", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--vgmo")
    ap.add_argument("--loadgen")
    ap.add_argument("--out")
    a = ap.parse_args()
    vgmo, loadgen = a.vgmo, a.loadgen
    if vgmo is None or loadgen is None:
        vgmo, loadgen = build()

    state = tempfile.mkdtemp(prefix="vgmo-soak-")
    daemon = gen = None
    samples, windows, final = [], [], None
    try:
        daemon, err, port, health = start_daemon(vgmo, state, a.clients)
        gen = subprocess.Popen(
            [loadgen, "--port", str(port), "--clients", str(a.clients),
             "--hz", str(a.hz), "--duration", str(a.duration),
             "--connections", str(a.connections), "--interval", "10"],
            stdout=subprocess.PIPE)
        os.set_blocking(gen.stdout.fileno(), False)
        t0 = time.monotonic()
        kill_at = t0 + a.duration + 120
        buf = ""
        while gen.poll() is None and time.monotonic() < kill_at:
            time.sleep(1.0)
            cpu, rss, threads = proc_sample(daemon.pid)
            samples.append({"t": round(time.monotonic() - t0, 1),
                            "cpu_s": cpu, "rss_kb": rss,
                            "threads": threads})
            buf += read_some(gen.stdout.fileno())
            while "\n" in buf:
                line, buf = buf.split("\n", 1)
                windows.append(json.loads(line))
                w = windows[-1]
                print("t=%5.0fs sent=%d errors=%d p50=%dus p99=%dus "
                      "max=%dus scrape_p99=%dus rss=%dKiB" %
                      (w["t"], w["sent"], w["errors"], w["p50_us"],
                       w["p99_us"], w["max_us"], w["scrape_p99_us"], rss),
                      flush=True)
        if gen.poll() is None:
            gen.kill()
        gen.wait()
        buf += read_some(gen.stdout.fileno())
        for line in buf.splitlines():
            windows.append(json.loads(line))
        final = next((w for w in windows if w.get("final")), None)
        with urllib.request.urlopen("http://%s/health" % health,
                                    timeout=5) as r:
            healthy = r.status == 200
        alive = daemon.poll() is None
    finally:
        if gen is not None and gen.poll() is None:
            gen.kill()
            gen.wait()
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        stderr = ""
        path = os.path.join(state, "daemon.stderr")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                stderr = f.read()
        shutil.rmtree(state, ignore_errors=True)

    if final is None:
        print("soak: FAIL: the load generator gave no result")
        return 1
    # Warm-up: the first tenth (at least 30 s); "flat" is judged on the
    # last half: the mean RSS of its first and of its last tenth.
    half = [s for s in samples if s["t"] >= a.duration / 2]
    tenth = max(1, len(half) // 5)
    rss_early = mean([s["rss_kb"] for s in half[:tenth]])
    rss_late = mean([s["rss_kb"] for s in half[-tenth:]])
    growth = rss_late - rss_early
    cpu_total = samples[-1]["cpu_s"] - samples[0]["cpu_s"] if samples else 0
    span = samples[-1]["t"] - samples[0]["t"] if len(samples) > 1 else 1
    result = {
        "duration_s": a.duration, "clients": a.clients, "hz": a.hz,
        "connections": a.connections, "target_rps": a.clients * a.hz,
        "achieved_rps": final["sent"] / max(final["t"], 1e-9),
        "sent": final["sent"], "ok": final["ok"], "errors": final["errors"],
        "late_10ms": final["late"], "lag_max_ms": final["lag_max_ms"],
        "p50_us": final["p50_us"], "p99_us": final["p99_us"],
        "p999_us": final["p999_us"], "max_us": final["max_us"],
        "scrapes": final["scrapes"], "scrape_errors": final["scrape_errors"],
        "scrape_p50_us": final["scrape_p50_us"],
        "scrape_p99_us": final["scrape_p99_us"],
        "rss_start_kb": samples[0]["rss_kb"] if samples else 0,
        "rss_max_kb": max(s["rss_kb"] for s in samples) if samples else 0,
        "rss_last_half_first_tenth_kb": rss_early,
        "rss_last_half_last_tenth_kb": rss_late,
        "rss_growth_last_half_kb": growth,
        "daemon_cpu_s": cpu_total,
        "daemon_cpu_percent_of_one_core": 100.0 * cpu_total / span,
        "threads": samples[-1]["threads"] if samples else 0,
        "alive": alive, "healthy": healthy,
        "windows": windows, "samples": samples,
    }
    problems = []
    if final["errors"] or final["scrape_errors"] or \
            final["ok"] != final["sent"]:
        problems.append("request errors")
    if final["p99_us"] >= P99_LIMIT_US:
        problems.append("p99 %d us >= %d us" % (final["p99_us"],
                                                 P99_LIMIT_US))
    expected = a.clients * a.hz * a.duration
    if final["sent"] < 0.99 * expected:
        problems.append("generator sent %d of %d due" %
                        (final["sent"], expected))
    if growth > RSS_GROWTH_LIMIT_KB:
        problems.append("RSS grew %.0f KiB over the last half" % growth)
    if not (alive and healthy):
        problems.append("daemon not alive and healthy at the end")
    if re.search(r"level=error", stderr):
        problems.append("errors in the daemon's log")
    result["problems"] = problems
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    print("\n| measure | value |\n| --- | --- |")
    for k in ("duration_s", "clients", "hz", "connections", "target_rps",
              "achieved_rps", "sent", "ok", "errors", "late_10ms",
              "lag_max_ms", "p50_us", "p99_us", "p999_us", "max_us",
              "scrapes", "scrape_errors", "scrape_p50_us", "scrape_p99_us",
              "rss_start_kb", "rss_max_kb", "rss_last_half_first_tenth_kb",
              "rss_last_half_last_tenth_kb", "rss_growth_last_half_kb",
              "daemon_cpu_s", "daemon_cpu_percent_of_one_core", "threads"):
        v = result[k]
        print("| %s | %s |" % (k, ("%.1f" % v) if isinstance(v, float)
                               else v))
    print("\nsoak: %s" % ("PASS" if not problems else
                          "FAIL: " + "; ".join(problems)))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
