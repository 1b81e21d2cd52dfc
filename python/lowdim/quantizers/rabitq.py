"""RaBitQ: 1-8-bit codes of x − c after a random rotation, with an unbiased distance estimator
and a per-pair error bound (Gao & Long, "RaBitQ", SIGMOD 2024, Theorem 3.2 and eq. 14-15;
extended RaBitQ, Gao et al. 2025, "Practical and asymptotically optimal quantization of
high-dimensional vectors", Sec. 3: the rescaling search for bits > 1).

r = P(x − c) (P: lowdim's seeded randomized Hadamard, as ScalarQuantizer), o = r/‖r‖;
code x̄ ∈ {−(2^B−1)/2, …, (2^B−1)/2}^D (sign bit + B−1 ex-bits), x̂ = x̄/‖x̄‖.
⟨o, q'⟩ ≈ ⟨x̂, q'⟩ / ⟨x̂, o⟩, unbiased; its error is below
‖q − c‖ · √(1 − ⟨x̂,o⟩²)/⟨x̂,o⟩ · ε₀/√(D − 1) with high probability (ε₀ = 1.9 in the paper).
"""
from __future__ import annotations

import math
import numbers
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .. import _config, _rng
from .._base import (BaseEstimator, ReconstructingQuantizerMixin, TransformerMixin,
                     check_is_fitted, validate_rows)
from .._savefile import check_generator, read_npz, write_npz
from .._validate import as_float_array, check_int, next_pow2_exponent
from .._rng import RandomStateLike
from ..codecs.quantizer import ScalarQuantizer

if TYPE_CHECKING:
    from typing_extensions import Self

FORMAT_NAME = "lowdim.RaBitQ"
FORMAT_VERSION = 1
ROTATIONS = (None, "hadamard")
FACTOR_BYTES = 8                 # 1 bit: float32 ‖x − c‖, ⟨x̂, o⟩ after the sign bytes
EX_FACTOR_BYTES = 12             # bits > 1: and float32 ‖x̄‖
_ENCODE_ROWS = 16384


