"""vgmo.optimizer - the seed guide's in-process API, on libvgmo.

Code written against the guide keeps working::

    from vgmo import VLMGPUMemoryOptimizer, MemoryConfig, \\
        MemoryOptimizationStrategy

    config = MemoryConfig(strategy=MemoryOptimizationStrategy.BALANCED,
                          memory_threshold_warning=0.8)
    optimizer = VLMGPUMemoryOptimizer(config)
    await optimizer.start_monitoring()
    result = await optimizer.optimize_memory()
    batch_size = optimizer.get_current_batch_size()
    status = optimizer.get_memory_status()

The engine runs in this process through ctypes (no daemon): NVML when a
driver answers, else the simulated GPU (``backend="sim"`` asks for it).
Monitoring runs in a background thread that the library's calls do not
hold the GIL in.
"""

import asyncio
import ctypes
import dataclasses
import enum
import gc
import json
import math
import logging
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from . import _native
from .client import VgmoError

__all__ = ["VLMGPUMemoryOptimizer", "MemoryConfig", "MemoryMetrics",
           "MemoryOptimizationStrategy", "MemoryStatus",
           "MemoryOptimizationResult"]

log = logging.getLogger("vgmo")

_STEP = 0.2  # seconds between monitoring passes (as the daemon's loop)
BATCH_MAX = 1000000  # VGMO_BATCH_MAX: min_batch_size, max_batch_size
RESERVE_MB_MAX = 16777216  # VGMO_CONFIG_RESERVE_MB_MAX (16 TiB)


class MemoryOptimizationStrategy(str, enum.Enum):
    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"
    ADAPTIVE = "adaptive"


_STRATEGIES = list(MemoryOptimizationStrategy)  # in vgmo_strategy order


class MemoryStatus(str, enum.Enum):
    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"
    OOM = "oom"


