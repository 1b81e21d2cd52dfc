"""Product quantization (Jégou, Douze & Schmid, TPAMI 2011), compatible with faiss.

x ∈ R^d is cut into M sub-vectors of d/M; each is replaced by the index of its nearest
of K = 2^nbits centroids (k-means per sub-space). Codebooks use faiss's layout
(M, K, d/M); squared distances to a query are estimated by ADC:
‖q − x̂‖² = Σ_m ‖q_m − c_{m, code_m}‖², read from a (M, K) table per query.
Sub-spaces whose values would overflow the float32 distances (or underflow them to zero)
are scaled by a power of two first: exact, so codes and codebooks are those of ordinary
data, on every backend alike.
"""
from __future__ import annotations

import os
import warnings
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import _config, _rng
from ._npyfile import check_member_size, read_member_header
from ._savefile import read_npz, write_npz
from ._base import (BaseEstimator, ReconstructingQuantizerMixin, TransformerMixin,
                    check_is_fitted, validate_rows)
from ._validate import as_float_array, c_aligned, check_int, check_memory
from .quantizers import opq as _opq
from ._rng import RandomStateLike

if TYPE_CHECKING:
    from typing_extensions import Self

FORMAT_NAME = "lowdim.ProductQuantizer"
FORMAT_VERSION = 1
MIN_POINTS_PER_CENTROID = 39   # below this faiss warns too: centroids are poorly estimated


def _check_codebooks(codebooks: npt.ArrayLike) -> np.ndarray:
    cb = as_float_array(codebooks, name="codebooks", ndim=3, dtype=np.float32)
    if cb.shape[1] > 65536:
        raise ValueError(f"codebooks may hold at most 65536 centroids per sub-space (16 bits), "
                         f"got {cb.shape[1]}")
    return cb


def _code_dtype(K: int) -> type[np.unsignedinteger[Any]]:
    return np.uint8 if K <= 256 else np.uint16


def _check_x(X: npt.ArrayLike, codebooks: np.ndarray, name: str = "X") -> np.ndarray:
    """X as float32 (PQ works in float32, like faiss), with M·dsub columns."""
    arr = as_float_array(X, name=name, ndim=2, dtype=np.float32)
    M, _, dsub = codebooks.shape
    if arr.shape[1] != M * dsub:
        raise ValueError(f"{name} has {arr.shape[1]} features, but the codebooks expect "
                         f"{M * dsub} (M={M} × dsub={dsub})")
    return arr


# Safe sub-space values: |v| ≤ 2^60/√dsub keeps dsub·(2·max|v|)² below float32's max;
# max|v| ≥ 2^-30 keeps squares clear of the subnormals.
_SAFE_LOW, _SAFE_HIGH = 2.0 ** -30, 2.0 ** 60


def _subspace_exponents(cb: np.ndarray, *arrays: np.ndarray) -> np.ndarray | None:
    """t (M,) with sub-space m of cb (M, K, dsub) and of `arrays` (n, M·dsub) safe after
    scaling by 2^-t_m; None when no sub-space needs it (the fast path: nothing copied)."""
    M, _, dsub = cb.shape
    top = np.maximum(cb.max(axis=(1, 2)), -cb.min(axis=(1, 2))).astype(np.float64)
    for a in arrays:       # column extremes first: a fast contiguous reduction over rows
        hi, lo = a.max(axis=0), a.min(axis=0)
        col = np.maximum(hi, -lo).reshape(M, dsub)
        top = np.maximum(top, col.max(axis=1))
    bad = (top > _SAFE_HIGH / np.sqrt(dsub)) | ((top < _SAFE_LOW) & (top > 0))
    if not bad.any():
        return None
    return np.where(bad, np.frexp(top)[1], 0).astype(np.int64)   # scaled max in [1/2, 1)


