"""Fakes for tests/test_python.py: a stub daemon, a fake torch.cuda, a
client that records, and real PNG files. Standard library only."""
import http.server
import json
import struct
import threading
import zlib

GIB = 1 << 30


def write_png(path, width, height):
    """A real grey PNG of width x height (a few hundred bytes)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = (b"\x00" + b"\x80" * width) * height
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                           0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


class Stub(http.server.ThreadingHTTPServer):
    """Speaks just enough of docs/clients.md, and can misbehave."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.requests = []
        self.clients = {}
        self.next_id = 1
        self.fail = None  # an HTTP status to answer everything with
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


class StubHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        s = self.server
        s.requests.append((self.path, body, self.headers.get(
            "Authorization")))
        if s.fail:
            return self.answer(s.fail, {"error": {"status": s.fail,
                                                  "message": "broken"}})
        if self.path == "/v1/clients":
            cid = s.next_id
            s.next_id += 1
            s.clients[cid] = 4
            return self.answer(201, {"id": cid, "batch_size": 4,
                                     "lease_seconds": 30,
                                     "secret": "s%d" % cid})
        cid = int(self.path.split("/")[3])
        if cid not in s.clients:
            return self.answer(404, {"error": {"status": 404,
                                               "message": "no client"}})
        if self.headers.get("X-Vgmo-Client-Secret") != "s%d" % cid:
            return self.answer(401, {"error": {"status": 401,
                                               "message": "no secret"}})
        if body.get("oom"):
            s.clients[cid] = max(1, body["items"] // 2)
        else:
            s.clients[cid] = min(16, s.clients[cid] + 1)
        self.answer(200, {"batch_size": s.clients[cid],
                          "cleanup": bool(body.get("oom"))})

    def do_DELETE(self):
        cid = int(self.path.split("/")[3])
        if self.headers.get("X-Vgmo-Client-Secret") != "s%d" % cid:
            return self.answer(401, {"error": {"status": 401,
                                               "message": "no secret"}})
        self.server.clients.pop(cid, None)
        self.answer(200, {})


class FakeCuda:
    """torch.cuda's memory functions over counters the test moves."""

    class OutOfMemoryError(RuntimeError):
        pass

    def __init__(self):
        self.allocated = self.reserved = self.peak = 10 * GIB
        self.calls = []

    def alloc(self, n):
        self.allocated += n
        self.peak = max(self.peak, self.allocated)
        self.reserved = max(self.reserved, self.allocated)

    def reset_peak_memory_stats(self, device=None):
        self.calls.append(("reset", device))
        self.peak = self.allocated

    def synchronize(self, device=None):
        self.calls.append(("sync", device))

    def max_memory_allocated(self, device=None):
        return self.peak

    def memory_allocated(self, device=None):
        return self.allocated

    def memory_reserved(self, device=None):
        return self.reserved

    def empty_cache(self):
        self.calls.append(("empty_cache", None))
        self.reserved = self.allocated

    def is_available(self):
        return True


class RecordingClient:
    def __init__(self):
        self.reports, self.ooms = [], []
        self.cleanup_requested = False

    def batch_size(self):
        return 4

    def report(self, items, peak_bytes, **kw):
        self.reports.append(dict(kw, items=items, peak_bytes=peak_bytes))
        return 4

    def report_oom(self, items, **kw):
        self.ooms.append(items)
        self.cleanup_requested = True
        return max(1, items // 2)