@dataclasses.dataclass
class MemoryConfig:
    """The seed's MemoryConfig: its 14 fields, names and defaults."""
    enabled: bool = True
    strategy: MemoryOptimizationStrategy = MemoryOptimizationStrategy.BALANCED
    monitoring_interval: float = 5
    memory_threshold_warning: float = 0.8
    memory_threshold_critical: float = 0.9
    memory_threshold_oom: float = 0.95
    temperature_threshold: float = 80.0
    optimization_interval: float = 60
    cleanup_interval: float = 300
    max_batch_size: int = 16
    min_batch_size: int = 1
    memory_reserve_mb: int = 1024
    gc_threshold: float = 0.85
    fragmentation_threshold: float = 0.3

    def __post_init__(self) -> None:
        try:
            self.strategy = MemoryOptimizationStrategy(self.strategy)
        except ValueError:
            raise ValueError(
                "invalid MemoryConfig: strategy: unknown strategy %r "
                "(choose conservative, balanced, aggressive or adaptive)"
                % (self.strategy,)) from None
        problems = self.violations()
        if problems:
            raise ValueError("invalid MemoryConfig: " + "; ".join(problems))

    def violations(self) -> List[str]:
        """Every rule this configuration breaks, as libvgmo words it
        (vgmo_config_validate); empty when it is valid."""
        v: List[str] = []

        def number(name: str, integer: bool = False) -> Optional[float]:
            x = getattr(self, name)
            ok = (isinstance(x, int) if integer
                  else isinstance(x, (int, float)))
            if not ok or isinstance(x, bool):
                v.append("%s: expected %s, got %r" % (
                    name, "an integer" if integer else "a number", x))
                return None
            return x

        def fraction(name: str) -> bool:
            x = number(name)
            if x is None:
                return False
            if not (math.isfinite(x) and 0.0 <= x <= 1.0):
                v.append("%s: must be a number from 0 to 1 (got %s)"
                         % (name, _g(x)))
                return False
            return True

        def positive(name: str, lo: float, hi: float) -> None:
            # The ranges of include/vgmo/config.h (VGMO_CONFIG_*).
            x = number(name)
            if x is None:
                return
            if not (math.isfinite(x) and x > 0.0):
                v.append("%s: must be a finite number greater than 0 "
                         "(got %s)" % (name, _g(x)))
            elif x < lo:
                v.append("%s: must be at least %s (got %s)"
                         % (name, _g(lo), _g(x)))
            elif x > hi:
                v.append("%s: must be at most %s (got %s)"
                         % (name, _g(hi), _g(x)))

        if not isinstance(self.enabled, bool):
            v.append("enabled: expected True or False, got %r"
                     % (self.enabled,))
        positive("monitoring_interval", 0.1, 3600.0)
        w, c = self.memory_threshold_warning, self.memory_threshold_critical
        o = self.memory_threshold_oom
        warn_ok = fraction("memory_threshold_warning")
        crit_ok = fraction("memory_threshold_critical")
        if warn_ok and crit_ok and not w < c:
            v.append("memory_threshold_critical: must be greater than "
                     "memory_threshold_warning (%s <= %s)" % (_g(c), _g(w)))
        oom_ok = fraction("memory_threshold_oom")
        if crit_ok and oom_ok and not c < o:
            v.append("memory_threshold_oom: must be greater than "
                     "memory_threshold_critical (%s <= %s)" % (_g(o), _g(c)))
        elif not crit_ok and warn_ok and oom_ok and not w < o:
            v.append("memory_threshold_oom: must be greater than "
                     "memory_threshold_warning (%s <= %s)" % (_g(o), _g(w)))
        positive("temperature_threshold", 1.0, 200.0)
        positive("optimization_interval", 0.1, 1e7)
        positive("cleanup_interval", 0.1, 1e7)
        hi = number("max_batch_size", integer=True)
        lo = number("min_batch_size", integer=True)
        if hi is not None and hi < 1:
            v.append("max_batch_size: must be at least 1 (got %d)" % hi)
        elif hi is not None and hi > BATCH_MAX:
            v.append("max_batch_size: must be at most %d (got %d)"
                     % (BATCH_MAX, hi))
        elif hi is not None and lo is not None and lo >= 1 and hi < lo:
            v.append("max_batch_size: must be at least min_batch_size "
                     "(%d < %d)" % (hi, lo))
        if lo is not None and lo < 1:
            v.append("min_batch_size: must be at least 1 (got %d)" % lo)
        elif lo is not None and lo > BATCH_MAX:
            v.append("min_batch_size: must be at most %d (got %d)"
                     % (BATCH_MAX, lo))
        reserve = number("memory_reserve_mb", integer=True)
        if reserve is not None and reserve < 0:
            v.append("memory_reserve_mb: must be at least 0 (got %d)"
                     % reserve)
        elif reserve is not None and reserve > RESERVE_MB_MAX:
            v.append("memory_reserve_mb: must be at most %d (got %d)"
                     % (RESERVE_MB_MAX, reserve))
        fraction("gc_threshold")
        fraction("fragmentation_threshold")
        return v

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["strategy"] = MemoryOptimizationStrategy(self.strategy).value
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "MemoryConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError("unknown MemoryConfig keys: " +
                             ", ".join(sorted(unknown)))
        return cls(**d)

    def _to_c(self) -> _native.Config:
        c = _native.Config()
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "strategy":
                v = _STRATEGIES.index(MemoryOptimizationStrategy(v))
            setattr(c, f.name, v)
        return c

    @classmethod
    def _from_c(cls, c: _native.Config) -> "MemoryConfig":
        kw = {f.name: getattr(c, f.name) for f in dataclasses.fields(cls)}
        kw["strategy"] = _STRATEGIES[kw["strategy"]]
        return cls(**kw)


def _g(x: float) -> str:
    """A number as C's %g writes it, for messages that match libvgmo's."""
    return "%g" % x


