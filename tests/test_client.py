#!/usr/bin/env python3
"""test_client.py - drives every client command of the real `vgmo` binary
against a real daemon (`vgmo serve --backend sim`) on free loopback ports.

usage: python3 tests/test_client.py path/to/vgmo [unittest options]
"""
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import daemonlib  # tests/daemonlib.py, beside this file

VGMO = None  # set from argv in main

LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (healthy|warning|critical|oom|-) +"
    r"usage +([\d.]+%|-)  batch (\d+ \(optimal \d+\)|-)$")


def clean_env(**extra):
    """The caller's environment without VGMO_* variables and colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGMO_")}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def closed_port():
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon(daemonlib.Daemon):
    """`vgmo serve` on port 0 with the simulated GPU, in its own state dir
    (daemonlib.Daemon); .url is its main listener's URL."""

    def __init__(self, state_dir, *extra):
        super().__init__(VGMO, state_dir, *extra, env=clean_env(),
                         errpath=os.path.join(state_dir, "serve.err"),
                         start_timeout=20)
        self.url = self.main_url


def run(*args, env=None, timeout=30):
    return subprocess.run([VGMO, *args], capture_output=True, text=True,
                          env=env if env is not None else clean_env(),
                          timeout=timeout)


class ClientTest(unittest.TestCase):
    """One daemon for the class; tests are numbered to run in order."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vgmo-test-client.")
        cls.daemon = Daemon(os.path.join(cls.tmp.name, "state"))
        cls.env = clean_env(VGMO_SERVER=cls.daemon.url)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.tmp.cleanup()

    def vgmo(self, *args, rc=0, env=None, timeout=30):
        p = run(*args, env=env or self.env, timeout=timeout)
        self.assertEqual(p.returncode, rc,
                         "vgmo %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), p.returncode, rc, p.stdout,
                            p.stderr))
        if rc != 0:
            self.assertEqual(p.stdout, "", "a failure prints no result")
            self.assertEqual(len(p.stderr.splitlines()), 1 if rc == 1 else 2,
                             "one line on stderr: %r" % p.stderr)
        return p

    def status(self):
        return json.loads(self.vgmo("status", "--json").stdout)

    def config(self):
        return json.loads(self.vgmo("configure", "--json").stdout)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    # ------------------------------------------------------------ status
    def test_01_status_table(self):
        out = self.vgmo("status").stdout
        self.assertRegex(out, r"(?m)^backend: +sim \(simulated GPU\)$")
        self.assertRegex(out, r"(?m)^status: +(healthy|warning|critical|oom)$")
        self.assertRegex(out, r"(?m)^monitoring: +on$")
        self.assertRegex(out, r"(?m)^batch size: +\d+ \(optimal \d+\)$")
        self.assertRegex(out, r"(?m)^thresholds: +warning 0\.80, critical "
                              r"0\.90, oom 0\.95$")
        self.assertRegex(out, r"(?m)^GPU +NAME +STATUS +USED/TOTAL MiB")
        self.assertRegex(out, r"(?m)^ +0 +NVIDIA H100 80GB HBM3 \(sim\) ")
        self.assertRegex(out, r"(?m)^WORKER +NAME +GPU +BATCH")

    def test_02_status_json(self):
        st = self.status()
        for key in ("status", "gpu_available", "current_batch_size",
                    "optimal_batch_size", "optimization_enabled",
                    "memory_usage_percent", "gpus", "workers"):
            self.assertIn(key, st)
        self.assertEqual(st["backend"], "sim")
        self.assertIs(st["monitoring"], True)
        self.assertEqual(len(st["gpus"]), 1)
        # the same through --server
        p = run("status", "--json", "--server", self.daemon.url,
                env=clean_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["backend"], "sim")

    def test_03_optimize(self):
        out = self.vgmo("optimize").stdout
        self.assertRegex(out, r"(?m)^action: +[a-z_]+$")
        self.assertRegex(out, r"(?m)^success: +yes$")
        res = json.loads(self.vgmo("optimize", "--json").stdout)
        self.assertIs(res["success"], True)
        self.assertIn("action_taken", res)

    def test_04_set_batch_size(self):
        out = self.vgmo("set-batch-size", "8").stdout
        self.assertIn("batch size set to 8", out)
        st = self.status()
        self.assertEqual(st["current_batch_size"], 8)
        self.assertEqual(st["workers"][0]["manual_batch_size"], 8)
        self.assertRegex(self.vgmo("status").stdout,
                         r"(?m)^batch size: +8 \(optimal \d+\)$")
        p = self.vgmo("set-batch-size", "99", rc=1)
        self.assertRegex(p.stderr, r"99.*\b1\b.*\b16\b")
        p = self.vgmo("set-batch-size", "0", rc=1)
        self.assertIn("between 1 and 16", p.stderr)
        self.assertEqual(self.status()["current_batch_size"], 8)
        # the daemon refuses it too, whatever the client checks
        res = json.loads(self.vgmo("set-batch-size", "auto", "--json").stdout)
        self.assertIsNone(res["manual_batch_size"])
        self.assertIsNone(self.status()["workers"][0]["manual_batch_size"])

    def test_05_enable_disable(self):
        self.assertEqual(self.vgmo("disable").stdout,
                         "optimization disabled\n")
        self.assertIs(self.status()["optimization_enabled"], False)
        self.assertRegex(self.vgmo("status").stdout,
                         r"(?m)^optimization: +disabled$")
        self.assertEqual(self.vgmo("enable").stdout, "optimization enabled\n")
        self.assertIs(self.status()["optimization_enabled"], True)
        res = json.loads(self.vgmo("enable", "--json").stdout)
        self.assertIs(res["optimization_enabled"], True)

    def test_06_monitoring(self):
        self.assertEqual(self.vgmo("stop-monitoring").stdout,
                         "monitoring off\n")
        self.assertIs(self.status()["monitoring"], False)
        self.assertRegex(self.vgmo("status").stdout,
                         r"(?m)^monitoring: +off$")
        self.assertEqual(self.vgmo("start-monitoring").stdout,
                         "monitoring on\n")
        self.assertIs(self.status()["monitoring"], True)

    # --------------------------------------------------------- configure
    def test_07_configure_invalid(self):
        before = self.config()
        p = self.vgmo("configure", "--warning-threshold", "1.5",
                      "--min-batch-size", "0", rc=1)
        self.assertIn("memory_threshold_warning", p.stderr)
        self.assertIn("min_batch_size", p.stderr)
        p = self.vgmo("configure", "--warning-threshold", "0.95", rc=1)
        self.assertIn("memory_threshold_critical", p.stderr)
        self.assertEqual(self.config(), before)
        self.vgmo("configure", "--warning-threshold", "abc", rc=2)

    def test_08_configure_valid(self):
        out = self.vgmo("configure", "--warning-threshold", "0.7",
                        "--max-batch-size", "24",
                        "--strategy", "conservative").stdout
        self.assertIn("memory_threshold_warning: 0.8 -> 0.7", out)
        self.assertIn("max_batch_size: 16 -> 24", out)
        cfg = self.config()
        self.assertEqual(cfg["memory_threshold_warning"], 0.7)
        self.assertEqual(cfg["max_batch_size"], 24)
        self.assertEqual(cfg["strategy"], "conservative")
        self.assertEqual(self.status()["strategy"], "conservative")
        # the new range is the one set-batch-size checks
        self.vgmo("set-batch-size", "20")
        p = self.vgmo("set-batch-size", "25", rc=1)
        self.assertIn("between 1 and 24", p.stderr)
        self.vgmo("set-batch-size", "auto")
        out = self.vgmo("configure").stdout
        self.assertRegex(out, r"(?m)^max_batch_size +24$")

    def test_09_export_import(self):
        exported = self.path("exported.json")
        self.assertEqual(self.vgmo("export-config", "--output",
                                   exported).stdout,
                         "configuration exported to %s\n" % exported)
        with open(exported) as f:
            saved = json.load(f)
        self.assertEqual(saved, self.config())
        self.assertEqual(len(saved), 14)
        self.assertEqual(json.loads(self.vgmo("export-config").stdout), saved)
        self.vgmo("configure", "--strategy", "aggressive",
                  "--optimization-interval", "30")
        self.assertNotEqual(self.config(), saved)
        out = self.vgmo("import-config", exported).stdout
        self.assertIn("strategy: aggressive -> conservative", out)
        self.assertEqual(self.config(), saved)
        # a partial file changes only its keys
        partial = self.path("partial.json")
        with open(partial, "w") as f:
            f.write('{"min_batch_size": 2}\n')
        self.vgmo("import-config", partial)
        cfg = self.config()
        self.assertEqual(cfg["min_batch_size"], 2)
        self.assertEqual(cfg["max_batch_size"], saved["max_batch_size"])
        self.vgmo("import-config", exported)

    def test_10_import_bad(self):
        before = self.config()
        bad = self.path("bad.json")
        with open(bad, "w") as f:
            f.write('{\n  "max_batch_size": 20,\n  "min_batch_size" 2\n}\n')
        p = self.vgmo("import-config", bad, rc=1)
        self.assertIn(bad + ":3:", p.stderr)
        invalid = self.path("invalid.json")
        with open(invalid, "w") as f:
            f.write('{"memory_threshold_oom": 1.5, "min_batch_size": 0}\n')
        p = self.vgmo("import-config", invalid, rc=1)
        self.assertIn("memory_threshold_oom", p.stderr)
        self.assertIn("min_batch_size", p.stderr)
        self.vgmo("import-config", self.path("missing.json"), rc=1)
        self.vgmo("import-config", rc=2)
        self.assertEqual(self.config(), before)

    # ----------------------------------------------------------- history
    def test_11_history(self):
        self.vgmo("optimize")
        out = self.vgmo("history").stdout
        lines = out.splitlines()
        self.assertRegex(lines[0],
                         r"^TIME +WORKER +ACTION +OK +BATCH +FREED MiB")
        # A pass that moves nothing says so, and names no worker.
        for l in lines[1:]:
            self.assertNotIn("batch size(s)", l)
            if "no batch size changed" in l:
                self.assertRegex(l, r"^\S+ \S+ +- +")
        self.assertGreaterEqual(len(lines), 2)
        self.assertTrue(any("manual_batch_size" in l for l in lines), out)
        hist = json.loads(self.vgmo("history", "--limit", "1",
                                    "--json").stdout)["history"]
        self.assertEqual(len(hist), 1)
        self.assertIn("action_taken", hist[0])
        self.vgmo("history", "--limit", "0", rc=2)
        # CSV: stable column names, one row per entry, empty when unknown.
        text = self.vgmo("history", "--format", "csv").stdout
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0], [
            "time", "timestamp", "worker", "action", "success",
            "old_batch_size", "new_batch_size", "freed_mib", "reason",
            "error"])
        full = json.loads(self.vgmo("history", "--json").stdout)["history"]
        self.assertEqual(len(rows) - 1, len(full))
        for row, entry in zip(rows[1:], full):
            self.assertEqual(row[2], entry.get("worker") or "")
            self.assertEqual(row[3], entry["action_taken"])
            self.assertEqual(row[6], "" if entry["new_batch_size"] is None
                             else str(entry["new_batch_size"]))
        text = self.vgmo("history", "--fields", "worker,action").stdout
        self.assertEqual(text.splitlines()[0], "worker,action")
        text = self.vgmo("status", "--fields", "gpu,batch_size").stdout
        self.assertRegex(text, r"^gpu,batch_size\n0,\d+\n$")

    # ----------------------------------------------------------- monitor
    def test_12_monitor_piped(self):
        t0 = time.monotonic()
        out = self.vgmo("monitor", "--duration", "2", "--interval", "1").stdout
        took = time.monotonic() - t0
        lines = out.splitlines()
        self.assertGreaterEqual(len(lines), 2, out)
        self.assertLessEqual(len(lines), 3, out)
        for line in lines:
            self.assertRegex(line, LINE_RE)
        self.assertGreater(took, 1.5)
        self.assertLess(took, 10)
        out = self.vgmo("monitor", "--duration", "1", "--interval", "0.5",
                        "--json").stdout
        for line in out.splitlines():
            self.assertIn("status", json.loads(line))
        self.vgmo("monitor", "--interval", "0", rc=2)

    def test_13_monitor_sigint(self):
        p = subprocess.Popen([VGMO, "monitor", "--interval", "0.2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=self.env)
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertGreaterEqual(len(out.splitlines()), 2)
        for line in out.splitlines():
            self.assertRegex(line, LINE_RE)

    def test_14_monitor_live(self):
        """On a terminal: redrawn in place, cursor hidden then restored."""
        import pty
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.clear()
            os.environ.update(clean_env(VGMO_SERVER=self.daemon.url,
                                        TERM="xterm"))
            os.execv(VGMO, [VGMO, "monitor", "--duration", "1",
                            "--interval", "0.5"])
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        screen = b"".join(chunks).decode("utf-8", "replace")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, screen)
        self.assertIn("\033[?25l", screen)
        self.assertTrue(screen.rstrip().endswith("\033[?25h"), repr(screen))
        self.assertIn("\033[H", screen)
        self.assertRegex(screen, r"GPU 0  NVIDIA H100 80GB HBM3 \(sim\)")
        self.assertRegex(screen, r"\[#*\.*\] +[\d.]+%")
        self.assertIn("recent actions:", screen)

    # -------------------------------------------------- failures, usage
    def test_15_unreachable(self):
        url = "http://127.0.0.1:%d" % closed_port()
        env = clean_env(VGMO_SERVER=url)
        for args in (["status"], ["status", "--json"], ["optimize"],
                     ["set-batch-size", "4"], ["enable"], ["disable"],
                     ["start-monitoring"], ["stop-monitoring"],
                     ["configure"], ["configure", "--strategy", "balanced"],
                     ["history"], ["export-config"],
                     ["import-config", self.path("exported.json")],
                     ["monitor", "--duration", "1"]):
            p = self.vgmo(*args, rc=1, env=env)
            self.assertEqual(
                p.stderr, "vgmo: cannot reach the daemon at %s: Connection "
                "refused (is `vgmo serve` running?)\n" % url, args)
        p = self.vgmo("status", "--server", url, rc=1, env=clean_env())
        self.assertIn(url, p.stderr)

    def test_16_usage(self):
        for cmd in ("status", "monitor", "optimize", "set-batch-size",
                    "enable", "disable", "start-monitoring",
                    "stop-monitoring", "configure", "history",
                    "export-config", "import-config"):
            out = self.vgmo(cmd, "--help").stdout
            self.assertIn("usage: vgmo " + cmd, out)
            self.assertIn("--server URL", out)
            self.assertRegex(self.vgmo("--help").stdout,
                             r"(?m)^  %s " % re.escape(cmd))
        self.vgmo("set-batch-size", rc=2)
        self.vgmo("set-batch-size", "8x", rc=2)
        self.vgmo("set-batch-size", "8", "9", rc=2)
        self.vgmo("optimize", "extra", rc=2)
        self.vgmo("enable", "--server", "ftp://x", rc=2)
        self.vgmo("history", "--server", "gopher://x:70", rc=2)
        # No scheme means http://: the daemon is asked.
        out = self.vgmo("status", "--server",
                        self.daemon.url.replace("http://", "")).stdout
        self.assertIn("batch size:", out)
        self.vgmo("status", "--backend", "sim", "--server", self.daemon.url,
                  rc=2)
        p = self.vgmo("enable", rc=1, env=clean_env(VGMO_SERVER="nonsense"))
        self.assertIn("VGMO_SERVER", p.stderr)

    # ------------------------------------------------ lasting and tokens
    def test_17_restart_keeps_state(self):
        self.vgmo("set-batch-size", "8")
        self.vgmo("disable")
        self.daemon.stop()
        self.__class__.daemon = Daemon(self.daemon.state_dir)
        env = clean_env(VGMO_SERVER=self.daemon.url)
        st = json.loads(self.vgmo("status", "--json", env=env).stdout)
        self.assertEqual(st["current_batch_size"], 8)
        self.assertIs(st["optimization_enabled"], False)
        self.assertEqual(self.vgmo("configure", "--json", env=env)
                         .stdout.count("conservative"), 1)
        self.vgmo("enable", env=env)
        self.vgmo("set-batch-size", "auto", env=env)


    def test_19_health_port_as_server(self):
        """The health port or a path given as --server: says which."""
        for url in (self.daemon.health_url, self.daemon.url + "/prefix"):
            p = self.vgmo("status", "--server", url, rc=1)
            self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
            self.assertIn("main port", p.stderr)
            self.assertIn("GET /v1/status", p.stderr)

    def test_20_landing_page(self):
        """GET /: version, backend, links, GPUs and workers; its script is
        served from its own path, so a strict CSP allows the page."""
        with urllib.request.urlopen(self.daemon.url + "/") as r:
            self.assertEqual(r.headers["Content-Type"],
                             "text/html; charset=utf-8")
            csp = r.headers["Content-Security-Policy"]
            page = r.read().decode()
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("<h1>vgmo 0.", page)
        self.assertIn("sim (simulated GPU)", page)
        for link in ("metrics", "health", "ready", "v1/status"):
            self.assertIn('href="%s"' % link, page)
        self.assertRegex(page, r"<td>NVIDIA H100 80GB HBM3 \(sim\)</td>")
        self.assertRegex(page, r"<tr><td>0</td><td>default</td>")
        # Nothing inline for a CSP to block, nothing from elsewhere.
        self.assertNotRegex(page, r"<script(?![^>]*\bsrc=)")
        self.assertNotRegex(page, r"\s(on\w+|style)=|<style|https?://")
        self.assertIn('<script src="ui/landing.js"></script>', page)
        for path in ("ui/landing.js", "health", "v1/status"):
            with urllib.request.urlopen(self.daemon.url + "/" + path) as r:
                self.assertEqual(r.status, 200, path)
        with urllib.request.urlopen(self.daemon.url + "/ui/landing.js") as r:
            self.assertTrue(r.headers["Content-Type"].startswith(
                "text/javascript"))
            script = r.read().decode()
        self.assertNotIn("innerHTML", script)
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            self.skipTest("node not found: the script is not run")
        # The script against a small fake DOM and the real status: it
        # fills both tables, escaping nothing because it never parses HTML.
        with urllib.request.urlopen(self.daemon.url + "/v1/status") as r:
            status = r.read().decode()
        harness = """
        var tables = {gpus: [], workers: []}, texts = {}, tick;
        function el(id) { return {set textContent(v) { texts[id] = v; }}; }
        global.document = {
          getElementById: el,
          querySelector: function (q) {
            var rows = tables[q.split(" ")[0].slice(1)];
            return {get firstChild() { return rows.length ? 1 : null; },
                    removeChild: function () { rows.pop(); },
                    appendChild: function (tr) { rows.push(tr.cells); }};
          },
          createElement: function () {
            var cells = [];
            return {cells: cells, textContent: "",
                    appendChild: function (td) { cells.push(td.textContent); }};
          }
        };
        global.setInterval = function (f) { tick = f; };
        global.fetch = function () {
          return Promise.resolve({json: function () { return STATUS; }});
        };
        SCRIPT
        tick();
        setTimeout(function () {
          console.log(JSON.stringify({tables: tables, texts: texts}));
        }, 50);
        """.replace("STATUS", status).replace("SCRIPT", script)
        p = subprocess.run([node, "-e", harness], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout)
        st = json.loads(status)
        self.assertEqual(got["tables"]["gpus"][0][1], st["gpus"][0]["name"])
        self.assertEqual(got["tables"]["workers"][0][1], "default")
        self.assertEqual(got["texts"]["status"], st["status"])
        self.assertIn("Updated", got["texts"]["updated"])

    def test_18_no_answer(self):
        """A listener that never answers: the 10 s limit, one line."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            s.listen(4)
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
            t0 = time.monotonic()
            p = self.vgmo("optimize", "--server", url, rc=1, env=clean_env())
            self.assertLess(time.monotonic() - t0, 20)
            self.assertIn("did not answer in time", p.stderr)