def _scale_subspaces(a: np.ndarray, t: np.ndarray, dsub: int, sign: int = -1) -> np.ndarray:
    """a (..., M·dsub) times 2^(sign·t_m) per sub-space, float32 C-contiguous."""
    with np.errstate(over="ignore"):        # scaling back may overflow: inf is the rounding
        return np.ascontiguousarray(np.ldexp(a, sign * np.repeat(t, dsub)), dtype=np.float32)


def _adc_table(q: np.ndarray, cb: np.ndarray, n_threads: int) -> tuple[np.ndarray, int]:
    """ADC table of checked queries q and its scale s: distances from it are 2^-2s times
    the true ones (s = 0 unless a sub-space needs _subspace_exponents' scaling)."""
    t = _subspace_exponents(cb, q)
    if t is None:
        return _config.kernels().pq_distance_table(q, cb, n_threads), 0
    # ADC adds sub-distances: one common scale keeps them comparable, so the ranking
    # is that of the true distances even where those exceed float32.
    t = np.full_like(t, t.max() if t.max() > 0 else t.min())
    return _config.kernels().pq_distance_table(_scale_subspaces(q, t, cb.shape[2]),
                                               _scaled_codebooks(cb, t), n_threads), int(t[0])


def _check_codes(codes: np.ndarray, codebooks: np.ndarray) -> np.ndarray:
    M, K, _ = codebooks.shape
    want = np.dtype(_code_dtype(K))
    if not isinstance(codes, np.ndarray) or codes.dtype != want:
        got = codes.dtype if isinstance(codes, np.ndarray) else type(codes).__name__
        raise TypeError(f"codes must be a numpy array of dtype {want} for {K} centroids per "
                        f"sub-space, got {got}")
    if codes.ndim != 2 or codes.shape[1] != M or codes.shape[0] < 1:
        raise ValueError(f"codes must have shape (n, {M}) with n >= 1, got {codes.shape}")
    codes = c_aligned(codes)
    if K < np.iinfo(want).max + 1 and int(codes.max()) >= K:
        raise ValueError(f"codes out of range: max code {int(codes.max())} >= {K} centroids")
    return codes


def pq_encode(X: npt.ArrayLike, codebooks: npt.ArrayLike, *,
              n_threads: int | None = None) -> np.ndarray:
    """Index of the nearest centroid in each sub-space (ties → lowest index, like faiss).

    Parameters
    ----------
    X : array of shape (n, d); float16/32/64 or int (computed in float32)
    codebooks : array of shape (M, K, d/M), K ≤ 65536
    n_threads : int, optional

    Returns
    -------
    codes : ndarray of shape (n, M), uint8 when K ≤ 256 else uint16.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> codebooks = np.array([[[0.0], [1.0]], [[0.0], [10.0]]], np.float32)   # M=2, K=2
    >>> lowdim.pq_encode(np.array([[0.9, 2.0], [0.1, 8.0]]), codebooks)
    array([[1, 0],
           [0, 1]], dtype=uint8)
    """
    cb = _check_codebooks(codebooks)
    x = _check_x(X, cb)
    t = _subspace_exponents(cb, x)
    if t is not None:
        x = _scale_subspaces(x, t, cb.shape[2])
        cb = _scaled_codebooks(cb, t)
    result: np.ndarray = _config.kernels().pq_encode(x, cb, _config.resolve_threads(n_threads))
    return result


def _distance_table(q: np.ndarray, cb: np.ndarray, n_threads: int) -> np.ndarray:
    """(nq, M, K) squared sub-distances; on scaled sub-spaces computed scaled, then ·4^t."""
    t = _subspace_exponents(cb, q)
    if t is None:
        result: np.ndarray = _config.kernels().pq_distance_table(q, cb, n_threads)
        return result
    table = _config.kernels().pq_distance_table(_scale_subspaces(q, t, cb.shape[2]),
                                                _scaled_codebooks(cb, t), n_threads)
    with np.errstate(over="ignore"):        # a sub-distance beyond float32 is inf
        result = np.ldexp(table, 2 * t[None, :, None]).astype(np.float32)
        return result


