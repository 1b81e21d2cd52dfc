"""lowdim: fast CPU kernels for embedding geometry.

Project (very sparse random projection, FWHT, SRHT, FJLT), compress (product
quantization; float, integer and binary codecs searched on the codes) and measure (kNN,
intrinsic dimension, Euclidean MST) embedding matrices.
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
from .codecs import (ScalarQuantizer, binarize, from_bf16, from_fp8, from_fp16, hamming_knn,
                     rescore, to_bf16, to_fp8, to_fp16)
from .fastrp import FastRP, fastrp
from .hadamard import SRHT, FastJLT, fjlt, fwht, srht
from .intrinsic import intrinsic_dim, lid, twonn
from .mst import mst, mst_length, mst_length_batch, ph_dimension
from .neighbors import knn, remove_duplicates
from .pq import ProductQuantizer, pq_decode, pq_encode
from .quantizers import RaBitQ
from .random_projection import (GaussianRandomProjection, SparseRandomProjection,
                                gaussian_random_projection, sparse_random_projection)
from . import measures  # noqa: E402  (lowdim.measures.isoscore, linear_cka, ...)
from . import id  # noqa: E402  (lowdim.id.MLE / TwoNN; not in __all__: it would shadow id())
from .id import id_scale_curve  # noqa: E402

__all__ = [
    # settings
    "available_isas", "backend", "config", "get_num_threads", "isa", "set_backend",
    "set_isa", "set_num_threads", "show_config",
    # project
    "FastJLT", "FastRP", "GaussianRandomProjection", "SRHT", "SparseRandomProjection",
    "fastrp", "fjlt", "fwht", "gaussian_random_projection", "johnson_lindenstrauss_min_dim",
    "sparse_random_projection", "srht",
    # compress
    "ProductQuantizer", "pq_decode", "pq_encode", "RaBitQ",
    "ScalarQuantizer", "binarize", "from_bf16", "from_fp8", "from_fp16", "rescore", "to_bf16",
    "to_fp8", "to_fp16",
    # measure
    "hamming_knn", "id_scale_curve", "intrinsic_dim", "knn", "lid", "mst", "mst_length",
    "mst_length_batch", "ph_dimension", "remove_duplicates", "twonn",
]