class TlsTest(unittest.TestCase):
    """A daemon serving its API over HTTPS with a self-signed certificate."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is not installed")
        cls.tmp = tempfile.TemporaryDirectory(prefix="vgmo-test-tls.")
        cls.cert = os.path.join(cls.tmp.name, "cert.pem")
        key = os.path.join(cls.tmp.name, "key.pem")
        p = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cls.cert, "-days", "2",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            capture_output=True)
        if p.returncode != 0:
            cls.tmp.cleanup()
            raise unittest.SkipTest("openssl cannot make a certificate")
        cls.daemon = Daemon(os.path.join(cls.tmp.name, "state"),
                            "--tls-cert", cls.cert, "--tls-key", key)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.tmp.cleanup()

    def test_https(self):
        url = self.daemon.url
        self.assertTrue(url.startswith("https://"), url)
        p = run("status", "--json", "--server", url, "--cacert", self.cert)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["backend"], "sim")
        env = clean_env(VGMO_SERVER=url, VGMO_CACERT=self.cert)
        p = run("enable", env=env)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "optimization enabled\n"), p.stderr)

    def test_https_unknown_ca(self):
        p = run("status", "--server", self.daemon.url)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("--cacert", p.stderr)

    def test_http_to_https(self):
        url = self.daemon.url.replace("https://", "http://")
        p = run("status", "--server", url)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn(url, p.stderr)

    def test_https_to_http(self):
        """https:// to a plain daemon: says so, no --cacert advice."""
        d = Daemon(os.path.join(self.tmp.name, "plain"))
        try:
            url = d.url.replace("http://", "https://")
            p = run("status", "--server", url)
        finally:
            d.stop()
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("does not speak https", p.stderr)
        self.assertNotIn("--cacert", p.stderr)


