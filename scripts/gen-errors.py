#!/usr/bin/env python3
"""The table of every error message of `vgmo`, generated from the code.

    python3 scripts/gen-errors.py          # rewrites the table in docs/cli.md
    python3 scripts/gen-errors.py --check  # exit 1 when docs/cli.md differs

Reads the format strings of cli_usage_error() (usage errors, exit 2),
cli_fail() (failures, exit 1) and fprintf(stderr, "vgmo...") in src/, and
of vgmo__errf() in lib/ and src/ (the reasons those messages carry), and
writes them between the markers <!-- errors:begin --> and
<!-- errors:end --> of docs/cli.md. printf conversions are shown as <text>,
<n> and <x>. Also refuses a message with a line break inside it: every
message is one line. tests/test_docs.py runs --check.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "cli.md")
BEGIN, END = "<!-- errors:begin -->", "<!-- errors:end -->"

# function name -> arguments before the format
CALLS = {"cli_usage_error": 1, "cli_fail": 0, "fprintf": 1,
         "vgmo__errf": 3}
CALL_RE = re.compile(r"\b(%s)\s*\(" % "|".join(CALLS))
# What cli_usage_error() and cli_fail() themselves print around a message.
GENERIC = ("vgmo <text>: ", "vgmo: <text>", "vgmo: ")
CONV_RE = re.compile(r"%[-+ #0]*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|z|j|t)?"
                     r"([diouxXeEfgGsc%])")


def skip_args(text, i, n):
    """Index after n arguments (at depth 0) starting at i; None if the
    call ends first."""
    depth = 0
    while n > 0 and i < len(text):
        c = text[i]
        if c == '"':
            i = string_end(text, i)
            continue
        if c == "'":
            i = text.index("'", i + 2) + 1 if text[i + 1] == "\\" \
                else i + 3
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return None
            depth -= 1
        elif c == "," and depth == 0:
            n -= 1
        i += 1
    return i


def string_end(text, i):
    i += 1
    while text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def format_at(text, i):
    """The concatenated string literal (with PRI* macros) at i, or None."""
    parts = []
    while True:
        m = re.compile(r"\s*").match(text, i)
        i = m.end()
        if text.startswith('"', i):
            j = string_end(text, i)
            parts.append(bytes(text[i + 1:j - 1], "utf-8")
                         .decode("unicode_escape"))
            i = j
            continue
        m = re.compile(r"PRI[diux](64|32|MAX)").match(text, i)
        if m and parts:
            parts.append("d")
            i = m.end()
            continue
        break
    return "".join(parts) if parts else None


def readable(fmt):
    def conv(m):
        kind = m.group(5)
        if kind == "%":
            return "%"
        if kind in "sc":
            return "<text>"
        if kind in "eEfgG":
            return "<x>"
        return "<n>"
    return CONV_RE.sub(conv, fmt)


def sources(top):
    """The .c files under folder `top`, its subfolders included, as paths
    relative to ROOT, sorted."""
    found = []
    for folder, dirs, names in os.walk(os.path.join(ROOT, top)):
        dirs.sort()
        for name in names:
            if name.endswith(".c"):
                found.append(os.path.relpath(os.path.join(folder, name),
                                             ROOT).replace(os.sep, "/"))
    return sorted(found)


def collect():
    """{(kind, message): set of files}"""
    found = {}
    bad = []
    for top in ("src", "lib"):
        for rel in sources(top):
            with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
                text = f.read()
            for m in CALL_RE.finditer(text):
                fn = m.group(1)
                if top == "lib" and fn != "vgmo__errf":
                    continue
                start = skip_args(text, m.end(), CALLS[fn])
                if start is None:
                    continue
                fmt = format_at(text, start)
                if fmt is None or fmt == "%s" or fmt == "":
                    continue  # passes a message made elsewhere on
                if fn == "fprintf":
                    if not (text[m.end():start].strip().startswith(
                            "stderr") and fmt.startswith("vgmo")):
                        continue
                    kind = "notice"
                else:
                    kind = {"cli_usage_error": "usage", "cli_fail": "fail",
                            "vgmo__errf": "reason"}[fn]
                body = fmt.rstrip("\n")
                if kind == "notice" and readable(body) in GENERIC:
                    continue  # the printers of the messages above
                if "\n" in body:
                    bad.append("%s: a message of more than one line: %r"
                               % (rel, fmt))
                found.setdefault((kind, readable(body)), set()).add(rel)
    return found, bad


def cell(text):
    text = text.replace("|", "\\|")
    return "`%s`" % text if "`" not in text else "``%s``" % text


def table(found):
    sections = [
        ("usage", "Usage errors: exit status 2, printed as `vgmo <command>: "
         "<message>` and then `try 'vgmo <command> --help'`"),
        ("fail", "Failures: exit status 1, printed as `vgmo: <message>`"),
        ("notice", "Notices and warnings on stderr (the command goes on)"),
        ("reason", "Reasons: the `<text>` of a failure above, from the "
         "library (`lib/`) and the daemon (`src/`)"),
    ]
    out = [BEGIN,
           "<!-- Generated by scripts/gen-errors.py from the code; "
           "do not edit. -->"]
    for kind, title in sections:
        rows = sorted((msg, files) for (k, msg), files in found.items()
                      if k == kind)
        out += ["", "<details><summary>%s (%d)</summary>" % (title,
                                                              len(rows)),
                "", "| Message | Where |", "|---------|-------|"]
        for msg, files in rows:
            out.append("| %s | %s |" % (cell(msg), ", ".join(
                "`%s`" % f for f in sorted(files))))
        out += ["", "</details>"]
    out.append(END)
    return "\n".join(out)


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        sys.exit("usage: gen-errors.py [--check]")
    found, bad = collect()
    if bad:
        sys.exit("\n".join(bad))
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit("docs/cli.md: the markers %s and %s are missing"
                 % (BEGIN, END))
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = head + table(found) + tail
    if check:
        if new != doc:
            sys.exit("docs/cli.md: the table of error messages is stale; "
                     "run python3 scripts/gen-errors.py")
        return
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)


if __name__ == "__main__":
    main()