class RaBitQ(ReconstructingQuantizerMixin, TransformerMixin, BaseEstimator):
    """RaBitQ 1-bit quantizer with distance estimates, error bounds and bound-based reranking.

    Parameters
    ----------
    bits : int in [1, 8], default 1
        Bits per (rotated) dimension: a sign bit plus bits − 1 ex-bits chosen by the rescaling
        search of extended RaBitQ (the t maximising ⟨x̂, o⟩ over the paper's search range).
    rotation : 'hadamard' or None, default 'hadamard'
        'hadamard': zero-pad to D = 2^⌈log₂ d⌉, seeded random signs, orthonormal FWHT (the
        rotation of ScalarQuantizer(rotation='hadamard') with the same seed). None: D = d and
        no rotation (faiss's IndexRaBitQ without a pre-transform); the error bound assumes a
        random rotation and does not hold for adversarial data without one.
    random_state : None, int, RandomState or Generator, default None
        Seed of the rotation's signs, scikit-learn's convention: None draws a seed from
        numpy's global RandomState at fit (np.random.seed makes it reproducible), an int
        fixes it; the seed used is ``seed_``.
    eps0 : float > 0, default 1.9
        Confidence parameter ε₀ of the error bound (the paper's setting). The estimator error
        is close to Gaussian, so the bound covers ≈ P(|N(0,1)| ≤ ε₀) of pairs: ≈ 94% at 1.9,
        ≥ 99.9% at ε₀ ≥ 3.3 (tested at 4.0).
    query_bits : None or int in [4, 8], default None
        None: queries are used exactly in float32. An int: the rotated query is quantized
        uniformly to 2^query_bits levels between its min and max (round to nearest, as the
        paper's Sec. 3.3 up to the randomized rounding), and the estimator uses the quantized
        query; ‖q − c‖ stays exact. The bound does not include the query quantization error.
    n_threads : int, optional
    seed : int, optional
        Deprecated name of random_state (FutureWarning at fit); removed in the next release.

    Attributes
    ----------
    center_ : ndarray (d,) float32, the mean of the training data
    n_features_in_ : int
    seed_ : int, the seed of the rotation
    code_size : int, bytes per code (also ``bytes_per_vector``): ``bits`` planes of ⌈D/8⌉
        bytes (np.packbits order; plane 0 the sign bits, planes 1… the ex-bits of
        u = (sign ? e : 2^(B−1) − 1 − e), most significant first, so x̄ = sign·2^(B−1) + u −
        (2^B − 1)/2), then little-endian float32 ‖x − c‖, ⟨x̂, o⟩ and, for bits > 1, ‖x̄‖.
    bytes_per_vector : int, the same as code_size (what the code of one vector costs).

    Notes
    -----
    Distances are squared Euclidean. NaN or inf in any input raises ValueError. Codes are
    bitwise identical on every backend, ISA and thread count.

    As a scikit-learn transformer, ``transform`` returns the float32 reconstruction
    ``decode(encode(X))`` (same columns as X, as ProductQuantizer), so the next step of a
    Pipeline sees features; ``encode`` gives the codes. scikit-learn's ``check_estimator``
    passes with no check declared inapplicable.

    Examples
    --------
    >>> import numpy as np, lowdim
    >>> x = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
    >>> rq = lowdim.RaBitQ(bits=4, random_state=0).fit(x)
    >>> codes = rq.encode(x)
    >>> rq.bytes_per_vector, codes.shape
    (20, (200, 20))
    >>> d, i, n_reranked = rq.search(x[:2], codes, 3, rescore=x)
    >>> i[:, 0].tolist()
    [0, 1]
    """

    def __init__(self, bits: int = 1, *, rotation: str | None = "hadamard",
                 random_state: RandomStateLike = None, eps0: float = 1.9,
                 query_bits: int | None = None, n_threads: int | None = None,
                 seed: int | None = None) -> None:
        self.bits = bits
        self.rotation = rotation
        self.random_state = random_state
        self.eps0 = eps0
        self.query_bits = query_bits
        self.n_threads = n_threads
        self.seed = seed

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = _rng.renamed_seed_state(state)
        if "n_features_in_" in state and "seed_" not in state:   # fitted before seed_ existed
            state["seed_"] = _rng.check_seed(state["random_state"])
        super().__setstate__(state)

    # ---- parameters -----------------------------------------------------------------------

    def _check_params(self) -> None:
        check_int(self.bits, name="bits", low=1, high=8)
        if self.query_bits is not None:
            check_int(self.query_bits, name="query_bits", low=4, high=8)
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation must be 'hadamard' or None, got {self.rotation!r}")
        if (isinstance(self.eps0, bool) or not isinstance(self.eps0, numbers.Real)
                or not math.isfinite(self.eps0) or self.eps0 <= 0):
            raise ValueError(f"eps0 must be a finite number > 0, got {self.eps0!r}")

    def _threads(self) -> int:
        return _config.resolve_threads(self.n_threads)

    @property
    def _D(self) -> int:
        d = self.n_features_in_
        return 1 << next_pow2_exponent(d) if self.rotation == "hadamard" else d

    @property
    def _nbytes(self) -> int:
        return (self._D + 7) // 8

    @property
    def code_size(self) -> int:
        """Bytes per code: bits · ⌈D/8⌉ plane bytes + 8 (1 bit) or 12 bytes of factors."""
        check_is_fitted(self, "n_features_in_")
        return int(self.bits) * self._nbytes + (FACTOR_BYTES if self.bits == 1 else EX_FACTOR_BYTES)

    @property
    def bytes_per_vector(self) -> int:
        """Bytes one encoded vector takes (= code_size)."""
        return self.code_size

    def _rotator(self) -> ScalarQuantizer:
        sq = ScalarQuantizer("binary", rotation=self.rotation, random_state=self.seed_,
                             n_threads=self.n_threads)
        sq.n_features_in_ = self.n_features_in_
        return sq

    def _rotated(self, x: np.ndarray) -> np.ndarray:
        """float32 (n, d) -> P(x − c), float32 (n, 8·nbytes) zero beyond D."""
        y = self._rotator()._rotate(np.ascontiguousarray(x - self.center_, np.float32))
        pad = self._nbytes * 8 - y.shape[1]
        return np.ascontiguousarray(np.pad(y, ((0, 0), (0, pad))) if pad else y, np.float32)

    def _check_x(self, X: npt.ArrayLike, name: str = "X") -> np.ndarray:
        """float32 (n, d): X as scikit-learn checks it (names, n_features_in_), queries Q
        by their column count only; float64 beyond float32's range is clipped to it."""
        if name == "X":
            x = validate_rows(self, X, reset=False)
        else:
            x = as_float_array(X, name=name, ndim=2)
            if x.shape[1] != self.n_features_in_:
                raise ValueError(f"{name} has {x.shape[1]} features, but this RaBitQ was "
                                 f"fitted with {self.n_features_in_}")
        if x.dtype != np.float32:
            f32max = float(np.finfo(np.float32).max)
            x = np.clip(x, -f32max, f32max).astype(np.float32)
        return x

    def _check_codes(self, codes: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        if not isinstance(codes, np.ndarray) or codes.dtype != np.uint8:
            got = codes.dtype if isinstance(codes, np.ndarray) else type(codes).__name__
            raise TypeError(f"codes must be a numpy array of dtype uint8, got {got}")
        if codes.ndim != 2 or codes.shape[1] != self.code_size or codes.shape[0] < 1:
            raise ValueError(f"codes must have shape (n, {self.code_size}) with n >= 1, "
                             f"got {codes.shape}")
        return np.ascontiguousarray(codes)

    def _factors(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """‖r‖, ⟨x̂, o⟩, ‖x̄‖ per code, float64."""
        f = np.ascontiguousarray(c[:, self.bits * self._nbytes:]).view("<f4").astype(np.float64)
        xnorm = f[:, 2] if self.bits > 1 else np.full(len(c), math.sqrt(self._D) / 2)
        return f[:, 0], f[:, 1], xnorm

    def _plane(self, c: np.ndarray, k: int) -> np.ndarray:
        nb = self._nbytes
        return c if k == 0 else np.ascontiguousarray(c[:, k * nb:(k + 1) * nb])

    def _query_args(self, q: np.ndarray
                    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
        """Checked float32 queries (nq, d) -> the kernels' query arguments: rotated float32 y
        (float path) or quantized integers qint (nq, 8·nbytes) uint8, and qp (nq, 4) float64
        = ‖y‖², lo, step, qc (see lowdim/rabitq.h). Computed here for both backends."""
        D, half = self._D, ((1 << int(self.bits)) - 1) / 2.0
        y = self._rotated(q)
        y64 = y.astype(np.float64)
        qp = np.zeros((len(q), 4))
        qp[:, 0] = np.einsum("ij,ij->i", y64, y64)
        if self.query_bits is None:
            qp[:, 3] = half * y64.sum(axis=1)
            return y, None, qp
        qf, lo, step = _quantize_queries(y64[:, :D], int(self.query_bits))
        qint = np.zeros(y.shape, np.uint8)
        qint[:, :D] = qf
        qp[:, 1], qp[:, 2] = lo[:, 0], step[:, 0]
        qp[:, 3] = half * (D * qp[:, 1] + qp[:, 2] * qf.astype(np.float64).sum(axis=1))
        return None, qint, qp

    def _bscale(self) -> float:
        return float(self.eps0) / math.sqrt(max(self._D - 1, 1))

    # ---- fit / encode / decode ---------------------------------------------------------------

    def fit(self, X: npt.ArrayLike, y: object = None) -> Self:
        """Learn the centre c = mean of X (n, d). Returns self."""
        self._check_params()
        seed = _rng.resolve_random_state(self.random_state, self.seed, owner="RaBitQ")
        x = validate_rows(self, X, reset=True, dtype=np.float32)
        self.seed_ = seed
        self.center_ = x.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.n_features_in_ = x.shape[1]
        return self

    def encode(self, X: npt.ArrayLike) -> np.ndarray:
        """Codes of X (n, d): uint8 (n, code_size), see the class docstring for the layout."""
        check_is_fitted(self, "n_features_in_")
        self._check_params()
        x = self._check_x(X)
        signs = self._rotator()._signs() if self.rotation == "hadamard" else None
        out = np.empty((x.shape[0], self.code_size), np.uint8)
        for r0 in range(0, x.shape[0], _ENCODE_ROWS):      # blocks bound the twin's copies
            xs = x[r0:r0 + _ENCODE_ROWS]
            out[r0:r0 + xs.shape[0]] = _config.kernels().rabitq_encode_raw(
                np.ascontiguousarray(xs), self.center_, signs, self._D, self._nbytes * 8,
                int(self.bits), self._threads())
        return out

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """c + ‖x − c‖·⟨x̂,o⟩·P⁻¹x̂: the projection of x − c on the code's direction (the
        least-squares reconstruction in the rotated D-space); float32 (n, d). When d < D the
        padding coordinates of the reconstruction are dropped. Search does not use it."""
        c = self._check_codes(codes)
        D, B = self._D, int(self.bits)
        u = np.zeros((c.shape[0], D), np.float64)
        for k in range(B):
            u += float(1 << (B - 1 - k)) * np.unpackbits(self._plane(c, k), axis=1, count=D)
        norm, ip, xnorm = self._factors(c)
        xbar = ((u - ((1 << B) - 1) / 2.0) * ((norm * ip) / xnorm)[:, None]).astype(np.float32)
        result: np.ndarray = self._rotator()._unrotate(np.ascontiguousarray(xbar)) + self.center_
        return result

    # ---- estimates ----------------------------------------------------------------------------

    def estimate_distances(self, Q: npt.ArrayLike,
                           codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimated squared distances between queries and coded vectors, with error bounds.

        Returns
        -------
        estimates : ndarray (nq, n) float32, unbiased estimates of ‖q − x‖²
        bounds : ndarray (nq, n) float32; ‖q − x‖² lies in estimates ± bounds with high
            probability (the paper's bound at confidence ε₀ = eps0)
        """
        c = self._check_codes(codes)
        self._check_params()
        y, qint, qp = self._query_args(self._check_x(Q, "Q"))
        result: tuple[np.ndarray, np.ndarray] = _config.kernels().rabitq_estimate(
            c, self._D, int(self.bits), y, qint, int(self.query_bits or 0), qp, self._bscale(),
            self._threads())
        return result

    def search(self, Q: npt.ArrayLike, codes: np.ndarray, k: int, *,
               rescore: npt.ArrayLike | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """k nearest codes per query by estimated squared distance, or exactly with rescore.

        Parameters
        ----------
        Q : array (nq, d); codes : from encode, (n, code_size); k : int in [1, n]
        rescore : None or float array (n, d), the original vectors of the codes
            With vectors (used as float32): only candidates whose lower bound (estimate −
            bound) is at most the k-th smallest upper bound are reranked by their exact squared
            distance (float64), so the result is the exact top k whenever the bounds hold.
            Estimates, bounds, the top k and the reranking all run in the kernel (one pass
            over the codes per block of queries).

        Returns
        -------
        distances : ndarray (nq, k) float32 ascending (estimates, or exact with rescore);
            equal distances by lower index
        indices : ndarray (nq, k) int64
        n_reranked : ndarray (nq,) int64, candidates reranked per query (0 without rescore)
        """
        c = self._check_codes(codes)
        self._check_params()
        q = self._check_x(Q, "Q")
        n = c.shape[0]
        k = check_int(k, name="k", low=1, high=n)
        vec = None
        if rescore is not None:
            vec = as_float_array(rescore, name="rescore", dtype=np.float32)
            if vec.shape != (n, self.n_features_in_):
                raise ValueError(f"rescore must have shape ({n}, {self.n_features_in_}) (the "
                                 f"original vectors of the codes), got {vec.shape}")
        return self._ranked(self._query_args(q), q, c, k, vec)

    def _ranked(self, qargs: tuple[np.ndarray | None, np.ndarray | None, np.ndarray],
                q: np.ndarray, c: np.ndarray, k: int,
                vec: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """search on the codes c for the checked queries q (qargs = _query_args(q)), with
        float32 vectors vec of the codes or None. A pair's estimate, bound and exact
        distance do not depend on the other codes, so lowdim.dask runs this per block of
        codes and merges the blocks' best k."""
        y, qint, qp = qargs
        result: tuple[np.ndarray, np.ndarray, np.ndarray] = _config.kernels().rabitq_search(
            c, self._D, int(self.bits), y, qint, int(self.query_bits or 0), qp, self._bscale(),
            k, vec, None if vec is None else q, self._threads())
        return result

    # ---- persistence ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | Any) -> None:
        """Write parameters and the centre to a .npz file (see load), atomically; the file
        carries the lowdim and random-generator versions."""
        check_is_fitted(self, "n_features_in_")
        self._check_params()
        write_npz(path, dict(
            format=np.array(FORMAT_NAME), format_version=np.array(FORMAT_VERSION),
            bits=np.array(self.bits, np.int64), rotation=np.array(self.rotation or ""),
            seed=np.array(self.seed_, dtype=np.uint64),
            eps0=np.array(float(self.eps0)), center=self.center_,
            query_bits=np.array(0 if self.query_bits is None else int(self.query_bits))))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | Any) -> Self:
        """Read a quantizer written by save(); ValueError for corrupted or foreign files and
        for a rotated quantizer saved with another random-generator version."""
        keys = ("format", "format_version", "bits", "rotation", "seed", "eps0", "center")
        where = os.fspath(path) if not hasattr(path, "read") else repr(path)
        # query_bits came after format version 1 files were written: absent = None
        data = read_npz(path, what="RaBitQ", keys=keys, optional=("query_bits",))
        if data["format"].shape != () or str(data["format"]) != FORMAT_NAME:
            raise ValueError(f"{where!s} is not a lowdim RaBitQ file (format {data['format']!r})")
        for key in ("format_version", "bits", "seed", "eps0", "rotation", "query_bits"):
            if key in data and data[key].shape != ():
                raise ValueError(f"{where!s}: {key} must be a single value, got shape "
                                 f"{data[key].shape}")
        if int(data["format_version"]) != FORMAT_VERSION:
            raise ValueError(f"{where!s} has format version {int(data['format_version'])}; "
                             f"this lowdim reads version {FORMAT_VERSION}")
        center = data["center"]
        if center.dtype != np.float32 or center.ndim != 1 or center.size < 1 \
                or not np.isfinite(center).all():
            raise ValueError(f"{where!s}: the centre (dtype {center.dtype}, shape "
                             f"{center.shape}) is not a finite float32 vector")
        rotation = str(data["rotation"]) or None
        if rotation is not None:          # the rotation is regenerated from the seed
            check_generator(data["versions"], name=where, what="RaBitQ")
        qb = int(data["query_bits"]) if "query_bits" in data else 0
        out = cls(int(data["bits"]), rotation=rotation, random_state=int(data["seed"]),
                  eps0=float(data["eps0"]), query_bits=qb or None)
        try:
            out._check_params()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where!s}: invalid parameters: {exc}") from None
        out.center_ = center.copy()
        out.n_features_in_ = center.size
        out.seed_ = _rng.check_seed(int(data["seed"]))
        return out


def _quantize_queries(y: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform scalar quantization of rotated queries y (nq, D) float64 to integers q in
    [0, 2^bits − 1] with y ≈ lo + step·q (round to nearest); returns q float32, lo, step
    (nq, 1) float64. A constant query gets step 1 and q = 0."""
    lo = y.min(axis=1, keepdims=True)
    span = y.max(axis=1, keepdims=True) - lo
    step = np.where(span > 0, span / ((1 << bits) - 1), 1.0)
    q = np.clip(np.floor((y - lo) / step + 0.5), 0, (1 << bits) - 1)
    return q.astype(np.float32), lo, step

