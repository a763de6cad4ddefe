"""vgmo.engines - how many requests a pipeline keeps in flight to a serving
engine (vLLM, SGLang, TGI), from the engine's own Prometheus metrics
(docs/engines.md, "Keeping a server busy").

A document pipeline that sends requests to a vLLM server wants the server
full but not preempting: too few requests in flight and the GPU idles
between steps; too many and the KV cache runs out, the engine preempts
(recomputes) running requests and every request gets slower. The engine
says which it is on its /metrics page::

    from vgmo.engines import InflightController

    ctl = InflightController("http://vllm-host:8000/metrics")
    while work:
        n = ctl.poll()              # reads /metrics, returns the target
        while in_flight() < n and work:
            submit(work.pop())

What is read (the names each engine documents; the version each applies
to is in docs/engines.md):

======== ============================== ======================== ==========================
engine   KV cache in use (0..1)         running / waiting        preempted (counter)
======== ============================== ======================== ==========================
vLLM     vllm:kv_cache_usage_perc       vllm:num_requests_running vllm:num_preemptions_total
         (vllm:gpu_cache_usage_perc     vllm:num_requests_waiting
         before the rename)
SGLang   sglang:token_usage             sglang:num_running_reqs  sglang:num_retracted_reqs
                                        sglang:num_queue_reqs    (when the page has it)
TGI      tgi_batch_current_max_tokens / tgi_batch_current_size   none: TGI queues, it
         max_batch_total_tokens          tgi_queue_size           does not preempt
         (given to the controller)
======== ============================== ======================== ==========================

A value the page does not have is ``None``, never 0. Several series of one
metric (vLLM's data-parallel engines, label ``engine``) add up (gauges of
requests) or take the largest (KV usage).

Standard library only.
"""

import math
import re
import urllib.request
from typing import Dict, List, Optional, Tuple

__all__ = ["EngineMetrics", "InflightController", "parse_prometheus",
           "read_metrics", "ENGINES"]

ENGINES = ("vllm", "sglang", "tgi")
PAGE_MAX = 8 << 20  # the largest /metrics page read

_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\s*$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _value(text: str, lineno: int) -> float:
    special = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ValueError("line %d: %r is not a sample value" %
                         (lineno, text)) from None


