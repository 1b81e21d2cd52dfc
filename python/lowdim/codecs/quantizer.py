"""ScalarQuantizer: float, integer and binary codes per dimension, searched on the codes.

int8/uint8/int4 follow faiss's ScalarQuantizer (QT_8bit, QT_4bit): xi = clip((x − lo)/(hi −
lo), 0, 1) in float32, code = floor(255·xi) (4 bits: floor(15·xi)), decode lo + (code +
½)/255·(hi − lo); ranges per dimension learnt on a sample (sentence-transformers' calibration
convention). Float kinds round to nearest even (conversions.py); binary keeps sign bits and is
searched by Hamming distance; rescoring reranks oversample·k candidates with finer vectors.
"""
from __future__ import annotations

import math
import numbers
import os
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .._base import (BaseEstimator, ReconstructingQuantizerMixin, TransformerMixin,
                     check_is_fitted, validate_rows)
from .._savefile import check_generator, read_npz, write_npz
from .._validate import as_float_array, check_copy_memory, check_int, next_pow2_exponent
from .._rng import RandomStateLike
from ._ref_codecs import INT_LEVELS, KINDS, code_dtype, code_width

if TYPE_CHECKING:
    from typing_extensions import Self

FORMAT_NAME = "lowdim.ScalarQuantizer"
FORMAT_VERSION = 1
METRICS = ("euclidean", "sqeuclidean", "inner_product", "cosine")
_EMPTY = np.zeros(0, np.float32)
_CODE_MAX = {"uint8": 255, "int8": 128, "int4": 15}   # largest |stored value| in the int dot


def _check_metric(metric: object) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def _key_metric(metric: str) -> str:
    return "sqeuclidean" if metric in ("euclidean", "sqeuclidean") else metric


