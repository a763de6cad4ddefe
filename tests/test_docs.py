#!/usr/bin/env python3
"""test_docs.py - what ships beside the program says what the program does.

usage: test_docs.py PATH/TO/vgmo

- docs/man/vgmo.1 is what scripts/gen-man.py writes from the program's
  --help, and groff renders it without a warning;
- completions/vgmo.bash and completions/_vgmo complete commands, options
  and their values from the program itself (zsh's when zsh is installed);
- `pip install ./python` builds and installs offline (no index at all).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VGMO = None


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120,
                          **kw)


class ManPage(unittest.TestCase):
    def test_generated_page_is_committed(self):
        p = run([sys.executable, os.path.join(ROOT, "scripts", "gen-man.py"),
                 VGMO])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(ROOT, "docs", "man", "vgmo.1")) as f:
            self.assertEqual(
                f.read(), p.stdout,
                "docs/man/vgmo.1 is stale: run python3 scripts/gen-man.py "
                "build/vgmo > docs/man/vgmo.1")

    def test_renders(self):
        if shutil.which("groff") is None:
            self.skipTest("groff not found")
        # Plain text: no overstrike, no escape sequences.
        p = run(["groff", "-man", "-Tutf8", "-ww", "-P-cbou",
                 os.path.join(ROOT, "docs", "man", "vgmo.1")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        text = " ".join(p.stdout.replace("\u2010", "-")
                        .replace("\u2212", "-").split())
        for want in ["vgmo " + c for c in ("serve", "status", "configure",
                                           "history", "plan", "benchmark")] \
                + ["--max-batch-size", "EXIT STATUS", "GPU presets: l4"]:
            self.assertTrue(want in text, "%r: not in the rendered page"
                            % want)


BASH_CASES = [
    (["vgmo", "sta"], "status start-monitoring"),
    (["vgmo", "status", "--max-b"], "--max-batch-size"),
    (["vgmo", "status", "--fields", "gpu,na"], "gpu,name"),
    (["vgmo", "configure", "--strategy", "ag"], "aggressive"),
    (["vgmo", "status", "--format", ""], "table json csv"),
    (["vgmo", "plan", "--model", "qwen2-vl-"], "qwen2-vl-7b qwen2-vl-2b"),
    (["vgmo", "help", "hist"], "history"),
    (["vgmo", "history", "--fields", "work"], "worker"),
]


class Completion(unittest.TestCase):
    def env(self):
        return dict(os.environ, PATH=os.path.dirname(VGMO) + os.pathsep +
                    os.environ.get("PATH", ""))

    def test_bash(self):
        if shutil.which("bash") is None:
            self.skipTest("bash not found")
        script = ['source "%s"' % os.path.join(ROOT, "completions",
                                                "vgmo.bash"),
                  't() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vgmo; '
                  'echo "${COMPREPLY[*]}"; }']
        for words, _ in BASH_CASES:
            script.append("t " + " ".join("'%s'" % w for w in words))
        p = run(["bash", "-c", "\n".join(script)], env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        got = p.stdout.splitlines()
        for (words, want), line in zip(BASH_CASES, got):
            self.assertEqual(line, want, words)

    def test_zsh(self):
        if shutil.which("zsh") is None:
            self.skipTest("zsh not found")
        # zsh's completion builtins, replaced by ones that print what the
        # function offers.
        script = r"""
        compadd() { [[ $1 == -- ]] && shift; print -r -- "$*" }
        _describe() { print -r -- "${(@)${(P)4}%%:*}" }
        _files() { print -r -- files }
        _sequence() { shift 2; print -r -- "$*" }
        t() { words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; _vgmo }
        source %s >/dev/null
        t vgmo ''
        t vgmo status --strategy ''
        t vgmo history --fields ''
        t vgmo status --con
        """ % os.path.join(ROOT, "completions", "_vgmo")
        p = run(["zsh", "-f", "-c", script], env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("serve", lines[0].split())
        self.assertIn("benchmark", lines[0].split())
        self.assertEqual(lines[1], "help --help --version")
        self.assertEqual(lines[2], "conservative balanced aggressive adaptive")
        self.assertTrue(lines[3].startswith("time timestamp worker"), lines)
        self.assertIn("--config", lines[4].split())


class ErrorTable(unittest.TestCase):
    def test_docs_list_every_message(self):
        """docs/cli.md's table is what scripts/gen-errors.py makes of the
        code, and no message spans two lines."""
        p = run([sys.executable, os.path.join(ROOT, "scripts",
                                              "gen-errors.py"), "--check"])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_a_message_in_the_table_is_the_programs(self):
        with open(os.path.join(ROOT, "docs", "cli.md")) as f:
            doc = f.read()
        p = run([VGMO, "stauts"])
        # "vgmo: unknown command 'stauts' (did you mean 'status'?)"
        self.assertIn("`unknown command '<text>' (did you mean '<text>'?)`",
                      doc)
        self.assertIn("unknown command 'stauts' (did you mean 'status'?)",
                      p.stderr)


class PythonPackage(unittest.TestCase):
    def test_pip_install_offline(self):
        """No index at all: the build needs nothing from one."""
        tmp = tempfile.mkdtemp(prefix="vgmo-test-pip.")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        src = os.path.join(tmp, "src")
        shutil.copytree(os.path.join(ROOT, "python"), src,
                        ignore=shutil.ignore_patterns("__pycache__"))
        target = os.path.join(tmp, "site")
        p = run([sys.executable, "-m", "pip", "install", "--no-index",
                 "--no-cache-dir", "--disable-pip-version-check", "--target",
                 target, src],
                env=dict(os.environ, PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull))
        if p.returncode != 0 and "No module named pip" in p.stderr:
            self.skipTest("pip not found")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = run([sys.executable, "-c", "import vgmo, vgmo.__main__; "
                 "print(vgmo.__version__, vgmo.__file__)"],
                cwd=tmp, env=dict(os.environ, PYTHONPATH=target))
        self.assertEqual(p.returncode, 0, p.stderr)
        version, path = p.stdout.split()
        self.assertTrue(path.startswith(target), path)
        out = run([VGMO, "--version"]).stdout.split()[-1]
        self.assertEqual(version, out, "the package and vgmo disagree")


def main():
    global VGMO
    if len(sys.argv) < 2:
        sys.exit("usage: test_docs.py PATH/TO/vgmo")
    VGMO = os.path.abspath(sys.argv.pop(1))
    unittest.main()


if __name__ == "__main__":
    main()
