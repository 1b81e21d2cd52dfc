"""lowdim.quantizers: quantizers with distance estimators beyond per-dimension codes.

RaBitQ (1-bit codes with an unbiased estimator and error bounds, rabitq.py). The numpy twin
of its kernel is _ref_rabitq.py; the C++ kernels live in cpp/src/rabitq/.
"""
from .rabitq import RaBitQ

__all__ = ["RaBitQ"]