class TokenTest(unittest.TestCase):
    """A daemon started with --auth-token-file."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="vgmo-test-token.")
        cls.token = os.path.join(cls.tmp.name, "token")
        with open(cls.token, "w") as f:
            f.write("s3cret-Token_42\n")
        cls.daemon = Daemon(os.path.join(cls.tmp.name, "state"),
                            "--auth-token-file", cls.token)
        cls.env = clean_env(VGMO_SERVER=cls.daemon.url)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.tmp.cleanup()

    def file(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_token_required(self):
        p = run("disable", env=self.env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("--token-file", p.stderr)
        p = run("configure", "--strategy", "aggressive", env=self.env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--token-file", p.stderr)
        # reads need no token
        self.assertEqual(run("status", env=self.env).returncode, 0)

    def test_token_given(self):
        p = run("disable", "--token-file", self.token, env=self.env)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "optimization disabled\n"), p.stderr)
        env = dict(self.env, VGMO_TOKEN_FILE=self.token)
        p = run("enable", env=env)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "optimization enabled\n"), p.stderr)
        p = run("set-batch-size", "4", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(run("set-batch-size", "auto", env=env).returncode, 0)

    def test_token_wrong_or_empty(self):
        wrong = self.file("wrong", "not-the-token\n")
        p = run("enable", "--token-file", wrong, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refused the token in " + wrong, p.stderr)
        # A token was sent: no advice to send one.
        self.assertNotIn("needs the header", p.stderr)
        empty = self.file("empty", "\n")
        p = run("enable", "--token-file", empty, env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is empty", p.stderr)
        p = run("enable", "--token-file",
                os.path.join(self.tmp.name, "missing"), env=self.env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read the token file", p.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_client.py path/to/vgmo [unittest options]")
    VGMO = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
