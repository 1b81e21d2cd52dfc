"""lowdim.codecs: float, integer and binary codes of embeddings, searched on the codes.

Conversions (to_fp8/from_fp8, to_bf16/from_bf16, to_fp16/from_fp16, binarize), the
ScalarQuantizer estimator, exact Hamming kNN and rescoring of candidates. The numpy twin of
the kernels is _ref_codecs.py; the C++ kernels live in cpp/src/codecs/.
"""
from .conversions import binarize, from_bf16, from_fp8, from_fp16, to_bf16, to_fp8, to_fp16
from .quantizer import ScalarQuantizer, hamming_knn, rescore

__all__ = ["ScalarQuantizer", "binarize", "from_bf16", "from_fp16", "from_fp8", "hamming_knn",
           "rescore", "to_bf16", "to_fp16", "to_fp8"]
