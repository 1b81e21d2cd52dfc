"""Isotropy and uniformity of one embedding matrix (X: n points × d dims).

IsoScore / IsoScore* (Rudman et al. 2022; Rudman & Eickhoff 2023/24, as the `IsoScore`
2.0.1 package), uniformity and alignment (Wang & Isola 2020, their align_uniform code),
W₂ distance to the nearest isotropic Gaussian (closed form), mean pairwise cosine.
All run in O(n·d + d²) memory: covariances by row blocks, pairs sampled or blocked.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .. import _rng
from .._validate import as_float_array, check_int, check_positive
from ._common import (BLOCK_ROWS, check_matrix, check_pair, eigvals_desc, one_blas_thread,
                      prepared, refuse_constant, refuse_zero_rows, rescale, row_sq_norms,
                      scatter)

# Counter-based stream of uniformity's pair sample (disjoint from lowdim._rng's streams).
STREAM_UNIFORMITY_PAIRS = 0x554E4946 << 32
GRAM_BLOCK_ENTRIES = 2**22   # exact uniformity: Gram entries held at once (32 MiB float64)
PAIR_CHUNK = 16384           # sampled uniformity: pairs gathered at once


# ---------------------------------------------------------------------------- IsoScore
def _isoscore_from_values(pcs: np.ndarray, d: int) -> float:
    """Steps 4-7 of IsoScore on the d principal variances (any common scale)."""
    pcs_norm = pcs * math.sqrt(d) / np.linalg.norm(pcs)
    defect = np.linalg.norm(pcs_norm - 1.0) / math.sqrt(2 * (d - math.sqrt(d)))
    return float(((d - defect**2 * (d - math.sqrt(d)))**2 - d) / (d * (d - 1)))


def _check_dims(x: np.ndarray, what: str) -> None:
    if x.shape[1] < 2:
        raise ValueError(f"{what} needs at least 2 columns, got shape {x.shape}")


def isoscore(X: npt.ArrayLike) -> float:
    """IsoScore of the rows of X (Rudman, Gillman, Rayne & Eickhoff, Findings of ACL 2022).

    With λ the d eigenvalues of the sample covariance C = X̃ᵀX̃ / (n − 1) (X̃ centred):

        λ̂ = √d · λ / ‖λ‖₂,   δ = ‖λ̂ − 1‖₂ / √(2(d − √d)),
        IsoScore = ((d − δ²(d − √d))² − d) / (d(d − 1))   ∈ [0, 1].

    1 for an isotropic cloud, 0 when all variance lies on one axis. Matches the authors'
    package `IsoScore` 2.0.1, `IsoScore.IsoScore(points)` (points (n, d), torch.cov and
    svdvals), to float64 rounding. The published 2022 code (IsoScore 1.x) reorients by PCA
    and takes the diagonal of the covariance of the PCA coordinates: the same eigenvalues,
    hence the same number, but it takes points as (d, n) and needs n >= d; here n < d is
    allowed and counts the d − n + 1 zero variances, as 2.0.1 does (use isoscore_star for
    n < d). Scale and rotation invariant.

    Parameters
    ----------
    X : array of shape (n, d), n >= 2, d >= 2, not constant.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> round(measures.isoscore(X), 2)                     # isotropic Gaussian: close to 1
    0.96
    >>> round(measures.isoscore(X * [1, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]), 3)
    0.0
    """
    x, _ = prepared(X)                      # scale invariant
    _check_dims(x, "isoscore")
    refuse_constant(x, "X", "IsoScore")
    return _isoscore_from_values(eigvals_desc(scatter(x)), x.shape[1])


def isoscore_star(X: npt.ArrayLike, *, zeta: float, C0: npt.ArrayLike | None = None
                  ) -> float:
    """IsoScore* (Rudman & Eickhoff, "Stable anisotropic regularization", ICLR 2024).

    IsoScore computed from the shrunk covariance C* = (1 − ζ)·C + ζ·C0 instead of C, where
    C = X̃ᵀX̃ / (n − 1); singular values of C* replace λ. Stabilises IsoScore when n is
    small against d. Matches `IsoScore.IsoScore_star(points, C0, zeta)` of the IsoScore
    2.0.1 package. ζ = 0 gives isoscore(X). Unlike IsoScore it is not scale invariant
    unless C0 scales with the data (C0 = I compares C to unit variance).

    Parameters
    ----------
    X : array of shape (n, d), n >= 2, d >= 2, not constant.
    zeta : float in [0, 1]
        Shrinkage weight; the package has no default, nor has this function.
    C0 : array of shape (d, d), optional
        Shrinkage target, e.g. the covariance of a larger sample of the same
        distribution. Default: the identity (the authors' advice when none is at hand).

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> round(measures.isoscore_star(X, zeta=0.5), 2)
    0.99
    """
    x, scale = prepared(X)
    _check_dims(x, "isoscore_star")
    if isinstance(zeta, bool) or not isinstance(zeta, numbers.Real):
        raise TypeError(f"zeta must be a number, got {type(zeta).__name__}")
    zeta = float(zeta)
    if not 0.0 <= zeta <= 1.0:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")
    d = x.shape[1]
    if C0 is None:
        c0 = np.eye(d)
    else:
        c0 = as_float_array(C0, name="C0", dtype=np.float64)
        if c0.shape != (d, d):
            raise ValueError(f"C0 must have shape ({d}, {d}), got {c0.shape}")
    refuse_constant(x, "X", "IsoScore*")
    shrunk = _shrunk(x, scale, zeta, c0)
    with one_blas_thread():                 # d × d: see _common.eigvals_desc
        if np.array_equal(shrunk, shrunk.T):    # singular values of a symmetric matrix
            pcs = np.abs(np.linalg.eigvalsh(shrunk))[::-1]   # are |λ|: eigvalsh, ~3× faster
        else:
            pcs = np.linalg.svd(shrunk, compute_uv=False)
    return _isoscore_from_values(pcs, d)


def _shrunk(x: np.ndarray, scale: float, zeta: float, c0: np.ndarray) -> np.ndarray:
    """(1 − ζ)·C + ζ·C0 up to a positive factor (IsoScore is scale free), C the covariance
    of x·scale: the larger of the two weights (1 − ζ)·scale² and ζ is divided out, their
    ratio taken in logarithms so that neither overflows nor underflows on the way."""
    cov = scatter(x) / (x.shape[0] - 1)
    if zeta == 0.0 or zeta == 1.0:
        return cov if zeta == 0.0 else c0
    log_ratio = math.log(zeta) - math.log1p(-zeta) - 2.0 * math.log(scale)
    if log_ratio <= 0.0:                     # ζ / ((1 − ζ)·scale²) <= 1
        result: np.ndarray = cov + math.exp(log_ratio) * c0
        return result
    result = math.exp(-log_ratio) * cov + c0
    return result


# ------------------------------------------------------------------ W2 to isotropy
def w2_isotropy(X: npt.ArrayLike, *, normalize: bool = True) -> float:
    """W₂ distance from the Gaussian fitted to X to the nearest isotropic Gaussian.

    With λ the eigenvalues of the sample covariance C (ddof = 1), the Bures–Wasserstein
    distance between N(μ, C) and N(μ, σ²I) is W₂² = Σλ + dσ² − 2σ Σ√λ (Dowson & Landau
    1982; Olkin & Pukelsheim 1982), minimised at σ = mean(√λ):

        W₂² = Σ_i λ_i − (Σ_i √λ_i)² / d.

    normalize=True (default) divides by √(Σλ) = the W₂ distance of N(μ, C) to the point
    mass at μ, giving a scale-free number in [0, √(1 − 1/d)]: 0 isotropic, √(1 − 1/d) all
    variance on one axis. normalize=False returns W₂ in the units of X. No paper's code
    defines this measure; the closed form above is the whole definition. Rotation
    invariant.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> round(measures.w2_isotropy(X), 2)       # 0 for a perfectly isotropic covariance
    0.1
    """
    x, scale = prepared(X)
    refuse_constant(x, "X", "w2_isotropy")
    lam = eigvals_desc(scatter(x)) / (x.shape[0] - 1)
    w2sq = max(lam.sum() - np.sqrt(lam).sum()**2 / x.shape[1], 0.0)
    if normalize:
        return float(math.sqrt(w2sq / lam.sum()))
    w2 = math.sqrt(w2sq) * scale           # x was scaled by 1 / scale (a power of two)
    if not math.isfinite(w2):
        raise ValueError("w2_isotropy(normalize=False) overflows float64 for this X; "
                         "use normalize=True or scale X down")
    return float(w2)


# --------------------------------------------------------------------- mean cosine
def mean_cosine(X: npt.ArrayLike) -> float:
    """Mean cosine similarity over all ordered pairs i ≠ j of rows of X.

        (1 / (n(n − 1))) Σ_{i≠j} cos(x_i, x_j) = (‖Σ_i u_i‖² − Σ_i ‖u_i‖²) / (n(n − 1)),

    u_i = x_i / ‖x_i‖ (Σ‖u_i‖² = n): exact, no sampling, in O(n·d) time and O(d) extra
    memory; float32 input is multiplied in float32 and summed over blocks in float64. The
    "average cosine similarity" anisotropy measure (Ethayarajh 2019 uses random pairs;
    this is the mean over all pairs). Constant nonzero rows give 1. Rows must be nonzero.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> round(measures.mean_cosine(X), 2), round(measures.mean_cosine(X + 5), 2)
    (-0.0, 0.97)
    """
    x, _ = prepared(X)                      # scale invariant
    norms = refuse_zero_rows(x, "X", "mean_cosine")
    n = x.shape[0]
    total = np.zeros(x.shape[1])
    for s in range(0, n, BLOCK_ROWS):             # Σ u_i as (1/‖x_i‖)ᵀ X, block by block
        w = (1.0 / norms[s:s + BLOCK_ROWS]).astype(x.dtype)
        total += w @ x[s:s + BLOCK_ROWS]
    return float((total @ total - n) / (n * (n - 1)))


# ------------------------------------------------------------ uniformity, alignment
class Uniformity(NamedTuple):
    """value: the estimate; n_pairs: pairs it averages; exact: all n(n−1)/2 pairs were
    used; stderr: standard error of the estimate from the pair sample (0 when exact).

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> u = measures.uniformity(X)
    >>> u.n_pairs, u.exact, u.stderr
    (19900, True, 0.0)
    """
    value: float
    n_pairs: int
    exact: bool
    stderr: float


def _unit(x: np.ndarray, norms: np.ndarray, s: slice) -> np.ndarray:
    result: np.ndarray = x[s].astype(np.float64) / norms[s, None]
    return result


def uniformity(X: npt.ArrayLike, t: float = 2.0, *, log: bool = True, normalize: bool = True,
               max_pairs: int = 100_000, seed: int = 0) -> Uniformity:
    """Uniformity loss of Wang & Isola 2020 ("Understanding contrastive representation
    learning through alignment and uniformity on the hypersphere").

        U = log( mean_{i<j} exp(−t ‖z_i − z_j‖²) ),   z_i = x_i / ‖x_i‖,

    as their `uniform_loss(x, t=2)` = torch.pdist(x).pow(2).mul(-t).exp().mean().log().
    Lower is more uniform; U ∈ [−4t, 0] on the unit sphere. log=False returns the mean
    itself (the Gaussian-potential form, in (0, 1]). normalize=False skips the projection
    to the sphere (their function assumes normalised features; lowdim normalises by
    default so raw embeddings can be passed).

    When n(n − 1)/2 <= max_pairs every pair is used, in row blocks of the Gram matrix
    (O(block·n) memory). Otherwise `max_pairs` ordered pairs (i, j), i ≠ j, are drawn
    uniformly with replacement from lowdim's counter-based generator (seed), so the
    result is the same on every machine; the standard error of the estimate is returned
    (delta method for the log). Returns Uniformity(value, n_pairs, exact, stderr).

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> u = measures.uniformity(X)              # all 200·199/2 pairs: exact
    >>> round(u.value, 2), u.n_pairs, u.exact
    (-3.09, 19900, True)
    """
    x, scale = prepared(X)        # normalize=True: scale free; else d² is scaled back
    t = check_positive(t, name="t")
    max_pairs = check_int(max_pairs, name="max_pairs", low=1)
    seed = _rng.check_seed(seed)
    n = x.shape[0]
    norms = (refuse_zero_rows(x, "X", "uniformity") if normalize
             else np.sqrt(row_sq_norms(x)))
    acc = _LogMeanExp(t, 1.0 if normalize else scale)
    total_pairs = n * (n - 1) // 2
    if total_pairs <= max_pairs:
        _uniformity_exact(x, norms if normalize else np.ones(n), acc)
    else:
        _uniformity_sampled(x, norms, max_pairs, seed, normalize, acc)
    log_mean, rel_se = acc.result()
    if not math.isfinite(log_mean):
        raise ValueError("uniformity: exp(-t·‖z_i − z_j‖²) underflows float64's exponent "
                         "range for every pair (t·distance² too large); use "
                         "normalize=True, a smaller t, or scale X down")
    if log:
        value, se = log_mean, rel_se
    else:
        value = math.exp(log_mean)
        se = rel_se * value
    return Uniformity(float(value), int(acc.m), total_pairs <= max_pairs, float(se))


class _LogMeanExp:
    """Streaming log(mean_p exp(−w·d²_p)) and the relative standard error of the mean.

    The terms are kept relative to the largest exponent seen (log-sum-exp), so the mean
    of values that all underflow (far-apart unnormalised rows) is still exact in the log.
    d² is measured on x / scale; t·scale²·d² is formed as exp(log t + 2 log scale + log d²)
    only when scale ≠ 1, where t·scale² itself may overflow. exact: all pairs (se 0).
    """

    def __init__(self, t: float, scale: float):
        self.t, self.scale, self.exact = t, scale, False
        self.top, self.s1, self.s2, self.m = -math.inf, 0.0, 0.0, 0

    def add(self, d2: np.ndarray) -> None:
        d2 = np.maximum(d2, 0.0)
        if self.scale == 1.0:
            e = -self.t * d2
        else:
            # log 0 = −inf: a zero distance, e = 0; exp overflow: e = −inf, a term of 0
            with np.errstate(divide="ignore", over="ignore"):
                e = -np.exp(math.log(self.t) + 2.0 * math.log(self.scale) + np.log(d2))
        self.m += len(e)
        top = float(e.max()) if len(e) else -math.inf
        if top > self.top:                        # rebase the running sums
            if self.top > -math.inf:
                f = math.exp(self.top - top)
                self.s1, self.s2 = self.s1 * f, self.s2 * f * f
            self.top = top
        if self.top == -math.inf:
            return
        v = np.exp(e - self.top)
        self.s1 += float(v.sum())
        self.s2 += float(v @ v)

    def result(self) -> tuple[float, float]:
        """(log of the mean, standard error of the mean / the mean); 0 se when exact."""
        if self.top == -math.inf or self.s1 <= 0:
            return -math.inf, math.inf
        m = self.m
        mean = self.s1 / m
        if self.exact:
            return self.top + math.log(mean), 0.0
        var = max(self.s2 / m - mean * mean, 0.0) * m / (m - 1) if m > 1 else 0.0
        return self.top + math.log(mean), math.sqrt(var / m) / mean


def _uniformity_exact(x: np.ndarray, norms: np.ndarray, acc: _LogMeanExp) -> None:
    """Every pair i < j, by row blocks of the Gram matrix of z = x / norms (float64)."""
    n = x.shape[0]
    block = max(1, min(n, GRAM_BLOCK_ENTRIES // n))
    z = np.empty((n, x.shape[1]))
    for s in range(0, n, BLOCK_ROWS):
        z[s:s + BLOCK_ROWS] = _unit(x, norms, slice(s, s + BLOCK_ROWS))
    sq = np.einsum("ij,ij->i", z, z)
    for s in range(0, n - 1, block):
        e = min(s + block, n - 1)
        g = z[s:e] @ z[s + 1:].T                 # rows s..e-1 against columns s+1..n-1
        d2 = sq[s:e, None] + sq[None, s + 1:] - 2 * g
        keep = np.arange(s + 1, n)[None, :] > np.arange(s, e)[:, None]   # j > i only
        acc.add(d2[keep])
    acc.exact = True


def _uniformity_sampled(x: np.ndarray, norms: np.ndarray, m: int, seed: int, normalize: bool,
                        acc: _LogMeanExp) -> None:
    """exp(−t‖z_i − z_j‖²) over m sampled pairs, by row dot products in x's dtype:
    ‖z_i − z_j‖² = 2 − 2·x_i·x_j / (‖x_i‖‖x_j‖) (normalised) or ‖x_i‖² + ‖x_j‖² − 2·x_i·x_j.
    In float32 the squared distance is off by ~1e-6, far below the sampling error."""
    n = x.shape[0]
    for s in range(0, m, PAIR_CHUNK):
        i, j = sample_pairs(seed, n, s, min(s + PAIR_CHUNK, m))
        dots = np.einsum("ij,ij->i", x[i], x[j]).astype(np.float64)
        if normalize:
            sq = 2.0 - 2.0 * dots / (norms[i] * norms[j])
        else:
            sq = norms[i] ** 2 + norms[j] ** 2 - 2.0 * dots
        acc.add(sq)


def sample_pairs(seed: int, n: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs number start..stop-1 of the seeded sample: ordered (i, j), i ≠ j, uniform.

    Pair p uses draws 2p and 2p + 1 of one counter-based stream: i = ⌊u·n⌋ and
    j = (i + 1 + ⌊u'·(n − 1)⌋) mod n, so any chunking of p gives the same pairs.
    """
    key = _rng.stream_key(seed, STREAM_UNIFORMITY_PAIRS)
    p = np.arange(start, stop, dtype=np.uint64)
    i = (_rng.uniform(_rng.bits(key, 2 * p)) * n).astype(np.int64)
    off = (_rng.uniform(_rng.bits(key, 2 * p + 1)) * (n - 1)).astype(np.int64)
    return i, (i + 1 + off) % n


def alignment(X: npt.ArrayLike, Y: npt.ArrayLike, alpha: float = 2.0, *,
              normalize: bool = True) -> float:
    """Alignment loss of Wang & Isola 2020 between paired rows (positive pairs) x_i, y_i:

        A = mean_i ‖z_i − w_i‖₂^α,   z_i = x_i / ‖x_i‖, w_i = y_i / ‖y_i‖,

    as their `align_loss(x, y, alpha=2)` = (x − y).norm(dim=1).pow(alpha).mean(). 0 when
    every pair coincides (identical spaces), at most 2^α on the sphere; lower is better.
    normalize=False uses the rows as given (their function assumes normalised inputs).
    X and Y must have the same shape (one space).

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import measures
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> measures.alignment(X, X)                    # positive pairs at distance 0
    0.0
    >>> measures.alignment(X, -X) > measures.alignment(X, X + 0.1)
    True
    """
    x, y = check_pair(X, Y, same_dims=True)
    alpha = check_positive(alpha, name="alpha")
    if normalize:                           # z = x / ‖x‖: each side scale free
        (x, _), (y, _) = rescale(x), rescale(y)
        scale = 1.0
    else:                                   # one common power of two keeps x − y exact
        xy, scale = rescale(np.stack([x, y]))
        x, y = xy[0], xy[1]
    nx = refuse_zero_rows(x, "X", "alignment") if normalize else np.ones(len(x))
    ny = refuse_zero_rows(y, "Y", "alignment") if normalize else np.ones(len(y))
    log_d = np.empty(len(x))                # log ‖z_i − w_i‖ (−inf for equal rows)
    for s in range(0, len(x), BLOCK_ROWS):
        sl = slice(s, s + BLOCK_ROWS)
        diff = _unit(x, nx, sl) - _unit(y, ny, sl)
        with np.errstate(divide="ignore"):
            log_d[sl] = 0.5 * np.log(np.einsum("ij,ij->i", diff, diff))
    top = float(log_d.max())
    if top == -math.inf:
        return 0.0
    # mean of ‖·‖^α = exp(α·log‖·‖) taken relative to the largest term: no overflow on
    # the way (α can be large), only if the mean itself exceeds float64
    log_mean = alpha * (top + math.log(scale)) + math.log(
        float(np.exp(alpha * (log_d - top)).mean()))
    if log_mean > math.log(np.finfo(np.float64).max):
        raise ValueError("alignment overflows float64 for this X, Y and alpha; use "
                         "normalize=True, a smaller alpha, or scale X and Y down")
    return math.exp(log_mean)
