"""vgmo.client - a worker's connection to ``vgmo serve`` (docs/clients.md).

A worker registers once, then reports each batch and gets its next batch
size back::

    with vgmo.Client("http://127.0.0.1:8080", "docparse-1", gpu=0) as c:
        while work:
            n = c.batch_size()
            peak = run(work[:n])
            c.report(n, peak)

The client never raises into that loop because the daemon is away: while
the daemon cannot be reached (restart, upgrade, crash) it keeps answering
with the last batch size it had, logs one warning through the ``vgmo``
logger, retries with exponential back-off, and registers again when the
daemon has forgotten it (``404``). Arguments that are wrong whatever the
daemon does (``items < 1``) raise ``ValueError`` at once; a daemon that
refuses the worker at registration (bad name, bad token) raises
``VgmoError`` from the constructor.
"""

import http.client
import json
import logging
import os
import random
import re
import ssl
import threading
import time
import urllib.parse
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from .fit import Fit, Plan, request_shape, shapes

__all__ = ["Client", "VgmoError", "read_token_file", "DEFAULT_SERVER",
           "UNITS", "ATTENTIONS", "LOGITS"]

log = logging.getLogger("vgmo")

DEFAULT_SERVER = "http://127.0.0.1:8080"
UNITS = ("items", "images", "tokens")
PADDINGS = ("padded", "packed")
# transformers' attn_implementation values the daemon prices
ATTENTIONS = ("eager", "sdpa", "flash_attention_2", "flash_attention_3",
              "flex_attention")
# what a worker's prefill computes logits for: the last position of each
# request ("last": generate with logits_to_keep) or every prompt position
# ("all": a scoring forward pass, or a model without logits_to_keep)
LOGITS = ("last", "all")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,63}\Z")
_TOKEN_MAX = 4096
_BACKOFF_FIRST = 0.25  # seconds before the first retry


