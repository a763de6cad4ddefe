#!/usr/bin/env python3
"""test_engines_py.py - vgmo.engines (python/vgmo/engines.py): readings of
the metric pages in tests/data/engines (written in each engine's documented
format; the README there says which version), the in-flight target they
lead to, and polling a page over HTTP.

usage: python3 tests/test_engines_py.py [unittest options]
"""
import http.server
import os
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
from vgmo.engines import (EngineMetrics, InflightController,  # noqa: E402
                          parse_prometheus, read_metrics)

PAGES = os.path.join(HERE, "data", "engines")


def page(name):
    with open(os.path.join(PAGES, name)) as f:
        return f.read()


class Readings(unittest.TestCase):
    def test_vllm_0_6(self):
        m = read_metrics(page("vllm-0.6-idle.prom"))
        self.assertEqual(m.engine, "vllm")
        self.assertEqual((m.kv_usage, m.running, m.waiting, m.preemptions),
                         (0.21, 4.0, 0.0, 3.0))
        m = read_metrics(page("vllm-0.6-preempting.prom"))
        self.assertEqual((m.kv_usage, m.running, m.waiting, m.preemptions),
                         (0.99, 61.0, 14.0, 9.0))

    def test_vllm_0_10_data_parallel(self):
        m = read_metrics(page("vllm-0.10-busy.prom"))
        # Requests add up over the engines; KV usage is the fuller one.
        self.assertEqual((m.kv_usage, m.running, m.waiting, m.preemptions),
                         (0.62, 46.0, 5.0, 0.0))

    def test_sglang_0_4(self):
        m = read_metrics(page("sglang-0.4-queue.prom"))
        self.assertEqual(m.engine, "sglang")
        self.assertEqual((m.kv_usage, m.running, m.waiting), (0.28, 162.0,
                                                              2826.0))
        # SGLang 0.4's page has no retraction counter: unknown, not 0.
        self.assertIsNone(m.preemptions)

    def test_tgi_3(self):
        m = read_metrics(page("tgi-3-busy.prom"))
        self.assertEqual(m.engine, "tgi")
        self.assertEqual((m.running, m.waiting), (12.0, 0.0))
        self.assertIsNone(m.kv_usage)  # TGI does not export it
        self.assertIsNone(m.preemptions)  # nor preempts
        m = read_metrics(page("tgi-3-busy.prom"),
                         max_batch_total_tokens=30052)
        self.assertAlmostEqual(m.kv_usage, 21036 / 30052)

    def test_bad_pages(self):
        with self.assertRaisesRegex(ValueError, "line 2"):
            parse_prometheus("# ok\nvllm:num_requests_running{a=b} 1\n")
        with self.assertRaisesRegex(ValueError, "line 1"):
            parse_prometheus("tgi_queue_size lots\n")
        with self.assertRaisesRegex(ValueError, "no vllm:"):
            read_metrics("node_load1 0.5\n")
        with self.assertRaisesRegex(ValueError, "engine must be"):
            read_metrics("tgi_queue_size 1\n", engine="ollama")
        samples = parse_prometheus(
            'x{a="1",b="q\\"uote"} +Inf\ny NaN 1700000000000\n')
        self.assertEqual(samples["x"][0][0], {"a": "1", "b": 'q\\"uote'})
        self.assertEqual(samples["x"][0][1], float("inf"))


class Controller(unittest.TestCase):
    def test_the_pages_in_turn(self):
        c = InflightController(start=8, maximum=256)
        # vLLM 0.6 idle: room, grow by a quarter.
        self.assertEqual(c.update(read_metrics(page("vllm-0.6-idle.prom"))),
                         10)
        self.assertEqual(c.update(read_metrics(page("vllm-0.6-idle.prom"))),
                         13)
        # Preemptions 3 -> 9: back to 80 % of the 61 running.
        n = c.update(read_metrics(page("vllm-0.6-preempting.prom")))
        self.assertEqual(n, 48)
        self.assertIn("preempted", c.reason)
        # Same counter again, KV 99 %: hold (no more than running+waiting).
        self.assertEqual(
            c.update(read_metrics(page("vllm-0.6-preempting.prom"))), 48)
        self.assertIn("hold", c.reason)
        # vLLM 0.10, 5 waiting at 62 %: running + a short queue.
        self.assertEqual(
            c.update(read_metrics(page("vllm-0.10-busy.prom"))), 48)
        self.assertIn("waiting", c.reason)

    def test_sglang_queue_is_not_fed(self):
        c = InflightController(start=64, maximum=4096)
        self.assertEqual(
            c.update(read_metrics(page("sglang-0.4-queue.prom"))), 164)

    def test_tgi_with_and_without_kv(self):
        c = InflightController(engine="tgi", start=12)
        self.assertEqual(c.update(read_metrics(page("tgi-3-busy.prom"))), 15)
        c = InflightController(engine="tgi", start=12)
        # 21036 of 22000 tokens: 96 % full, hold at what runs.
        m = read_metrics(page("tgi-3-busy.prom"), max_batch_total_tokens=22000)
        self.assertEqual(c.update(m), 12)
        # 21036 of 26000: 81 %, between low and high: one more.
        m = read_metrics(page("tgi-3-busy.prom"), max_batch_total_tokens=26000)
        self.assertEqual(c.update(m), 13)

    def test_bounds_and_first_counter(self):
        c = InflightController(start=2, minimum=2, maximum=3)
        # The first reading of a counter is a baseline, not a preemption.
        self.assertEqual(c.update(EngineMetrics("vllm", 0.1, 1, 0, 50)), 3)
        self.assertEqual(c.update(EngineMetrics("vllm", 0.1, 3, 0, 50)), 3)
        self.assertEqual(c.update(EngineMetrics("vllm", 0.5, 1, 0, 51)), 2)
        with self.assertRaises(ValueError):
            InflightController(start=0)
        with self.assertRaises(ValueError):
            InflightController(low=0.95, high=0.9)
        with self.assertRaises(ValueError):
            InflightController(engine="ollama")


class Poll(unittest.TestCase):
    def test_poll_over_http(self):
        body = page("vllm-0.10-busy.prom").encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        try:
            url = "http://127.0.0.1:%d/metrics" % srv.server_address[1]
            c = InflightController(url, start=8)
            self.assertEqual(c.poll(), 48)
        finally:
            srv.shutdown()
            srv.server_close()
        # The server is gone: keep the last target, say why.
        self.assertEqual(c.poll(), 48)
        self.assertIn("unreadable", c.reason)


if __name__ == "__main__":
    unittest.main()
