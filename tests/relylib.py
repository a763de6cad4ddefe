"""Helpers for the reliability tests (test_abuse.py, test_json_edge.py,
test_faults.py, test_crash.py, test_client_abuse.py): the real `vgmo serve`
on loopback (daemonlib.Daemon, with the clients' secrets remembered), raw
sockets and http.client, and clean-up. Python standard library only."""
import json
import os
import re
import shutil
import socket
import tempfile
import time

import daemonlib

SECRET_HEADER = "X-Vgmo-Client-Secret"


class Daemon(daemonlib.Daemon):
    """One `vgmo serve` (daemonlib.Daemon) that remembers the secrets of
    the clients registered through it.

    `backend` defaults to sim; `extra` are more arguments; `env` is added to
    the environment. With wait=False a daemon that exits at start is not an
    error (see .proc.returncode and .stderr())."""

    def __init__(self, binary, state_dir, *extra, backend="sim", env=None,
                 wait=True, interval="0.5"):
        self.secrets = {}  # client id -> secret, from registrations
        full_env = dict(os.environ)
        full_env.update(env or {})
        super().__init__(binary, state_dir, *extra, backend=backend,
                         env=full_env, interval=interval, wait=wait)

    def secret(self, cid):
        """The secret the daemon gave client `cid` at registration."""
        return self.secrets.get(cid)

    def request(self, method, path, body=None, headers=None, health=False,
                timeout=10, secret=True):
        """One request. For /v1/clients/{id}..., the client's secret (from
        its registration through this object) is sent unless `secret` is
        False or `headers` name one."""
        headers = dict(headers or {})
        m = re.match(r"/v1/clients/(\d+)", path)
        if secret and m and int(m.group(1)) in self.secrets:
            headers.setdefault(SECRET_HEADER, self.secrets[int(m.group(1))])
        status, resp, data = super().request(method, path, body, headers,
                                             health=health, timeout=timeout)
        if method == "POST" and path == "/v1/clients" and \
                status in (200, 201):
            ans = json.loads(data)
            self.secrets[ans["id"]] = ans["secret"]
        return status, resp, data

    def alive(self):
        """True when /health on both listeners answers 200."""
        try:
            a = self.request("GET", "/health", timeout=5)[0]
            b = self.request("GET", "/health", health=True, timeout=5)[0]
            return a == 200 and b == 200
        except OSError:
            return False


def wait_for(what, fn, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def raw(port, data, timeout=5.0, source=None, read=True):
    """Sends bytes on a fresh connection; returns what came back (b"" when
    the server closed without answering)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source
                                 else None)
    try:
        s.sendall(data)
        if not read:
            return b""
        return read_response(s, timeout)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        s.close()


def read_response(s, timeout=5.0):
    """Reads one HTTP response (headers and a Content-Length body) or
    until the peer closes."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return data
        if not chunk:
            return data
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if m and len(body) >= int(m.group(1)):
                return data
            if not m and not head.startswith(b"HTTP/1.1 1"):
                # No length: read to the close.
                continue


def status_of(response):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    return int(m.group(1)) if m else None


def metric(text, name, **labels):
    """The value of one series in a /metrics text, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(
                name + " "):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_failed(case):
    """True in tearDown when the test that ran failed (to show logs)."""
    result = getattr(getattr(case, "_outcome", None), "result", None)
    if result is None:
        return False
    return any(t is case for t, _ in result.failures + result.errors)


class TempDir:
    def __init__(self, prefix):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)
