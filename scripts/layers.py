#!/usr/bin/env python3
"""The layers of lib/: which folder needs which, and no circle among them.

    python3 scripts/layers.py        # prints the folder edges; exit 1 on a circle
    python3 scripts/layers.py -v     # also the file-level reasons of each edge

A folder of lib/ needs another when one of its files includes a header of
it (a header of lib/tool-internal/ counts as its .c file's folder's), or names a vgmo_/vgmo__ function or table defined in one of its
.c files. Read from the source alone (comments and strings left out), so it
runs without a build; tests/CMakeLists.txt runs it as test_layers.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")

COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING_RE = re.compile(r'"(?:\\.|[^"\\\n])*"')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# A definition starts at column 0 (the code's style): a function whose
# parameter list does not end in ';' on that line, or a table with '='.
FUNC_DEF_RE = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(vgmo_\w+)\s*\([^;]*$",
                         re.M)
DATA_DEF_RE = re.compile(r"^(?!static\b|extern\b)[A-Za-z_][\w \t\*]*?\b(vgmo_\w+)"
                         r"\s*(?:\[[^\]]*\])?\s*=", re.M)
NAME_RE = re.compile(r"\bvgmo_\w+\b")


def sources():
    """{relative path: (folder, text without comments and strings)}"""
    out = {}
    for folder in sorted(os.listdir(LIB)):
        path = os.path.join(LIB, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(path, name), encoding="utf-8") as f:
                text = f.read()
            out["%s/%s" % (folder, name)] = (folder, text)
    return out


def code_of(text):
    text = COMMENT_RE.sub(" ", text)
    return STRING_RE.sub('""', text)


def edges():
    """{(from folder, to folder): [reasons]}"""
    src = sources()
    header = {}
    defined = {}
    c_home = {rel.split("/", 1)[1][:-2]: folder
              for rel, (folder, _) in src.items() if rel.endswith(".c")}
    for rel, (folder, text) in src.items():
        name = rel.split("/", 1)[1]
        if name.endswith(".h"):
            # A header of lib/tool-internal/ belongs to its .c file's
            # layer (config_fields.h: config.c's).
            stem = name[:-2]
            header[name] = c_home.get(stem, c_home.get(stem.split("_")[0],
                                                       folder))
            continue
        code = code_of(text)
        for m in FUNC_DEF_RE.finditer(code):
            defined.setdefault(m.group(1), rel)
        for m in DATA_DEF_RE.finditer(code):
            defined.setdefault(m.group(1), rel)
    out = {}
    for rel, (folder, text) in src.items():
        if rel.endswith(".h"):
            folder = header[rel.split("/", 1)[1]]
        for m in INCLUDE_RE.finditer(text):
            to = header.get(m.group(1))
            if to and to != folder:
                out.setdefault((folder, to), []).append(
                    "%s includes %s" % (rel, m.group(1)))
        if not rel.endswith(".c"):
            continue
        for name in sorted(set(NAME_RE.findall(code_of(text)))):
            where = defined.get(name)
            if where and where != rel and where.split("/")[0] != folder:
                out.setdefault((folder, where.split("/")[0]), []).append(
                    "%s uses %s (%s)" % (rel, name, where))
    return out


def circles(graph):
    """The strongly connected components of more than one folder."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    verbose = "-v" in sys.argv[1:]
    found = edges()
    graph = {}
    for a, b in found:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    for a in sorted(graph):
        print("%-8s -> %s" % (a, " ".join(sorted(graph[a])) or "-"))
        if verbose:
            for b in sorted(graph[a]):
                for why in found[(a, b)]:
                    print("    %s" % why)
    bad = circles(graph)
    for comp in bad:
        print("layers: a circle among lib/ folders: %s" % ", ".join(comp),
              file=sys.stderr)
        for a in comp:
            for b in comp:
                for why in found.get((a, b), [])[:3]:
                    print("    %s" % why, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
