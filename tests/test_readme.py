#!/usr/bin/env python3
"""test_readme.py - every command of the README's tour runs as written.

usage: test_readme.py PATH/TO/vgmo BUILD_DIR

Takes the ```sh blocks of README.md's "A short tour" section, and runs
each line with bash from a copy of a fresh clone's layout (build/ is
BUILD_DIR; examples/, python/, bench/ are the source tree's), against a
daemon started as `make run` starts it (the simulated GPU and its
workload) on a free port that VGMO_SERVER names. Each line must exit 0
within 120 s and print no Python traceback. /tmp/ in a line is this
test's own temporary folder, so that runs do not meet. Fails too when the
section has fewer than ten commands (it was not found).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import daemonlib  # tests/daemonlib.py, beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = BUILD = None
SECTION = "## A short tour"


def tour_commands(text):
    """The command lines of the ```sh blocks in the tour section."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", section, re.M | re.S):
        pending = ""
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            line = (pending + line).strip()
            pending = ""
            if line:
                commands.append(line)
    return commands


class ReadmeTour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vgmo-test-readme.")
        cls.clone = os.path.join(cls.tmp, "clone")
        os.mkdir(cls.clone)
        os.symlink(BUILD, os.path.join(cls.clone, "build"))
        for d in ("examples", "python", "bench", "docs"):
            os.symlink(os.path.join(ROOT, d), os.path.join(cls.clone, d))
        cls.env = {k: v for k, v in os.environ.items()
                   if not k.startswith("VGMO_")}
        cls.env["NO_COLOR"] = "1"
        state = os.path.join(cls.tmp, "state")
        try:
            cls.daemon = daemonlib.Daemon(
                BIN, state, env=dict(cls.env), start_timeout=20,
                errpath=os.path.join(cls.tmp, "serve.err"))
        except AssertionError:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.env["VGMO_SERVER"] = cls.daemon.main_url

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_tour(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            commands = tour_commands(f.read())
        self.assertGreaterEqual(len(commands), 10, commands)
        scratch = os.path.join(self.tmp, "scratch") + "/"
        for line in commands:
            with self.subTest(line=line):
                run = line.replace("/tmp/", scratch)
                p = subprocess.run(["bash", "-c", run], cwd=self.clone,
                                   env=self.env, capture_output=True,
                                   text=True, timeout=120)
                self.assertEqual(p.returncode, 0,
                                 "%s\nstdout: %s\nstderr: %s"
                                 % (line, p.stdout[-2000:], p.stderr))
                self.assertNotIn("Traceback", p.stderr)
                self.assertTrue(p.stdout.strip(), "%s printed nothing"
                                % line)
        self.assertIsNone(self.daemon.proc.poll(), "the daemon died")

    def test_extraction(self):
        cmds = tour_commands("## A short tour\n\n```sh\na   # x\n\nb \\\n"
                             "  c\n```\n\n```python\nd\n```\n"
                             "## Next\n```sh\ne\n```\n")
        self.assertEqual(cmds, ["a", "b c"])


def main():
    global BIN, BUILD
    if len(sys.argv) < 3:
        sys.exit("usage: test_readme.py PATH/TO/vgmo BUILD_DIR")
    BIN = os.path.abspath(sys.argv.pop(1))
    BUILD = os.path.abspath(sys.argv.pop(1))
    unittest.main()


if __name__ == "__main__":
    main()
