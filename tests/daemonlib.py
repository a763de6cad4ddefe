"""daemonlib.py - the one way the Python tests start a `vgmo serve`.

    d = daemonlib.Daemon(binary, state_dir, "--sim-workload", "none")
    status, resp, body = d.request("GET", "/v1/status")
    problems = daemonlib.stop_all([d])   # [] when it exited 0 and clean

A daemon listens on free loopback ports (port 0; its bound addresses are
read from what it prints on stdout), keeps its state in `state_dir`, and
writes its stderr to a file that stderr() reads and that is searched for
sanitizer reports when it stops. Helpers built on it: relylib.Daemon (the
reliability tests: client secrets, raw sockets), opslib.Daemon (test_ops,
test_prometheus). Tests that kill the daemon on purpose (test_crash) use
the lower-level pieces: serve_args(), read_urls(), sanitizer_report().
Python standard library only.
"""
import http.client
import json
import os
import re
import select
import signal
import subprocess
import tempfile
import time

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
URL_RE = re.compile(r"\s*(metrics|health):\s+(https?)://([^/\s]+)/")
SANITIZER_RE = re.compile(r"Sanitizer|runtime error:")


def clean_env():
    """The caller's environment without VGMO_* variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VGMO_")}


def sanitizer_report(text):
    """True when a daemon's stderr holds an AddressSanitizer, LeakSanitizer
    or UBSan report (ASan builds)."""
    return SANITIZER_RE.search(text) is not None


def serve_args(binary, state_dir, *extra, backend="sim", interval=None,
               listen="127.0.0.1:0", health_listen="127.0.0.1:0"):
    """The command line of `vgmo serve` on loopback. `backend` None, or an
    `extra` that names --backend, leaves the backend to `extra`."""
    args = [binary, "serve"]
    if backend is not None and "--backend" not in extra:
        args += ["--backend", backend]
    args += ["--listen", listen, "--health-listen", health_listen,
             "--state-dir", state_dir]
    if interval is not None:
        args += ["--monitoring-interval", str(interval)]
    return args + list(extra)


def read_urls(proc, timeout=START_TIMEOUT):
    """Reads `proc`'s stdout (a pipe) until it has printed both listeners.
    Returns ({"metrics": (scheme, host:port), "health": (...)}, bytes read);
    the dict lacks what was not printed when the process exited or the
    time ran out."""
    deadline = time.monotonic() + timeout
    out = b""
    urls = {}
    while len(urls) < 2:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
            out += chunk
        elif proc.poll() is not None:
            break
        for line in out.decode(errors="replace").splitlines():
            m = URL_RE.match(line)
            if m:
                urls[m.group(1)] = (m.group(2), m.group(3))
    return urls, out


class Daemon:
    """One `vgmo serve` (serve_args() says how it is started).

    `env`: its whole environment (default: this process's). `errpath`: where
    its stderr goes (default: a new file in the temporary folder, removed by
    cleanup()); `errmode` "ab" appends. With wait=False a daemon that exits
    at start is not an error (see .proc.returncode and .stderr()); call
    wait_ready() to read its addresses.

    After start: .main and .health are "host:port", .scheme and
    .health_scheme "http" or "https", .main_url and .health_url the URLs
    without a path, .port and .health_port the ports."""

    def __init__(self, binary, state_dir, *extra, backend="sim", env=None,
                 interval=None, wait=True, errpath=None, errmode="wb",
                 listen="127.0.0.1:0", start_timeout=START_TIMEOUT):
        self.state_dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.own_errpath = errpath is None
        self.errpath = errpath or os.path.join(
            tempfile.gettempdir(),
            "vgmo-serve-%d-%d.stderr" % (os.getpid(), time.monotonic_ns()))
        self.start_timeout = start_timeout
        self.err = open(self.errpath, errmode)
        self.proc = subprocess.Popen(
            serve_args(binary, state_dir, *extra, backend=backend,
                       interval=interval, listen=listen),
            stdout=subprocess.PIPE, stderr=self.err,
            env=dict(os.environ) if env is None else env)
        self.main = self.health = None
        self.scheme = self.health_scheme = "http"
        self.out = b""
        if wait:
            self.wait_ready()

    def wait_ready(self):
        """Reads the bound addresses; stops the daemon and raises
        AssertionError (with its output) when it does not print them."""
        urls, self.out = read_urls(self.proc, self.start_timeout)
        if len(urls) < 2:
            text = self.stderr()
            self.stop()
            self.remove_log()
            raise AssertionError("vgmo serve did not start: %r\n%s" %
                                 (self.out, text))
        self.scheme, self.main = urls["metrics"]
        self.health_scheme, self.health = urls["health"]
        return self

    @property
    def main_url(self):
        return "%s://%s" % (self.scheme, self.main)

    @property
    def health_url(self):
        return "%s://%s" % (self.health_scheme, self.health)

    @property
    def port(self):
        return int(self.main.rsplit(":", 1)[1])

    @property
    def health_port(self):
        return int(self.health.rsplit(":", 1)[1])

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        try:
            with open(self.errpath, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, health=False,
                timeout=10, tls_context=None):
        """One request on the main (or the health) listener: (status,
        response, body bytes). A dict or list body is sent as JSON."""
        host, port = (self.health if health else self.main).rsplit(":", 1)
        if (self.health_scheme if health else self.scheme) == "https":
            conn = http.client.HTTPSConnection(host, int(port),
                                               timeout=timeout,
                                               context=tls_context)
        else:
            conn = http.client.HTTPConnection(host, int(port),
                                              timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp, resp.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, want=200, **kw):
        """The JSON answer of one request; AssertionError when its status
        is not `want`."""
        status, _, data = self.request(method, path, body, **kw)
        if status != want:
            raise AssertionError("%s %s: %d, want %d: %s" %
                                 (method, path, status, want, data))
        return json.loads(data) if data else None

    def send(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL, no clean-up by the daemon."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()

    def stop(self, sig=signal.SIGTERM):
        """`sig` (then SIGKILL after STOP_TIMEOUT); returns the exit
        status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def _close(self):
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if not self.err.closed:
            self.err.close()

    def remove_log(self):
        """Removes its stderr file when this object chose where it is."""
        if self.own_errpath:
            try:
                os.unlink(self.errpath)
            except OSError:
                pass

    def cleanup(self):
        """Stops it and removes its log; raises when a sanitizer reported
        anything."""
        self.stop()
        text = self.stderr()
        self.remove_log()
        if sanitizer_report(text):
            raise AssertionError("sanitizer report from the daemon:\n" +
                                 text[-4000:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def stop_all(daemons):
    """SIGTERM to each daemon; what went wrong, one string per daemon that
    did not exit 0 or whose stderr holds a sanitizer report."""
    problems = []
    for d in daemons:
        rc = d.stop()
        log = d.stderr()
        if rc != 0 or sanitizer_report(log):
            problems.append("daemon exited %s:\n%s" % (rc, log))
    return problems