class VgmoError(Exception):
    """The daemon refused a request (or its answer made no sense).

    ``status`` is the HTTP status (None when there was no answer) and
    ``field`` the request field at fault, when the daemon named one.
    """

    def __init__(self, message: str, status: Optional[int] = None,
                 field: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.field = field


class _Transient(Exception):
    """The daemon is away or broken for now: retry later."""


class _Gone(Exception):
    """404: the daemon does not know this client (any more)."""


def read_token_file(path: str) -> str:
    """The bearer token in ``path``: one line of printable characters."""
    with open(path, "rb") as f:
        data = f.read(_TOKEN_MAX + 2)
    token = data.decode("ascii", errors="replace").strip()
    if len(data) > _TOKEN_MAX:
        raise ValueError("the token file %s is longer than %d bytes" %
                         (path, _TOKEN_MAX))
    if not token:
        raise ValueError("the token file %s is empty" % path)
    if not all(33 <= ord(ch) < 127 for ch in token):
        raise ValueError("the token file %s must hold one line of "
                         "printable characters without blanks" % path)
    return token


def _opt_bytes(name: str, value: Optional[int]) -> Optional[int]:
    if value is None:
        return None
    value = int(value)
    if value < 0:
        raise ValueError("%s must be >= 0, got %d" % (name, value))
    return value


class Client:
    """One worker registered with the daemon on its node.

    ``server``: the daemon's URL (None: ``$VGMO_SERVER``, else
    http://127.0.0.1:8080). ``name``: 1 to 63 characters
    ``[A-Za-z0-9._-]``, unique per GPU; registering the same name again
    resumes what the daemon learned about it. ``gpu``: device index or
    UUID. ``token``: the bearer token (None: read ``$VGMO_TOKEN_FILE`` when
    set). ``weight``: share of the GPU relative to the other workers on
    it. ``model``: a model preset (``vgmo plan --help``) as the prior
    before the first report (a tokens worker's image sizes are counted
    with it). ``unit``: what items count (items, images or tokens; tokens
    workers may send request shapes: ``fit``, ``plan``, ``report(...,
    requests=)``). ``padding``: ``"padded"`` (a processor with
    padding=True: a batch costs its size x its longest prompt) or
    ``"packed"``; None lets vgmo learn it. ``attention`` and
    ``vision_attention``: the attention implementation (transformers'
    ``attn_implementation``, one of ATTENTIONS) the language decoder and
    the vision encoder run: ``"eager"`` holds heads x L x L scores,
    ``"sdpa"`` an L x L mask per padded sequence (a dynamic-resolution
    vision encoder such as Qwen2-VL's: one over all the batch's patches),
    the flash and flex ones no L x L tensor; None: unknown, vgmo learns
    any quadratic cost from the reports (``vgmo.torch.attention_of(model)``
    reads both from a Hugging Face model). ``logits``: the positions the
    prefill computes logits for, one of LOGITS: ``"last"`` (the last one
    of each request: transformers' ``generate`` with ``logits_to_keep``)
    or ``"all"`` (every prompt position: a forward pass that scores whole
    sequences, or ``generate`` on a model whose forward has no
    ``logits_to_keep``; vgmo prices vocab x 6 bytes per prompt token, the
    bf16 logits and their fp32 copy); None: unknown, vgmo assumes
    ``"last"`` and learns the cost from the reports
    (``vgmo.torch.logits_of(model)`` reads it from a Hugging Face model's
    ``forward``). ``pid``: the worker's process id as the GPU driver sees
    it (``os.getpid()`` outside a container): vgmo then counts what this
    process holds from NVML. ``timeout``: seconds for one request.
    ``fallback_batch_size``: the batch size used until the daemon first
    answers. ``retry_max``: longest wait between retries while the daemon
    is away. ``cacert``: CA file for an https daemon (None: the system's).
    """

    def __init__(self, server: Optional[str] = None, name: str = "",
                 gpu: Union[int, str] = 0, token: Optional[str] = None,
                 weight: float = 1.0, model: Optional[str] = None,
                 unit: str = "items", timeout: float = 2.0, *,
                 fallback_batch_size: int = 1, retry_max: float = 30.0,
                 cacert: Optional[str] = None,
                 padding: Optional[str] = None, pid: Optional[int] = None,
                 attention: Optional[str] = None,
                 vision_attention: Optional[str] = None,
                 logits: Optional[str] = None):
        if server is None:
            server = os.environ.get("VGMO_SERVER") or DEFAULT_SERVER
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError("name must be 1 to 63 characters "
                             "[A-Za-z0-9._-], got %r" % (name,))
        if isinstance(gpu, bool) or not isinstance(gpu, (int, str)) or \
                (isinstance(gpu, int) and gpu < 0):
            raise ValueError("gpu must be an index >= 0 or a UUID string")
        if not weight > 0:
            raise ValueError("weight must be > 0, got %r" % (weight,))
        if unit not in UNITS:
            raise ValueError("unit must be one of %s, got %r" %
                             (", ".join(UNITS), unit))
        if padding is not None and padding not in PADDINGS:
            raise ValueError("padding must be one of %s, got %r" %
                             (", ".join(PADDINGS), padding))
        for arg, value in (("attention", attention),
                           ("vision_attention", vision_attention)):
            if value is not None and value not in ATTENTIONS:
                raise ValueError("%s must be one of %s, got %r" %
                                 (arg, ", ".join(ATTENTIONS), value))
        if logits is not None and logits not in LOGITS:
            raise ValueError("logits must be one of %s, got %r" %
                             (", ".join(LOGITS), logits))
        if pid is not None and (isinstance(pid, bool) or
                                not isinstance(pid, int) or
                                not 1 <= pid <= 0xFFFFFFFF):
            raise ValueError("pid must be a process id >= 1, got %r" %
                             (pid,))
        if int(fallback_batch_size) < 1:
            raise ValueError("fallback_batch_size must be >= 1")
        if token is None and os.environ.get("VGMO_TOKEN_FILE"):
            token = read_token_file(os.environ["VGMO_TOKEN_FILE"])
        url = urllib.parse.urlsplit(server)
        if url.scheme not in ("http", "https") or not url.hostname or \
                url.query or url.fragment:
            raise ValueError("server must be http://HOST:PORT or "
                             "https://HOST:PORT, got %r" % (server,))
        self.server = server.rstrip("/")
        self.name = name
        self.gpu = gpu
        self.weight = float(weight)
        self.model = model
        self.unit = unit
        self.padding = padding
        self.attention = attention
        self.vision_attention = vision_attention
        self.logits = logits
        self.pid = pid
        self.timeout = float(timeout)
        self.retry_max = float(retry_max)
        self._url = url
        self._prefix = url.path.rstrip("/")
        self._token = token
        self._ssl = None
        if url.scheme == "https":
            self._ssl = ssl.create_default_context(cafile=cacert)
        self._conn: Optional[http.client.HTTPConnection] = None
        self._lock = threading.Lock()
        self._closed = False
        #: the client id the daemon gave; None while not registered
        self.id: Optional[int] = None
        # the secret the daemon gave with the id: sent with every report
        # and with the DELETE, and when registering the name again
        self._secret: Optional[str] = None
        self._batch = int(fallback_batch_size)
        #: True when the daemon's last answer asked for a cleanup
        self.cleanup_requested = False
        #: the memory the daemon grants this worker, bytes (None: unknown)
        self.budget_bytes: Optional[int] = None
        #: this worker's share of the GPU, 0..1 (None: unknown)
        self.share: Optional[float] = None
        #: seconds without a report after which the daemon drops the worker
        self.lease_seconds: Optional[float] = None
        self._freed = 0  # freed bytes not yet delivered
        self._away = False  # the daemon is unreachable (warned once)
        self._backoff = 0.0
        self._next_try = 0.0
        self._last_error = ""
        try:
            self._register()
        except _Transient as e:
            self._failed(e)
        except _Gone as e:
            self._drop_connection()
            raise VgmoError("the daemon at %s has no /v1/clients (too old?)"
                            % self.server, 404) from e
        except BaseException:
            self._drop_connection()
            raise

    # ------------------------------------------------------------ public

    def batch_size(self) -> int:
        """The batch size to run next (no request unless registration is
        pending and its retry is due)."""
        with self._lock:
            self._check_open()
            if self.id is None and time.monotonic() >= self._next_try:
                self._guard(self._register)
            return self._batch

    def report(self, items: int, peak_bytes: int,
               allocated_bytes: Optional[int] = None,
               reserved_bytes: Optional[int] = None,
               seconds: Optional[float] = None,
               freed_bytes: Optional[int] = None,
               requests: Optional[Sequence[Mapping[str, Any]]] = None
               ) -> int:
        """Reports one finished batch; returns the next batch size.

        ``peak_bytes``: peak allocated during the batch (PyTorch
        ``max_memory_allocated()`` since the last reset). ``allocated_bytes``
        and ``reserved_bytes``: the allocator now. ``seconds``: how long the
        batch took. ``freed_bytes``: what a cleanup the daemon asked for
        released (kept and sent with a later report if this one is lost).
        ``requests``: a tokens worker's ``items`` requests (see vgmo.fit):
        vgmo then learns prompt and generated tokens apart.
        """
        items = int(items)
        peak_bytes = int(peak_bytes)
        if items < 1:
            raise ValueError("items must be >= 1, got %d" % items)
        if peak_bytes <= 0:
            raise ValueError("peak_bytes must be > 0, got %d" % peak_bytes)
        body: Dict[str, Any] = {"items": items, "peak_bytes": peak_bytes}
        if requests is not None:
            body["requests"] = shapes(requests)
            if len(body["requests"]) != items:
                raise ValueError("items is %d but requests lists %d" %
                                 (items, len(body["requests"])))
        for key, value in (("allocated_bytes", allocated_bytes),
                           ("reserved_bytes", reserved_bytes)):
            value = _opt_bytes(key, value)
            if value is not None:
                body[key] = value
        if seconds is not None and seconds >= 0:
            body["seconds"] = float(seconds)
        freed = _opt_bytes("freed_bytes", freed_bytes)
        with self._lock:
            self._check_open()
            if freed is not None:
                self._freed += freed
            return self._send(body, items, oom=False)

    def report_oom(self, items: int, allocated_bytes: Optional[int] = None,
                   reserved_bytes: Optional[int] = None) -> int:
        """Reports a batch of ``items`` that ran out of memory; returns the
        next batch size (at most half of ``items``: the daemon halves it at
        once, and so does the client while the daemon is away)."""
        items = int(items)
        if items < 1:
            raise ValueError("items must be >= 1, got %d" % items)
        body: Dict[str, Any] = {"items": items, "oom": True}
        for key, value in (("allocated_bytes", allocated_bytes),
                           ("reserved_bytes", reserved_bytes)):
            value = _opt_bytes(key, value)
            if value is not None:
                body[key] = value
        with self._lock:
            self._check_open()
            return self._send(body, items, oom=True)

    def fit(self, images: Any = None, image_tokens: Optional[int] = None,
            text_tokens: int = 0, output_tokens: int = 0) -> Fit:
        """Whether one request fits before it runs, and what would
        (``Fit``). ``images``: sizes ``(width, height)`` (or PIL images),
        or a count with ``image_tokens``. While the daemon is away the
        answer is ``"unknown"`` (run it)."""
        body = request_shape({"images": images, "image_tokens": image_tokens,
                              "text_tokens": text_tokens,
                              "output_tokens": output_tokens})
        ans = self._ask("fit", body)
        if ans is None:
            return Fit(None, "not judged: the daemon at %s is away" %
                       self.server)
        return Fit(ans)

    def plan(self, requests: Sequence[Mapping[str, Any]]) -> Plan:
        """How many requests from the head of ``requests`` (oldest first)
        to run next (``Plan``): the longest prefix that fits, 0 when the
        head cannot run now (``plan.head`` says why and what would fit).
        While the daemon is away: the batch size of them, unjudged."""
        body = {"requests": shapes(requests)}
        ans = self._ask("plan", body)
        if ans is None:
            return Plan(None, take=min(len(requests), self._batch),
                        reason="not judged: the daemon at %s is away" %
                        self.server)
        return Plan(ans)

    def info(self) -> Dict[str, Any]:
        """This client as ``GET /v1/clients/{id}`` shows it (raises
        VgmoError when that fails: not for the hot loop)."""
        with self._lock:
            self._check_open()
            if self.id is None:
                raise VgmoError("not registered with %s" % self.server)
            try:
                return self._request("GET", "/v1/clients/%d" % self.id)
            except (_Transient, _Gone) as e:
                raise VgmoError(str(e)) from e

    @property
    def connected(self) -> bool:
        """Registered, and the daemon answered the last request."""
        return self.id is not None and not self._away

    def close(self) -> None:
        """Leaves the daemon (``DELETE``, best effort) and closes the
        connection. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.id is not None and not self._away:
                try:
                    self._request("DELETE", "/v1/clients/%d" % self.id)
                except (_Transient, _Gone, VgmoError) as e:
                    log.debug("leaving %s: %s", self.server, e)
            self.id = None
            self._drop_connection()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<vgmo.Client %s gpu=%s id=%s batch_size=%d%s>" % (
            self.name, self.gpu, self.id, self._batch,
            " (daemon away)" if self._away else "")

    # ---------------------------------------------------------- protocol

    def _ask(self, what: str, body: Dict[str, Any]
             ) -> Optional[Dict[str, Any]]:
        """POSTs a question about this client; None while the daemon is
        away (a refusal raises VgmoError: the question was wrong)."""
        with self._lock:
            self._check_open()
            if time.monotonic() < self._next_try:
                return None
            try:
                ans = self._post_client(what, body)
            except (_Transient, _Gone) as e:
                self._failed(e)
                return None
            self._recovered()
            return ans

    def _check_open(self) -> None:
        if self._closed:
            raise VgmoError("the client is closed")

    def _register(self) -> None:
        body: Dict[str, Any] = {"name": self.name, "gpu": self.gpu,
                                "weight": self.weight, "unit": self.unit}
        if self.model is not None:
            body["model"] = self.model
        if self.padding is not None:
            body["padding"] = self.padding
        if self.attention is not None:
            body["attention"] = self.attention
        if self.vision_attention is not None:
            body["vision_attention"] = self.vision_attention
        if self.logits is not None:
            body["logits"] = self.logits
        if self.pid is not None:
            body["pid"] = self.pid
        try:
            ans = self._request("POST", "/v1/clients", body)
        except VgmoError as e:
            if e.status != 409:
                raise
            # The name is a live client's (this worker's previous run,
            # say): it is free again one lease after that one went quiet.
            raise _Transient(str(e)) from e
        try:
            self.id = int(ans["id"])
            secret = ans.get("secret")
            self._secret = secret if isinstance(secret, str) else None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise _Transient("the daemon's registration answer has no "
                             "id: %r" % (ans,)) from e
        self._apply(ans)
        self._recovered()

    def _send(self, body: Dict[str, Any], items: int, oom: bool) -> int:
        if oom:
            # What the daemon does too; kept if the report is lost.
            self._batch = max(1, min(self._batch, items // 2))
        if time.monotonic() < self._next_try:
            return self._batch
        if self._freed and not oom:
            body["freed_bytes"] = self._freed
        self._guard(self._post_report, body)
        return self._batch

    def _post_client(self, what: str, body: Dict[str, Any]
                     ) -> Dict[str, Any]:
        """POSTs `body` to /v1/clients/{id}/{what}, registering first, and
        again when the daemon forgot the client."""
        if self.id is None:
            self._register()
        try:
            return self._request("POST", "/v1/clients/%d/%s" %
                                 (self.id, what), body)
        except _Gone:
            log.info("the daemon at %s forgot client %s (id %d); "
                     "registering again", self.server, self.name, self.id)
            self.id = None
            self._register()
            return self._request("POST", "/v1/clients/%d/%s" %
                                 (self.id, what), body)

    def _post_report(self, body: Dict[str, Any]) -> None:
        ans = self._post_client("report", body)
        if "freed_bytes" in body:
            self._freed = 0
        self._apply(ans)
        self._recovered()

    def _guard(self, fn: Any, *args: Any) -> None:
        """Runs fn; a daemon that is away or refuses is logged, not
        raised."""
        try:
            fn(*args)
        except (_Transient, _Gone) as e:
            self._failed(e)
        except VgmoError as e:
            self._freed = 0  # refused: not to be sent again
            msg = str(e)
            if msg != self._last_error:
                log.error("the daemon at %s refused client %s: %s",
                          self.server, self.name, msg)
                self._last_error = msg

    def _apply(self, ans: Dict[str, Any]) -> None:
        n = ans.get("batch_size")
        if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
            self._batch = n
        self.cleanup_requested = bool(ans.get("cleanup", False))
        if "budget_bytes" in ans:
            self.budget_bytes = ans["budget_bytes"]
        if "share" in ans:
            self.share = ans["share"]
        if "lease_seconds" in ans:
            self.lease_seconds = ans["lease_seconds"]

    def _failed(self, e: Exception) -> None:
        self._drop_connection()
        if not self._away:
            log.warning("the daemon at %s is unreachable (%s); "
                        "client %s keeps batch size %d until it answers",
                        self.server, e, self.name, self._batch)
            self._away = True
        self._backoff = min(self.retry_max,
                            max(_BACKOFF_FIRST, self._backoff * 2))
        self._next_try = time.monotonic() + \
            self._backoff * random.uniform(0.8, 1.2)

    def _recovered(self) -> None:
        if self._away:
            log.info("the daemon at %s answers again; client %s "
                        "(id %s) has batch size %d", self.server, self.name,
                        self.id, self._batch)
        self._away = False
        self._backoff = 0.0
        self._next_try = 0.0
        self._last_error = ""

    # -------------------------------------------------------------- HTTP

    def _connection(self) -> Tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            return self._conn, True
        host = self._url.hostname or ""
        port = self._url.port
        if self._ssl is not None:
            self._conn = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self._ssl)
        else:
            self._conn = http.client.HTTPConnection(host, port,
                                                    timeout=self.timeout)
        return self._conn, False

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _request(self, method: str, path: str,
                 body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """2xx: the answer's JSON object. Raises _Gone (404), _Transient
        (no answer, 5xx, not JSON) or VgmoError (any other status)."""
        headers = {"Accept": "application/json",
                   "User-Agent": "vgmo-python"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token is not None:
            headers["Authorization"] = "Bearer " + self._token
        if self._secret is not None:
            headers["X-Vgmo-Client-Secret"] = self._secret
        for attempt in (0, 1):
            conn, reused = self._connection()
            try:
                conn.request(method, self._prefix + path, body=payload,
                             headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                if resp.will_close:
                    self._drop_connection()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as e:
                # A kept-alive connection the daemon closed meanwhile:
                # try once more on a new one.
                self._drop_connection()
                if not reused or attempt:
                    raise _Transient(str(e) or type(e).__name__) from e
            except (OSError, http.client.HTTPException) as e:
                self._drop_connection()
                raise _Transient(str(e) or type(e).__name__) from e
        try:
            ans = json.loads(data) if data else None
        except ValueError:
            ans = None
        if 200 <= status < 300:
            if not isinstance(ans, dict):
                raise _Transient("%s %s: the answer is not a JSON object" %
                                 (method, path))
            return ans
        err = ans.get("error") if isinstance(ans, dict) else None
        msg = err.get("message") if isinstance(err, dict) else None
        msg = msg or "HTTP %d" % status
        if status == 404:
            raise _Gone("%s %s: %s" % (method, path, msg))
        if status >= 500 or status == 429:
            raise _Transient("%s %s: %s" % (method, path, msg))
        if status == 401 and self._token is None:
            msg += " (the daemon needs a token: pass token= or set " \
                   "VGMO_TOKEN_FILE)"
        field = err.get("field") if isinstance(err, dict) else None
        raise VgmoError(msg, status, field)
