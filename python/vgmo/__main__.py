"""python3 -m vgmo status|monitor|history: the daemon's reads, for users
who live in Python and have no ``vgmo`` program on their PATH.

The same requests as ``vgmo status``, ``vgmo monitor`` and ``vgmo history``
(GET /v1/status, /v1/history), the same options (--server, --cacert, --json,
and $VGMO_SERVER, $VGMO_CACERT), the same exit status (0 success, 1 failure,
2 usage error) and one line on stderr for a failure. The tables are plainer
than the C program's; --json prints the daemon's own objects.
"""

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

from .client import DEFAULT_SERVER

MIB = 1048576.0


class _Failure(Exception):
    """One line for stderr; exit status 1."""


def _server(arg: Optional[str]) -> str:
    url = arg or os.environ.get("VGMO_SERVER") or DEFAULT_SERVER
    if "://" not in url:
        url = "http://" + url  # HOST:PORT means http://, as in vgmo
    if not url.startswith(("http://", "https://")):
        raise _Failure("invalid --server '%s': expected HOST:PORT, "
                       "http://HOST:PORT or https://HOST:PORT" % url)
    return url.rstrip("/")


def _get(server: str, path: str, cacert: Optional[str]) -> Dict[str, Any]:
    ctx = None
    if server.startswith("https://"):
        ctx = ssl.create_default_context(cafile=cacert)
    url = server + path
    try:
        with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
            body = r.read(16 << 20)
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read(65536))["error"]["message"]
        except (ValueError, KeyError, TypeError):
            msg = "HTTP %d" % e.code
        if e.code == 404:
            raise _Failure("the daemon at %s has no GET %s: give --server "
                           "the main port (api: in vgmo serve's output) "
                           "without a path" % (server, path)) from None
        raise _Failure("the daemon at %s: %s" % (server, msg)) from None
    except (urllib.error.URLError, OSError) as e:
        why = getattr(e, "reason", e)
        raise _Failure("cannot reach the daemon at %s: %s (is `vgmo serve` "
                       "running? check --server or VGMO_SERVER)"
                       % (server, why)) from None
    try:
        return json.loads(body)
    except ValueError:
        raise _Failure("the daemon's answer to GET %s is not JSON"
                       % path) from None


def _num(v: Any, scale: float = 1.0, fmt: str = "%.0f",
         unit: str = "") -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (fmt % (v * scale)) + unit
    return "-"  # not reported: '-', never 0


def _when(t: Any) -> str:
    if not isinstance(t, (int, float)):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _batch(o: Dict[str, Any], key: str) -> str:
    return "%s (optimal %s)" % (_num(o.get(key)),
                                _num(o.get("optimal_batch_size")))


def print_status(s: Dict[str, Any]) -> None:
    print("backend:       %s" % s.get("backend", "-"))
    print("status:        %s" % (s.get("status") or "-"))
    print("strategy:      %s" % s.get("strategy", "-"))
    print("optimization:  %s" % ("enabled" if s.get("optimization_enabled")
                                 else "disabled"))
    if isinstance(s.get("monitoring"), bool):
        print("monitoring:    %s" % ("on" if s["monitoring"] else "off"))
    print("batch size:    %s" % _batch(s, "current_batch_size"))
    print()
    row = "%3s  %-30s %-8s %15s %6s %7s %6s"
    print(row % ("GPU", "NAME", "STATUS", "USED/TOTAL MiB", "USE%", "TEMP C",
                 "FRAG%"))
    for g in s.get("gpus", []):
        used, total = g.get("memory_used_bytes"), g.get("memory_total_bytes")
        mem = ("%.0f/%.0f" % (used / MIB, total / MIB)
               if used is not None and total is not None else "-")
        print(row % (g.get("index", "-"), g.get("name", "-"),
                     (g.get("status") or "-") if g.get("up") else "down",
                     mem, _num(g.get("memory_usage_percent"), 100, "%.1f"),
                     _num(g.get("gpu_temperature")),
                     _num(g.get("memory_fragmentation"), 100, "%.1f")))
    workers = s.get("workers", [])
    if workers:
        print()
        print("%6s  %-16s %3s  %s" % ("WORKER", "NAME", "GPU", "BATCH"))
        for w in workers:
            print("%6s  %-16s %3s  %s" % (w.get("id", "-"), w.get("name", "-"),
                                          w.get("gpu", "-"),
                                          _batch(w, "batch_size")))


