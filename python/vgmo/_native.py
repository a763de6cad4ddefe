"""vgmo._native - libvgmo through ctypes: finding the library, and the
public structs of include/vgmo/vgmo.h mirrored field for field.

The layouts are checked against the C compiler's by tests/test_python.py
(tests/abi_layout.c prints every size and offset); a field added to one of
these structs in vgmo.h must be added here in the same place.
"""

import ctypes
import ctypes.util
import os
from typing import List, Optional

__all__ = ["load_library", "Config", "Result", "SimOptions", "EngineOptions",
           "Report", "Decision", "Counters", "STRUCTS"]

# Sizes of the char arrays in vgmo.h.
REASON_MAX = 160

# vgmo_err codes the package tells apart (vgmo.h).
ERR_CONFIG = 5

_c = ctypes


class Config(_c.Structure):
    """vgmo_config: the seed's MemoryConfig, 14 fields."""
    _fields_ = [
        ("enabled", _c.c_bool),
        ("strategy", _c.c_int),
        ("monitoring_interval", _c.c_double),
        ("memory_threshold_warning", _c.c_double),
        ("memory_threshold_critical", _c.c_double),
        ("memory_threshold_oom", _c.c_double),
        ("temperature_threshold", _c.c_double),
        ("optimization_interval", _c.c_double),
        ("cleanup_interval", _c.c_double),
        ("max_batch_size", _c.c_int),
        ("min_batch_size", _c.c_int),
        ("memory_reserve_mb", _c.c_int64),
        ("gc_threshold", _c.c_double),
        ("fragmentation_threshold", _c.c_double),
    ]


class Result(_c.Structure):
    """vgmo_result: the seed's MemoryOptimizationResult, plus when/why."""
    _fields_ = [
        ("success", _c.c_bool),
        ("action_taken", _c.c_char * 48),
        ("memory_freed_mb", _c.c_double),
        ("new_batch_size", _c.c_int),
        ("gc_performed", _c.c_bool),
        ("fragmentation_reduced", _c.c_bool),
        ("error_message", _c.c_char * REASON_MAX),
        ("timestamp", _c.c_double),
        ("old_batch_size", _c.c_int),
        ("worker", _c.c_char * 64),
        ("reason", _c.c_char * REASON_MAX),
    ]


class SimOptions(_c.Structure):
    """vgmo_sim_options."""
    _fields_ = [
        ("preset", _c.c_char_p),
        ("gpus", _c.c_uint),
        ("seed", _c.c_uint64),
        ("workload", _c.c_char_p),
    ]


class EngineOptions(_c.Structure):
    """vgmo_engine_options."""
    _fields_ = [
        ("backend", _c.c_char_p),
        ("sim", SimOptions),
        ("nvml_library", _c.c_char_p),
        ("call_timeout", _c.c_double),
        ("clock", _c.c_void_p),
        ("history_capacity", _c.c_size_t),
        ("prior_item_bytes", _c.c_uint64),
        ("lease_seconds", _c.c_double),
    ]


class Report(_c.Structure):
    """vgmo_report: one batch."""
    _fields_ = [
        ("items", _c.c_uint32),
        ("peak_bytes", _c.c_uint64),
        ("allocated_bytes", _c.c_uint64),
        ("reserved_bytes", _c.c_uint64),
        ("seconds", _c.c_double),
        ("oom", _c.c_bool),
        ("freed_bytes", _c.c_uint64),
    ]


class Decision(_c.Structure):
    """vgmo_decision: the next batch size."""
    _fields_ = [
        ("batch_size", _c.c_int),
        ("cleanup", _c.c_bool),
        ("changed", _c.c_bool),
    ]


class Counters(_c.Structure):
    """vgmo_counters."""
    _fields_ = [(name, _c.c_uint64) for name in (
        "optimizations", "optimizations_success", "optimization_failures",
        "cleanups", "batch_size_changes", "freed_bytes", "samples",
        "history_total")]


#: C type name -> mirror, for the layout test.
STRUCTS = {
    "vgmo_config": Config,
    "vgmo_result": Result,
    "vgmo_sim_options": SimOptions,
    "vgmo_engine_options": EngineOptions,
    "vgmo_report": Report,
    "vgmo_decision": Decision,
    "vgmo_counters": Counters,
}

CLEANUP_FN = _c.CFUNCTYPE(_c.c_uint64, _c.c_void_p)

_P = _c.c_void_p
_ERRBUF = (_c.c_char_p, _c.c_size_t)