def _scaled_codebooks(cb: np.ndarray, t: np.ndarray, sign: int = -1) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(np.ldexp(cb, sign * t[:, None, None]), dtype=np.float32)


def pq_decode(codes: np.ndarray, codebooks: npt.ArrayLike, *,
              n_threads: int | None = None) -> np.ndarray:
    """Concatenate the centroids named by `codes`.

    Parameters
    ----------
    codes : ndarray of shape (n, M), uint8 (K ≤ 256) or uint16 (K > 256)
    codebooks : array of shape (M, K, d/M)

    Returns
    -------
    ndarray of shape (n, d), float32.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> codebooks = np.array([[[0.0], [1.0]], [[0.0], [10.0]]], np.float32)
    >>> lowdim.pq_decode(np.array([[1, 0], [0, 1]], np.uint8), codebooks)
    array([[ 1.,  0.],
           [ 0., 10.]], dtype=float32)
    """
    cb = _check_codebooks(codebooks)
    if isinstance(codes, np.ndarray) and codes.ndim == 2:   # before copying/scanning codes
        check_memory(float(codes.shape[0]) * cb.shape[0] * cb.shape[2] * 4,
                     what="the decoded output")
    c = _check_codes(codes, cb)
    result: np.ndarray = _config.kernels().pq_decode(c, cb, _config.resolve_threads(n_threads))
    return result


