#!/usr/bin/env python3
"""Integration tests of `vgmo serve` (docs/api.md).

Usage: test_daemon.py PATH/TO/vgmo [unittest options]

Starts the real binary on free loopback ports with the simulated GPU and
drives every endpoint: probes, /metrics (through `promtool check metrics`
and against the golden list of families), the /v1 API, state across a
restart, the bearer token, TLS, 413/400/404/405, and SIGHUP with a bad and
a good configuration file. Python standard library only.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

import daemonlib  # tests/daemonlib.py, beside this file
import relylib

BIN = None
HERE = os.path.dirname(os.path.abspath(__file__))
FAMILIES = os.path.join(HERE, "data", "metrics", "families.txt")
CONFIG_KEYS = {
    "enabled", "strategy", "monitoring_interval", "memory_threshold_warning",
    "memory_threshold_critical", "memory_threshold_oom",
    "temperature_threshold", "optimization_interval", "cleanup_interval",
    "max_batch_size", "min_batch_size", "memory_reserve_mb", "gc_threshold",
    "fragmentation_threshold"}
START_TIMEOUT = 10.0


def Daemon(state_dir, *extra):
    """One `vgmo serve` on the simulated GPU (daemonlib.Daemon); its stderr
    is appended to state_dir/daemon.stderr, across restarts."""
    return daemonlib.Daemon(BIN, state_dir, *extra, interval="0.5",
                            errpath=os.path.join(state_dir, "daemon.stderr"),
                            errmode="ab", start_timeout=START_TIMEOUT)


def wait_for(what, fn, timeout=5.0):
    return relylib.wait_for(what, fn, timeout)


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vgmo-test-daemon-")
        self.daemons = []

    def tearDown(self):
        # Every daemon must stop cleanly on SIGTERM; under a sanitizer
        # build this also catches leaks and undefined behaviour.
        problems = daemonlib.stop_all(self.daemons)
        shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            self.fail("\n".join(problems))

    def start(self, *extra, state_dir=None):
        d = Daemon(state_dir or self.dir, *extra)
        self.daemons.append(d)
        return d

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_error(self, d, method, path, body, status, field=None,
                     pattern=None, headers=None):
        got, _, data = d.request(method, path, body, headers)
        self.assertEqual(got, status, data)
        err = json.loads(data)["error"]
        self.assertEqual(err["status"], status)
        if field is not None:
            self.assertEqual(err.get("field"), field, err)
        if pattern is not None:
            self.assertRegex(err["message"], pattern)
        return err


class TestEndpoints(Base):
    """One daemon, every endpoint."""

    def test_probes(self):
        d = self.start()
        self.assertEqual(d.json("GET", "/health"), {"status": "alive"})
        wait_for("/ready", lambda: d.request("GET", "/ready")[0] == 200)
        self.assertEqual(d.json("GET", "/ready"), {"status": "ready"})
        for path in ("/health", "/ready"):
            d.json("GET", path, health=True)
        self.assertEqual(d.request("GET", "/metrics", health=True)[0], 404)
        self.assertEqual(d.request("GET", "/v1/status", health=True)[0],
                         404)
        # readiness follows monitoring
        self.assertEqual(d.json("POST", "/v1/monitoring/stop"),
                         {"monitoring": False})
        status, _, data = d.request("GET", "/ready")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(data)["status"], "not ready")
        self.assertTrue(json.loads(data)["reason"])
        self.assertEqual(d.json("POST", "/v1/monitoring/start"),
                         {"monitoring": True})
        wait_for("/ready", lambda: d.request("GET", "/ready")[0] == 200)

    def test_metrics(self):
        d = self.start()
        # The optimum is absent until the first optimization pass (an
        # unknown value is not a 0): a busy machine may scrape before it.
        wait_for("a first optimum", lambda: b"\nvlm_optimal_batch_size{"
                 in d.request("GET", "/metrics")[2])
        status, resp, data = d.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith(
            "text/plain; version=0.0.4"))
        text = data.decode()
        families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
        with open(FAMILIES) as f:
            names = [line.strip() for line in f
                     if line.strip() and not line.startswith("#")]
        required = {n for n in names if not n.endswith("?")}
        allowed = required | {n[:-1] for n in names if n.endswith("?")}
        self.assertEqual(required - families, set(), "families missing")
        self.assertEqual(families - allowed, set(), "families not listed")
        self.assertIn("vlm_monitoring_enabled 1\n", text)
        self.assertRegex(text, r'\nvlm_gpu_up\{gpu="0",uuid="GPU-[^"]+"\} 1\n')
        self.assertRegex(text, r'\nvlm_current_batch_size\{gpu="0",uuid="'
                               r'[^"]+",client="default"\} \d+\n')
        head = d.request("HEAD", "/metrics")
        self.assertEqual((head[0], head[2]), (200, b""))
        promtool = shutil.which("promtool")
        if promtool is None:
            self.skipTest("promtool not found (Debian package prometheus, "
                          "installed by scripts/install-deps.sh)")
        check = subprocess.run([promtool, "check", "metrics"], input=data,
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, b"")

    def test_status_config_history(self):
        d = self.start()
        st = d.json("GET", "/v1/status")
        for key in ("status", "gpu_available", "current_batch_size",
                    "optimal_batch_size", "optimization_enabled",
                    "memory_usage_percent", "timestamp", "monitoring"):
            self.assertIn(key, st)
        self.assertIs(st["monitoring"], True)
        cfg = d.json("GET", "/v1/config")
        self.assertEqual(set(cfg), CONFIG_KEYS)
        new = d.json("PUT", "/v1/config", {"max_batch_size": 12,
                                            "strategy": "conservative"})
        self.assertEqual(new["max_batch_size"], 12)
        self.assertEqual(new["strategy"], "conservative")
        self.assertEqual(new["min_batch_size"], cfg["min_batch_size"])
        self.assertEqual(d.json("GET", "/v1/config"), new)
        res = d.json("POST", "/v1/optimize")
        for key in ("success", "action_taken", "memory_freed_mb",
                    "new_batch_size", "gc_performed",
                    "fragmentation_reduced", "error_message", "timestamp"):
            self.assertIn(key, res)
        self.assertEqual(d.json("POST", "/v1/disable"),
                         {"optimization_enabled": False})
        self.assertIs(d.json("GET", "/v1/status")["optimization_enabled"],
                      False)
        self.assertEqual(d.json("POST", "/v1/enable", "{}"),
                         {"optimization_enabled": True})
        hist = d.json("GET", "/v1/history")["history"]
        self.assertGreaterEqual(len(hist), 1)
        self.assertEqual(len(d.json("GET", "/v1/history?limit=1")["history"]),
                         1)
        self.assert_error(d, "GET", "/v1/history?limit=0", None, 400,
                          "limit")

    def test_batch_size(self):
        d = self.start()
        got = d.json("GET", "/v1/batch-size")
        self.assertEqual(set(got), {"batch_size", "optimal_batch_size",
                                    "manual_batch_size"})
        got = d.json("PUT", "/v1/batch-size", {"batch_size": 3})
        self.assertEqual((got["batch_size"], got["manual_batch_size"]),
                         (3, 3))
        self.assert_error(d, "PUT", "/v1/batch-size", {"batch_size": 99},
                          400, "batch_size", r"outside \[1, 16\]")
        self.assert_error(d, "PUT", "/v1/batch-size", {"batch_size": 0.5},
                          400, "batch_size", "got a real number")
        self.assertEqual(d.json("GET", "/v1/batch-size")["batch_size"], 3)
        got = d.json("PUT", "/v1/batch-size", {"batch_size": None})
        self.assertIsNone(got["manual_batch_size"])

    def test_bad_requests(self):
        d = self.start()
        before = d.json("GET", "/v1/config")
        # malformed JSON: line and column
        self.assert_error(d, "PUT", "/v1/batch-size", '{"batch_size": 8',
                          400, None, r"^request body:1:\d+: ")
        self.assert_error(d, "PUT", "/v1/config",
                          '{\n  "max_batch_size": 8,\n  oops\n}', 400, None,
                          r"^request body:3:\d+: ")
        # a wrong value names the field; nothing is applied
        self.assert_error(d, "PUT", "/v1/config",
                          '{"max_batch_size": 8,\n "gc_threshold": "x"}', 400,
                          "gc_threshold", r"request body:2:\d+: ")
        self.assert_error(d, "PUT", "/v1/config",
                          {"max_batch_size": 8, "memory_threshold_oom": 3},
                          400, "memory_threshold_oom")
        err = self.assert_error(d, "PUT", "/v1/config",
                                {"min_batch_size": 9, "max_batch_size": 4,
                                 "memory_threshold_oom": 2}, 400)
        self.assertNotIn("field", err)
        self.assertIn("max_batch_size", err["fields"])
        self.assertIn("memory_threshold_oom", err["fields"])
        self.assert_error(d, "PUT", "/v1/config", {"max_batchsize": 8}, 400,
                          "max_batchsize", "unknown key")
        self.assert_error(d, "PUT", "/v1/batch-size",
                          '{"batch_size": 2, "batch_size": 3}', 400,
                          "batch_size", "duplicate")
        self.assert_error(d, "PUT", "/v1/config", "[" * 40 + "]" * 40, 400,
                          None, "nesting deeper than 32")
        self.assert_error(d, "PUT", "/v1/batch-size",
                          b'{"batch_size": 2\x00}', 400, None, "NUL byte")
        self.assertEqual(d.json("GET", "/v1/config"), before)
        # unknown paths, wrong methods
        self.assert_error(d, "GET", "/nope", None, 404)
        self.assert_error(d, "GET", "/v1/status/", None, 404)
        for method, path, allow in (("DELETE", "/v1/status", "GET, HEAD"),
                                    ("POST", "/metrics", "GET, HEAD"),
                                    ("GET", "/v1/optimize", "POST"),
                                    ("POST", "/v1/config", "GET, HEAD, PUT")):
            status, resp, _ = d.request(method, path)
            self.assertEqual(status, 405, path)
            self.assertEqual(resp.getheader("Allow"), allow)

    def test_body_too_large(self):
        d = self.start()
        host, port = d.main.rsplit(":", 1)
        body = b"{" + b" " * (65 * 1024) + b"}"
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"PUT /v1/config HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            try:
                s.sendall(body)
            except OSError:
                pass  # the server may stop reading: that is the point
            answer = s.recv(4096)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        # exactly 64 KiB is accepted (and then judged as JSON)
        body = b'{"max_batch_size": 9' + b" " * (65536 - 21) + b"}"
        self.assertEqual(len(body), 65536)
        self.assertEqual(d.json("PUT", "/v1/config", body)["max_batch_size"],
                         9)
        # a chunked body over the cap is refused too
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("PUT", "/v1/config", body=iter([b" " * 40000] * 2),
                     encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(conn.getresponse().status, 413)
        conn.close()


class TestLifecycle(Base):
    def test_state_survives_restart(self):
        d = self.start()
        self.assertEqual(d.json("PUT", "/v1/batch-size",
                                {"batch_size": 8})["batch_size"], 8)
        d.json("POST", "/v1/disable")
        self.assertEqual(d.stop(), 0, d.stderr())
        d = self.start()
        got = d.json("GET", "/v1/batch-size")
        self.assertEqual((got["batch_size"], got["manual_batch_size"]),
                         (8, 8))
        st = d.json("GET", "/v1/status")
        self.assertEqual(st["current_batch_size"], 8)
        self.assertIs(st["optimization_enabled"], False)

    def test_sighup(self):
        good = json.dumps({"memory_threshold_warning": 0.75})
        path = self.write("config.json", good)
        d = self.start("--config", path)
        self.assertEqual(d.json("GET", "/v1/config")
                         ["memory_threshold_warning"], 0.75)
        # a bad file: the old configuration stays
        self.write("config.json", '{"memory_threshold_warning": 0.75,')
        d.send(signal.SIGHUP)
        wait_for("the reload to fail",
                 lambda: "keeping the old configuration" in d.stderr())
        self.assertIsNone(d.proc.poll())
        self.assertEqual(d.json("GET", "/v1/config")
                         ["memory_threshold_warning"], 0.75)
        self.write("config.json", json.dumps({"memory_threshold_warning": 2}))
        d.send(signal.SIGHUP)
        wait_for("the second reload to fail",
                 lambda: d.stderr().count("keeping the old config") >= 2)
        self.assertEqual(d.json("GET", "/v1/config")
                         ["memory_threshold_warning"], 0.75)
        # a good one is applied
        self.write("config.json", json.dumps({"memory_threshold_warning": 0.7,
                                              "max_batch_size": 10}))
        d.send(signal.SIGHUP)

        def applied():
            cfg = d.json("GET", "/v1/config")
            return cfg["memory_threshold_warning"] == 0.7 and \
                cfg["max_batch_size"] == 10
        wait_for("the reload", applied)


class TestSecurity(Base):
    def test_auth(self):
        token = self.write("token", "s3cret-token\n")
        d = self.start("--auth-token-file", token)
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Basic czNjcmV0LXRva2Vu"},
                        {"Authorization": "Bearer s3cret-token-longer"}):
            status, resp, data = d.request("POST", "/v1/disable",
                                           headers=headers)
            self.assertEqual(status, 401, headers)
            self.assertTrue(resp.getheader("WWW-Authenticate")
                            .startswith("Bearer"))
            self.assertEqual(json.loads(data)["error"]["status"], 401)
        self.assertEqual(d.request("PUT", "/v1/batch-size",
                                   {"batch_size": 4})[0], 401)
        self.assertIs(d.json("GET", "/v1/status")["optimization_enabled"],
                      True)
        ok = {"Authorization": "Bearer s3cret-token"}
        self.assertEqual(d.json("POST", "/v1/disable", headers=ok),
                         {"optimization_enabled": False})
        self.assertEqual(d.json("PUT", "/v1/batch-size", {"batch_size": 4},
                                headers=ok)["batch_size"], 4)
        # reads and probes never need the token
        for path in ("/v1/status", "/v1/config", "/metrics", "/health"):
            self.assertEqual(d.request("GET", path)[0], 200, path)
        self.assertIn(d.request("GET", "/ready", health=True)[0],
                      (200, 503))

    def test_tls(self):
        cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        if shutil.which("openssl"):
            cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048",
                   "-nodes", "-subj", "/CN=localhost", "-days", "1",
                   "-keyout", key, "-out", cert]
        elif shutil.which("certtool"):
            tmpl = self.write("cert.cfg", "cn = localhost\nexpiration_days"
                              " = 1\nca\nsigning_key\ntls_www_server\n")
            subprocess.run(["certtool", "--generate-privkey", "--outfile",
                            key], check=True, capture_output=True)
            cmd = ["certtool", "--generate-self-signed", "--load-privkey",
                   key, "--template", tmpl, "--outfile", cert]
        else:
            self.skipTest("neither openssl nor certtool is installed")
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        d = self.start("--tls-cert", cert, "--tls-key", key)
        self.assertEqual(d.scheme, "https")
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False  # the certificate names localhost
        st = d.json("GET", "/v1/status", tls_context=ctx)
        self.assertIn("status", st)
        status, _, data = d.request("GET", "/metrics", tls_context=ctx)
        self.assertEqual(status, 200)
        self.assertIn(b"vlm_gpu_up", data)
        # an unverified client is refused by the client's own check
        with self.assertRaises(ssl.SSLError):
            d.request("GET", "/health",
                      tls_context=ssl.create_default_context())
        # plain HTTP to the TLS port gets no HTTP answer
        host, port = d.main.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        with self.assertRaises((http.client.HTTPException, OSError)):
            conn.request("GET", "/health")
            conn.getresponse().read()
        conn.close()
        # the health listener stays plain HTTP
        self.assertEqual(d.request("GET", "/health", health=True)[0], 200)
        # a missing key file is one clear line naming it
        run = subprocess.run(
            daemonlib.serve_args(BIN, os.path.join(self.dir, "s2"),
                                 "--tls-cert", cert,
                                 "--tls-key", key + ".missing"),
            capture_output=True, timeout=20)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn(b"key.pem.missing", run.stderr)


def main():
    global BIN
    if len(sys.argv) < 2:
        sys.exit("usage: test_daemon.py PATH/TO/vgmo [unittest options]")
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
