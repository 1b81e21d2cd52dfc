"""lowdim._ref: the numpy backend, twin of the C++ module lowdim._core.

Same function names, arguments and outputs as _core; each kernel family lives in its
own _ref_<family>.py and is gathered here. This backend runs when the native build is
missing or LOWDIM_BACKEND=numpy, and it is the executable specification the native
kernels are tested against.
"""
from .codecs._ref_codecs import (codec_decode, codec_encode, codec_norms, codec_search_float,
                                  codec_search_int, hamming_knn)
from ._ref_hadamard import fjlt, fwht, fwht_checked, fwht_checked_into, srht
from ._ref_fastscan import pq_fastscan_search
from ._ref_knn import knn
from ._ref_knn_int8 import knn_int8
from ._ref_mst import mst, mst_length_batch
from ._ref_pq import pq_decode, pq_distance_table, pq_encode, pq_kmeans, pq_search
from ._ref_sparse_projection import csr_spmm, sparse_rp_csr, sparse_rp_dense, sparse_rp_pattern
from .quantizers._ref_rabitq import (rabitq_encode, rabitq_encode_raw, rabitq_estimate,
                                     rabitq_lut, rabitq_scan, rabitq_search)
from ._rng import random_bits

__all__ = [
    "codec_decode", "codec_encode", "codec_norms", "codec_search_float", "codec_search_int",
    "hamming_knn",
    "csr_spmm", "fjlt", "fwht", "fwht_checked", "knn", "knn_int8", "mst", "mst_length_batch",
    "fwht_checked_into",
    "pq_decode",
    "pq_distance_table", "pq_encode", "pq_fastscan_search", "pq_kmeans", "pq_search",
    "rabitq_encode", "rabitq_encode_raw", "rabitq_estimate", "rabitq_lut", "rabitq_scan",
    "rabitq_search",
    "random_bits",
    "sparse_rp_csr", "sparse_rp_dense", "sparse_rp_pattern", "srht",
]