# name: (restype, argtypes)
_PROTOTYPES = {
    "vgmo_strerror": (_c.c_char_p, (_c.c_int,)),
    "vgmo_config_defaults": (None, (_c.POINTER(Config),)),
    "vgmo_config_validate": (_c.c_int, (_c.POINTER(Config),) + _ERRBUF),
    "vgmo_strategy_name": (_c.c_char_p, (_c.c_int,)),
    "vgmo_engine_options_init": (None, (_c.POINTER(EngineOptions),)),
    "vgmo_engine_create": (_c.c_int, (_c.POINTER(_P), _c.POINTER(Config),
                                      _c.POINTER(EngineOptions)) + _ERRBUF),
    "vgmo_engine_destroy": (None, (_P,)),
    "vgmo_engine_backend": (_c.c_char_p, (_P,)),
    "vgmo_engine_notice": (_c.c_char_p, (_P,)),
    "vgmo_engine_sample": (_c.c_int, (_P,)),
    "vgmo_engine_optimize": (_c.c_int, (_P, _c.c_bool,
                                        _c.POINTER(Result))),
    "vgmo_engine_cleanup": (_c.c_int, (_P, _c.POINTER(Result))),
    "vgmo_engine_tick": (_c.c_int, (_P,)),
    "vgmo_engine_step": (_c.c_int, (_P, _c.c_double)),
    "vgmo_engine_add_cleanup": (_c.c_int, (_P, CLEANUP_FN, _P)),
    "vgmo_engine_get_config": (_c.c_int, (_P, _c.POINTER(Config))),
    "vgmo_engine_set_config": (_c.c_int, (_P, _c.POINTER(Config)) + _ERRBUF),
    "vgmo_engine_set_enabled": (None, (_P, _c.c_bool)),
    "vgmo_engine_set_monitoring": (None, (_P, _c.c_bool)),
    "vgmo_engine_monitoring": (_c.c_bool, (_P,)),
    "vgmo_engine_report": (_c.c_int, (_P, _c.c_int, _c.POINTER(Report),
                                      _c.POINTER(Decision))),
    "vgmo_engine_batch_size": (_c.c_int, (_P, _c.c_int)),
    "vgmo_engine_set_batch_size": (_c.c_int, (_P, _c.c_int, _c.c_int) +
                                   _ERRBUF),
    "vgmo_engine_sim_run": (_c.c_int, (_P, _c.c_double)),
    "vgmo_engine_snapshot": (_c.c_int, (_P, _c.POINTER(_P))),
    "vgmo_snapshot_free": (None, (_P,)),
    "vgmo_snapshot_enabled": (_c.c_bool, (_P,)),
    "vgmo_snapshot_history_count": (_c.c_size_t, (_P,)),
    "vgmo_snapshot_history": (_c.POINTER(Result), (_P, _c.c_size_t)),
    "vgmo_snapshot_counters": (_c.POINTER(Counters), (_P,)),
    # Returns malloc'd text: void * so that it can be freed.
    "vgmo_snapshot_status_json": (_c.c_void_p, (_P, _c.c_int)),
}


def _candidates() -> List[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    out = [os.path.normpath(os.path.join(here, "..", "..", "build",
                                         "libvgmo.so"))]
    found = ctypes.util.find_library("vgmo")
    if found:
        out.append(found)
    for d in ("/usr/local/lib", "/usr/local/lib64", "/usr/lib"):
        out.append(os.path.join(d, "libvgmo.so.0"))
    return out


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)
    return lib


def load_library(path: Optional[str] = None) -> ctypes.CDLL:
    """libvgmo: ``path``, else ``$VGMO_LIBRARY``, else the build folder
    beside this package (``build/libvgmo.so`` at the top of the source
    tree), else the installed library (the linker's search path,
    /usr/local/lib). An explicit path that fails is an error; it does not
    fall back."""
    explicit = path or os.environ.get("VGMO_LIBRARY") or None
    tried = []
    for cand in [explicit] if explicit else _candidates():
        if os.path.sep in cand and not os.path.exists(cand):
            tried.append("%s: not found" % cand)
            continue
        try:
            return _bind(ctypes.CDLL(cand))
        except (OSError, AttributeError) as e:
            tried.append("%s: %s" % (cand, e))
    raise OSError("cannot load libvgmo (set VGMO_LIBRARY to its path): " +
                  "; ".join(tried))


def libc_free() -> "ctypes._CFuncPtr":
    """free() of the C library the process runs (the one libvgmo's
    malloc() comes from)."""
    free = ctypes.CDLL(None).free
    free.restype = None
    free.argtypes = [ctypes.c_void_p]
    return free
