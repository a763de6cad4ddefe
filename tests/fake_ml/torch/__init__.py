"""A stand-in for the parts of PyTorch that scripts/vlm-measure.py and
scripts/vlm-loop.py call, so that their GPU code paths run in tests without
a GPU (tests/test_vlm_scripts.py puts tests/fake_ml first on PYTHONPATH).
Synthetic: nothing here measures anything.

Tensors are shapes, with data only when made from Python lists. The CUDA
allocator is a counter: each tensor adds its bytes while it lives (freed
by a weakref finalizer); models (tests/fake_ml/transformers) add their
activations to the peak and raise OutOfMemoryError above the capacity,
FAKE_GPU_GIB (default 80).
"""
import contextlib
import os
import types
import weakref

__version__ = "0.0+fake"

int64 = long = "int64"
bool = "bool"  # noqa: A001 - torch's name
bfloat16 = "bfloat16"
float16 = "float16"
float32 = "float32"
_BYTES = {"int64": 8, "bool": 1, "bfloat16": 2, "float16": 2, "float32": 4}

version = types.SimpleNamespace(cuda="12.0+fake")


class OutOfMemoryError(RuntimeError):
    pass


class _Allocator:
    def __init__(self):
        self.total = int(float(os.environ.get("FAKE_GPU_GIB", "80")) *
                         (1 << 30))
        self.allocated = 0
        self.peak = 0
        self.reserved = 0
        self.peak_reserved = 0
        self.retries = 0

    def alloc(self, n):
        if self.allocated + n > self.total:
            raise OutOfMemoryError(
                "CUDA out of memory. Tried to allocate %d bytes (fake)" % n)
        self.allocated += n
        self.touch(self.allocated)

    def free(self, n):
        self.allocated -= n

    def touch(self, level):
        """A transient peak at `level` bytes (activations)."""
        if level > self.total:
            self.retries += 1
            self.peak = max(self.peak, self.allocated)
            raise OutOfMemoryError(
                "CUDA out of memory. Tried to allocate %d bytes (fake)" %
                (level - self.allocated))
        self.peak = max(self.peak, level)
        self.reserved = max(self.reserved, level)
        self.peak_reserved = max(self.peak_reserved, self.reserved)


_alloc = _Allocator()


class Tensor:
    def __init__(self, shape, dtype="float32", data=None):
        self.shape = tuple(int(x) for x in shape)
        self.dtype = dtype
        self.data = data
        self.zeroed = {}  # row -> first padded index (t[i, n:] = 0)
        self.device = "cuda:0"
        n = self.numel() * self.element_size()
        _alloc.alloc(n)
        weakref.finalize(self, _alloc.free, n)

    def numel(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    def element_size(self):
        return _BYTES.get(self.dtype, 4)

    def is_floating_point(self):
        return self.dtype in ("bfloat16", "float16", "float32")

    def __getitem__(self, key):
        """A view's shape (no copy, no memory): ints drop a dimension,
        slices cut it."""
        key = key if isinstance(key, tuple) else (key,)
        shape = []
        for i, n in enumerate(self.shape):
            k = key[i] if i < len(key) else slice(None)
            if isinstance(k, slice):
                shape.append(len(range(n)[k]))
        return _View(shape, self.dtype)

    def __setitem__(self, key, value):
        if (isinstance(key, tuple) and len(key) == 2 and
                isinstance(key[1], slice) and key[1].stop is None):
            self.zeroed[int(key[0])] = int(key[1].start)

    def __repr__(self):
        return "FakeTensor(%s, %s)" % (self.shape, self.dtype)


class _View(Tensor):
    """A slice of a tensor: shares its memory."""

    def __init__(self, shape, dtype):  # noqa: super() not called: no alloc
        self.shape = tuple(shape)
        self.dtype = dtype
        self.data = None
        self.zeroed = {}
        self.device = "cuda:0"


class Module:
    def __init__(self):
        pass

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)


nn = types.SimpleNamespace(Module=Module)


def is_tensor(x):
    return isinstance(x, Tensor)


def _shape(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def randn(*shape, device=None, dtype=None):
    return Tensor(_shape(shape), dtype or float32)


def ones(*shape, device=None, dtype=None):
    return Tensor(_shape(shape), dtype or float32)


def zeros(*shape, device=None, dtype=None):
    return Tensor(_shape(shape), dtype or float32)


def tensor(data, dtype=None, device=None):
    shape, x = [], data
    while isinstance(x, list):
        shape.append(len(x))
        x = x[0] if x else None
    return Tensor(shape, dtype or int64, data=data)


class device:  # noqa: N801 - torch's name
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@contextlib.contextmanager
def inference_mode():
    yield


class _Props:
    total_memory = _alloc.total
    name = "Fake GPU"
    uuid = None


def _stats(device=None):
    return {"num_alloc_retries": _alloc.retries}


def _reset(device=None):
    _alloc.peak = _alloc.allocated
    _alloc.peak_reserved = _alloc.reserved


def _empty_cache():
    _alloc.reserved = _alloc.allocated


cuda = types.SimpleNamespace(
    OutOfMemoryError=OutOfMemoryError,
    is_available=lambda: True,
    device_count=lambda: 1,
    get_device_name=lambda i=0: "Fake GPU",
    get_device_properties=lambda i=0: _Props(),
    mem_get_info=lambda device=None: (_alloc.total - _alloc.reserved,
                                      _alloc.total),
    memory_allocated=lambda device=None: _alloc.allocated,
    memory_reserved=lambda device=None: _alloc.reserved,
    max_memory_allocated=lambda device=None: _alloc.peak,
    max_memory_reserved=lambda device=None: _alloc.peak_reserved,
    reset_peak_memory_stats=_reset,
    empty_cache=_empty_cache,
    synchronize=lambda device=None: None,
    memory_stats=_stats,
    allocator=_alloc,
)
