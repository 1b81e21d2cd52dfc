"""Similarity of two representations X (n × d1), Y (n × d2) of the same n items.

Linear CKA and debiased CKA (Kornblith et al. 2019; unbiased HSIC of Song et al. 2007 as
in Nguyen, Raghu & Kornblith 2021), orthogonal Procrustes distance (Ding, Denain &
Steinhardt 2021; Williams et al. 2021), mutual-kNN alignment (Huh et al. 2024, "The
Platonic representation hypothesis") and top-k Jaccard overlap. All in feature space or
through lowdim.knn: O(n·(d1 + d2) + (d1 + d2)²) memory, never an n × n Gram matrix.
"""
from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .. import neighbors
from .._validate import check_int
from ._common import PairMoments, check_pair, one_blas_thread, refuse_constant, rescale

PROCRUSTES_KINDS = ("squared", "euclidean", "angular")
KNN_METRICS = ("cosine", "inner_product", "euclidean", "sqeuclidean")


def _checked_pair(X: npt.ArrayLike, Y: npt.ArrayLike, what: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Validated X, Y, each scaled by a power of two into a safe range: every measure here
    is invariant to scaling X and Y separately (CKA, Procrustes, neighbour sets)."""
    x, y = check_pair(X, Y)
    refuse_constant(x, "X", what)
    refuse_constant(y, "Y", what)
    return rescale(x)[0], rescale(y)[0]


def linear_cka(X: npt.ArrayLike, Y: npt.ArrayLike, *, debiased: bool = False) -> float:
    """Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton, ICML 2019).

    Feature-space form, X̃, Ỹ column-centred:

        CKA = ‖ỸᵀX̃‖_F² / (‖X̃ᵀX̃‖_F · ‖ỸᵀỸ‖_F)

    = HSIC(K, L) / √(HSIC(K, K) HSIC(L, L)) for K = X̃X̃ᵀ, L = ỸỸᵀ, computed from the
    d × d products only. debiased=True replaces each HSIC by the unbiased estimator
    (Song et al. 2007), used for CKA by Nguyen, Raghu & Kornblith (ICLR 2021):

        HSIC_u(K, L) ∝ ‖ỸᵀX̃‖_F² − n/(n − 2) · Σ_i ‖x̃_i‖²‖ỹ_i‖²
                       + ‖X̃‖_F²‖Ỹ‖_F² / ((n − 1)(n − 2)),

    exactly `feature_space_linear_cka(X, Y, debiased=True)` of Kornblith's CKA notebook
    (their _debiased_dot_product_similarity_helper), which equals the Gram-matrix
    U-statistic (Székely–Rizzo centring with zeroed diagonal) without forming it; needs
    n >= 4. Biased CKA is in [0, 1] (1 for identical spaces, any rotation or isotropic
    scaling of X); for independent spaces it is biased upwards by about √(d1·d2)/n,
    debiased CKA is ≈ 0 there and may be slightly negative. Memory O(n + (d1 + d2)²).

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> Q = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 8)))[0]
    >>> round(measures.linear_cka(X, 3 * X @ Q), 6)     # invariant to rotation and scale
    1.0
    >>> Y = np.random.default_rng(2).standard_normal((200, 8))
    >>> measures.linear_cka(X, Y) < 0.2
    True
    """
    x, y = _checked_pair(X, Y, "linear_cka")
    if debiased and x.shape[0] < 4:
        raise ValueError(f"debiased CKA needs at least 4 rows, got {x.shape[0]}")
    return cka_from_moments(PairMoments(x, y, row_norms=debiased), debiased)


def cka_from_moments(mom: PairMoments, debiased: bool) -> float:
    """Linear CKA from the d × d products (and, debiased, the centred row-norm sums)."""
    n = mom.n
    xty = float(np.sum(mom.Sxy ** 2))
    xtx = float(np.sum(mom.Sxx ** 2))
    yty = float(np.sum(mom.Syy ** 2))
    if debiased:
        assert mom.r_sums is not None and mom.r_dots is not None   # made with row_norms
        (nx, ny), dots = mom.r_sums, mom.r_dots

        def unbiased(dot: float, ab: float, sa: float, sb: float) -> float:
            result: float = dot - n / (n - 2.0) * ab + sa * sb / ((n - 1.0) * (n - 2.0))
            return result
        xty = unbiased(xty, dots["xy"], nx, ny)
        xtx = unbiased(xtx, dots["xx"], nx, nx)
        yty = unbiased(yty, dots["yy"], ny, ny)
        if xtx <= 0 or yty <= 0:
            raise ValueError("debiased CKA is undefined here: the unbiased HSIC of X or Y "
                             "with itself is not positive (too few rows)")
    return xty / math.sqrt(xtx * yty)


def procrustes_distance(X: npt.ArrayLike, Y: npt.ArrayLike, *, kind: str = "squared") -> float:
    """Orthogonal Procrustes distance between X and Y after centring each and scaling it
    to unit Frobenius norm (zero-padding the narrower one):

        ν = ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F)   (nuclear norm: the best rotation's fit),
        kind="squared"   (default): d² = 2 − 2ν = min_Q ‖X̂ − ŶQ‖_F², Ding, Denain &
                          Steinhardt 2021 (NeurIPS), their code's `procrustes` value;
        kind="euclidean": √(2 − 2ν);
        kind="angular":   arccos ν, the shape metric of Williams et al. 2021 (netrep).

    0 for identical spaces and for any rotation, reflection, translation or isotropic
    scaling of X. Computed from the d1 × d2 cross product: O((d1 + d2)²) memory.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> Q = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 8)))[0]
    >>> round(measures.procrustes_distance(X, X @ Q), 6)        # a rotation: distance 0
    0.0
    """
    if kind not in PROCRUSTES_KINDS:
        raise ValueError(f"kind must be one of {PROCRUSTES_KINDS}, got {kind!r}")
    x, y = _checked_pair(X, Y, "procrustes_distance")
    return procrustes_from_moments(PairMoments(x, y), kind)


def procrustes_from_moments(mom: PairMoments, kind: str = "squared") -> float:
    """Procrustes distance from the centred d1 × d2 cross product and the traces."""
    with one_blas_thread():                 # d1 × d2: see _common.eigvals_desc
        nu = float(np.linalg.svd(mom.Sxy, compute_uv=False).sum())
    nu = min(nu / math.sqrt(mom.trace_x * mom.trace_y), 1.0)
    if kind == "angular":
        return math.acos(nu)
    sq = max(2.0 - 2.0 * nu, 0.0)
    return sq if kind == "squared" else math.sqrt(sq)


def _pair_knn(X: npt.ArrayLike, Y: npt.ArrayLike, k: int, metric: str, what: str,
              n_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    if metric not in KNN_METRICS:
        raise ValueError(f"metric must be one of {KNN_METRICS}, got {metric!r}")
    x, y = _checked_pair(X, Y, what)
    k = check_int(k, name="k", low=1, high=x.shape[0] - 1)
    for arr, name in ((x, "X"), (y, "Y")):
        if metric == "cosine" and not (arr.any(axis=1)).all():
            zero = int((~arr.any(axis=1)).sum())
            raise ValueError(f"{name} has {zero} all-zero rows; cosine neighbours are "
                             "undefined for them")
    _, ix = neighbors.knn(x, k, metric=metric, n_threads=n_threads)
    _, iy = neighbors.knn(y, k, metric=metric, n_threads=n_threads)
    return ix, iy


def shared_neighbours(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """|N^X(i) ∩ N^Y(i)| per row of two (n, k) index arrays (each row's indices distinct)."""
    both = np.sort(np.concatenate([ix, iy], axis=1), axis=1)
    result: np.ndarray = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return result


def mutual_knn_alignment(X: npt.ArrayLike, Y: npt.ArrayLike, k: int = 10, *,
                         metric: str = "cosine", n_threads: int | None = None) -> float:
    """Mutual k-nearest-neighbour alignment (Huh, Cheung, Wang & Isola, ICML 2024):

        m = (1/n) Σ_i |N_k^X(i) ∩ N_k^Y(i)| / k,

    N_k^X(i) the k nearest neighbours of row i among the other rows of X (self
    excluded). Their `mutual_knn` ranks by inner product of L2-normalised features, which
    is metric="cosine" (default); "inner_product" ranks raw inner products (their code on
    unnormalised input), "euclidean" by distance. 1 for identical spaces (and any
    rotation or scaling of X), about k/(n − 1) for unrelated ones. Ties go to the lower
    index (lowdim.knn); their argsort breaks ties arbitrarily. Their pipeline also clips
    features at the 0.95 quantile of |x| first (prepare_features); pass clipped features
    to reproduce it.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> Q = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 8)))[0]
    >>> measures.mutual_knn_alignment(X, X @ Q, k=5)       # the same neighbour sets
    1.0
    """
    ix, iy = _pair_knn(X, Y, k, metric, "mutual_knn_alignment", n_threads)
    return float(shared_neighbours(ix, iy).mean() / ix.shape[1])


def knn_overlap(X: npt.ArrayLike, Y: npt.ArrayLike, k: int, *, metric: str = "cosine",
                n_threads: int | None = None) -> float:
    """Mean top-k Jaccard index of the neighbour sets of each row in X and in Y:

        J = (1/n) Σ_i |A_i ∩ B_i| / |A_i ∪ B_i| = (1/n) Σ_i c_i / (2k − c_i),

    A_i = N_k^X(i), B_i = N_k^Y(i) (self excluded), c_i = |A_i ∩ B_i|. 1 for identical
    neighbourhoods. Same neighbours and metrics as mutual_knn_alignment.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> Q = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 8)))[0]
    >>> measures.knn_overlap(X, X @ Q, 5)
    1.0
    """
    ix, iy = _pair_knn(X, Y, k, metric, "knn_overlap", n_threads)
    c = shared_neighbours(ix, iy)
    return float(np.mean(c / (2.0 * ix.shape[1] - c)))
