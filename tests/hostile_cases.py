"""Child-process side of the hostile-input sweep (tests/test_hostile.py).

A case is plain data (picklable specs, no arrays): the entry point's name, array specs
(shape, dtype, fill, view) and parameters. This worker builds the arrays itself (a memmap,
a misaligned or pickled view cannot cross a pipe as what it is), runs the call on every
backend/ISA, and answers with a list of problems: a non-ValueError/TypeError exception,
different errors or results across backends, a mutated input, non-finite output from
finite input. A crash or hang kills only this process; the parent notices and reports it.
"""
from __future__ import annotations

import faulthandler
import os
import re
import pickle
import struct
import sys
import tempfile
import time
import warnings

import numpy as np

HUGE_ROWS = 2**35     # rows of a np.broadcast_to view: 128 GiB per float32 column

# ---- building the inputs ------------------------------------------------------------------

_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
           "int32": np.int32, "int64": np.int64, "uint8": np.uint8, "uint16": np.uint16,
           "bool": np.bool_, "complex64": np.complex64, "object": object,
           ">f4": ">f4", ">f8": ">f8"}


def fill_values(shape, dtype, fill, seed):
    """A C-contiguous array of `shape` and `dtype` holding the named kind of values."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    real = rng.standard_normal(n) * 3
    if fill == "zeros":
        real[:] = 0
    elif fill == "const":
        real[:] = 1.5
    elif fill == "dups" and len(shape) >= 1 and shape[0] > 0:
        real = np.resize(real.reshape(shape[0], -1)[:3].ravel(), n)
    elif fill == "ints":
        real = rng.integers(0, 4, n).astype(float)
    elif fill == "in_rows" and len(shape) >= 1:    # indices valid for an (n, k) kNN table
        real = rng.integers(0, max(shape[0], 1), n).astype(float)
    elif fill == "neg_ints":
        real = rng.integers(-3, 4, n).astype(float)
    elif fill == "near_ties":
        real = 1 + 1e-7 * np.sign(real)
    elif fill == "big":
        real *= 1e19
    elif fill == "huge":
        top = float(np.finfo(dt).max) if dt.kind == "f" else 1e300
        real = np.sign(real) * top * rng.uniform(0.25, 0.5, n)
    elif fill == "subnormal":
        tiny = float(np.finfo(dt).smallest_subnormal) if dt.kind == "f" else 5e-324
        real = np.round(real) * tiny
    elif fill == "negzero":
        real = -0.0 * np.abs(real)
        real[::3] = 1.0
    elif fill in ("nan_one", "inf_one") and n:
        real[rng.integers(n)] = np.nan if fill == "nan_one" else -np.inf
    if dt.kind in "iu":
        info = np.iinfo(dt)
        with np.errstate(invalid="ignore"):
            real = np.clip(np.nan_to_num(np.round(real)), info.min, info.max)
        if fill == "huge":
            real = np.where(real >= 0, info.max, info.min)
    if dt.kind == "b":
        return (real > 0).reshape(shape)
    if dt.kind == "O":
        return np.array(real.tolist() if n else [], dtype=object).reshape(shape)
    if dt.kind == "c":
        return (real + 1j * real[::-1]).astype(dt).reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        return real.astype(dt).reshape(shape)


def make_view(A, view, workdir):
    """A as the named kind of array object; (array, actual view name)."""
    if view == "noncontig" and A.ndim >= 1:
        W = np.zeros(A.shape[:-1] + (2 * A.shape[-1],), A.dtype)
        W[..., ::2] = A
        return W[..., ::2], view
    if view == "reversed" and A.ndim >= 1:
        B = A[::-1].copy()
        return B[::-1], view
    if view == "fortran":
        return np.asfortranarray(A), view
    if view == "readonly":
        B = A.copy()
        B.setflags(write=False)
        return B, view
    if view == "misaligned" and A.dtype.itemsize > 1 and not A.dtype.hasobject:
        buf = bytearray(A.nbytes + 1)
        B = np.frombuffer(buf, A.dtype, count=A.size, offset=1).reshape(A.shape)
        B[...] = A
        return B, view
    if view == "memmap" and A.size and not A.dtype.hasobject:
        fd, name = tempfile.mkstemp(dir=workdir, suffix=".dat")
        os.close(fd)
        B = np.memmap(name, A.dtype, mode="w+", shape=A.shape)
        B[...] = A
        return B, view
    if view == "pickled":
        return pickle.loads(pickle.dumps(A)), view
    if view == "matrix" and A.ndim == 2:
        return np.asmatrix(A), view
    if view == "masked":
        return np.ma.masked_array(A), view
    if view == "broadcast_huge" and A.ndim == 2 and A.shape[0] >= 1:
        return np.broadcast_to(A[:1], (HUGE_ROWS, A.shape[1])), view
    return A, "plain"


def build(spec, workdir):
    """spec = (shape, dtype, fill, view, seed) -> (the array object, all values finite)."""
    shape, dtype, fill, view, seed = spec
    A = fill_values(tuple(shape), _DTYPES[dtype], fill, seed)
    finite = A.dtype.kind in "biuf" and bool(np.isfinite(A).all())
    return make_view(A, view, workdir)[0], finite


def spec_tags(spec):
    """The features of an array spec, matched against the sweep's KNOWN_OPEN set."""
    shape, dtype, fill, view, _ = spec
    return {f"dtype:{dtype}", f"values:{fill}", f"view:{view}", f"ndim:{len(shape)}"}


