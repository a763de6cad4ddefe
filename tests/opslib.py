"""opslib.py - helpers shared by test_ops.py and test_prometheus.py.

A `vgmo serve` on the simulated GPU on free loopback ports (daemonlib),
small HTTP calls, the metric families it exports, and the metric names a
PromQL expression reads. Python standard library only.
"""
import json
import os
import re
import socket
import urllib.error
import urllib.request

import daemonlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

clean_env = daemonlib.clean_env


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


class Daemon(daemonlib.Daemon):
    """One `vgmo serve` (daemonlib.Daemon) on the simulated GPU unless
    `extra` names another --backend, without the caller's VGMO_*
    variables, its stderr in state_dir/serve.stderr; stop() it (or use
    `with`)."""

    def __init__(self, vgmo, state_dir, *extra):
        super().__init__(vgmo, state_dir, *extra, env=clean_env(),
                         errpath=os.path.join(state_dir, "serve.stderr"))

    @property
    def base(self):
        """The main listener's URL, without a path."""
        return self.main_url

    @property
    def hostport(self):
        return self.main


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
