"""opslib.py - helpers shared by test_ops.py and test_prometheus.py.

A `vgmo serve` on the simulated GPU on free loopback ports, small HTTP
calls, the metric families it exports, and the metric names a PromQL
expression reads. Python standard library only.
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT = 15.0


def clean_env():
    """The caller's environment without VGMO_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VGMO_")}


def free_port():
    """A loopback port nothing listens on now (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=5.0, headers=None):
    """(status, parsed JSON or text) of one request; never raises on 4xx/5xx."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Daemon:
    """One `vgmo serve` on port 0 (--backend sim unless `extra` names
    another); stop() it (or use `with`)."""

    def __init__(self, vgmo, state_dir, *extra):
        os.makedirs(state_dir, exist_ok=True)
        if "--backend" not in extra:
            extra = ("--backend", "sim") + tuple(extra)
        self.errpath = os.path.join(state_dir, "serve.stderr")
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(
            [vgmo, "serve", "--listen", "127.0.0.1:0",
             "--health-listen", "127.0.0.1:0", "--state-dir", state_dir,
             *extra],
            stdout=subprocess.PIPE, stderr=self.err, env=clean_env())
        self.base = self.health = None
        try:
            self._read_urls()
        except BaseException:
            self.stop()
            raise

    def _read_urls(self):
        deadline = time.monotonic() + START_TIMEOUT
        out = b""
        while self.base is None or self.health is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError("vgmo serve did not start: %r\n%s" %
                                     (out, self.stderr()))
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                out += chunk
            for line in out.decode().splitlines():
                m = re.match(r"(metrics|health):\s+(http://[^/]+)/", line)
                if m and m.group(1) == "metrics":
                    self.base = m.group(2)
                elif m:
                    self.health = m.group(2)

    @property
    def hostport(self):
        return self.base.split("://", 1)[1]

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; returns the exit status."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = -signal.SIGKILL
        if self.proc.stdout:
            self.proc.stdout.close()
        self.err.close()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def metric_families(text):
    """{family: (type, set of label names)} from a /metrics page."""
    fams = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            fams[m.group(1)] = (m.group(2), set())
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ", line)
        if m and m.group(1) in fams:
            labels = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or "")
            fams[m.group(1)][1].update(labels)
    return fams


def documented_client_families():
    """The families docs/clients.md promises in its Metrics section."""
    with open(os.path.join(ROOT, "docs", "clients.md")) as f:
        text = f.read()
    section = text.split("## Metrics", 1)[1]
    return set(re.findall(r"`(vlm_[a-z0-9_]+)`", section))


# PromQL words that are not metric names.
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring",
             "group_left", "group_right", "offset", "bool", "inf", "nan"}


def promql_metric_names(expr):
    """The metric names an expression reads (Grafana's label_values(m, l)
    included). Strings, label matchers, ranges, grouping clauses and
    function names are set aside first."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*",
                     expr, re.S)
    if m:
        expr = m.group(1)
    expr = re.sub(r'"(\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
                  " ", expr)
    names = set()
    for tok in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word = tok.group(0)
        rest = expr[tok.end():].lstrip()
        if word.lower() in _KEYWORDS or rest.startswith("("):
            continue
        names.add(word)
    return names