def _finish(keys: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
    """Kernel keys (float64) -> distances (float32) for the query rows q."""
    q64 = q.astype(np.float64)
    if metric in ("euclidean", "sqeuclidean"):
        d = np.maximum(keys + np.einsum("ij,ij->i", q64, q64)[:, None], 0.0)
        d = np.sqrt(d) if metric == "euclidean" else d
    elif metric == "inner_product":
        d = -keys
    else:
        d = 1.0 + keys / np.sqrt(np.einsum("ij,ij->i", q64, q64))[:, None]
    result: np.ndarray = d.astype(np.float32)
    return result


def _nonzero_rows(q: np.ndarray, name: str) -> None:
    zero = ~q.any(axis=1)
    if zero.any():
        raise ValueError(f"{name} has {int(zero.sum())} all-zero rows; cosine distance is "
                         "undefined for them")


def hamming_knn(codes: np.ndarray, k: int, *, Y: np.ndarray | None = None,
                n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by Hamming distance on packed bit codes.

    Parameters
    ----------
    codes : ndarray of shape (n, nbytes), uint8 (e.g. from binarize)
        Queries. With Y None also the database, and each row's own index is excluded.
    k : int, <= n − 1 (Y None) or <= len(Y)
    Y : ndarray of shape (m, nbytes), uint8, optional

    Returns
    -------
    distances : ndarray (n, k) int32, ascending; equal distances by lower index
    indices : ndarray (n, k) int64

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> codes = np.array([[0b1111], [0b1110], [0b0000]], dtype=np.uint8)
    >>> distances, indices = lowdim.hamming_knn(codes, 1)
    >>> indices.ravel().tolist()
    [1, 0, 1]
    """
    q = _check_bits(codes, "codes")
    if Y is None:
        y, exclude_self = q, True
    else:
        y = _check_bits(Y, "Y")
        if y.shape[1] != q.shape[1]:
            raise ValueError(f"codes has {q.shape[1]} bytes per row but Y has {y.shape[1]}")
        exclude_self = False
    limit = y.shape[0] - int(exclude_self)
    k = check_int(k, name="k", low=1)
    if k > limit:
        raise ValueError(f"k must be <= {limit} (number of "
                         f"{'other points' if exclude_self else 'rows of Y'}), got {k}")
    result: tuple[np.ndarray, np.ndarray] = _config.kernels().hamming_knn(
        q, y, k, exclude_self, _config.resolve_threads(n_threads))
    return result


def _check_bits(codes: Any, name: str) -> np.ndarray:
    if not isinstance(codes, np.ndarray) or codes.dtype != np.uint8:
        got = codes.dtype if isinstance(codes, np.ndarray) else type(codes).__name__
        raise TypeError(f"{name} must be a numpy array of dtype uint8 (packed bits), got {got}")
    if codes.ndim != 2 or codes.shape[0] < 1 or codes.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, nbytes) with n, nbytes >= 1, "
                         f"got {codes.shape}")
    check_copy_memory(codes, np.uint8, name=name)      # e.g. a huge np.broadcast_to view
    return np.ascontiguousarray(codes, dtype=np.uint8)


def rescore(Q: npt.ArrayLike, candidates: npt.ArrayLike,
            vectors: npt.ArrayLike | tuple[ScalarQuantizer, np.ndarray], k: int, *,
            metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """Rerank candidate rows per query with finer vectors; best k by (distance, index).

    Parameters
    ----------
    Q : array of shape (nq, d), the float queries
    candidates : int array of shape (nq, m), row numbers into the database (m >= k)
    vectors : array (n, d) of float vectors, or a pair (quantizer, codes) whose decoded
        codes are used (only the candidate rows are decoded)
    k : int in [1, m]
    metric : {'euclidean', 'sqeuclidean', 'inner_product', 'cosine'}

    Returns
    -------
    distances : ndarray (nq, k) float32 (inner_product: largest first)
    indices : ndarray (nq, k) int64

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> V = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    >>> d, i = lowdim.rescore(np.array([[0.9, 0.0]]), np.array([[2, 0, 1]]), V, 2)
    >>> d, i.tolist()
    (array([[0.1, 0.9]], dtype=float32), [[1, 0]])
    """
    metric = _check_metric(metric)
    q = as_float_array(Q, name="Q", dtype=np.float64)
    cand = np.asarray(candidates)
    if cand.dtype.kind not in "iu" or cand.ndim != 2 or cand.shape[0] != q.shape[0]:
        raise ValueError(f"candidates must be an integer array of shape ({q.shape[0]}, m), "
                         f"got {cand.dtype} {cand.shape}")
    cand = cand.astype(np.int64)
    gather: Callable[[np.ndarray], np.ndarray]
    if isinstance(vectors, tuple):
        if len(vectors) != 2 or not isinstance(vectors[0], ScalarQuantizer):
            raise TypeError("rescore must be float vectors or a pair (ScalarQuantizer, codes)")
        sq, codes = vectors
        codes = sq._check_codes(codes)
        n, d = codes.shape[0], sq.n_features_in_
        gather = lambda rows: sq.decode(codes[rows.ravel()]).reshape(rows.shape + (d,))
    else:
        v = as_float_array(vectors, name="rescore")
        n, d = v.shape
        gather = lambda rows: v[rows]
    if d != q.shape[1]:
        raise ValueError(f"Q has {q.shape[1]} features but the rescoring vectors have {d}")
    if cand.size and (cand.min() < 0 or cand.max() >= n):
        raise ValueError(f"candidates must be row numbers in [0, {n})")
    k = check_int(k, name="k", low=1, high=cand.shape[1])
    if metric == "cosine":
        _nonzero_rows(q, "Q")
    dist = np.empty((q.shape[0], k), np.float32)
    idx = np.empty((q.shape[0], k), np.int64)
    step = max(1, (64 << 20) // (8 * max(1, cand.shape[1] * d)))
    for q0 in range(0, q.shape[0], step):
        qs, cs = q[q0:q0 + step], cand[q0:q0 + step]
        V = gather(cs).astype(np.float64)
        if metric in ("euclidean", "sqeuclidean"):
            diff = V - qs[:, None, :]
            key = np.einsum("ijk,ijk->ij", diff, diff)
        else:
            key = -np.einsum("ik,ijk->ij", qs, V)
            if metric == "cosine":
                vn = np.sqrt(np.einsum("ijk,ijk->ij", V, V))
                qn = np.sqrt(np.einsum("ij,ij->i", qs, qs))[:, None]
                with np.errstate(divide="ignore", invalid="ignore"):
                    key = np.where(vn > 0, 1.0 + key / (vn * qn), 1.0)
        order = np.lexsort((cs, key), axis=1)[:, :k]
        key = np.take_along_axis(key, order, 1)
        if metric == "euclidean":
            key = np.sqrt(key)
        elif metric == "inner_product":
            key = -key
        dist[q0:q0 + step] = key
        idx[q0:q0 + step] = np.take_along_axis(cs, order, 1)
    return dist, idx


_rerank = rescore   # ScalarQuantizer.search has a parameter of the same name


class ScalarQuantizer(ReconstructingQuantizerMixin, TransformerMixin, BaseEstimator):
    """Per-dimension scalar quantizer: float16/bfloat16/FP8, int8/uint8/int4 or 1 bit.

    Parameters
    ----------
    kind : {'fp16', 'bf16', 'fp8_e4m3', 'fp8_e5m2', 'int8', 'uint8', 'int4', 'binary'}
        Codes per dimension: fp16/bf16 uint16; fp8_* uint8 (conversions.to_fp8); uint8 the
        level 0..255; int8 the same level − 128 (int8, so codes are centred); int4 two levels
        0..15 per byte, dimension 2i in the low nibble of byte i (faiss's QT_4bit layout; odd
        d gets a zero high nibble); binary one bit per dimension, 1 where x > 0 (0.0 gives 0),
        np.packbits order. Float kinds and binary learn nothing (fit only records d).
    ranges : 'minmax', (q_lo, q_hi) quantiles or an array of shape (2, d), default 'minmax'
        Per-dimension [lo, hi] of the integer kinds; values outside are clipped. Explicit
        ranges (e.g. calibrated on a sample, the sentence-transformers convention) need hi > lo;
        with a rotation they are in the rotated (padded) space. A dimension that is constant
        in the training data gets hi = lo, encodes to level 0 and decodes to lo (as faiss).
    rotation : None or 'hadamard'
        'hadamard': x is zero-padded to D = 2^⌈log₂ d⌉, multiplied by seeded random signs and
        transformed by the orthonormal FWHT before quantization (codes and ranges have D
        dimensions); decode undoes it. Distances and inner products are preserved, and
        outlier dimensions are spread over all coordinates, so int4 and binary lose less.
    random_state : None, int, RandomState or Generator, default None
        Seed of the rotation's signs, scikit-learn's convention: None draws a seed from
        numpy's global RandomState at fit (np.random.seed makes it reproducible); the
        seed used is ``seed_``.
    seed : int, optional
        Deprecated name of random_state (FutureWarning at fit); removed in the next release.
    n_threads : int, optional

    Attributes
    ----------
    seed_ : int, the seed of lowdim's counter-based generator that the rotation uses
    ranges_ : ndarray (2, D) float32 [lo; hi] for int kinds, None otherwise
    n_features_in_ : int, d
    code_size : int, bytes per encoded vector

    Notes
    -----
    As a scikit-learn transformer, ``transform`` returns the float32 reconstruction
    ``decode(encode(X))`` (same columns as X, as ProductQuantizer), so the next step of a
    Pipeline sees features; ``encode`` gives the codes and ``decode`` reads them back.
    scikit-learn's ``check_estimator`` passes with no check declared inapplicable.

    Search on int8/uint8/int4 codes defaults to integer dot products (see search); all
    computation is float32 (float64 input is rounded to float32 first). NaN or inf in any
    input raises ValueError (drop such rows before calling).

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((100, 16)).astype(np.float32)
    >>> sq = lowdim.ScalarQuantizer("int8").fit(X)
    >>> sq.encode(X).shape, sq.code_size
    ((100, 16), 16)
    """

    # Fitted state (declared for type checkers): (2, D) float32 ranges or None, d, seed.
    ranges_: Any
    n_features_in_: int
    seed_: int

    def __init__(self, kind: str, *, ranges: str | npt.ArrayLike = "minmax",
                 rotation: str | None = None, random_state: RandomStateLike = None,
                 seed: int | None = None, n_threads: int | None = None) -> None:
        self.kind = kind
        self.ranges = ranges
        self.rotation = rotation
        self.random_state = random_state
        self.seed = seed
        self.n_threads = n_threads

    # ---- parameters -----------------------------------------------------------------------

    def _kind(self) -> str:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        return self.kind

    def _threads(self) -> int:
        return _config.resolve_threads(self.n_threads)

    def _check_rotation(self) -> str | None:
        if self.rotation not in (None, "hadamard"):
            raise ValueError(f"rotation must be None or 'hadamard', got {self.rotation!r}")
        return self.rotation

    @property
    def code_size(self) -> int:
        """Bytes per encoded vector."""
        check_is_fitted(self, "n_features_in_")
        kind = self._kind()
        result: int = code_width(kind, self._D) * np.dtype(code_dtype(kind)).itemsize
        return result

    @property
    def _D(self) -> int:
        d = self.n_features_in_
        return 1 << next_pow2_exponent(d) if self.rotation == "hadamard" else d

    # ---- transforms -------------------------------------------------------------------------

    def _signs(self) -> np.ndarray:
        seed = self.__dict__.get("seed_")
        if seed is None:         # an unfitted rotator built with an explicit seed (RaBitQ)
            seed = _rng.resolve_random_state(self.random_state, self.seed,
                                             owner="ScalarQuantizer")
        return _rng.signs(seed, self._D, np.float32)

    def _rotate(self, x: np.ndarray) -> np.ndarray:
        """float32 (n, d) -> the space the codes live in: (n, D)."""
        if self.rotation != "hadamard":
            return x
        D = self._D
        work = np.zeros((x.shape[0], D), np.float32)
        work[:, :x.shape[1]] = x
        work *= self._signs()
        _config.kernels().fwht(work, 1.0 / math.sqrt(D), self._threads())
        return work

    def _unrotate(self, y: np.ndarray) -> np.ndarray:
        if self.rotation != "hadamard":
            return y
        work = np.array(y, np.float32, order="C")
        _config.kernels().fwht(work, 1.0 / math.sqrt(self._D), self._threads())
        work *= self._signs()
        return np.ascontiguousarray(work[:, :self.n_features_in_])

    def _check_x(self, X: npt.ArrayLike, name: str = "X") -> np.ndarray:
        """float32 (n, d): X as scikit-learn checks it (names, n_features_in_), queries Q
        by their column count only; float64 beyond float32's range is clipped to it."""
        if name == "X":
            x = validate_rows(self, X, reset=False)
        else:
            x = as_float_array(X, name=name, ndim=2)
            if x.shape[1] != self.n_features_in_:
                raise ValueError(f"{name} has {x.shape[1]} features, but this ScalarQuantizer "
                                 f"was fitted with {self.n_features_in_}")
        if x.dtype != np.float32:
            f32max = float(np.finfo(np.float32).max)
            x = np.clip(x, -f32max, f32max).astype(np.float32)
        return x

    def _params(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi − lo) float32 for int kinds, empty otherwise."""
        if self._kind() in INT_LEVELS:
            lo, hi = self.ranges_
            return np.ascontiguousarray(lo), np.ascontiguousarray(hi - lo)
        return _EMPTY, _EMPTY

    def _check_codes(self, codes: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        kind = self._kind()
        want = np.dtype(code_dtype(kind))
        width = code_width(kind, self._D)
        if not isinstance(codes, np.ndarray) or codes.dtype != want:
            got = codes.dtype if isinstance(codes, np.ndarray) else type(codes).__name__
            raise TypeError(f"codes must be a numpy array of dtype {want} for kind={kind!r}, "
                            f"got {got}")
        if codes.ndim != 2 or codes.shape[1] != width or codes.shape[0] < 1:
            raise ValueError(f"codes must have shape (n, {width}) with n >= 1 for kind={kind!r} "
                             f"and {self._D} dimensions, got {codes.shape}")
        return np.ascontiguousarray(codes)

    # ---- fit / encode / decode ---------------------------------------------------------------

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Learn per-dimension ranges (int kinds) from X of shape (n, d); record d.

        Returns
        -------
        self
        """
        kind = self._kind()
        self._check_rotation()
        self.seed_ = _rng.resolve_random_state(self.random_state, self.seed,
                                               owner="ScalarQuantizer")
        x = validate_rows(self, X, reset=True, dtype=np.float32)
        self.n_features_in_ = x.shape[1]
        self.ranges_ = None
        if kind in INT_LEVELS:
            try:
                self.ranges_ = self._fit_ranges(self._rotate(x))
            except Exception:
                del self.n_features_in_
                raise
        return self

    def _fit_ranges(self, x: np.ndarray) -> np.ndarray:
        r, D = self.ranges, x.shape[1]
        if isinstance(r, str):
            if r != "minmax":
                raise ValueError(f"ranges must be 'minmax', a quantile pair (q_lo, q_hi) or an "
                                 f"array of shape (2, {D}), got {r!r}")
            return np.stack([x.min(axis=0), x.max(axis=0)]).astype(np.float32)
        if isinstance(r, (tuple, list)) and len(r) == 2 and all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in r):
            lo_q, hi_q = float(r[0]), float(r[1])
            if not 0.0 <= lo_q < hi_q <= 1.0:
                raise ValueError(f"ranges quantiles must satisfy 0 <= q_lo < q_hi <= 1, got {r!r}")
            result: np.ndarray = np.quantile(x, [lo_q, hi_q], axis=0).astype(np.float32)
            return result
        arr = as_float_array(r, name="ranges", dtype=np.float32)
        if arr.shape != (2, D):
            raise ValueError(f"ranges must have shape (2, {D}) ([lo; hi] per "
                             f"{'rotated ' if self.rotation else ''}dimension), got {arr.shape}")
        bad = ~(arr[1] > arr[0])
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"ranges: hi must be > lo in every dimension; dimension {j} has "
                             f"lo={arr[0, j]!r}, hi={arr[1, j]!r}")
        return arr.copy()

    def encode(self, X: npt.ArrayLike) -> np.ndarray:
        """Codes of X (n, d): ndarray (n, code width) of the kind's code dtype."""
        check_is_fitted(self, "n_features_in_")
        x = self._rotate(self._check_x(X))
        lo, vdiff = self._params()
        result: np.ndarray = _config.kernels().codec_encode(x, self._kind(), lo, vdiff,
                                                            self._threads())
        return result

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstruction (n, d) float32 (binary: ±1 per rotated dimension, then unrotated)."""
        c = self._check_codes(codes)
        lo, vdiff = self._params()
        out = _config.kernels().codec_decode(c, self._kind(), lo, vdiff, self._D,
                                             self._threads())
        return self._unrotate(out)

    # ---- search ---------------------------------------------------------------------------

    def search(self, Q: npt.ArrayLike, codes: np.ndarray, k: int, *, metric: str = "euclidean",
               rescore: npt.ArrayLike | tuple[ScalarQuantizer, np.ndarray] | None = None,
               oversample: int = 4, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """k nearest codes of each query, computed on the codes (never decoding the database).

        Parameters
        ----------
        Q : array of shape (nq, d), float queries
        codes : ndarray from encode, shape (n, code width)
        k : int in [1, n]
        metric : {'euclidean', 'sqeuclidean', 'inner_product', 'cosine'}
            Distance between the query and the decoded vector x̂ (cosine: 1 − cos;
            inner_product: largest first). binary ranks by Hamming distance between the
            sign bits of query and code (the metric applies to rescoring, and without
            rescore the distances returned are Hamming counts).
        rescore : None, float vectors (n, d), or a pair (quantizer, its codes of the same rows)
            Retrieve min(n, oversample·k) candidates on these codes, then rerank them with
            the finer representation (lowdim.rescore) and keep k.
        oversample : int >= 1, default 4
        exact : bool, default False
            int8/uint8/int4 only. False (symmetric, faster): the query is quantized too —
            its per-dimension weights q_j·(hi_j − lo_j)/L are rounded to integers with one
            scale per query (as many bits as exact int32 accumulation allows, ~13 bits at
            d = 768) and dot products with the codes are exact integer sums (SIMD int16
            multiply-adds); distances carry the small query-rounding error. True
            (asymmetric): float32 query against the decoded values, within float32 rounding of
            the distance to x̂. Float kinds are always asymmetric.

        Returns
        -------
        distances : ndarray (nq, k) float32, best first; equal keys by lower index
        indices : ndarray (nq, k) int64
        """
        metric = _check_metric(metric)
        c = self._check_codes(codes)
        qf = self._check_x(Q, "Q")
        n = c.shape[0]
        k = check_int(k, name="k", low=1, high=n)
        oversample = check_int(oversample, name="oversample", low=1)
        if not isinstance(exact, (bool, np.bool_)):
            raise TypeError(f"exact must be a bool, got {type(exact).__name__}")
        if metric == "cosine":
            _nonzero_rows(qf, "Q")
        kk = k if rescore is None else min(n, oversample * k)
        dist, idx = self._search_codes(self._rotate(qf), c, kk, metric, bool(exact))
        if rescore is None:
            return dist, idx
        return _rerank(qf, idx, rescore, k, metric=metric)

    def _search_codes(self, q: np.ndarray, c: np.ndarray, k: int, metric: str,
                      exact: bool) -> tuple[np.ndarray, np.ndarray]:
        keys, idx = self._search_keys(q, c, k, metric, exact)
        return self._distances(keys, q, metric), idx

    def _search_keys(self, q: np.ndarray, c: np.ndarray, k: int, metric: str,
                     exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """Best k codes of c per rotated query q: the kernel's keys ascending (binary: int32
        Hamming counts, else float64), equal keys by lower index, and int64 indices. Keys of
        a pair do not depend on the other codes, so lowdim.dask merges them across blocks."""
        kind, kern, threads = self._kind(), _config.kernels(), self._threads()
        if kind == "binary":
            qb = kern.codec_encode(q, "binary", _EMPTY, _EMPTY, threads)
            result: tuple[np.ndarray, np.ndarray] = kern.hamming_knn(qb, c, k, False, threads)
            return result
        km = _key_metric(metric)
        lo, vdiff = self._params()
        D = self._D
        norms = (kern.codec_norms(c, kind, lo, vdiff, D, threads) if km != "inner_product"
                 else np.zeros(c.shape[0]))
        if kind in INT_LEVELS and not exact:
            t, alpha, cst = self._integer_query(q, lo, vdiff)
            result = kern.codec_search_int(c, kind, t, alpha, cst, norms, km, k, threads)
            return result
        result = kern.codec_search_float(c, kind, lo, vdiff, q, norms, km, k, threads)
        return result

    def _distances(self, keys: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
        """_search_keys' keys -> the float32 distances search returns."""
        return keys.astype(np.float32) if self._kind() == "binary" else _finish(keys, q, metric)

    def _integer_query(self, q: np.ndarray, lo: np.ndarray,
                       vdiff: np.ndarray) -> tuple[np.ndarray, Any, Any]:
        """Integer weights t (nq, D) int16, scale alpha and constant cst per query with
        q·x̂ ≈ cst + alpha·Σ_j t_j·b_j, b the stored code values (int8: level − 128)."""
        kind, D = self._kind(), q.shape[1]
        L = float(INT_LEVELS[kind])
        tmax = min(32767, (2**31 - 1) // (_CODE_MAX[kind] * D))
        if tmax < 127:
            raise ValueError(f"d={D} is too large for exact int32 accumulation; "
                             "use search(..., exact=True)")
        q64 = q.astype(np.float64)
        w = q64 * (vdiff.astype(np.float64) / L)
        big = np.abs(w).max(axis=1)
        alpha = np.where(big > 0, big / tmax, 1.0)
        t = np.rint(w / alpha[:, None]).astype(np.int16)
        cst = q64 @ (lo.astype(np.float64) + 0.5 * vdiff.astype(np.float64) / L)
        if kind == "int8":      # stored b = level − 128: Σ t·level = Σ t·b + 128·Σ t
            cst = cst + alpha * (128.0 * t.astype(np.int64).sum(axis=1))
        return np.ascontiguousarray(t), alpha, cst

    # ---- interop and persistence -----------------------------------------------------------

    _FAISS = {"uint8": "QT_8bit", "int4": "QT_4bit", "fp16": "QT_fp16", "bf16": "QT_bf16"}

    @classmethod
    def from_faiss(cls, sq: Any, *, n_threads: int | None = None) -> Self:
        """Wrap a trained faiss.ScalarQuantizer (or an index with .sq) of type QT_8bit
        (→ 'uint8'), QT_4bit (→ 'int4'), QT_fp16 or QT_bf16; codes are byte-identical.

        QT_8bit_direct (code = truncated x, decoded to the integer itself) has no bin
        centres, so it has no lowdim kind and is refused, as are the other types.
        """
        import faiss
        sq = getattr(sq, "sq", sq)
        names = {getattr(faiss.ScalarQuantizer, v): k for k, v in cls._FAISS.items()}
        if sq.qtype not in names:
            raise ValueError(f"faiss quantizer type {sq.qtype} has no lowdim kind; supported: "
                             f"{sorted(cls._FAISS.values())}")
        kind, d = names[sq.qtype], int(sq.d)
        out = cls(kind, random_state=0, n_threads=n_threads)
        out.n_features_in_ = d
        out.seed_ = 0                    # faiss has no rotation: the seed is never used
        out.ranges_ = None
        if kind in INT_LEVELS:
            trained = faiss.vector_to_array(sq.trained).astype(np.float32)
            if trained.size != 2 * d:
                raise ValueError("the faiss ScalarQuantizer is not trained (or uses uniform "
                                 "ranges, which lowdim does not read)")
            lo, vdiff = trained[:d], trained[d:]
            out.ranges_ = np.stack([lo, _hi_for_diff(lo, vdiff)])
        return out

    def to_faiss(self) -> Any:
        """A trained faiss.ScalarQuantizer with these ranges (uint8, int4, fp16, bf16;
        no rotation)."""
        try:
            import faiss
        except ImportError:
            raise ImportError("to_faiss() needs faiss: pip install faiss-cpu") from None
        check_is_fitted(self, "n_features_in_")
        kind = self._kind()
        if kind not in self._FAISS or self.rotation is not None:
            raise ValueError(f"faiss has no codec for kind={kind!r}"
                             f"{' with a rotation' if self.rotation else ''}; to_faiss supports "
                             f"{sorted(self._FAISS)} without rotation (int8 codes are uint8 "
                             "codes ^ 0x80)")
        d = self.n_features_in_
        sq = faiss.ScalarQuantizer(d, getattr(faiss.ScalarQuantizer, self._FAISS[kind]))
        if kind in INT_LEVELS:
            lo, vdiff = self._params()
            faiss.copy_array_to_vector(np.concatenate([lo, vdiff]).astype(np.float32),
                                       sq.trained)
        return sq

    def save(self, path: str | os.PathLike[str] | Any) -> None:
        """Write parameters and ranges to a .npz file (see load), atomically; the file
        carries the lowdim and random-generator versions."""
        check_is_fitted(self, "n_features_in_")
        ranges = self.ranges_ if self.ranges_ is not None else np.zeros((0, 0), np.float32)
        write_npz(path, dict(
            format=np.array(FORMAT_NAME), format_version=np.array(FORMAT_VERSION),
            kind=np.array(self._kind()), rotation=np.array(self.rotation or ""),
            seed=np.array(self.seed_, dtype=np.uint64),
            n_features=np.array(self.n_features_in_, dtype=np.int64), ranges=ranges))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | Any) -> Self:
        """Read a quantizer written by save(); ValueError for corrupted or foreign files and
        for a rotated quantizer saved with another random-generator version."""
        keys = ("format", "format_version", "kind", "rotation", "seed", "n_features", "ranges")
        where = os.fspath(path) if not hasattr(path, "read") else repr(path)
        data = read_npz(path, what="ScalarQuantizer", keys=keys)
        if data["format"].shape != () or str(data["format"]) != FORMAT_NAME:
            raise ValueError(f"{where!s} is not a lowdim ScalarQuantizer file "
                             f"(format {data['format']!r})")
        for key in ("format_version", "seed", "n_features"):
            if data[key].shape != () or data[key].dtype.kind not in "iu":
                raise ValueError(f"{where!s}: {key} must be a single integer, got dtype "
                                 f"{data[key].dtype} and shape {data[key].shape}")
        if int(data["format_version"]) != FORMAT_VERSION:
            raise ValueError(f"{where!s} has format version {int(data['format_version'])}; "
                             f"this lowdim reads version {FORMAT_VERSION}")
        kind, rotation = str(data["kind"]), str(data["rotation"]) or None
        d = int(data["n_features"])
        if kind not in KINDS or rotation not in (None, "hadamard") or d < 1:
            raise ValueError(f"{where!s}: invalid kind {kind!r}, rotation {rotation!r} or "
                             f"n_features {d}")
        if rotation is not None:          # the signs are regenerated from the seed
            check_generator(data["versions"], name=where, what="ScalarQuantizer")
        out = cls(kind, rotation=rotation, random_state=int(data["seed"]))
        out.n_features_in_ = d
        out.seed_ = int(data["seed"])
        out.ranges_ = None
        if kind in INT_LEVELS:
            r = data["ranges"]
            if r.dtype != np.float32 or r.shape != (2, out._D) or not np.isfinite(r).all() \
                    or not (r[1] >= r[0]).all():
                raise ValueError(f"{where!s}: ranges of dtype {r.dtype} and shape {r.shape} "
                                 f"are not finite [lo; hi] rows of length {out._D}")
            out.ranges_ = r.copy()
        return out


def _hi_for_diff(lo: np.ndarray, vdiff: np.ndarray) -> np.ndarray:
    """hi with float32(hi − lo) == vdiff exactly (faiss stores lo and the difference)."""
    hi: np.ndarray = (lo + vdiff).astype(np.float32)
    for _ in range(4):
        got = hi - lo
        wrong = got != vdiff
        if not wrong.any():
            return hi
        step = np.where(got < vdiff, np.float32(np.inf), np.float32(-np.inf))
        hi = np.where(wrong, np.nextafter(hi, step), hi).astype(np.float32)
    raise ValueError("the faiss ranges cannot be expressed as [lo, hi] in float32")
