#!/usr/bin/env python3
"""Writes the vgmo(1) man page from the program's own help texts.

    python3 scripts/gen-man.py build/vgmo > docs/man/vgmo.1

Every command's section is its `vgmo <command> --help`, turned into roff,
so the page says what the program does; the prose around it (description,
exit status, environment, files) is here. tests/test_docs.py fails when
docs/man/vgmo.1 is not what this script writes.
"""

import re
import subprocess
import sys

PROSE_DESCRIPTION = """\
vgmo sizes the batches of vision-language-model inference workers so that a
GPU is kept full without running out of memory. It reads every GPU on the node
(through NVML, loaded at run time, or through a simulated GPU), classifies
memory as healthy, warning, critical or oom, learns each worker's memory cost
per batch item from the batches the worker reports, and answers with the next
batch size under one of four strategies: conservative, balanced, aggressive
and adaptive.
.PP
.B vgmo serve
is the node daemon: it serves Prometheus metrics, health and readiness probes,
a landing page and a JSON API. Every other command but
.BR plan ,
.B benchmark
and the local form of
.B status
asks that daemon over HTTP.
.PP
Options are long options, written
.B \\-\\-name value
or
.BR \\-\\-name=value ;
.B \\-h
is
.BR \\-\\-help .
A misspelt command, option or configuration key is refused with the nearest
one."""

PROSE_TAIL = """\
.SH EXIT STATUS
.TP
.B 0
success
.TP
.B 1
the command could not do its job; one line on stderr,
.RB \\(lq vgmo:
reason\\(rq
.TP
.B 2
usage error: an unknown command or option, a missing or malformed value; one
line naming the problem, then a hint to run
.B \\-\\-help
.SH ENVIRONMENT
.TP
.B VGMO_SERVER
the daemon's URL when
.B \\-\\-server
is not given
.TP
.B VGMO_TOKEN_FILE
the daemon's bearer token file when
.B \\-\\-token\\-file
is not given
.TP
.B VGMO_CACERT
the CA file when
.B \\-\\-cacert
is not given
.TP
.B VGMO_NVML_LIBRARY
the NVML library when
.B \\-\\-nvml\\-library
is not given
.TP
.BI VGMO_ KEY
configuration key
.I key
in capitals (e.g.
.BR VGMO_MAX_BATCH_SIZE ),
for
.B serve
and the local
.BR status ;
a
.B VGMO_*
variable vgmo does not read draws a warning naming the nearest one it does
.TP
.B NO_COLOR
no colour in tables and the live view
.SH FILES
.TP
.I /var/lib/vgmo
the daemon's state (batch sizes set by hand, configuration changes,
history), unless
.B \\-\\-state\\-dir
or
.B $STATE_DIRECTORY
says otherwise
.SH EXAMPLES
.nf
vgmo serve \\-\\-state\\-dir /tmp/vgmo &
vgmo status
vgmo status \\-\\-fields gpu,name,used_mib,total_mib,fragmentation_pct
vgmo configure \\-\\-strategy aggressive \\-\\-max\\-batch\\-size 32
vgmo history \\-\\-limit 5
vgmo plan \\-\\-model qwen2\\-vl\\-7b \\-\\-gpu h100\\-80gb
.fi
.SH SEE ALSO
The documentation in the source tree: docs/cli.md (every command, its output
and its error messages), docs/api.md (the HTTP API), docs/python.md (the
Python package and
.BR "python3 \\-m vgmo" ),
docs/operations.md (systemd, Kubernetes, Prometheus).
"""


def roff(text):
    """Escapes text for roff: backslashes, dashes, a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def help_of(binary, *args):
    p = subprocess.run([binary, *args, "--help"], capture_output=True,
                       text=True, check=True)
    return p.stdout


def commands(binary):
    out = help_of(binary)
    section = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [re.match(r"\s+(\S+)\s+(.*)", line).groups()
            for line in section.splitlines()]


OPTION = re.compile(r"^  (-\S.*?)(?:\s{2,}(.*))?$")


def command_section(binary, name, summary):
    text = help_of(binary, name)
    lines = text.splitlines()
    out = [".SS %s" % roff("vgmo " + name), roff(summary[:1].upper() +
                                               summary[1:]) + "."]
    i = 0
    # usage: lines (the first, and "       vgmo ..." continuations)
    while i < len(lines) and lines[i].strip():
        usage = re.sub(r"^(usage:)?\s+", "", lines[i])
        out += [".PP", ".B " + roff(usage)]
        i += 1
    para = []
    for line in lines[i:] + [""]:
        if not line.strip():
            if para:
                out += [".PP", roff(" ".join(para))]
                para = []
            continue
        m = OPTION.match(line)
        row = re.match(r"^  (\S+)\s{2,}(.*)$", line)
        if line.endswith(":") and not line.startswith(" "):
            if para:
                out += [".PP", roff(" ".join(para))]
                para = []
            out += [".PP", ".I " + roff(line[:-1])]
        elif line.startswith("    ") and out[-1].startswith(".B "):
            out.append(roff(line.strip()))  # an option's wrapped help
        elif m:
            out += [".TP", ".B " + roff(m.group(1).strip())]
            if m.group(2):
                out.append(roff(m.group(2)))
        elif row:
            out += [".TP", ".B " + roff(row.group(1)), roff(row.group(2))]
        elif line.startswith(" "):
            out += [".PP", roff(line.strip())]
        elif re.match(r"^[A-Z][A-Za-z ]+: ", line):
            # "Model presets: a, b": a paragraph of its own
            if para:
                out += [".PP", roff(" ".join(para))]
            para = [line.strip()]
        else:
            para.append(line.strip())
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen-man.py PATH/TO/vgmo")
    binary = sys.argv[1]
    version = subprocess.run([binary, "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[-1]
    out = ['.\\" Generated by scripts/gen-man.py from vgmo --help; '
           'do not edit.',
           '.TH VGMO 1 "" "vgmo %s" "User Commands"' % version,
           ".\\\" option names and preset lists: no hyphenation, ragged right",
           ".nh",
           ".ad l",
           ".SH NAME",
           "vgmo \\- GPU memory optimizer for vision\\-language\\-model "
           "inference",
           ".SH SYNOPSIS",
           ".B vgmo",
           ".I command",
           "[\\fIoptions\\fR]",
           ".br",
           ".B vgmo",
           ".I command",
           ".B \\-\\-help",
           ".br",
           ".B vgmo \\-\\-version",
           ".SH DESCRIPTION",
           PROSE_DESCRIPTION,
           ".SH COMMANDS"]
    for name, summary in commands(binary):
        out += command_section(binary, name, summary)
    out.append(PROSE_TAIL.rstrip("\n"))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