@dataclasses.dataclass
class MemoryMetrics:
    """The seed's MemoryMetrics: one reading of one GPU. A value the
    device does not report is None, never 0."""
    timestamp: Optional[float] = None
    memory_usage_percent: Optional[float] = None  # 0..1, used/total
    memory_usage_mb: Optional[float] = None
    total_memory_mb: Optional[float] = None
    free_memory_mb: Optional[float] = None
    gpu_utilization: Optional[float] = None  # 0..1
    gpu_temperature: Optional[float] = None  # degrees C
    gpu_power_usage: Optional[float] = None  # W
    memory_fragmentation: Optional[float] = None  # 0..1
    gpu_index: Optional[int] = None
    status: Optional[str] = None

    @classmethod
    def from_status(cls, status: Dict[str, Any]) -> "MemoryMetrics":
        """From get_memory_status() (its most loaded GPU) or from one of
        its "gpus" entries."""
        names = [f.name for f in dataclasses.fields(cls)]
        kw = {n: status.get(n) for n in names
              if n not in ("timestamp", "gpu_index")}
        kw["timestamp"] = status.get("timestamp", status.get("sampled_at"))
        kw["gpu_index"] = status.get("index")
        return cls(**kw)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class MemoryOptimizationResult:
    """The seed's MemoryOptimizationResult, plus when, what and why."""
    success: bool
    action_taken: str
    memory_freed_mb: Optional[float]  # None: not measured
    new_batch_size: Optional[int]     # None: unchanged
    gc_performed: bool
    fragmentation_reduced: bool
    error_message: Optional[str]
    timestamp: float
    old_batch_size: Optional[int] = None
    worker: Optional[str] = None
    reason: Optional[str] = None

    @classmethod
    def _from_c(cls, r: _native.Result) -> "MemoryOptimizationResult":
        def text(b: bytes) -> Optional[str]:
            return b.decode(errors="replace") or None

        return cls(success=bool(r.success),
                   action_taken=r.action_taken.decode(errors="replace"),
                   memory_freed_mb=(r.memory_freed_mb
                                    if r.memory_freed_mb >= 0 else None),
                   new_batch_size=r.new_batch_size or None,
                   gc_performed=bool(r.gc_performed),
                   fragmentation_reduced=bool(r.fragmentation_reduced),
                   error_message=text(r.error_message),
                   timestamp=r.timestamp,
                   old_batch_size=r.old_batch_size or None,
                   worker=text(r.worker), reason=text(r.reason))

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def __getitem__(self, key: str) -> Any:  # entry["action_taken"]
        return getattr(self, key)


def _cleanup_hook(ctx: Optional[int]) -> int:
    """The engine's cleanup, on the Python side: what the seed did."""
    try:
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # never into the C caller
        log.exception("vgmo: cleanup hook failed")
    return 0  # the engine measures the device itself