class ProductQuantizer(ReconstructingQuantizerMixin, TransformerMixin, BaseEstimator):
    """Product quantizer with k-means codebooks, faiss-compatible.

    Parameters
    ----------
    M : int
        The number of sub-spaces (faiss's and nanopq's name); must divide the number of
        features d.
    n_subquantizers : int, optional, keyword only
        Alias of M (lowdim's earlier name); set one of the two. Both are parameters, so
        get_params, set_params and clone keep whichever was given; fit raises ValueError
        when both are set to different values.
    nbits : int in [1, 16], default 8
        Bits per sub-code: K = 2**nbits centroids per sub-space; codes are uint8 for
        nbits ≤ 8 and uint16 above.
    n_iter : int, default 25
        Lloyd iterations per sub-space.
    max_points_per_centroid : int, default 256
        Training uses at most max_points_per_centroid · K points, a random subset
        (faiss does the same).
    random_state : None, int, RandomState or Generator, default None
        Seed of the subsample and of the initial centroids, scikit-learn's convention: None
        draws a seed from numpy's global RandomState at fit (np.random.seed makes it
        reproducible), an int fixes it; the seed used is ``seed_``.
    rotation : None or 'opq', default None
        'opq': learn an orthogonal rotation first (non-parametric OPQ, Ge et al. CVPR 2013,
        on faiss OPQMatrix's schedule, quantizers/opq.py), then train the codebooks on the
        rotated data. encode, decode, distance_table and search apply it (y = x·rotation_ᵀ).
    opq_iter : int, default 50
        OPQ rounds (faiss's OPQMatrix.niter): k-means (40 Lloyd iterations in the first
        round, 4 warm-started after), encode/decode, orthogonal Procrustes.
    n_threads : int, optional
    seed : int, optional
        Deprecated name of random_state (FutureWarning at fit); removed in the next release.

    Notes
    -----
    k-means per sub-space, as in faiss: the initial centroids are K distinct training points
    drawn at random (not k-means++); an empty cluster takes over half of the currently
    largest cluster (its centroid copied, both copies nudged by ±1/1024 alternately per
    coordinate). Unlike faiss, the largest cluster is chosen deterministically, and all
    draws come from lowdim's counter-based generator, so the codebooks are bitwise identical
    for a seed on every backend, ISA and thread count. Fewer than K training points raise
    ValueError; fewer than 39·K (faiss's threshold) give a UserWarning.

    All computation is float32 (float16/64 input is converted). Distances are summed in a
    fixed order with one fused multiply-add per term (emulated exactly where the CPU has
    none), so codes are bitwise the same on every backend; faiss's
    ``compute_codes`` sums in its own order, so codes equal faiss's except where two centroids
    are at equal distance up to float32 rounding.

    As a scikit-learn transformer, ``transform`` returns the float32 reconstruction
    ``decode(encode(X))`` (same columns as X), so the next step of a Pipeline sees features;
    ``encode`` gives the integer codes and ``decode`` reads them back.

    Attributes
    ----------
    codebooks_ : ndarray of shape (M, K, d/M), float32 (faiss's ``pq.centroids`` layout)
    rotation_ : ndarray (d, d) float32, orthogonal (faiss's OPQMatrix.A), or None
    n_features_in_ : int
    seed_ : int, the seed actually used

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> X = np.random.default_rng(0).standard_normal((400, 8)).astype(np.float32)
    >>> pq = lowdim.ProductQuantizer(4, nbits=2, random_state=0).fit(X)
    >>> codes = pq.encode(X)
    >>> codes.shape, codes.dtype, pq.transform(X).shape
    ((400, 4), dtype('uint8'), (400, 8))
    >>> pq.search(X[:2], codes, 1)[1].shape
    (2, 1)
    """

    # Fitted state (declared for type checkers); seed_ is None for wrapped faiss codebooks.
    codebooks_: np.ndarray
    rotation_: np.ndarray | None
    n_features_in_: int
    seed_: int | None

    def __init__(self, M: int | None = None, nbits: int = 8, *, n_iter: int = 25,
                 max_points_per_centroid: int = 256, random_state: RandomStateLike = None,
                 rotation: str | None = None, opq_iter: int = 50, n_threads: int | None = None,
                 n_subquantizers: int | None = None, seed: RandomStateLike = None) -> None:
        self.M = M
        self.n_subquantizers = n_subquantizers
        self.nbits = nbits
        self.n_iter = n_iter
        self.max_points_per_centroid = max_points_per_centroid
        self.random_state = random_state
        self.rotation = rotation
        self.opq_iter = opq_iter
        self.n_threads = n_threads
        self.seed = seed

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(_rng.renamed_seed_state(state))

    # ---- training -----------------------------------------------------------------------

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Learn the codebooks from X of shape (n, d).

        Returns
        -------
        self
        """
        M = self._n_subspaces()
        nbits = check_int(self.nbits, name="nbits", low=1, high=16)
        n_iter = check_int(self.n_iter, name="n_iter", low=0, high=100_000)
        mppc = check_int(self.max_points_per_centroid, name="max_points_per_centroid", low=1)
        if self.rotation not in (None, "opq"):
            raise ValueError(f"rotation must be None or 'opq', got {self.rotation!r}")
        opq_iter = check_int(self.opq_iter, name="opq_iter", low=0, high=100_000)
        n_threads = _config.resolve_threads(self.n_threads)
        x = self._validate(X, reset=True)
        n, d = x.shape
        if d % M:
            raise ValueError(f"n_features={d} is not divisible by M={M}")
        K = 1 << nbits
        if n < K:
            raise ValueError(f"k-means needs at least 2**nbits = {K} training points, "
                             f"got n_samples={n}")
        if n < MIN_POINTS_PER_CENTROID * K:
            warnings.warn(f"training {K} centroids per sub-space on {n} points: at least "
                          f"{MIN_POINTS_PER_CENTROID * K} ({MIN_POINTS_PER_CENTROID} per centroid) "
                          "are recommended", UserWarning, stacklevel=2)
        seed = _rng.resolve_random_state(self.random_state, self.seed, owner="ProductQuantizer")
        if n > mppc * K:
            x = x[_rng.sample_without_replacement(seed, _rng.STREAM_PQ_SUBSAMPLE, n, mppc * K)]
        dsub = d // M
        first = _rng.sample_without_replacement(seed, _rng.STREAM_PQ_INIT, x.shape[0], K)
        init = np.ascontiguousarray(x[first].reshape(K, M, dsub).transpose(1, 0, 2))
        rot = None
        if self.rotation == "opq":
            rot = _opq.train_rotation(x, init, opq_iter, seed, n_threads)
            x = _opq.rotate(x, rot)
            init = np.ascontiguousarray(x[first].reshape(K, M, dsub).transpose(1, 0, 2))
        t = _subspace_exponents(init, x)
        if t is not None:            # k-means on 2^-t-scaled data: the same centroids, scaled
            x, init = _scale_subspaces(x, t, dsub), _scaled_codebooks(init, t)
        cb = _config.kernels().pq_kmeans(x, init, n_iter, n_threads)
        self.codebooks_ = cb if t is None else _scaled_codebooks(cb, t, sign=1)
        self.rotation_ = rot
        self.n_features_in_ = d
        self.seed_ = seed
        return self

    def _n_subspaces(self) -> int:
        """M, from M or its alias n_subquantizers (scikit-learn: resolved in fit, not init)."""
        M, alias = self.M, self.n_subquantizers
        if alias is not None:
            if M is not None and not (M is alias or M == alias):
                raise ValueError(f"M={M!r} and its alias n_subquantizers={alias!r} differ; "
                                 "set only one of them")
            M = alias
        if M is None:
            raise TypeError("ProductQuantizer needs M, the number of sub-spaces")
        return check_int(M, name="M", low=1)

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        # The random projections' path (random_projection.py): lowdim's checks with
        # scikit-learn's texts, installed or not; feature names by its rules. float32 as faiss.
        return validate_rows(self, X, reset=reset, dtype=np.float32)

    # ---- codec --------------------------------------------------------------------------

    def _fitted_codebooks(self) -> np.ndarray:
        check_is_fitted(self, "codebooks_")
        return self.codebooks_

    def _threads(self) -> int:
        return _config.resolve_threads(self.n_threads)

    def _rotated(self, X: Any, name: str = "X") -> Any:
        """X, or X·rotation_ᵀ (float32) when a rotation was learnt."""
        rot = getattr(self, "rotation_", None)
        if rot is None:
            return X
        return _opq.rotate(_check_x(X, self._fitted_codebooks(), name=name), rot)

    def encode(self, X: npt.ArrayLike) -> np.ndarray:
        """Codes of X (n, d): ndarray (n, M), uint8 for nbits ≤ 8 else uint16."""
        cb = self._fitted_codebooks()
        return pq_encode(self._rotated(self._validate(X, reset=False)), cb,
                         n_threads=self._threads())

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstruction (n, d) float32 of codes (n, M) (rotated back with rotation_)."""
        out = pq_decode(codes, self._fitted_codebooks(), n_threads=self._threads())
        rot = getattr(self, "rotation_", None)
        return out if rot is None else np.ascontiguousarray(out.astype(np.float64) @ rot,
                                                            np.float32)

    def distance_table(self, Q: npt.ArrayLike) -> np.ndarray:
        """ADC tables: (nq, M, K) float32, entry [i, m, k] = ‖Q_i,m − c_m,k‖²."""
        cb = self._fitted_codebooks()
        q = _check_x(self._rotated(Q, "Q"), cb, name="Q")
        return _distance_table(q, cb, self._threads())

    def search(self, Q: npt.ArrayLike, codes: np.ndarray, k: int, *, fast_scan: bool = True,
               oversample: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """k nearest codes of each query by asymmetric distance (squared L2).

        Parameters
        ----------
        Q : array of shape (nq, d)
        codes : ndarray of shape (n, M) from encode
        k : int in [1, n]
        fast_scan : bool, default True
            With nbits=4, scan with the fast-scan kernel (docs/fastscan.md): uint8 tables
            looked up in SIMD registers select the k·oversample best candidates, which are
            re-ranked with the exact float table. The distances returned are then exactly
            the plain ADC distances; the neighbours are the plain ones except near-ties:
            a plain neighbour j can be missed only when at least k·oversample other codes
            have ADC distance ≤ D_j + M/a (a: the uint8 tables' scale). Results are the
            same on every backend, ISA and thread count. False (or nbits ≠ 4) runs the
            plain ADC scan.
        oversample : int >= 1, default 4
            Candidates re-ranked per query with fast_scan, as a multiple of k (at most n).

        Returns
        -------
        distances : ndarray (nq, k) float32, ascending (ties: lower index first)
        indices : ndarray (nq, k) int64

        Examples
        --------
        >>> import numpy as np, lowdim
        >>> x = np.random.default_rng(0).standard_normal((700, 8)).astype(np.float32)
        >>> pq = lowdim.ProductQuantizer(4, nbits=4, n_iter=5).fit(x)
        >>> codes = pq.encode(x)
        >>> d_fast, i_fast = pq.search(x[:3], codes, 5)
        >>> d_plain, i_plain = pq.search(x[:3], codes, 5, fast_scan=False)
        >>> bool((d_fast == d_plain).all())
        True
        """
        cb = self._fitted_codebooks()
        q = _check_x(self._rotated(Q, "Q"), cb, name="Q")
        c = _check_codes(codes, cb)
        k = check_int(k, name="k", low=1, high=c.shape[0])
        if not isinstance(fast_scan, (bool, np.bool_)):
            raise TypeError(f"fast_scan must be True or False, got {type(fast_scan).__name__}")
        oversample = check_int(oversample, name="oversample", low=1)
        kern = _config.kernels()
        table, scale = _adc_table(q, cb, self._threads())
        if fast_scan and cb.shape[1] == 16 and np.isfinite(table).all():
            kprime = min(c.shape[0], k * oversample)
            dist, idx = kern.pq_fastscan_search(table, c, k, kprime, self._threads())
        else:
            dist, idx = kern.pq_search(table, c, k, self._threads())
        if scale == 0:
            return dist, idx
        with np.errstate(over="ignore"):
            return np.ldexp(dist, 2 * scale).astype(np.float32), idx

    # ---- interop and persistence ----------------------------------------------------------

    @classmethod
    def _from_codebooks(cls, codebooks: npt.ArrayLike, *, n_iter: int = 25,
                        max_points_per_centroid: int = 256, seed: int | None = None) -> Self:
        cb = _check_codebooks(codebooks)
        M, K, dsub = cb.shape
        nbits = K.bit_length() - 1
        if K != 1 << nbits or not 1 <= nbits <= 16:
            raise ValueError(f"codebooks must have 2**nbits centroids per sub-space with "
                             f"nbits in [1, 16], got {K}")
        pq = cls(M, nbits, n_iter=n_iter, max_points_per_centroid=max_points_per_centroid,
                 random_state=seed)
        pq.codebooks_ = cb.copy()
        pq.rotation_ = None
        pq.n_features_in_ = M * dsub
        pq.seed_ = seed if isinstance(seed, int) else None
        return pq

    @classmethod
    def from_faiss(cls, pq: Any) -> Self:
        """Wrap a trained faiss.ProductQuantizer (or an IndexPQ, whose .pq is used).

        The codebooks are copied. Our codes hold one integer per sub-quantizer; faiss packs
        codes of nbits < 8 several to a byte (``compute_codes``), so only 8-bit codes are
        byte-for-byte interchangeable.
        """
        import faiss
        if not getattr(pq, "is_trained", True):     # an index knows; a bare pq does not
            raise ValueError("the faiss index is not trained")
        pq = getattr(pq, "pq", pq)
        if pq.centroids.size() != pq.M * pq.ksub * pq.dsub:
            raise ValueError("the faiss ProductQuantizer has no centroids")
        cent = faiss.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub)
        return cls._from_codebooks(cent)

    def to_faiss(self) -> Any:
        """A faiss.ProductQuantizer holding these codebooks (needs faiss installed)."""
        try:
            import faiss
        except ImportError:
            raise ImportError("to_faiss() needs faiss: pip install faiss-cpu") from None
        cb = self._fitted_codebooks()
        if getattr(self, "rotation_", None) is not None:
            raise ValueError("to_faiss() returns a bare faiss.ProductQuantizer, which has no "
                             "rotation; pair it with a faiss.OPQMatrix whose A is rotation_")
        M, K, dsub = cb.shape
        pq = faiss.ProductQuantizer(M * dsub, M, K.bit_length() - 1)
        faiss.copy_array_to_vector(np.ascontiguousarray(cb).ravel(), pq.centroids)
        return pq

    def save(self, path: str | os.PathLike[str] | Any) -> None:
        """Write the codebooks, the rotation and the parameters to a .npz file (see load).

        A path gets ".npz" appended when it lacks it (as np.savez does) and is written
        atomically: a temporary file in the same directory, then renamed over `path`. The
        file carries the lowdim and random-generator versions.
        """
        cb = self._fitted_codebooks()
        rot = getattr(self, "rotation_", None)
        seed = self.seed_ if isinstance(getattr(self, "seed_", None), int) else -1
        arrays = dict(format=np.array(FORMAT_NAME), format_version=np.array(FORMAT_VERSION),
                      codebooks=cb, n_subquantizers=np.array(cb.shape[0]),
                      nbits=np.array(cb.shape[1].bit_length() - 1), n_iter=np.array(self.n_iter),
                      max_points_per_centroid=np.array(self.max_points_per_centroid),
                      seed=np.array(seed, dtype=np.int64), opq_iter=np.array(self.opq_iter),
                      rotation=np.zeros((0, 0), np.float32) if rot is None else rot)
        write_npz(path, arrays)      # atomic; adds the lowdim and generator versions

    @classmethod
    def load(cls, path: str | os.PathLike[str] | Any) -> Self:
        """Read a quantizer written by save(); ValueError for corrupted, foreign or hostile
        files (every entry's type, shape and size is checked, sizes before reading)."""
        data = _read_saved(path)
        # Codebooks and rotation are stored, so encoding is exact whatever the generator;
        # the versions are read (and their entries checked) by the shared reader.
        read_npz(path, what="ProductQuantizer", keys=("format",))
        pq = cls._from_codebooks(data["codebooks"], n_iter=data["n_iter"],
                                 max_points_per_centroid=data["max_points_per_centroid"],
                                 seed=data["seed"] if data["seed"] >= 0 else None)
        if "rotation" in data:
            pq.rotation, pq.rotation_ = "opq", data["rotation"].copy()
        if "opq_iter" in data:
            pq.opq_iter = data["opq_iter"]
        return pq


