"""lowdim._ref: the numpy backend, twin of the C++ module lowdim._core.

Same function names, arguments and outputs as _core; each kernel family lives in its
own _ref_<family>.py and is gathered here. This backend runs when the native build is
missing or LOWDIM_BACKEND=numpy, and it is the executable specification the native
kernels are tested against.
"""
from ._ref_hadamard import fjlt, fwht, srht
from ._ref_mst import mst, mst_length_batch
from ._rng import random_bits

__all__ = ["fjlt", "fwht", "mst", "mst_length_batch", "random_bits", "srht"]