class VLMGPUMemoryOptimizer:
    """The engine, in this process.

    ``config``: a MemoryConfig (None: the defaults). ``backend``: "auto"
    (NVML, else the simulated GPU), "nvml" or "sim". ``sim_preset``,
    ``sim_gpus``, ``sim_seed``, ``sim_workload``: the simulated GPU (the
    workload "vlm" runs a synthetic model on it; "none" leaves it idle).
    ``library``: path of libvgmo.so (see vgmo._native.load_library).
    """

    def __init__(self, config: Optional[MemoryConfig] = None, *,
                 backend: str = "auto", sim_preset: Optional[str] = None,
                 sim_gpus: int = 0, sim_seed: int = 0,
                 sim_workload: Optional[str] = None,
                 nvml_library: Optional[str] = None,
                 library: Optional[str] = None):
        self._lib = _native.load_library(library)
        self._free = _native.libc_free()
        self._engine = ctypes.c_void_p()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        cfg = (config or MemoryConfig())._to_c()
        opts = _native.EngineOptions()
        self._lib.vgmo_engine_options_init(ctypes.byref(opts))
        # The engine copies what it keeps; these live through create.
        keep = [s.encode() if s else None
                for s in (backend, sim_preset, sim_workload, nvml_library)]
        opts.backend, opts.sim.preset, opts.sim.workload, \
            opts.nvml_library = keep
        if sim_gpus:
            opts.sim.gpus = sim_gpus
        if sim_seed:
            opts.sim.seed = sim_seed
        err = ctypes.create_string_buffer(512)
        rc = self._lib.vgmo_engine_create(ctypes.byref(self._engine),
                                          ctypes.byref(cfg),
                                          ctypes.byref(opts), err,
                                          ctypes.sizeof(err))
        if rc == _native.ERR_CONFIG:
            raise ValueError(self._message(rc, err))
        if rc != 0:
            raise VgmoError(self._message(rc, err))
        self._cleanup_cb = _native.CLEANUP_FN(_cleanup_hook)
        self._lib.vgmo_engine_add_cleanup(self._engine, self._cleanup_cb,
                                          None)
        notice = self._lib.vgmo_engine_notice(self._engine)
        #: why "auto" fell back to the simulated GPU ("" when it did not)
        self.notice = notice.decode() if notice else ""
        if self.notice:
            log.info("%s", self.notice)
        # The seed's optimizer starts idle until start_monitoring().
        self._lib.vgmo_engine_set_monitoring(self._engine, False)

    # ------------------------------------------------------------ helpers

    def _message(self, rc: int, err: Any) -> str:
        text = err.value.decode(errors="replace") if err.value else ""
        return text or self._lib.vgmo_strerror(rc).decode()

    def _handle(self) -> ctypes.c_void_p:
        if not self._engine:
            raise VgmoError("the optimizer is closed")
        return self._engine

    def _snapshot(self) -> ctypes.c_void_p:
        snap = ctypes.c_void_p()
        rc = self._lib.vgmo_engine_snapshot(self._handle(),
                                            ctypes.byref(snap))
        if rc != 0:
            raise VgmoError(self._lib.vgmo_strerror(rc).decode())
        return snap

    @property
    def backend(self) -> str:
        """"sim" or "nvml": the backend in use."""
        return self._lib.vgmo_engine_backend(self._handle()).decode()

    # ------------------------------------------------------- seed's API

    async def start_monitoring(self) -> None:
        """Samples every monitoring_interval, optimizes and cleans up when
        due, in a background thread, until stop_monitoring()."""
        self.start_monitoring_sync()

    async def stop_monitoring(self) -> None:
        self.stop_monitoring_sync()

    async def optimize_memory(self, force: bool = True
                              ) -> MemoryOptimizationResult:
        """One optimization pass now (``force=False``: only when
        optimization_interval has passed or a status worsened)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, self.optimize_memory_sync, force)

    def get_current_batch_size(self) -> int:
        return int(self._lib.vgmo_engine_batch_size(self._handle(), 0))

    def set_batch_size(self, batch_size: Optional[int]) -> None:
        """Fixes the batch size (within [min_batch_size, max_batch_size],
        else ValueError); None or 0 clears the override."""
        err = ctypes.create_string_buffer(256)
        rc = self._lib.vgmo_engine_set_batch_size(
            self._handle(), 0, int(batch_size or 0), err, ctypes.sizeof(err))
        if rc != 0:
            raise ValueError(self._message(rc, err))

    def enable_optimization(self) -> None:
        self._lib.vgmo_engine_set_enabled(self._handle(), True)

    def disable_optimization(self) -> None:
        self._lib.vgmo_engine_set_enabled(self._handle(), False)

    def get_memory_status(self) -> Dict[str, Any]:
        """The seed's status dict (see docs/cli.md, `vgmo status --json`),
        plus "backend", "strategy", "gpus" and "workers"."""
        snap = self._snapshot()
        try:
            text = self._lib.vgmo_snapshot_status_json(snap, 0)
            if not text:
                raise MemoryError("vgmo_snapshot_status_json")
            try:
                status = json.loads(ctypes.string_at(text).decode())
            finally:
                self._free(text)
        finally:
            self._lib.vgmo_snapshot_free(snap)
        status["monitoring"] = self.is_monitoring()
        return status

    def get_memory_metrics(self) -> List[MemoryMetrics]:
        """One MemoryMetrics per GPU, in index order."""
        return [MemoryMetrics.from_status(g)
                for g in self.get_memory_status().get("gpus", [])]

    def get_optimization_history(self, limit: Optional[int] = None
                                 ) -> List[Dict[str, Any]]:
        """Results as dicts, oldest first (the last ``limit``)."""
        snap = self._snapshot()
        try:
            n = self._lib.vgmo_snapshot_history_count(snap)
            first = max(0, n - limit) if limit is not None else 0
            out = [MemoryOptimizationResult._from_c(
                self._lib.vgmo_snapshot_history(snap, i).contents).to_dict()
                for i in range(first, n)]
        finally:
            self._lib.vgmo_snapshot_free(snap)
        return out

    # ----------------------------------------------------------- extras

    def start_monitoring_sync(self) -> None:
        with self._lock:
            self._lib.vgmo_engine_set_monitoring(self._handle(), True)
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop,
                                            name="vgmo-monitor",
                                            daemon=True)
            self._thread.start()

    def stop_monitoring_sync(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join()
        if self._engine:
            self._lib.vgmo_engine_set_monitoring(self._engine, False)

    def is_monitoring(self) -> bool:
        return bool(self._lib.vgmo_engine_monitoring(self._handle()))

    def optimize_memory_sync(self, force: bool = True
                             ) -> MemoryOptimizationResult:
        r = _native.Result()
        rc = self._lib.vgmo_engine_optimize(self._handle(), bool(force),
                                            ctypes.byref(r))
        res = MemoryOptimizationResult._from_c(r)
        if rc != 0 and res.error_message is None:
            res.error_message = self._lib.vgmo_strerror(rc).decode()
        return res

    def report_batch(self, items: int, peak_bytes: int,
                     allocated_bytes: int = 0, reserved_bytes: int = 0,
                     seconds: float = 0.0, oom: bool = False,
                     freed_bytes: int = 0) -> int:
        """Feeds one batch of this process's model to the engine (as
        vgmo.Client.report does to a daemon); returns the next batch
        size."""
        r = _native.Report(items=int(items), peak_bytes=int(peak_bytes),
                           allocated_bytes=int(allocated_bytes),
                           reserved_bytes=int(reserved_bytes),
                           seconds=float(seconds), oom=bool(oom),
                           freed_bytes=int(freed_bytes))
        d = _native.Decision()
        rc = self._lib.vgmo_engine_report(self._handle(), 0,
                                          ctypes.byref(r), ctypes.byref(d))
        if rc != 0:
            raise ValueError(self._lib.vgmo_strerror(rc).decode())
        return int(d.batch_size)

    def get_config(self) -> MemoryConfig:
        c = _native.Config()
        self._lib.vgmo_engine_get_config(self._handle(), ctypes.byref(c))
        return MemoryConfig._from_c(c)

    def update_config(self, config: MemoryConfig) -> None:
        """Validates and replaces the configuration (ValueError listing
        every invalid field; nothing changes then)."""
        c = config._to_c()
        err = ctypes.create_string_buffer(1024)
        rc = self._lib.vgmo_engine_set_config(self._handle(),
                                              ctypes.byref(c), err,
                                              ctypes.sizeof(err))
        if rc != 0:
            raise ValueError(self._message(rc, err))

    def run_simulation(self, seconds: float) -> None:
        """Advances the simulated GPU's virtual clock (sim backend only)."""
        rc = self._lib.vgmo_engine_sim_run(self._handle(), float(seconds))
        if rc != 0:
            raise VgmoError(self._lib.vgmo_strerror(rc).decode())

    def close(self) -> None:
        """Stops monitoring and frees the engine. Idempotent."""
        self.stop_monitoring_sync()
        engine, self._engine = self._engine, ctypes.c_void_p()
        if engine:
            self._lib.vgmo_engine_destroy(engine)

    def __enter__(self) -> "VLMGPUMemoryOptimizer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # ------------------------------------------------------------- loop

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(_STEP):
            now = time.monotonic()
            self._lib.vgmo_engine_step(self._engine, now - last)
            last = now
