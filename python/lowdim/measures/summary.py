"""One-call summaries for `lowdim report`: the geometry numbers of one matrix, and the
similarity numbers of two embeddings of the same rows, as plain dicts (JSON-ready).

Each input is validated once; the d × d scatter and the kNN graph are computed once and
shared by the measures that need them.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .. import neighbors
from .._validate import check_int
from . import isotropy, similarity, spectrum
from ._common import PairMoments, eigvals_desc, prepared, refuse_constant, scatter_and_mean
from .hubness import hubness_from_indices


def summary(X: npt.ArrayLike, *, k: int = 10, n_outliers: int = 5, seed: int = 0,
            knn: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            max_pairs: int = 100_000) -> dict[str, Any]:
    """Geometry of X (n, d) for the report, as a dict of floats / ints / lists.

    Keys: n, d; isoscore, mean_cosine, uniformity (+ uniformity_pairs, exact, stderr;
    `max_pairs` sampled pairs at most), w2_isotropy; effective_rank (RankMe, paper form:
    X not centred), effective_rank_centered (center=True), vn_entropy, alpha_req (+ r2);
    outlier_dimensions (count, rule, worst: [(dim, variance / mean variance)] of the
    `n_outliers` worst); hubness_k, hubness_skewness, antihub_share, hub_share; and
    undefined: {key: reason} for the keys that are None. `knn` may pass lowdim.knn(X, >= k)
    results to reuse (the report's k = 20 graph). One d × d scatter and one kNN graph serve
    every measure; each value equals the public function's on the same X.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> s = measures.summary(X, k=5)
    >>> round(s["isoscore"], 1), s["outlier_dimensions"]["count"]
    (1.0, 0)
    """
    x, _ = prepared(X)                 # every key is scale invariant
    k = check_int(k, name="k", low=1, high=x.shape[0] - 1)
    n_outliers = check_int(n_outliers, name="n_outliers", low=0)
    refuse_constant(x, "X", "summary")
    n, d = x.shape
    S, mean = scatter_and_mean(x)        # the one d × d product of every spectrum key
    lam = eigvals_desc(S)
    gram_lam = eigvals_desc(S + n * np.outer(mean, mean))
    q = lam / lam.sum()
    q = q[q > 0]
    nonzero = x.any(axis=1).all()
    uni = isotropy.uniformity(x, seed=seed, max_pairs=max_pairs) if nonzero else None
    out = {"n": n, "d": d}
    why = {}
    out["isoscore"] = isotropy._isoscore_from_values(lam, d) if d >= 2 else None
    if d < 2:
        why["isoscore"] = "needs at least 2 columns"
    out["mean_cosine"] = isotropy.mean_cosine(x) if nonzero else None
    out["uniformity"] = uni.value if uni is not None else None
    out["uniformity_pairs"] = uni.n_pairs if uni is not None else 0
    out["uniformity_exact"] = bool(uni.exact) if uni is not None else False
    out["uniformity_stderr"] = uni.stderr if uni is not None else None
    if not nonzero:
        why["mean_cosine"] = why["uniformity"] = "X has all-zero rows (no direction)"
    w2sq = max(lam.sum() - np.sqrt(lam).sum() ** 2 / d, 0.0)
    out["w2_isotropy"] = float(np.sqrt(w2sq / lam.sum()))
    out["effective_rank"] = _rankme(gram_lam[:min(n, d)])
    out["effective_rank_centered"] = _rankme(lam[:min(n, d)])
    out["vn_entropy"] = float(-(q * np.log(q)).sum())
    try:
        a = spectrum.alpha_from_eigvals(lam[:min(n, d)], 5, 100)
        out["alpha_req"], out["alpha_req_r2"] = a.alpha, a.r2
    except ValueError as exc:                 # fewer than 7 nonzero eigenvalues
        out["alpha_req"], out["alpha_req_r2"] = None, None
        why["alpha_req"] = why["alpha_req_r2"] = str(exc)
    od = spectrum.outlier_dimensions(x)
    out["outlier_dimensions"] = {
        "count": int(len(od.indices)), "rule": od.rule,
        "worst": [[int(i), float(s)] for i, s in zip(od.indices[:n_outliers],
                                                     od.scores[:n_outliers])]}
    if knn is None:
        _, idx = neighbors.knn(x, k)
    else:
        idx = np.asarray(knn[1])[:, :k]
    h = hubness_from_indices(idx, n, k)
    out.update(hubness_k=k, hubness_skewness=h.skewness, antihub_share=h.antihub_share,
               hub_share=h.hub_share, undefined=why)
    return out


def _rankme(lam: np.ndarray) -> float:
    """RankMe with ε = 1e-7 from the eigenvalues λ = σ² of a Gram matrix."""
    sig = np.sqrt(lam)
    p = sig / sig.sum() + 1e-7
    return float(np.exp(-(p * np.log(p)).sum()))


def compare_summary(X: npt.ArrayLike, Y: npt.ArrayLike, *, k: int = 10) -> dict[str, Any]:
    """Similarity of two embeddings of the same rows, for `lowdim report --compare`.

    Keys: n, d_x, d_y; linear_cka, linear_cka_debiased (None when n < 4),
    procrustes (Ding et al. squared distance 2 − 2ν), mutual_knn_k, mutual_knn_alignment,
    knn_jaccard (cosine neighbours, as the public functions' defaults). The d × d moments
    are computed once for both CKAs and Procrustes.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((100, 6))
    >>> c = measures.compare_summary(X, 3 * X[:, ::-1], k=5)
    >>> round(c["linear_cka"], 6), round(c["procrustes"], 6), c["mutual_knn_alignment"]
    (1.0, 0.0, 1.0)
    """
    x, y = similarity._checked_pair(X, Y, "compare_summary")
    k = check_int(k, name="k", low=1, high=x.shape[0] - 1)
    out = {"n": x.shape[0], "d_x": x.shape[1], "d_y": y.shape[1]}
    mom = PairMoments(x, y, row_norms=x.shape[0] >= 4)
    out["linear_cka"] = similarity.cka_from_moments(mom, False)
    out["linear_cka_debiased"] = (similarity.cka_from_moments(mom, True)
                                  if x.shape[0] >= 4 else None)
    out["procrustes"] = similarity.procrustes_from_moments(mom)
    ix, iy = similarity._pair_knn(x, y, k, "cosine", "compare_summary", None)
    c = similarity.shared_neighbours(ix, iy)
    out["mutual_knn_k"] = k
    out["mutual_knn_alignment"] = float(c.mean() / k)
    out["knn_jaccard"] = float(np.mean(c / (2.0 * k - c)))
    return out
