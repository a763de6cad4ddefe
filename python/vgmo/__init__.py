"""vgmo - GPU memory optimizer for vision-language-model inference.

``vgmo.Client``: a worker's connection to ``vgmo serve`` (register, report
each batch, get the next batch size). ``vgmo.torch``: runs a batch under
PyTorch and reports it (imports torch only when used). The seed guide's
in-process API (``VLMGPUMemoryOptimizer``, ``MemoryConfig``, ...) runs
libvgmo in this process through ctypes. See docs/python.md.

Standard library only; Python >= 3.9.
"""

from .client import DEFAULT_SERVER, Client, VgmoError, read_token_file
from .fit import Fit, Plan
from .optimizer import (MemoryConfig, MemoryMetrics, MemoryOptimizationResult,
                        MemoryOptimizationStrategy, MemoryStatus,
                        VLMGPUMemoryOptimizer)

__version__ = "0.1.0"

__all__ = ["Client", "Fit", "Plan", "VgmoError", "read_token_file",
           "DEFAULT_SERVER", "VLMGPUMemoryOptimizer", "MemoryConfig",
           "MemoryMetrics",
           "MemoryOptimizationStrategy", "MemoryStatus",
           "MemoryOptimizationResult", "__version__"]