def print_history(entries: List[Dict[str, Any]]) -> None:
    if not entries:
        print("no optimization recorded yet")
        return
    row = "%-19s  %-12s  %-33s  %-3s  %-9s  %9s  %s"
    print(row % ("TIME", "WORKER", "ACTION", "OK", "BATCH", "FREED MiB",
                 "DETAIL"))
    for r in entries:
        new, old = r.get("new_batch_size"), r.get("old_batch_size")
        batch = ("-" if new is None else
                 "%d -> %d" % (old, new) if old is not None else "%d" % new)
        print(row % (_when(r.get("timestamp")), r.get("worker") or "-",
                     r.get("action_taken") or "-",
                     "yes" if r.get("success") else "no", batch,
                     _num(r.get("memory_freed_mb"), 1, "%.1f"),
                     r.get("error_message") or r.get("reason") or ""))


def monitor(get: Any, interval: float, duration: Optional[float],
            as_json: bool) -> None:
    end = None if duration is None else time.monotonic() + duration
    while True:
        s = get("/v1/status")
        if as_json:
            print(json.dumps(s, separators=(",", ":")))
        else:
            print("%s  %-8s  usage %6s  batch %s" % (
                _when(s.get("timestamp")), s.get("status") or "-",
                _num(s.get("memory_usage_percent"), 100, "%.1f", "%"),
                _batch(s, "current_batch_size")))
        sys.stdout.flush()
        if end is not None and time.monotonic() + interval > end:
            return
        time.sleep(interval)


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    if not v > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return v


def _limit(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text)
    if not 1 <= v <= 10000:
        raise argparse.ArgumentTypeError("must be in 1..10000")
    return v


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m vgmo",
        description="The vgmo daemon's status, live view and history "
                    "(GET /v1/status, /v1/history).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", metavar="URL",
                        help="the daemon (default $VGMO_SERVER, else %s)"
                        % DEFAULT_SERVER)
    common.add_argument("--cacert", metavar="FILE",
                        help="CA certificate(s) for an https daemon "
                        "(default $VGMO_CACERT, else the system's)")
    common.add_argument("--json", action="store_true",
                        help="print the daemon's JSON")
    sub = p.add_subparsers(dest="command", metavar="status|monitor|history")
    sub.required = True
    sub.add_parser("status", parents=[common],
                   help="the memory status of every GPU")
    m = sub.add_parser("monitor", parents=[common],
                       help="one line per sample until Ctrl-C")
    m.add_argument("--interval", type=_positive, default=5.0, metavar="S",
                   help="seconds between samples (default 5)")
    m.add_argument("--duration", type=_positive, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C)")
    h = sub.add_parser("history", parents=[common],
                       help="the optimization history, oldest first")
    h.add_argument("--limit", type=_limit, metavar="N",
                   help="the last N entries, 1..10000")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = parser().parse_args(argv)  # exits 2 on a usage error
    try:
        server = _server(a.server)
        cacert = a.cacert or os.environ.get("VGMO_CACERT") or None

        def get(path: str) -> Dict[str, Any]:
            return _get(server, path, cacert)

        if a.command == "status":
            s = get("/v1/status")
            if a.json:
                print(json.dumps(s, indent=2))
            else:
                print_status(s)
        elif a.command == "history":
            path = "/v1/history" + ("?limit=%d" % a.limit if a.limit else "")
            h = get(path)
            if a.json:
                print(json.dumps(h, indent=2))
            else:
                print_history(h.get("history", []))
        else:
            monitor(get, a.interval, a.duration, a.json)
    except _Failure as e:
        print("vgmo: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