# ---- the saved file: np.savez of named 0-d integers, a 0-d string and the codebooks --------

_SAVED_INTS = {   # name: (low, high) accepted; bounds as ProductQuantizer.fit checks them
    "format_version": (0, 2**31), "n_subquantizers": (1, 2**31), "nbits": (1, 16),
    "n_iter": (0, 100_000), "max_points_per_centroid": (1, 2**62), "seed": (-1, 2**63 - 1),
}
_SAVED_KEYS = ("format", "codebooks", *_SAVED_INTS)
_SAVED_OPTIONAL = ("rotation", "opq_iter")    # written since OPQ; older files lack them


class _Refused(ValueError):
    """A saved entry of the wrong type, shape or size (raised as is, not as "corrupted")."""


def _check_saved_headers(headers: dict[str, Any], name: str) -> None:
    """Types and shapes from the .npy headers alone, before any member is read."""
    for key, h in headers.items():
        if key == "codebooks":
            if h.dtype != np.float32 or len(h.shape) != 3:
                raise _Refused(f"{name}: codebooks of dtype {h.dtype} and shape {h.shape} "
                               "do not match: float32 (M, 2**nbits, d/M) expected")
            try:
                check_member_size(h, what=name)
            except ValueError as exc:
                raise _Refused(str(exc)) from None
        elif key == "format":
            if h.dtype.kind != "U" or h.shape != () or h.dtype.itemsize > 4 * 256:
                raise _Refused(f"{name} is not a lowdim ProductQuantizer file (format entry "
                               f"of dtype {h.dtype}, shape {h.shape})")
        elif key == "rotation":
            if h.dtype != np.float32 or len(h.shape) != 2:
                raise _Refused(f"{name}: rotation of dtype {h.dtype} and shape {h.shape} is "
                               "not a float32 (d, d) matrix")
            try:
                check_member_size(h, what=name)
            except ValueError as exc:
                raise _Refused(str(exc)) from None
        elif h.dtype.kind not in "iu" or h.shape != ():
            raise _Refused(f"{name}: {key} must be a single integer, got dtype {h.dtype} "
                           f"and shape {h.shape}")