# ---- the entry points ---------------------------------------------------------------------

def _adjacency(X):
    """X as a scipy sparse matrix; a huge declared X becomes an empty CSC of its shape
    (CSR would need an indptr of n + 1 entries, np.abs a copy of every element)."""
    import scipy.sparse as sp
    A = np.asarray(X)
    if A.size > 10**7:
        return sp.csc_matrix(A.shape, dtype=A.dtype)
    return sp.csr_matrix(np.abs(A) if A.dtype.kind in "fiu" else A)


def _pq_chain(X, Y, p):
    import lowdim
    pq = lowdim.ProductQuantizer(p["M"], p["nbits"], n_iter=p["n_iter"], random_state=p["seed"],
                                 n_threads=p["n_threads"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # few training points: expected here
        pq.fit(X)
    codes = pq.encode(Y)
    return pq.codebooks_, codes, pq.decode(codes), pq.distance_table(Y), pq.search(Y, codes, p["k"])


def _estimator(name):
    def run(X, Y, p):
        import lowdim
        cls = getattr(lowdim, name)
        kw = {"random_state": p["seed"]}
        if name != "GaussianRandomProjection":
            kw["n_threads"] = p["n_threads"]
        est = cls(p["k"], **kw)
        return est.fit(X).transform(X)
    return run


def _mle_precomputed(X, Y, p):
    import lowdim.id
    n = len(np.asarray(Y)) if np.ndim(Y) >= 1 else 0
    k = np.shape(Y)[1] if np.ndim(Y) == 2 else 1
    rows = min(n, 10**4)          # a huge declared Y gets a huge declared dist as well
    dist = np.sort(np.random.default_rng(0).uniform(0.5, 2, (rows, k)), axis=1)
    if rows < n:
        dist = np.broadcast_to(dist[:1], (n, k))
    return lowdim.id.MLE(K=p["k"]).fit(X, precomputed_knn_arrays=(dist, Y),
                                       smooth=p["flag"]).dimension_


def _sq_chain(X, Y, p):
    """ScalarQuantizer fit/encode/decode/search, and a save/load round trip of the fit."""
    import lowdim
    sq = lowdim.ScalarQuantizer(p["sq_kind"], rotation=p["rotation"], random_state=p["seed"],
                                n_threads=p["n_threads"]).fit(X)
    codes = sq.encode(Y)
    D, I = sq.search(Y, codes, p["k"], metric=p["metric"], rescore=X if p["flag"] else None)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sq.npz")
        sq.save(path)
        again = type(sq).load(path).decode(codes)
    return codes, sq.decode(codes), D, I, again


def _rabitq_chain(X, Y, p):
    """RaBitQ fit/encode/estimate/search (with bound reranking when flagged)/decode."""
    import lowdim
    q = lowdim.RaBitQ(random_state=p["seed"]).fit(X)
    codes = q.encode(Y)
    est, bound = q.estimate_distances(Y, codes)
    D, I, n_reranked = q.search(Y, codes, p["k"], rescore=Y if p["flag"] else None)
    return codes, est, bound, D, I, n_reranked, q.decode(codes)


def _scale_curve(X, Y, p):
    """id_scale_curve's two curves as a tuple of arrays."""
    import lowdim
    curves = lowdim.id_scale_curve(X, n_threads=p["n_threads"])
    return tuple(np.asarray(v) for name in sorted(curves)
                 for _, v in sorted(curves[name].items()))


def _plain(result):
    """A measure's dict (summary, compare_summary) as a tuple of arrays, in key order."""
    if isinstance(result, dict):
        return tuple(np.asarray(v) for _, v in sorted(result.items()))
    return result


def _measures(t):
    import lowdim.measures as M
    return {
        "measures.isoscore": lambda X, Y, p: M.isoscore(X),
        "measures.isoscore_star": lambda X, Y, p: M.isoscore_star(X, zeta=p["fraction"]),
        "measures.uniformity": lambda X, Y, p: M.uniformity(
            X, t=p["alpha"], normalize=p["flag"], max_pairs=p["k"], seed=p["seed"]),
        "measures.alignment": lambda X, Y, p: M.alignment(X, Y, alpha=p["alpha"],
                                                          normalize=p["flag"]),
        "measures.w2_isotropy": lambda X, Y, p: M.w2_isotropy(X, normalize=p["flag"]),
        "measures.mean_cosine": lambda X, Y, p: M.mean_cosine(X),
        "measures.effective_rank": lambda X, Y, p: M.effective_rank(X, eps=p["eps"],
                                                                    center=p["flag"]),
        "measures.vn_entropy": lambda X, Y, p: M.vn_entropy(X, center=p["flag"]),
        "measures.alpha_req": lambda X, Y, p: M.alpha_req(X, fit_range=(1, p["k"])),
        "measures.outlier_dimensions": lambda X, Y, p: M.outlier_dimensions(
            X, statistic=p["statistic"], factor=p["alpha"]),
        "measures.hubness": lambda X, Y, p: M.hubness(X, p["k"], metric=p["metric"],
                                                      n_threads=t(p)),
        "measures.linear_cka": lambda X, Y, p: M.linear_cka(X, Y, debiased=p["flag"]),
        "measures.procrustes_distance": lambda X, Y, p: M.procrustes_distance(X, Y),
        "measures.mutual_knn_alignment": lambda X, Y, p: M.mutual_knn_alignment(
            X, Y, p["k"], metric=p["metric"], n_threads=t(p)),
        "measures.knn_overlap": lambda X, Y, p: M.knn_overlap(X, Y, p["k"], metric=p["metric"],
                                                              n_threads=t(p)),
        "measures.summary": lambda X, Y, p: _plain(M.summary(X, k=p["k"], seed=p["seed"])),
        "measures.compare_summary": lambda X, Y, p: _plain(M.compare_summary(X, Y, k=p["k"])),
    }


def _codecs(t):
    import lowdim as L
    return {
        "to_fp8": lambda X, Y, p: L.to_fp8(X, p["fp8_kind"], n_threads=t(p)),
        "from_fp8": lambda X, Y, p: L.from_fp8(X, p["fp8_kind"], n_threads=t(p)),
        "to_bf16": lambda X, Y, p: L.to_bf16(X, n_threads=t(p)),
        "from_bf16": lambda X, Y, p: L.from_bf16(X, n_threads=t(p)),
        "to_fp16": lambda X, Y, p: L.to_fp16(X, n_threads=t(p)),
        "from_fp16": lambda X, Y, p: L.from_fp16(X, n_threads=t(p)),
        "binarize": lambda X, Y, p: L.binarize(X, n_threads=t(p)),
        "hamming_knn": lambda X, Y, p: L.hamming_knn(X, p["k"], Y=Y if p["flag"] else None,
                                                     n_threads=t(p)),
        "rescore": lambda X, Y, p: L.rescore(X, Y, X, p["k"], metric=p["metric"]),
        "ScalarQuantizer": _sq_chain,
        "RaBitQ": _rabitq_chain,
        "id_scale_curve": _scale_curve,
        "id.id_scale_curve": _scale_curve,
    }


def _entries():
    import lowdim
    import lowdim.id
    L = lowdim
    t = lambda p: p["n_threads"]                                            # noqa: E731
    return {
        **_codecs(t), **_measures(t),
        "fwht": lambda X, Y, p: L.fwht(X, axis=p["axis"], normalize=p["flag"], n_threads=t(p)),
        "srht": lambda X, Y, p: L.srht(X, p["k"], seed=p["seed"], n_threads=t(p)),
        "fjlt": lambda X, Y, p: L.fjlt(X, p["k"], density=p["density"], seed=p["seed"],
                                       n_threads=t(p)),
        "gaussian_random_projection": lambda X, Y, p: L.gaussian_random_projection(
            X, p["k"], seed=p["seed"], n_threads=t(p)),
        "sparse_random_projection": lambda X, Y, p: L.sparse_random_projection(
            X, p["k"], density=p["density"], seed=p["seed"], dense_output=p["flag"],
            n_threads=t(p)),
        "sparse_random_projection(csr)": lambda X, Y, p: L.sparse_random_projection(
            _adjacency(X), p["k"], seed=p["seed"], n_threads=t(p)),
        "johnson_lindenstrauss_min_dim": lambda X, Y, p: L.johnson_lindenstrauss_min_dim(
            p["k"], eps=p["eps"]),
        "fastrp": lambda X, Y, p: L.fastrp(_adjacency(X), p["k"], seed=p["seed"],
                                           iteration_weights=p["weights"], n_threads=t(p)),
        "FastRP": lambda X, Y, p: L.FastRP(p["k"], random_state=p["seed"],
                                           n_threads=t(p)).fit_transform(_adjacency(X)),
        "SparseRandomProjection": _estimator("SparseRandomProjection"),
        "GaussianRandomProjection": _estimator("GaussianRandomProjection"),
        "SRHT": _estimator("SRHT"),
        "FastJLT": _estimator("FastJLT"),
        "pq_encode": lambda X, Y, p: L.pq_encode(X, Y, n_threads=t(p)),
        "pq_decode": lambda X, Y, p: L.pq_decode(X, Y, n_threads=t(p)),
        "ProductQuantizer": _pq_chain,
        "knn": lambda X, Y, p: L.knn(X, p["k"], Y=Y if p["flag"] else None, metric=p["metric"],
                                     n_threads=t(p)),
        "lid": lambda X, Y, p: L.lid(X, p["k"], estimator=p["estimator"], n_threads=t(p)),
        "intrinsic_dim": lambda X, Y, p: L.intrinsic_dim(X, p["method"], k=p["k"],
                                                         n_threads=t(p)),
        "twonn": lambda X, Y, p: L.twonn(X, discard_fraction=p["fraction"], n_threads=t(p)),
        "remove_duplicates": lambda X, Y, p: L.remove_duplicates(
            X, return_index=p["flag"], return_inverse=True),
        "mst": lambda X, Y, p: L.mst(X, n_threads=t(p)),
        "mst_length": lambda X, Y, p: L.mst_length(X, alpha=p["alpha"], return_grad=p["flag"],
                                                   n_threads=t(p)),
        "mst_length_batch": lambda X, Y, p: L.mst_length_batch(X, alpha=p["alpha"],
                                                               n_threads=t(p)),
        "ph_dimension": lambda X, Y, p: L.ph_dimension(X, alpha=p["alpha"], n_steps=3,
                                                       n_reruns=2, seed=p["seed"],
                                                       n_threads=t(p)),
        "id.MLE": lambda X, Y, p: lowdim.id.MLE(K=p["k"], n_threads=t(p)).fit(X).dimension_,
        "id.MLE.fit_pw": lambda X, Y, p: lowdim.id.MLE(K=p["k"]).fit_pw(X).dimension_pw_,
        "id.MLE(precomputed)": _mle_precomputed,
        "id.TwoNN": lambda X, Y, p: lowdim.id.TwoNN(p["fraction"],
                                                    n_threads=t(p)).fit(X).dimension_,
        "id.ESS": lambda X, Y, p: lowdim.id.ESS(n_threads=t(p)).fit(
            X, n_neighbors=p["k"]).dimension_,
        "id.MiND_ML": lambda X, Y, p: lowdim.id.MiND_ML(k=p["k"], n_threads=t(p)).fit(X).dimension_,
        "id.DANCo": lambda X, Y, p: lowdim.id.DANCo(k=p["k"], D=4, n_threads=t(p)).fit(
            X).dimension_,
        **{f"id.{c}": (lambda c: lambda X, Y, p: getattr(lowdim.id, c)(
            n_threads=t(p)).fit(X).dimension_)(c) for c in ("lPCA", "MOM", "TLE", "CorrInt",
                                                             "GRIDE")},
        "set_num_threads": lambda X, Y, p: (L.set_num_threads(p["k"]), L.get_num_threads()),
        "settings:set_backend": lambda X, Y, p: L.set_backend(p["value"]),
        "settings:set_isa": lambda X, Y, p: L.set_isa(p["value"]),
        "settings:getters": lambda X, Y, p: (L.available_isas(), L.config(), L.isa(),
                                             L.show_config(), L.get_num_threads(), None)[-1],
    }


# Entries whose integer outputs (neighbour indices, tree edges) may differ between ISAs
# at exact float ties (README, "Determinism"): their float outputs are compared instead.
TIE_SENSITIVE = {"knn", "mst", "lid", "intrinsic_dim", "twonn", "id.MLE", "id.MLE.fit_pw",
                 "id.TwoNN", "id.MOM", "id.TLE", "id.CorrInt", "id.GRIDE", "mst_length",
                 "mst_length_batch", "ph_dimension"}


# Checks the sweep's KNOWN_OPEN may switch off per entry ("check:<name>").
CHECKS = {"one_line_error", "finite_output"}


# ---- comparing outcomes -------------------------------------------------------------------

def _arrays(result):
    """The result as a flat list of numpy arrays (tuples, scalars, sparse matrices)."""
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    if hasattr(result, "toarray") and hasattr(result, "nnz"):
        return [np.asarray(result.toarray())]
    return [np.asarray(result)]


def _same(ref, got, loose: bool) -> str | None:
    if ref.shape != got.shape or ref.dtype != got.dtype:
        return f"shape/dtype {got.shape} {got.dtype} vs numpy {ref.shape} {ref.dtype}"
    if ref.dtype.kind == "f":
        finite = ref[np.isfinite(ref)]
        scale = float(np.abs(finite).max()) if finite.size else 1.0
        rtol = 1e-3 if loose else (1e-5 if ref.dtype.itemsize <= 4 else 1e-9)
        if not np.allclose(got, ref, rtol=rtol, atol=rtol * max(scale, 1e-30), equal_nan=True):
            bad = np.flatnonzero(~np.isclose(got, ref, rtol=rtol, atol=rtol * scale,
                                             equal_nan=True))
            i = bad[0] if bad.size else 0
            return f"values differ at flat index {i}: {got.ravel()[i]!r} vs numpy {ref.ravel()[i]!r}"
        return None
    if loose:
        return None
    if not np.array_equal(ref, got):
        return "integer output differs from numpy"
    return None


def _snapshot(X):
    if X is None or isinstance(X, np.ndarray) and X.size > 10**7:
        return None                       # np.broadcast_to views: read-only, cannot be copied
    return np.array(X, copy=True)


def _mutated(X, before) -> bool:
    if before is None:
        return False
    now = np.asarray(X)
    return now.shape != before.shape or now.tobytes() != before.tobytes()


def _stable(error):
    """An error's (type, text) without the live free-memory figure of check_memory's
    message, which changes between the two backends' calls."""
    name, text = error
    return name, re.sub(r"the [0-9.]+ GiB available", "the ... GiB available", text)


def run_case(case, workdir):
    """Run one case on every variant; the list of problems found (empty: fine)."""
    import lowdim
    from lowdim import _config
    entry, xspec, yspec, params, off = case
    fn = _entries()[entry]
    outcomes, problems = {}, []
    threads = lowdim.get_num_threads()
    for variant in VARIANTS:
        if variant == "numpy":
            lowdim.set_backend("numpy")
        else:
            lowdim.set_backend("native")
            _config._core.set_isa(variant.split("-", 1)[1])
        X, finite_input = build(xspec, workdir)
        if yspec is not None:
            Y, finite_y = build(yspec, workdir)
            finite_input = finite_input and finite_y
        else:
            Y = None
        before = (_snapshot(X), _snapshot(Y))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                result = fn(X, Y, params)
            outcomes[variant] = ("ok", _arrays(result))
        except (ValueError, TypeError) as exc:
            outcomes[variant] = ("error", type(exc).__name__, str(exc))
            if "\n" in str(exc) and "one_line_error" not in off:
                problems.append(f"{variant}: multi-line {type(exc).__name__}: {str(exc)[:300]!r}")
        except BaseException as exc:      # MemoryError, IndexError, RuntimeWarning, ...
            outcomes[variant] = ("error", type(exc).__name__, str(exc))
            problems.append(f"{variant}: raised {type(exc).__name__}: {str(exc)[:300]}")
        finally:      # settings entries change global state; the next variant starts clean
            lowdim.set_num_threads(threads)
        for name, arr, snap in (("X", X, before[0]), ("Y", Y, before[1])):
            if _mutated(arr, snap):
                problems.append(f"{variant}: the call changed its input {name}")
        out = outcomes[variant]
        if out[0] == "ok" and finite_input and "finite_output" not in off:
            for a in out[1]:
                if a.dtype.kind in "fc" and not np.isfinite(a).all():
                    problems.append(f"{variant}: non-finite output from finite input")
                    break
        del X, Y
    ref = outcomes["numpy"]
    for variant, out in outcomes.items():
        if variant == "numpy":
            continue
        if out[0] != ref[0]:
            problems.append(f"{variant}: {out[0]} {out[1:]!r:.300} but numpy: {ref[0]} "
                            f"{ref[1:]!r:.300}")
        elif out[0] == "error" and _stable(out[1:]) != _stable(ref[1:]):
            problems.append(f"{variant}: {out[1]}({out[2]!r:.300}) but numpy "
                            f"{ref[1]}({ref[2]!r:.300})")
        elif out[0] == "ok":
            if len(out[1]) != len(ref[1]):
                problems.append(f"{variant}: {len(out[1])} outputs vs numpy {len(ref[1])}")
                continue
            for i, (a, b) in enumerate(zip(ref[1], out[1])):
                why = _same(a, b, loose=entry in TIE_SENSITIVE)
                if why:
                    problems.append(f"{variant}: output {i}: {why}")
    lowdim.set_backend("numpy")
    return problems


def _variants():
    import lowdim
    from lowdim import _config
    out = ["numpy"]
    if _config._core is not None and lowdim.backend() == "native":
        out += [f"native-{isa}" for isa in lowdim.available_isas()]
    return out


# ---- the pipe protocol: length-prefixed pickles on a private copy of fd 1 ----------------

def _send(fh, obj):
    data = pickle.dumps(obj)
    fh.write(struct.pack("<Q", len(data)) + data)
    fh.flush()


def _receive(fh):
    head = fh.read(8)
    if len(head) < 8:
        return None
    return pickle.loads(fh.read(struct.unpack("<Q", head)[0]))


def serve():
    """Answer cases from stdin until EOF; prints of the library go to stderr."""
    global VARIANTS
    faulthandler.enable()                 # a crash or hang leaves a traceback on stderr
    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    VARIANTS = _variants()
    _send(reply, VARIANTS)
    stdin = sys.stdin.buffer
    log = os.environ.get("LOWDIM_SWEEP_LOG")
    with tempfile.TemporaryDirectory() as workdir:
        while (case := _receive(stdin)) is not None:
            t0 = time.perf_counter()
            _send(reply, run_case(case, workdir))
            if log:        # where the sweep's time goes (slow cases are near-hangs)
                with open(log, "a") as fh:
                    fh.write(f"{time.perf_counter() - t0:.3f} {case!r}\n")
            for name in os.listdir(workdir):
                os.unlink(os.path.join(workdir, name))


VARIANTS: list = []

if __name__ == "__main__":
    serve()
