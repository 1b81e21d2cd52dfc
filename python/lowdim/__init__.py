"""lowdim: fast CPU kernels for embedding geometry.

Project (very sparse random projection, FWHT, SRHT, FJLT), compress (product
quantization) and measure (kNN, intrinsic dimension, Euclidean MST) embedding matrices.
Every function runs on the C++ backend (SIMD, threads, GIL released) when it is built,
else on the numpy backend; both give the same answers for the same seed.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("lowdim")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

from ._config import (available_isas, backend, config, get_num_threads, isa, set_backend,
                      set_isa, set_num_threads, show_config)
from ._jl import johnson_lindenstrauss_min_dim
from .hadamard import SRHT, FastJLT, fjlt, fwht, srht
from .mst import mst, mst_length, mst_length_batch, ph_dimension

__all__ = [
    "FastJLT", "SRHT", "available_isas", "backend", "config", "fjlt", "fwht",
    "get_num_threads", "isa", "johnson_lindenstrauss_min_dim", "set_backend", "set_isa",
    "set_num_threads", "show_config", "srht",
    "mst", "mst_length", "mst_length_batch", "ph_dimension",
]