def _read_saved(path: Any) -> dict[str, Any]:
    """The validated entries of a saved quantizer: ints, the format name and codebooks."""
    name = os.fspath(path)
    try:
        # Our own handle: np.load(path) leaks it when the archive is broken.
        with open(path, "rb") as fh:
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):   # a plain .npy array
                raise ValueError("not an .npz archive")
            with f:
                missing = [k for k in _SAVED_KEYS if k not in f.files]
                if missing:
                    raise ValueError(f"missing entries {missing}")
                present = [k for k in (*_SAVED_KEYS, *_SAVED_OPTIONAL) if k in f.files]
                archive = f.zip
                assert archive is not None       # an NpzFile always has its zip open here
                headers = {k: read_member_header(archive, k) for k in present}
                _check_saved_headers(headers, name)
                data = {k: f[k] for k in present}
    except FileNotFoundError:
        raise
    except _Refused:           # our own check: its message already says what is wrong
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{name} is not a valid lowdim ProductQuantizer file "
                         f"(corrupted or foreign): {exc}") from None
    if str(data["format"]) != FORMAT_NAME:
        raise ValueError(f"{name} is not a lowdim ProductQuantizer file "
                         f"(format {str(data['format'])[:80]!r})")
    out: dict[str, Any] = {"codebooks": data["codebooks"]}
    for key, (low, high) in _SAVED_INTS.items():
        value = int(data[key])
        if key == "format_version" and value != FORMAT_VERSION:
            raise ValueError(f"{name} has format version {value}; this lowdim reads version "
                             f"{FORMAT_VERSION}")
        if not low <= value <= high:
            raise ValueError(f"{name}: {key} must be in [{low}, {high}], got {value}")
        out[key] = value
    cb, M, nbits = out["codebooks"], out["n_subquantizers"], out["nbits"]
    if cb.shape[0] != M or cb.shape[1] != 1 << nbits or cb.shape[2] < 1:
        raise ValueError(f"{name}: codebooks of dtype {cb.dtype} and shape {cb.shape} do not "
                         f"match n_subquantizers={M}, nbits={nbits}")
    if not np.isfinite(cb).all():
        raise ValueError(f"{name}: codebooks contain NaN or infinity")
    # files written before OPQ have neither entry: no rotation
    rot, d = data.get("rotation"), cb.shape[0] * cb.shape[2]
    if rot is not None and rot.size:
        if rot.shape != (d, d) or not np.isfinite(rot).all():
            raise ValueError(f"{name}: rotation of dtype {rot.dtype} and shape {rot.shape} is "
                             f"not a finite float32 ({d}, {d}) matrix")
        out["rotation"] = rot
    if "opq_iter" in data:
        value = int(data["opq_iter"])
        if not 0 <= value <= 100_000:
            raise ValueError(f"{name}: opq_iter must be in [0, 100000], got {value}")
        out["opq_iter"] = value
    return out
