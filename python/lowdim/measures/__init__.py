"""lowdim.measures: geometry diagnostics of embedding matrices, in O(n·d + d²) memory.

Isotropy (IsoScore, IsoScore*, uniformity, alignment, W₂ to isotropy, mean cosine),
spectrum (RankMe effective rank, von Neumann entropy, α-ReQ, outlier dimensions),
hubness (k-occurrence skewness on lowdim.knn) and similarity of two representations of
the same rows (linear / debiased CKA, Procrustes, mutual-kNN alignment, top-k Jaccard).
Pure numpy plus lowdim.knn; formulas and the papers' code they match: docs/measures.md.
"""
from .hubness import Hubness, hubness
from .isotropy import (Uniformity, alignment, isoscore, isoscore_star, mean_cosine,
                       uniformity, w2_isotropy)
from .similarity import knn_overlap, linear_cka, mutual_knn_alignment, procrustes_distance
from .spectrum import (AlphaReq, OutlierDimensions, alpha_req, effective_rank,
                       outlier_dimensions, vn_entropy)
from .summary import compare_summary, summary

__all__ = [
    "isoscore", "isoscore_star", "uniformity", "alignment", "w2_isotropy", "mean_cosine",
    "effective_rank", "vn_entropy", "alpha_req", "outlier_dimensions", "hubness",
    "linear_cka", "procrustes_distance", "mutual_knn_alignment", "knn_overlap",
    "summary", "compare_summary",
    "AlphaReq", "Hubness", "OutlierDimensions", "Uniformity",
]
