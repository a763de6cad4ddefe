#!/usr/bin/env python3
"""jansson's edge cases through the API and the configuration loader
(docs/reliability.md).

Usage: test_json_edge.py PATH/TO/vgmo [unittest options]

Each hostile document (nesting deeper than 32 levels, a raw NUL byte,
"\\u0000", a lone surrogate, duplicate keys, 1e400, 2^63, -2^63-1, an int
past 32 bits, invalid and overlong UTF-8 in a value and in a key) is sent
to every JSON endpoint of a real `vgmo serve`: PUT /v1/config,
PUT /v1/batch-size, POST /v1/clients, POST /v1/clients/{id}/report and a
bodiless POST. Each must be a 400 whose message says where
("request body:LINE:COLUMN: ..."), names a field only when one is at
fault, and changes nothing (GET /v1/config, /v1/batch-size and /v1/clients
read the same before and after). The same documents as a --config file:
`vgmo status` and `vgmo serve` refuse to start with FILE:LINE:COLUMN.
Python standard library only.
"""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemonlib  # noqa: E402
import relylib as R  # noqa: E402

BIN = None

# name -> (document, expected message fragment after LINE:COLUMN)
CASES = {
    "deep 33": (b'{"strategy": ' + b"[" * 33 + b"]" * 33 + b"}",
                "nesting deeper than 32 levels"),
    "deep 5000": (b'{"strategy": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                  "nesting deeper than 32 levels"),
    "raw NUL": (b'{"strategy": "bal\x00anced"}', None),
    "escaped NUL": (b'{"strategy": "bal\\u0000anced"}',
                    "\\u0000 is not allowed"),
    "lone surrogate": (b'{"strategy": "\\ud800"}', "invalid Unicode"),
    "duplicate key": (b'{\n  "max_batch_size": 8,\n  "max_batch_size": 9\n}',
                      "duplicate object key"),
    "1e400": (b'{"monitoring_interval": 1e400}', "real number overflow"),
    "2^63": (b'{"memory_reserve_mb": 9223372036854775808}',
             "too big integer"),
    "-2^63-1": (b'{"memory_reserve_mb": -9223372036854775809}',
                "too big negative integer"),
    "invalid UTF-8": (b'{"strategy": "\xff\xfe"}', "unable to decode byte"),
    "invalid UTF-8 key": (b'{"\xc3\x28": 1}', "unable to decode byte"),
    "overlong UTF-8": (b'{"strategy": "\xc0\xaf"}', "unable to decode byte"),
    "truncated": (b'{"strategy": "bal', "premature end of input"),
}
POSITION = re.compile(r"^request body:(\d+):(\d+): ")


class JsonEdge(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = R.TempDir("vgmo-test-json-")
        cls.d = R.Daemon(BIN, os.path.join(cls.dir.path, "state"))
        cls.client = cls.d.json("POST", "/v1/clients",
                                {"name": "edge", "gpu": 0}, want=201)["id"]

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.cleanup()
        finally:
            cls.dir.remove()

    def state(self):
        clients = self.d.json("GET", "/v1/clients")["clients"]
        for c in clients:  # these move by themselves
            c.pop("last_report_seconds_ago", None)
            c.pop("budget_bytes", None)
            c.pop("share", None)
            c.pop("optimal_batch_size", None)
            c.pop("batch_size", None)
        return (self.d.json("GET", "/v1/config"),
                self.d.json("GET", "/v1/batch-size")["manual_batch_size"],
                clients)

    def refused(self, method, path, body, fragment):
        status, _, data = self.d.request(method, path, body)
        self.assertEqual(status, 400, (path, body[:80], data))
        err = json.loads(data)["error"]
        m = POSITION.match(err["message"])
        self.assertIsNotNone(m, "no LINE:COLUMN in %r" % err["message"])
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertGreaterEqual(int(m.group(2)), 1)
        if fragment:
            self.assertIn(fragment, err["message"])
        return err

    def test_api(self):
        before = self.state()
        endpoints = [("PUT", "/v1/config"), ("PUT", "/v1/batch-size"),
                     ("POST", "/v1/clients"),
                     ("POST", "/v1/clients/%d/report" % self.client),
                     ("POST", "/v1/optimize")]
        for name, (doc, fragment) in CASES.items():
            for method, path in endpoints:
                with self.subTest(case=name, path=path):
                    err = self.refused(method, path, doc, fragment)
                    if name == "duplicate key":
                        self.assertEqual(err.get("field"),
                                         "max_batch_size")
                        self.assertTrue(err["message"].startswith(
                            "request body:3:"), err["message"])
                    else:
                        self.assertNotIn("field", err, err)
        self.assertEqual(self.state(), before)
        self.assertTrue(self.d.alive())

    def test_raw_nul_position(self):
        err = self.refused("PUT", "/v1/config", b'{\n "a": "b\x00"}',
                           "NUL byte")
        self.assertTrue(err["message"].startswith("request body:2:"))

    def test_config_file(self):
        path = os.path.join(self.dir.path, "edge.json")
        for name, (doc, fragment) in CASES.items():
            with open(path, "wb") as f:
                f.write(doc)
            for argv in ([BIN, "status", "--backend", "sim", "--config",
                          path],
                         daemonlib.serve_args(
                             BIN, os.path.join(self.dir.path, "never"),
                             "--config", path)):
                with self.subTest(case=name, command=argv[1]):
                    r = subprocess.run(argv, capture_output=True,
                                       timeout=20)
                    err = r.stderr.decode(errors="replace")
                    self.assertNotEqual(r.returncode, 0, err)
                    self.assertRegex(err, re.escape(path) + r":\d+:\d+: ")
                    if fragment and name != "raw NUL":
                        self.assertIn(fragment, err)
                    self.assertEqual(r.stdout, b"")


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
