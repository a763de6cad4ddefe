"""vgmo.torch - run a batch under PyTorch and report what it cost.

``torch`` is imported when a Runner is made, not when ``vgmo`` is::

    import vgmo, vgmo.torch

    # the attention the model runs (eager, sdpa, flash...), from its
    # config, and whether its prefill keeps the last position's logits only
    client = vgmo.Client(None, "captioner-1", gpu=0,
                         **vgmo.torch.attention_of(model),
                         **vgmo.torch.logits_of(model))
    runner = vgmo.torch.Runner(client, device=0)
    while images:
        n = runner.batch_size()
        out = runner.run(model_step, n, images[:n])
        if out is vgmo.torch.OOM:   # only with oom="return"
            continue                # retry with the halved batch size
        images = images[n:]

A tokens worker (``unit="tokens"``) can ask first and report each
request's shape, so a request that cannot fit is refused before it runs::

    tried = set()
    while queue:                      # request dicts (vgmo.fit)
        plan = runner.plan(queue)     # how many from the head fit
        if plan.take == 0:            # the head cannot run: plan.head says
            head = queue.pop(0)       # why and what would fit
            if plan.head.verdict == "not_now" and id(head) not in tried:
                tried.add(id(head))   # in doubt, or the GPU is busy:
                queue.append(head)    # once more, later
            else:                     # "never" (or twice): shrink or split
                log.warning("%s", plan.head.reason)
            continue
        batch = queue[:plan.take]
        if runner.run_requests(model_step, batch) is not vgmo.torch.OOM:
            del queue[:plan.take]

Each ``run(fn, items, *args, **kwargs)`` (and ``run_requests``):

1. resets the device's peak statistics (``torch.cuda.reset_peak_memory_stats``);
2. calls ``fn(*args, **kwargs)`` and waits for the device
   (``torch.cuda.synchronize``) so ``seconds`` is the batch's real time;
3. reads ``max_memory_allocated`` (the batch's peak), ``memory_allocated``
   and ``memory_reserved``, and reports them with ``items`` and the time;
4. when the daemon's answer asks for a cleanup, runs ``gc.collect()`` and
   ``torch.cuda.empty_cache()``, measures ``memory_reserved`` before and
   after, and sends the bytes freed with the next report.

On ``torch.cuda.OutOfMemoryError`` it reports the OOM (the daemon halves the
batch size at once), cleans up (the daemon asks for it after an OOM), and
then, by the Runner's ``oom`` setting, re-raises the error (``"raise"``,
the default) or returns the ``OOM`` marker (``"return"``) so the loop can
retry the same items with the smaller batch size.
"""

import gc
import importlib
import inspect
import time
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from .client import ATTENTIONS, Client
from .fit import Plan

__all__ = ["Runner", "OOM", "attention_of", "logits_of"]


class _OOMMarker:
    """The value Runner.run returns for a batch that ran out of memory
    (with oom="return")."""

    _instance = None

    def __new__(cls) -> "_OOMMarker":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "vgmo.torch.OOM"

    def __bool__(self) -> bool:
        return False


OOM = _OOMMarker()


def _attn_implementation(config: Any) -> Any:
    """The attn_implementation a transformers config names (None: none)."""
    for key in ("_attn_implementation", "attn_implementation"):
        value = getattr(config, key, None)
        if value is not None:
            return value
    return None


def attention_of(model: Any) -> Dict[str, str]:
    """The attention implementations a Hugging Face model runs, as
    ``Client``'s ``attention`` (the language decoder: ``model.config``'s
    ``_attn_implementation``) and ``vision_attention`` (its
    ``vision_config``'s when that names one, else the same). A value that
    is not one of ``vgmo.client.ATTENTIONS``, or none at all, is left out
    (unknown: vgmo learns it), so that ``vgmo.Client(...,
    **attention_of(model))`` works. ``model`` may be the config itself.
    Does not import torch."""
    config = getattr(model, "config", None)
    if config is None:
        config = model
    decoder = _attn_implementation(config)
    vision = None
    vision_config = getattr(config, "vision_config", None)
    if vision_config is not None:
        vision = _attn_implementation(vision_config)
    if vision is None:
        vision = decoder
    out: Dict[str, str] = {}
    for key, value in (("attention", decoder), ("vision_attention", vision)):
        if isinstance(value, str) and value in ATTENTIONS:
            out[key] = value
    return out


# the forward arguments with which transformers' generate computes the
# last position's logits only (num_logits_to_keep: its older name)
_KEEP_ARGS = ("logits_to_keep", "num_logits_to_keep")