def parse_prometheus(text: str) -> Dict[str, List[Tuple[Dict[str, str],
                                                        float]]]:
    """The samples of a Prometheus text exposition page (format 0.0.4):
    ``{name: [(labels, value), ...]}``. Comment lines are skipped; a line
    that is not a sample raises ``ValueError`` naming its line."""
    out: Dict[str, List[Tuple[Dict[str, str], float]]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            raise ValueError("line %d: not a Prometheus sample: %r" %
                             (lineno, line[:80]))
        labels: Dict[str, str] = {}
        body = m.group(3) or ""
        pos = 0
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            if lm is None:
                raise ValueError("line %d: malformed labels: %r" %
                                 (lineno, body[:80]))
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        out.setdefault(m.group(1), []).append(
            (labels, _value(m.group(4), lineno)))
    return out


class EngineMetrics:
    """One reading of an engine's page. Each field is None when the page
    does not have it."""

    __slots__ = ("engine", "kv_usage", "running", "waiting", "preemptions")

    def __init__(self, engine: str, kv_usage: Optional[float],
                 running: Optional[float], waiting: Optional[float],
                 preemptions: Optional[float]):
        self.engine = engine
        self.kv_usage = kv_usage
        self.running = running
        self.waiting = waiting
        self.preemptions = preemptions

    def __repr__(self) -> str:
        return ("EngineMetrics(engine=%r, kv_usage=%r, running=%r, "
                "waiting=%r, preemptions=%r)" %
                (self.engine, self.kv_usage, self.running, self.waiting,
                 self.preemptions))


def _sum(samples, name) -> Optional[float]:
    vals = [v for _, v in samples.get(name, []) if not math.isnan(v)]
    return sum(vals) if vals else None


def _max(samples, name) -> Optional[float]:
    vals = [v for _, v in samples.get(name, []) if not math.isnan(v)]
    return max(vals) if vals else None


def _first(samples, *names) -> Optional[str]:
    for n in names:
        if n in samples:
            return n
    return None


def detect_engine(samples) -> Optional[str]:
    """"vllm", "sglang" or "tgi" from the names on the page; None."""
    for name in samples:
        if name.startswith("vllm:"):
            return "vllm"
        if name.startswith("sglang:"):
            return "sglang"
        if name.startswith("tgi_"):
            return "tgi"
    return None


def read_metrics(text: str, engine: Optional[str] = None,
                 max_batch_total_tokens: Optional[int] = None
                 ) -> EngineMetrics:
    """The engine's reading from the text of its /metrics page. `engine`
    None: told by the names on the page. TGI does not export its KV usage;
    with `max_batch_total_tokens` (its --max-batch-total-tokens, or the
    number its /info reports) the usage is
    tgi_batch_current_max_tokens / max_batch_total_tokens."""
    samples = parse_prometheus(text)
    if engine is None:
        engine = detect_engine(samples)
        if engine is None:
            raise ValueError("no vllm:, sglang: or tgi_ metric on the page")
    if engine == "vllm":
        kv = _first(samples, "vllm:kv_cache_usage_perc",
                    "vllm:gpu_cache_usage_perc")
        return EngineMetrics(
            engine, _max(samples, kv) if kv else None,
            _sum(samples, "vllm:num_requests_running"),
            _sum(samples, "vllm:num_requests_waiting"),
            _sum(samples, "vllm:num_preemptions_total"))
    if engine == "sglang":
        return EngineMetrics(
            engine, _max(samples, "sglang:token_usage"),
            _sum(samples, "sglang:num_running_reqs"),
            _sum(samples, "sglang:num_queue_reqs"),
            _sum(samples, "sglang:num_retracted_reqs"))
    if engine == "tgi":
        tokens = _sum(samples, "tgi_batch_current_max_tokens")
        kv = None
        if tokens is not None and max_batch_total_tokens:
            kv = min(1.0, tokens / float(max_batch_total_tokens))
        return EngineMetrics(engine, kv,
                             _sum(samples, "tgi_batch_current_size"),
                             _sum(samples, "tgi_queue_size"), None)
    raise ValueError("engine must be one of %s, not %r" %
                     (", ".join(ENGINES), engine))


class InflightController:
    """The number of requests to keep in flight, from one reading at a
    time (``update``) or the page itself (``poll``).

    - preemptions grew since the last reading (the KV cache ran out): cut
      to ``backoff`` x the running requests, at once;
    - KV cache at or above ``high``: no more than now, running + waiting;
    - requests waiting: running + ``queue`` (a short queue keeps the
      engine fed between steps; a longer one only adds latency);
    - nothing waiting and KV cache below ``low`` (or unknown): grow by a
      quarter; between ``low`` and ``high``: grow by one.

    The target stays within [minimum, maximum]. Before the first reading
    it is ``start``.
    """

    def __init__(self, url: Optional[str] = None, engine: Optional[str] = None,
                 start: int = 8, minimum: int = 1, maximum: int = 1024,
                 low: float = 0.75, high: float = 0.90, backoff: float = 0.8,
                 queue: int = 2, max_batch_total_tokens: Optional[int] = None,
                 timeout: float = 5.0):
        if engine is not None and engine not in ENGINES:
            raise ValueError("engine must be one of %s, not %r" %
                             (", ".join(ENGINES), engine))
        if not 1 <= minimum <= start <= maximum:
            raise ValueError("need 1 <= minimum <= start <= maximum")
        if not 0 < low < high <= 1:
            raise ValueError("need 0 < low < high <= 1")
        if not 0 < backoff < 1:
            raise ValueError("backoff must be in (0, 1)")
        if queue < 0:
            raise ValueError("queue must be >= 0")
        self.url = url
        self.engine = engine
        self.minimum, self.maximum = minimum, maximum
        self.low, self.high = low, high
        self.backoff, self.queue = backoff, queue
        self.max_batch_total_tokens = max_batch_total_tokens
        self.timeout = timeout
        self.target = start
        self.reason = "start"
        self._preemptions: Optional[float] = None

    def _clamp(self, n: float) -> int:
        return int(max(self.minimum, min(self.maximum, n)))

    def update(self, m: EngineMetrics) -> int:
        """The target after reading `m`; ``self.reason`` says why."""
        running = m.running or 0.0
        waiting = m.waiting
        preempted = (m.preemptions is not None and
                     self._preemptions is not None and
                     m.preemptions > self._preemptions)
        if m.preemptions is not None:
            self._preemptions = m.preemptions
        if preempted:
            self.target = self._clamp(
                math.floor(self.backoff * max(running, 1.0)))
            self.reason = "preempted: back to %.0f%% of running" % (
                100 * self.backoff)
        elif m.kv_usage is not None and m.kv_usage >= self.high:
            self.target = self._clamp(
                min(self.target, running + (waiting or 0.0)))
            self.reason = "KV cache %.0f%% full: hold" % (100 * m.kv_usage)
        elif waiting is not None and waiting > 0:
            self.target = self._clamp(running + self.queue)
            self.reason = "%d waiting: running + %d" % (waiting, self.queue)
        elif m.kv_usage is None or m.kv_usage < self.low:
            self.target = self._clamp(
                self.target + max(1, math.ceil(self.target / 4)))
            self.reason = "room: grow by a quarter"
        else:
            self.target = self._clamp(self.target + 1)
            self.reason = "KV cache %.0f%%: grow by one" % (
                100 * m.kv_usage)
        return self.target

    def read(self) -> EngineMetrics:
        """Fetches and reads the engine's page (``url``)."""
        if not self.url:
            raise ValueError("no metrics URL given")
        with urllib.request.urlopen(self.url, timeout=self.timeout) as r:
            text = r.read(PAGE_MAX + 1)
        if len(text) > PAGE_MAX:
            raise ValueError("%s: metrics page over %d bytes" %
                             (self.url, PAGE_MAX))
        return read_metrics(text.decode("utf-8", "replace"), self.engine,
                            self.max_batch_total_tokens)

    def poll(self) -> int:
        """``update(read())``; the last target when the page cannot be
        read (the reason says why)."""
        try:
            m = self.read()
        except (OSError, ValueError) as e:
            self.reason = "metrics unreadable (%s): keep %d" % (e,
                                                                self.target)
            return self.target
        return self.update(m)
