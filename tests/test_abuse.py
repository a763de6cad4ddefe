#!/usr/bin/env python3
"""Hostile HTTP against the real `vgmo serve` (docs/reliability.md).

Usage: test_abuse.py PATH/TO/vgmo [unittest options]

Raw sockets, one daemon for the whole file. Each case checks the status
the daemon answers (or that it closes the connection), then that the
daemon still serves others (/health on both listeners). Cases: an 8 KiB
URL and an 8 KiB header (served), 40 KiB ones (414, 431), a body over
64 KiB (413 before it is read), a chunked body over 64 KiB (413), a
Content-Length that is not a number (400), two Content-Length headers or
Content-Length with Transfer-Encoding (400: request smuggling), a blank in
a header name ("Content-Length : 5": 400 and the connection closed, so a
smuggled body never runs), a transfer coding other than chunked (501 at
once), "%00" in the path (no route: 404), unknown
and lowercase methods (405 with Allow), an HTTP version it does not speak
(505), an unparsable request line (closed), more connections from one
address than the per-address limit (128: the newcomer is served and the
address's longest-waiting idle connection makes way, so one local process
cannot shut the others out), more than the total limit (256: the same,
across addresses; the health listener serves throughout), and slow clients
that send half a request, or a byte now and then: cut off after the 30 s
deadline (5 s on the health listener) whatever they send, while others are
served.
Python standard library only.
"""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relylib as R  # noqa: E402

BIN = None
IDLE_TIMEOUT = 30  # src/daemon/http.c IDLE_TIMEOUT_S, docs/api.md "Limits"
PER_IP_LIMIT = 128
CONNECTION_LIMIT = 256
GET_HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


class Abuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = R.TempDir("vgmo-test-abuse-")
        cls.d = R.Daemon(BIN, cls.dir.path)
        cls.port = cls.d.port
        # Slow clients, opened first so that their timeout runs while the
        # other cases do: half a request line, headers without their end,
        # a body that stops short.
        cls.slow_started = time.monotonic()
        cls.slow = []
        for data in (b"GET /hea",
                     b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n",
                     b"PUT /v1/batch-size HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100\r\n\r\n{\"batch_"):
            s = socket.create_connection(("127.0.0.1", cls.port),
                                         timeout=5)
            s.sendall(data)
            cls.slow.append(s)

    @classmethod
    def tearDownClass(cls):
        for s in cls.slow:
            s.close()
        try:
            cls.d.cleanup()
        finally:
            cls.dir.remove()

    def send(self, data, **kw):
        return R.raw(self.port, data, **kw)

    def expect(self, data, status, **kw):
        r = self.send(data, **kw)
        self.assertEqual(R.status_of(r), status, r[:400])
        self.assert_serving()
        return r

    def assert_serving(self):
        self.assertTrue(self.d.alive(), "the daemon stopped serving:\n" +
                        self.d.stderr())

    # ------------------------------------------------------------ sizes

    def test_url_8k_served(self):
        self.expect(b"GET /v1/status?pad=" + b"a" * 8192 +
                    b" HTTP/1.1\r\nHost: x\r\n\r\n", 200)
        self.expect(b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    404)

    def test_url_40k_refused(self):
        self.expect(b"GET /v1/status?pad=" + b"a" * 40000 +
                    b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)

    def test_header_8k_served(self):
        self.expect(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                    b"b" * 8192 + b"\r\n\r\n", 200)

    def test_header_40k_refused(self):
        self.expect(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                    b"b" * 40000 + b"\r\n\r\n", 431)
        self.expect(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n" +
                    b"".join(b"X-%d: y\r\n" % i for i in range(3000)) +
                    b"\r\n", 431)

    def test_body_over_limit_413_before_reading(self):
        # Declared: answered at once, the body is never sent.
        r = self.expect(b"PUT /v1/config HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: 65537\r\n\r\n", 413)
        self.assertIn(b"larger than 65536 bytes", r)
        self.expect(b"PUT /v1/config HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 99999999999999999999\r\n\r\n", 413)
        # Exactly at the limit is read (and refused as JSON, not as size).
        body = b"{" + b" " * (65536 - 2) + b"}"
        self.expect(b"PUT /v1/config HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 65536\r\n\r\n" + body, 200)

    def test_chunked_over_limit(self):
        chunk = b"1000\r\n" + b" " * 4096 + b"\r\n"
        r = self.expect(b"PUT /v1/batch-size HTTP/1.1\r\nHost: x\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 17 +
                        b"0\r\n\r\n", 413)
        self.assertIn(b"larger than 65536 bytes", r)
        # Under the limit, chunked works.
        self.expect(b"PUT /v1/batch-size HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                    b"11\r\n{\"batch_size\": 0}\r\n0\r\n\r\n", 200)
        self.expect(b"PUT /v1/batch-size HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n"
                    b"0\r\n\r\n", 400)

    # ---------------------------------------------------------- framing

    def test_duplicate_content_length(self):
        before = self.d.json("GET", "/v1/batch-size")
        for cl in (b"Content-Length: 17\r\nContent-Length: 5\r\n",
                   b"Content-Length: 17\r\nContent-Length: 17\r\n",
                   b"Content-Length: 17\r\nTransfer-Encoding: chunked\r\n"):
            r = self.expect(b"PUT /v1/batch-size HTTP/1.1\r\nHost: x\r\n" +
                            cl + b"\r\n{\"batch_size\": 2}", 400)
            self.assertIn(b"conflicting Content-Length", r)
        # Nothing was applied (the learned size may move meanwhile: the
        # simulated workload runs).
        self.assertEqual(
            self.d.json("GET", "/v1/batch-size")["manual_batch_size"],
            before["manual_batch_size"])

    def test_blank_in_header_name_no_smuggling(self):
        # Issue 13: "Content-Length : N" was ignored and the body ran as a
        # second request (a smuggled POST /v1/disable was applied).
        inner = b"POST /v1/disable HTTP/1.1\r\nHost: x\r\n\r\n"
        for name in (b"Content-Length :", b"Content-Length\t:",
                     b"X Y:"):
            r = self.expect(b"PUT /v1/config HTTP/1.1\r\nHost: x\r\n" +
                            name + b" %d\r\n\r\n" % len(inner) + inner, 400)
            self.assertIn(b"Connection: close", r)
            self.assertIn(b"header name holds a blank", r)
        self.assertIs(self.d.json("GET", "/v1/status")[
            "optimization_enabled"], True)

    def test_unknown_transfer_coding_501(self):
        t0 = time.monotonic()
        for te in (b"gzip", b"gzip, chunked", b"identity"):
            r = self.expect(b"PUT /v1/config HTTP/1.1\r\nHost: x\r\n"
                            b"Transfer-Encoding: " + te + b"\r\n\r\n{}",
                            501)
            self.assertIn(b"only chunked", r)
        self.assertLess(time.monotonic() - t0, 5)  # not the idle timeout

    def test_nul_in_path_refused(self):
        self.expect(b"GET /v1/status%00/x HTTP/1.1\r\nHost: x\r\n\r\n",
                    404)
        self.expect(b"GET /v1/status%00 HTTP/1.1\r\nHost: x\r\n\r\n", 404)
        # Other escapes still decode.
        self.expect(b"GET /v1/stat%75s HTTP/1.1\r\nHost: x\r\n\r\n", 200)

    def test_concurrent_config_puts_all_count(self):
        # Issue 13, item 11: a PUT read the config outside the admin lock
        # and wrote it back whole, so one of two PUTs at once could be
        # lost. Two writers of different keys: both last values stay.
        def put(key, values):
            for v in values:
                self.d.json("PUT", "/v1/config", {key: v})

        a = [0.5 + i / 1000 for i in range(60)]
        b = [100.0 + i for i in range(60)]
        threads = [threading.Thread(target=put, args=("gc_threshold", a)),
                   threading.Thread(target=put,
                                    args=("cleanup_interval", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cfg = self.d.json("GET", "/v1/config")
        self.assertEqual((cfg["gc_threshold"], cfg["cleanup_interval"]),
                         (a[-1], b[-1]))
        # Optimizations asked at once run on the loop thread, each
        # answered.
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            self.d.json("POST", "/v1/optimize"))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 8)
        self.assertTrue(all("action_taken" in r for r in results))
        self.assert_serving()

    def test_health_listener_cuts_slow_clients_fast(self):
        # Issue 13, item 10 (in part): slow connections on the health
        # listener are cut after 5 s, not 30, so they cannot keep the
        # liveness probe out for long.
        s = socket.create_connection(("127.0.0.1", self.d.health_port),
                                     timeout=15)
        try:
            t0 = time.monotonic()
            s.sendall(b"GET /hea")
            self.assertEqual(s.recv(100), b"")
            took = time.monotonic() - t0
        finally:
            s.close()
        self.assertGreater(took, 3)
        self.assertLess(took, 10)
        self.assert_serving()

    def test_bad_content_length(self):
        for v in (b"abc", b"-1", b"1 2"):
            self.expect(b"PUT /v1/batch-size HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: " + v + b"\r\n\r\n{}", 400)

    # ---------------------------------------------------------- methods

    def test_invalid_methods(self):
        for m in (b"FOO", b"PATCH", b"get", b"OPTIONS", b"TRACE"):
            r = self.expect(m + b" /v1/status HTTP/1.1\r\nHost: x\r\n\r\n",
                            405)
            self.assertIn(b"Allow: GET, HEAD", r)
        r = self.expect(b"DELETE /v1/config HTTP/1.1\r\nHost: x\r\n\r\n",
                        405)
        self.assertIn(b"Allow: GET, HEAD, PUT", r)
        self.expect(b"GET /v1/status HTTP/9.9\r\nHost: x\r\n\r\n", 505)

    def test_unparsable_request_line(self):
        for data in (b"GARBAGE\r\n\r\n", b"\x00\x01\x02\x03\r\n\r\n",
                     b"\r\n\r\n\r\n"):
            r = self.send(data, timeout=3)
            self.assertIn(R.status_of(r), (None, 400), r[:200])
            self.assert_serving()

    # ------------------------------------------------------ connections

    def hold(self, source, n):
        out = []
        for _ in range(n):
            out.append(socket.create_connection(
                ("127.0.0.1", self.port), timeout=5,
                source_address=(source, 0)))
        return out

    @staticmethod
    def closed(s, timeout=2.0):
        """True when the server closed `s` within `timeout` seconds."""
        s.settimeout(timeout)
        try:
            return s.recv(100) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def test_connection_limits(self):
        # Issue 13, item 10: one address holding its limit does not shut
        # out a newcomer from it; the longest-waiting idle connection of
        # that address makes way (the slow clients of setUpClass, which
        # are the oldest, included).
        held = []
        try:
            held += self.hold("127.0.0.1", PER_IP_LIMIT - len(self.slow))
            time.sleep(0.3)
            for i in range(5):
                r = self.send(GET_HEALTH, timeout=3)
                self.assertEqual(R.status_of(r), 200, r[:200])
            # The oldest made way (the slow ones first, then held ones);
            # the newest held are still open.
            self.assertTrue(any(self.closed(x, 0.5)
                                for x in self.slow + held[:5]))
            self.assertFalse(self.closed(held[-1], 0.3))
            # Another address is served.
            r = self.send(GET_HEALTH, source="127.0.0.2")
            self.assertEqual(R.status_of(r), 200)
            # In all: every newcomer past the total limit is served too,
            # the longest-waiting idle connections making way.
            served = 0
            for i in range(CONNECTION_LIMIT + 32):
                source = "127.0.0.%d" % (2 + i // 100)
                s = socket.create_connection(("127.0.0.1", self.port),
                                             timeout=5,
                                             source_address=(source, 0))
                s.sendall(GET_HEALTH)
                r = R.read_response(s, 5)
                self.assertEqual(R.status_of(r), 200, (i, r[:200]))
                served += 1
                held.append(s)
            self.assertEqual(served, CONNECTION_LIMIT + 32)
            # The first held from 127.0.0.1 made way for them.
            self.assertTrue(self.closed(held[PER_IP_LIMIT // 2], 3.0))
            # The health listener is served meanwhile.
            st, _, _ = self.d.request("GET", "/health", health=True)
            self.assertEqual(st, 200)
        finally:
            for s in held:
                s.close()
        R.wait_for("the main listener to serve again", self.d.alive)

    def test_dribbling_client_cut_at_the_deadline(self):
        # Issue 13, item 10: a byte every half second does not keep a
        # connection: the health listener's 5 s deadline counts from the
        # connection's start, not from its last byte.
        s = socket.create_connection(("127.0.0.1", self.d.health_port),
                                     timeout=15)
        try:
            t0 = time.monotonic()
            cut = None
            for ch in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + \
                    b"a" * 40:
                try:
                    s.sendall(bytes([ch]))
                except (BrokenPipeError, ConnectionResetError):
                    cut = time.monotonic() - t0
                    break
                if self.closed(s, 0.5):
                    cut = time.monotonic() - t0
                    break
        finally:
            s.close()
        self.assertIsNotNone(cut, "a dribbling client kept its connection")
        self.assertGreater(cut, 3)
        self.assertLess(cut, 10)
        self.assert_serving()

    # ------------------------------------------------- slow (runs last)

    def test_zz_slow_clients_cut_off(self):
        pending = list(self.slow)
        closed_at = {}
        deadline = self.slow_started + IDLE_TIMEOUT + 15
        while pending and time.monotonic() < deadline:
            # Others are served while the slow ones hang on.
            self.assertEqual(self.d.request("GET", "/health")[0], 200)
            for s in list(pending):
                s.settimeout(0.2)
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    data = b""
                closed_at[s] = time.monotonic() - self.slow_started
                pending.remove(s)
                # Cut off, perhaps with a 408 or 400 first.
                self.assertIn(R.status_of(data), (None, 400, 408), data)
        self.assertEqual(pending, [], "slow clients still connected after "
                         "%d s" % (IDLE_TIMEOUT + 15))
        # Each was cut at the deadline, or earlier when it made way for a
        # newcomer (test_connection_limits).
        self.assertLessEqual(max(closed_at.values()), IDLE_TIMEOUT + 15)
        self.assert_serving()


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
