"""Helpers for the reliability tests (test_abuse.py, test_json_edge.py,
test_faults.py, test_crash.py, test_client_abuse.py): start the real
`vgmo serve` on loopback, talk to it over raw sockets or http.client, and
clean up everything. Python standard library only."""
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

START_TIMEOUT = 15.0
SECRET_HEADER = "X-Vgmo-Client-Secret"


class Daemon:
    """One `vgmo serve`; its bound addresses are read from its stdout.

    `backend` defaults to sim; `extra` are more arguments; `env` is added to
    the environment. With wait=False a daemon that exits at start is not an
    error (see .proc.returncode and .stderr())."""

    def __init__(self, binary, state_dir, *extra, backend="sim", env=None,
                 wait=True, interval="0.5"):
        self.state_dir = state_dir
        self.secrets = {}  # client id -> secret, from registrations
        os.makedirs(state_dir, exist_ok=True)
        self.errpath = os.path.join(
            tempfile.gettempdir(),
            "vgmo-rely-%d-%d.stderr" % (os.getpid(), time.monotonic_ns()))
        args = [binary, "serve", "--backend", backend,
                "--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0",
                "--state-dir", state_dir]
        if interval is not None:
            args += ["--monitoring-interval", interval]
        args += list(extra)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.err, env=full_env)
        self.main = self.health = None
        self.out = b""
        if wait:
            self._read_urls()

    def _read_urls(self):
        deadline = time.monotonic() + START_TIMEOUT
        while self.main is None or self.health is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                text = self.stderr()
                self.stop()
                try:
                    os.unlink(self.errpath)
                except OSError:
                    pass
                raise AssertionError("daemon did not start: %r\n%s" %
                                     (self.out, text))
            ready, _, _ = select.select([self.proc.stdout], [], [],
                                        min(left, 0.2))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                self.out += chunk
            for line in self.out.decode(errors="replace").splitlines():
                m = re.match(r"\s*(metrics|health):\s+http://([^/]+)/",
                             line)
                if m and m.group(1) == "metrics":
                    self.main = m.group(2)
                elif m:
                    self.health = m.group(2)

    @property
    def port(self):
        return int(self.main.rsplit(":", 1)[1])

    @property
    def health_port(self):
        return int(self.health.rsplit(":", 1)[1])

    def stderr(self):
        try:
            with open(self.errpath, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def secret(self, cid):
        """The secret the daemon gave client `cid` at registration."""
        return self.secrets.get(cid)

    def request(self, method, path, body=None, headers=None, health=False,
                timeout=10, secret=True):
        """One request. For /v1/clients/{id}..., the client's secret (from
        its registration through this object) is sent unless `secret` is
        False or `headers` name one."""
        host, port = (self.health if health else self.main).rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        headers = dict(headers or {})
        m = re.match(r"/v1/clients/(\d+)", path)
        if secret and m and int(m.group(1)) in self.secrets:
            headers.setdefault(SECRET_HEADER, self.secrets[int(m.group(1))])
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if method == "POST" and path == "/v1/clients" and \
                    resp.status in (200, 201):
                ans = json.loads(data)
                self.secrets[ans["id"]] = ans["secret"]
            return resp.status, resp, data
        finally:
            conn.close()

    def json(self, method, path, body=None, want=200, **kw):
        status, _, data = self.request(method, path, body, **kw)
        if status != want:
            raise AssertionError("%s %s: %d, want %d: %s" %
                                 (method, path, status, want, data))
        return json.loads(data) if data else None

    def alive(self):
        """True when /health on both listeners answers 200."""
        try:
            a = self.request("GET", "/health", timeout=5)[0]
            b = self.request("GET", "/health", health=True, timeout=5)[0]
            return a == 200 and b == 200
        except OSError:
            return False

    def kill(self):
        """SIGKILL, no clean-up by the daemon."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def _close(self):
        if not self.proc.stdout.closed:
            self.proc.stdout.close()
        if not self.err.closed:
            self.err.close()

    def cleanup(self):
        """Stops it and removes its log; raises when AddressSanitizer,
        LeakSanitizer or UBSan reported anything (ASan builds)."""
        self.stop()
        text = self.stderr()
        try:
            os.unlink(self.errpath)
        except OSError:
            pass
        if re.search(r"Sanitizer|runtime error:", text):
            raise AssertionError("sanitizer report from the daemon:\n" +
                                 text[-4000:])


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