def logits_of(model: Any, scoring: bool = False) -> Dict[str, str]:
    """The positions a Hugging Face model's prefill computes logits for,
    as ``Client``'s ``logits``. ``scoring``: the worker calls the model's
    forward on whole sequences (to score them), which computes every
    position's: ``{"logits": "all"}``. Otherwise (the worker calls
    ``generate``) it reads ``model.forward``'s signature (``model`` itself
    when it has no ``forward``): ``{"logits": "last"}`` when it takes
    ``logits_to_keep`` (or ``num_logits_to_keep``), which ``generate``
    sets to keep the last position's only; ``{"logits": "all"}`` when it
    takes neither; ``{}`` (unknown: vgmo learns the cost) when it takes
    ``**kwargs`` instead or its signature cannot be read, so that
    ``vgmo.Client(..., **logits_of(model))`` works. Does not import
    torch."""
    if scoring:
        return {"logits": "all"}
    forward = getattr(model, "forward", None)
    if forward is None:
        forward = model
    try:
        params = inspect.signature(forward).parameters.values()
    except (ValueError, TypeError):
        return {}
    named = set()
    catch_all = False
    for param in params:
        if param.kind == param.VAR_KEYWORD:
            catch_all = True
        elif param.kind != param.VAR_POSITIONAL:
            named.add(param.name)
    if named.intersection(_KEEP_ARGS):
        return {"logits": "last"}
    if catch_all:
        return {}
    return {"logits": "all"}


def _oom_types(torch: Any) -> tuple:
    """The exceptions that mean the device ran out of memory."""
    err = getattr(torch.cuda, "OutOfMemoryError", None)
    if err is None:  # torch < 1.13 raised a RuntimeError
        err = getattr(torch, "OutOfMemoryError", None)
    return (err,) if isinstance(err, type) else ()


class Runner:
    """Runs batches on one CUDA device and reports them to ``client``.

    ``device``: what torch.cuda's memory functions take (an index, a
    ``torch.device``, None for the current device). ``oom``: ``"raise"``
    re-raises an out-of-memory error after reporting it; ``"return"``
    returns ``OOM`` instead.
    """

    def __init__(self, client: Client, device: Any = None,
                 oom: str = "raise"):
        if oom not in ("raise", "return"):
            raise ValueError('oom must be "raise" or "return"')
        self.client = client
        self.device = device
        self.oom = oom
        self.torch = importlib.import_module("torch")
        self._oom_errors = _oom_types(self.torch)
        self._freed: Optional[int] = None
        #: bytes the last cleanup released (None: no cleanup yet)
        self.last_freed: Optional[int] = None

    def batch_size(self) -> int:
        return self.client.batch_size()

    def plan(self, queue: Sequence[Mapping[str, Any]]) -> Plan:
        """The daemon's plan for the head of ``queue`` (Client.plan)."""
        return self.client.plan(queue)

    def run(self, fn: Callable[..., Any], items: int, *args: Any,
            **kwargs: Any) -> Any:
        """Runs ``fn(*args, **kwargs)`` as a batch of ``items`` and
        returns its result (or ``OOM``, see the class)."""
        return self._run(fn, int(items), None, args, kwargs)

    def run_requests(self, fn: Callable[..., Any],
                     requests: Sequence[Mapping[str, Any]], *args: Any,
                     **kwargs: Any) -> Any:
        """``run`` for a batch of ``requests`` (vgmo.fit), reported with
        their shapes. ``fn`` gets ``requests`` first, then ``args``."""
        return self._run(fn, len(requests), requests, (requests,) + args,
                         kwargs)

    def _run(self, fn: Callable[..., Any], items: int,
             requests: Optional[Sequence[Mapping[str, Any]]], args: Any,
             kwargs: Any) -> Any:
        cuda = self.torch.cuda
        dev = self.device
        cuda.reset_peak_memory_stats(dev)
        start = time.monotonic()
        failed = False
        try:
            result = fn(*args, **kwargs)
            cuda.synchronize(dev)
        except self._oom_errors:
            if self.oom == "raise":
                self._after_oom(items)
                raise
            failed = True
        if failed:
            # Out of the except block, the traceback's frames (and the
            # batch's tensors they hold) are gone: cleanup can free them.
            self._after_oom(items)
            return OOM
        seconds = time.monotonic() - start
        freed, self._freed = self._freed, None
        self.client.report(items, max(1, int(cuda.max_memory_allocated(dev))),
                           allocated_bytes=int(cuda.memory_allocated(dev)),
                           reserved_bytes=int(cuda.memory_reserved(dev)),
                           seconds=seconds, freed_bytes=freed,
                           requests=requests)
        if self.client.cleanup_requested:
            self.cleanup()
        return result

    def _after_oom(self, items: int) -> None:
        cuda = self.torch.cuda
        self.client.report_oom(items,
                               allocated_bytes=int(cuda.memory_allocated(
                                   self.device)),
                               reserved_bytes=int(cuda.memory_reserved(
                                   self.device)))
        # The daemon asks for a cleanup after every OOM; do it even when
        # it cannot be reached.
        self.cleanup()

    def cleanup(self) -> int:
        """gc.collect() and torch.cuda.empty_cache(); returns the reserved
        bytes released, which the next report carries as freed_bytes."""
        cuda = self.torch.cuda
        before = int(cuda.memory_reserved(self.device))
        gc.collect()
        cuda.empty_cache()
        after = int(cuda.memory_reserved(self.device))
        freed = max(0, before - after)
        self._freed = (self._freed or 0) + freed
        self.last_freed = freed
        return freed
