"""The grid of compression settings `lowdim report` measures, each a recipe that encodes a
base, searches it with queries and tells its bytes per vector and a one-line snippet.

Storage kinds are lowdim.ScalarQuantizer's (float16/bfloat16/FP8/int8/int4 with and without
the Hadamard rotation, binary plain and rescored), RaBitQ 1/2/4 bits (Gao & Long 2024), PQ
with 8-bit and 4-bit codes at several M, OPQ + PQ (Ge et al. 2013), and reductions (PCA
fitted on the training part, Matryoshka truncation, SRHT, sparse projection) stored as
float32, float16 and int8. A new codec is one more Setting subclass and one line in `grid`.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

import lowdim

# Rows handed to a setting (float32, already in the search metric) and the neighbour ids
# it returns; codes differ per codec (an array, or a (bits, rescore copy) pair): Any.
Rows = npt.NDArray[np.float32]
Ids = npt.NDArray[Any]

SCALAR_KINDS = ("fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "int4")
REDUCED_STORAGE = ("float32", "fp16", "int8")
FAMILIES = ("float32", "scalar", "scalar+hadamard", "binary", "rabitq", "pq", "opq", "pca",
            "truncate", "srht", "sparse_rp")
RABITQ_BITS = (1, 2, 4)


class Setting:
    """One row of the table. Subclasses set family, name, and implement fit/search."""
    family = ""
    name = ""
    # True when the top 10 of a k = 100 search are the k = 10 result (the ranking does not
    # depend on k), so one search gives recall@10 and recall@100
    k_independent = True

    def fit(self, T: Rows) -> Setting:   # T: training rows (float32, in the search metric)
        return self

    def encode(self, B: Rows) -> Any:
        raise NotImplementedError

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        raise NotImplementedError

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        """(queries, base rows) in the space the codec ranks in, for distance correlation."""
        raise NotImplementedError

    bytes_per_vector = 0.0
    snippet = ""


def _sq(kind: str, rotation: str | None = None) -> lowdim.ScalarQuantizer:
    # A fixed seed for the rotation (ScalarQuantizer's default random_state=None draws a
    # fresh one): the report and its snippet give the same codes on every run.
    return lowdim.ScalarQuantizer(kind, rotation=rotation, random_state=0)


def _sq_text(kind: str, rotation: str | None, var: str = "X") -> str:
    rot = ', rotation="hadamard", random_state=0' if rotation else ""
    return f'q = lowdim.ScalarQuantizer("{kind}"{rot}).fit({var}); codes = q.encode({var})'


class Float32(Setting):
    family, name, snippet = "float32", "float32 (exact)", "codes = X.astype(np.float32)"

    def encode(self, B: Rows) -> Any:
        self.bytes_per_vector = 4.0 * B.shape[1]
        return np.ascontiguousarray(B, np.float32)

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        return lowdim.knn(Q, k, Y=codes, metric=metric)[1]

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        return Q, codes[rows]


class Scalar(Setting):
    def __init__(self, kind: str, rotation: str | None = None) -> None:
        self.kind, self.rotation = kind, rotation
        self.family = "scalar+hadamard" if rotation else "scalar"
        self.name = kind + ("+hadamard" if rotation else "")
        self.snippet = _sq_text(kind, rotation)

    def fit(self, T: Rows) -> Setting:
        self.q = _sq(self.kind, self.rotation).fit(T)
        self.bytes_per_vector = float(self.q.code_size)
        return self

    def encode(self, B: Rows) -> Any:
        return self.q.encode(B)

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        return self.q.search(Q, codes, k, metric=metric)[1]

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        return Q, self.q.decode(codes[rows])


class Binary(Setting):
    """Sign bits searched by Hamming distance; rescored: oversample·k candidates reranked
    with an int8 or a float32 copy, whose bytes count too."""
    family = "binary"

    def __init__(self, rescore: str | None = None, oversample: int = 4) -> None:
        self.rescore, self.oversample = rescore, oversample
        self.k_independent = rescore is None     # rescoring reranks oversample·k candidates
        self.name = "binary" + (f"+{rescore} rescore" if rescore else "")
        base = _sq_text("binary", None).replace("q =", "b =").replace("codes =", "bits =") \
            .replace("q.encode", "b.encode")
        if rescore == "int8":
            self.snippet = (base + '; q8 = lowdim.ScalarQuantizer("int8").fit(X); c8 = '
                            "q8.encode(X); b.search(Q, bits, 10, rescore=(q8, c8))")
        elif rescore == "float32":
            self.snippet = base + "; b.search(Q, bits, 10, rescore=X)"
        else:
            self.snippet = base + "; b.search(Q, bits, 10)"

    def fit(self, T: Rows) -> Setting:
        self.b = _sq("binary").fit(T)
        self.q8 = _sq("int8").fit(T) if self.rescore == "int8" else None
        d = T.shape[1]
        sizes: dict[str | None, int] = {"int8": self.q8.code_size if self.q8 else 0,
                                        "float32": 4 * d}
        extra = sizes.get(self.rescore, 0)
        self.bytes_per_vector = float(self.b.code_size + extra)
        return self

    def encode(self, B: Rows) -> Any:
        bits = self.b.encode(B)
        if self.rescore == "int8":
            assert self.q8 is not None       # fit made it for int8 rescoring
            return bits, (self.q8, self.q8.encode(B))
        if self.rescore == "float32":
            return bits, np.ascontiguousarray(B, np.float32)
        return bits, None

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        bits, fine = codes
        return self.b.search(Q, bits, k, metric=metric, rescore=fine,
                             oversample=self.oversample)[1]

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        bits, fine = codes
        if fine is None:
            return None, None        # Hamming distance: see hamming_pairs
        if self.rescore == "int8":
            return Q, fine[0].decode(fine[1][rows])
        return Q, fine[rows]


PQ_TRAIN = 10000     # ≈ 39 rows per centroid at 8 bits: enough for k-means, and PQ's fit
                     # is the slowest step of the report on 100k × 768


OPQ_TRAIN, OPQ_ITER = 4000, 2   # OPQ's first k-means runs 40 iterations, each further round
                                # 4 more and a d × d SVD: 20 CPU-s at 5000 × 768, 4 rounds


class PQ(Setting):
    """faiss-style PQ, 8-bit codes (fewer bits when the training part is small) or 4-bit
    codes (stored two to a byte: M/2 bytes), optionally after an OPQ rotation, trained on
    the first PQ_TRAIN (OPQ: OPQ_TRAIN) rows of the (already random) training part."""

    def __init__(self, m: int, nbits: int, n_iter: int, seed: int,
                 rotation: str | None = None) -> None:
        self.m, self.nbits, self.n_iter, self.seed = m, nbits, n_iter, seed
        self.rotation = rotation
        self.family = "opq" if rotation else "pq"
        self.name = (f"{'OPQ+' if rotation else ''}PQ M={m}"
                     + ("" if nbits == 8 else f" {nbits}-bit"))
        self.bytes_per_vector = m * nbits / 8
        opq = f', rotation="opq", opq_iter={OPQ_ITER}' if rotation else ""
        self.snippet = (f"pq = lowdim.ProductQuantizer({m}, nbits={nbits}{opq}).fit(X); "
                        "codes = pq.encode(X)")

    def fit(self, T: Rows) -> Setting:
        extra: dict[str, Any] = ({"rotation": "opq", "opq_iter": OPQ_ITER} if self.rotation
                                 else {})
        self.pq = lowdim.ProductQuantizer(self.m, nbits=self.nbits, n_iter=self.n_iter,
                                          random_state=self.seed, **extra)
        self.pq.fit(T[:OPQ_TRAIN if self.rotation else PQ_TRAIN])
        return self

    def encode(self, B: Rows) -> Any:
        return self.pq.encode(B)

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        if metric == "inner_product":   # PQ's ADC is euclidean: rank the decoded vectors
            return lowdim.knn(Q, k, Y=self.pq.decode(codes), metric=metric)[1]
        return self.pq.search(Q, codes, k)[1]    # cosine: rows are unit-norm here

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        return Q, self.pq.decode(codes[rows])


class RaBitQ(Setting):
    """lowdim.RaBitQ at `bits` per dimension: sign (or multi-bit) codes of the rotated,
    centred rows plus per-row float32 factors, which count in bytes_per_vector. Ranked by
    its estimated squared distance (cosine: rows are unit-norm here; inner product: the
    decoded vectors)."""
    family = "rabitq"
    k_independent = True

    def __init__(self, bits: int, seed: int) -> None:
        self.bits, self.seed = bits, seed
        self.name = f"RaBitQ {bits}-bit"
        self.snippet = (f"r = lowdim.RaBitQ(bits={bits}, random_state={seed}).fit(X); "
                        "codes = r.encode(X); r.search(Q, codes, 10)")

    def fit(self, T: Rows) -> Setting:
        self.q = lowdim.RaBitQ(bits=self.bits, random_state=self.seed).fit(T)
        self.bytes_per_vector = float(self.q.code_size)
        return self

    def encode(self, B: Rows) -> Any:
        return self.q.encode(B)

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        if metric == "inner_product":
            return lowdim.knn(Q, k, Y=self.q.decode(codes), metric=metric)[1]
        return self.q.search(Q, codes, k)[1]

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        return Q, self.q.decode(codes[rows])

    def pair_scores(self, Q: Rows, codes: Any, qi: npt.NDArray[np.intp],
                    bi: npt.NDArray[np.intp], metric: str) -> npt.NDArray[np.float64] | None:
        """The codec's own estimate of ‖q − x‖² on the pairs (its decode is a projection,
        not what it ranks by); None for inner product, which ranks the decoded vectors."""
        if metric == "inner_product":
            return None
        est = np.empty(len(qi))
        for s in range(0, len(qi), 500):     # the diagonal of 500 × 500 blocks
            e = self.q.estimate_distances(Q[qi[s:s + 500]], codes[bi[s:s + 500]])[0]
            est[s:s + 500] = np.diagonal(e)
        return est


class Reduced(Setting):
    """A reduction to k dims (pca, truncate, srht, sparse_rp) then float32/fp16/int8."""

    def __init__(self, method: str, k: int, storage: str, seed: int, centre: bool,
                 basis: PCABasis | None = None) -> None:
        self.method, self.k, self.storage, self.seed, self.centre = (method, k, storage,
                                                                      seed, centre)
        self.basis = basis
        self.family = method
        label = {"pca": "PCA", "truncate": "truncate", "srht": "SRHT",
                 "sparse_rp": "sparse RP"}[method]
        self.name = f"{label}-{k} {storage}"
        store = ("codes = Z.astype(np.float32)" if storage == "float32"
                 else _sq_text(storage, None, "Z"))
        self.snippet = f"{self._reduce_text()}; {store}"

    def _reduce_text(self) -> str:
        k = self.k
        if self.method == "pca":
            if self.centre:
                return (f"mu = X.mean(0); V = np.linalg.svd(X - mu, full_matrices=False)[2]"
                        f"[:{k}]; Z = (X - mu) @ V.T")
            return f"V = np.linalg.svd(X, full_matrices=False)[2][:{k}]; Z = X @ V.T"
        if self.method == "truncate":
            return f"Z = X[:, :{k}]"
        if self.method == "srht":
            return f"Z = lowdim.srht(X, {k}, seed={self.seed})"
        return f"Z = lowdim.sparse_random_projection(X, {k}, seed={self.seed})"

    def reduce(self, A: Rows) -> Rows:
        k = self.k
        if self.method == "pca":
            return np.ascontiguousarray(((A - self.mu) @ self.V.T).astype(np.float32))
        if self.method == "truncate":
            return np.ascontiguousarray(A[:, :k])
        if self.method == "srht":
            return lowdim.srht(A, k, seed=self.seed).astype(np.float32)
        return lowdim.sparse_random_projection(A, k, seed=self.seed).astype(np.float32)

    def fit(self, T: Rows) -> Setting:
        if self.method == "pca":
            assert self.basis is not None    # grid always hands PCA settings a basis
            mu, V = self.basis.get(T)
            self.mu = mu.astype(np.float32)
            if V.shape[0] < self.k:
                raise ValueError(f"PCA-{self.k} needs at least {self.k} training rows, "
                                 f"got {T.shape[0]}")
            self.V = np.ascontiguousarray(V[:self.k], np.float32)
        self.q = None if self.storage == "float32" else _sq(self.storage).fit(self.reduce(T))
        self.bytes_per_vector = float(4 * self.k if self.q is None else self.q.code_size)
        return self

    def encode(self, B: Rows) -> Any:
        Z = self.reduce(B)
        return Z if self.q is None else self.q.encode(Z)

    def search(self, Q: Rows, codes: Any, k: int, metric: str) -> Ids:
        Zq = self.reduce(Q)
        if self.q is None:
            return lowdim.knn(Zq, k, Y=codes, metric=metric)[1]
        return self.q.search(Zq, codes, k, metric=metric)[1]

    def approx(self, Q: Rows, codes: Any, rows: npt.NDArray[Any],
               metric: str) -> tuple[npt.NDArray[Any] | None, npt.NDArray[Any] | None]:
        Zq = self.reduce(Q)
        return Zq, (codes[rows] if self.q is None else self.q.decode(codes[rows]))


PCA_TRAIN = 10000    # rows the principal directions are estimated from


class PCABasis:
    """Principal directions of (the first PCA_TRAIN rows of) the training part, computed
    once for every PCA setting:
    eigenvectors of the d × d (co)variance, largest first. Centred for euclidean;
    uncentred for cosine and inner product, whose scores a mean shift would change (the
    first direction then holds the shared mean)."""

    def __init__(self, centre: bool) -> None:
        self.centre = centre
        self._cache: tuple[Rows, npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None

    def get(self, T: Rows) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        if self._cache is None or self._cache[0] is not T:
            S = T[:PCA_TRAIN]
            mu = S.mean(axis=0, dtype=np.float64) if self.centre else np.zeros(T.shape[1])
            Sc = S - mu.astype(np.float32)
            # float32 product (half the time of float64); its rounding moves the directions
            # far less than sampling PCA_TRAIN rows does
            C = (Sc.T @ Sc).astype(np.float64)
            w, V = np.linalg.eigh(C)
            keep = min(len(S) - int(self.centre), T.shape[1])
            V = V[:, ::-1][:, :max(keep, 0)].T
            self._cache = (T, mu, V)
        return self._cache[1], self._cache[2]


def reduced_dims(d: int) -> list[int]:
    """k at d/16, d/8, d/4, d/2 (at least 2, below d)."""
    return sorted({max(2, d // f) for f in (16, 8, 4, 2)} - {d}) or [max(1, d // 2)]


def pq_ms(d: int, quick: bool) -> list[int]:
    """M dividing d with sub-vectors of at most 48 dims (coarser PQ is far off the frontier
    at 8 bits per sub-vector); every other and the largest, --quick the largest only."""
    ms = [m for m in (4, 8, 16, 32, 48, 64, 96, 128)
          if d % m == 0 and m <= d and d // m <= 48] or [1]
    if len(ms) <= 2:
        return ms
    return [ms[-1]] if quick else sorted(set(ms[::2]) | {ms[-1]})


def pq4_ms(d: int, quick: bool) -> list[int]:
    """4-bit PQ: the three finest M dividing d with sub-vectors of 2…24 dims (16 centroids
    describe a coarser sub-vector badly); --quick the finest only."""
    ms = [m for m in (8, 16, 32, 48, 64, 96, 128, 192, 256, 384)
          if d % m == 0 and 2 <= d // m <= 24][-3:] or [max(1, d // 2)]
    return ms[-1:] if quick else ms


def opq_ms(d: int, quick: bool) -> list[int]:
    """OPQ helps most where PQ is coarse: the smallest 8-bit M; none in --quick (its
    training alone takes longer than the rest of a quick run)."""
    return [] if quick else pq_ms(d, False)[:1]


def grid(d: int, n_train: int, *, quick: bool, seed: int, metric: str,
         wanted: Collection[str] | None = None) -> list[Setting]:
    """The settings to measure. Pruned: no Hadamard for float16/bfloat16 (their error is
    relative to each value, which a rotation cannot shrink) and, in --quick, no FP8+hadamard,
    no float32-rescored binary, fewer PQ M, no OPQ, 1-bit RaBitQ only, and reductions at d/8 and
    d/4 only."""
    out: list[Setting] = [Float32()]
    for kind in SCALAR_KINDS:
        out.append(Scalar(kind))
        if kind not in ("fp16", "bf16") and not (quick and kind.startswith("fp8")):
            out.append(Scalar(kind, "hadamard"))
    out += [Binary(), Binary("int8")] + ([] if quick else [Binary("float32")])
    # faiss's rule of thumb: >= 39 training points per centroid, so small inputs get fewer
    # bits rather than a warning.
    nbits = int(np.clip(np.floor(np.log2(max(min(n_train, PQ_TRAIN), 1) / 39)), 1, 8))
    out += [RaBitQ(b, seed) for b in (RABITQ_BITS[:1] if quick else RABITQ_BITS)]
    out += [PQ(m, nbits, 10, seed) for m in pq_ms(d, quick)]
    out += [PQ(m, 4, 10, seed) for m in pq4_ms(d, quick)]
    out += [PQ(m, nbits, 10, seed, rotation="opq") for m in opq_ms(d, quick)]
    ks = reduced_dims(d)
    if quick and len(ks) > 2:
        ks = ks[1:3]
    basis = PCABasis(centre=metric == "euclidean")
    for method in ("pca", "truncate", "srht", "sparse_rp"):
        for k in ks:
            for storage in REDUCED_STORAGE:
                out.append(Reduced(method, k, storage, seed, metric == "euclidean", basis))
    if wanted:     # the exact float32 row stays: it is the reference of every ratio
        out = [s for s in out if isinstance(s, Float32) or _selected(s, wanted)]
    return out


# `--codecs` names: a kind (int8, fp16, …), a family (rabitq, pq, opq, pca, truncate, srht,
# sparse_rp, binary, hadamard) or float32.
CODEC_NAMES = ("float32", *SCALAR_KINDS, "binary", "hadamard", "rabitq", "pq", "opq", "pca",
               "truncate", "matryoshka", "srht", "sparse_rp")


def _selected(s: Setting, wanted: Collection[str]) -> bool:
    names = {s.family}
    if isinstance(s, Scalar):
        names |= {s.kind} | ({"hadamard"} if s.rotation else set())
    if isinstance(s, Reduced) and s.method == "truncate":
        names.add("matryoshka")
    if isinstance(s, Float32):
        names.add("float32")
    return bool(names & set(wanted))
