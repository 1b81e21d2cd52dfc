"""Tests of lowdim.codecs: conversions, ScalarQuantizer, search on codes, Hamming kNN, rescoring.

Every test runs on each backend/ISA (conftest.py). Oracles: ml_dtypes and numpy's float16 for
the float formats, np.packbits, faiss's ScalarQuantizer for the integer codes, numpy int64
dot products and popcounts for integer and Hamming distances, float64 distances to the
decoded vectors, sentence-transformers' quantize_embeddings formulas written out here.
"""
import pickle

import ml_dtypes
import numpy as np
import pytest

import lowdim
from lowdim.codecs import _ref_codecs

KINDS = ["fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "uint8", "int4", "binary"]
INT_KINDS = ["int8", "uint8", "int4"]
FLOAT_REF = {"fp8_e4m3": (ml_dtypes.float8_e4m3fn, 448.0, np.uint8),
             "fp8_e5m2": (ml_dtypes.float8_e5m2, 57344.0, np.uint8),
             "bf16": (ml_dtypes.bfloat16, float(ml_dtypes.finfo(ml_dtypes.bfloat16).max), np.uint16),
             "fp16": (np.float16, 65504.0, np.uint16)}
DIMS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 97]


def convert(x, kind):
    if kind.startswith("fp8"):
        return lowdim.to_fp8(x, kind[4:])
    return lowdim.to_bf16(x) if kind == "bf16" else lowdim.to_fp16(x)


def unconvert(c, kind):
    if kind.startswith("fp8"):
        return lowdim.from_fp8(c, kind[4:])
    return lowdim.from_bf16(c) if kind == "bf16" else lowdim.from_fp16(c)


def check_against_ml_dtypes(x, kind):
    dt, top, cdt = FLOAT_REF[kind]
    with np.errstate(over="ignore"):
        ref = x.astype(dt)
    ours = convert(x, kind)
    assert ours.dtype == cdt and ours.shape == x.shape
    finite = np.isfinite(ref.astype(np.float32))
    np.testing.assert_array_equal(ours[finite], ref.view(cdt)[finite])
    # beyond the largest finite value: saturate, keep the sign
    if finite.all():
        return
    back = unconvert(ours[~finite], kind)
    np.testing.assert_array_equal(back, np.where(x[~finite] > 0, top, -top).astype(np.float32))


# ---- conversions ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(FLOAT_REF))
def test_every_float16_pattern_matches_ml_dtypes(kind):
    x = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
    check_against_ml_dtypes(x[np.isfinite(x)].reshape(-1, 1), kind)


@pytest.mark.parametrize("kind", list(FLOAT_REF))
def test_random_and_edge_float32_match_ml_dtypes(kind, rng):
    dt, top, _ = FLOAT_REF[kind]
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    scaled = (rng.standard_normal(50_000) * 10.0 ** rng.integers(-12, 8, 50_000)).astype(np.float32)
    fi = ml_dtypes.finfo(dt) if dt is not np.float16 else np.finfo(np.float16)
    tiny, sub = float(fi.tiny), float(fi.smallest_subnormal)
    edges = np.array([0.0, -0.0, sub, -sub, sub / 2, sub * 1.5, sub * 2.5, tiny, tiny * 0.75,
                      np.nextafter(np.float32(top), 0), top, -top,
                      np.nextafter(np.float32(tiny), 0), 1e-45, -1e-45, 1.0, -1.0],
                     dtype=np.float32)
    # exact ties: midpoints between consecutive representable values round to the even one
    grid = np.unique(np.abs(np.arange(256 if kind.startswith("fp8") else 65536,
                                      dtype=np.uint8 if kind.startswith("fp8") else np.uint16)
                            .view(dt).astype(np.float32)))
    grid = grid[np.isfinite(grid)]
    ties = ((grid[:-1].astype(np.float64) + grid[1:]) / 2).astype(np.float32)
    ties = ties[ties.astype(np.float64) == (grid[:-1].astype(np.float64) + grid[1:]) / 2]
    x = np.concatenate([bits[np.isfinite(bits)], scaled, edges, ties, -ties])
    check_against_ml_dtypes(x, kind)


def test_saturation_and_signed_zero():
    np.testing.assert_array_equal(lowdim.to_fp8([464.0, 465.0, 1e30, -1e30], "e4m3"),
                                  [0x7E, 0x7E, 0x7E, 0xFE])
    np.testing.assert_array_equal(lowdim.to_fp8([61440.0, -3e38], "e5m2"), [0x7B, 0xFB])
    np.testing.assert_array_equal(lowdim.to_fp16([65520.0, -1e10]), [0x7BFF, 0xFBFF])
    np.testing.assert_array_equal(lowdim.to_bf16(np.float32([3.4e38])), [0x7F7F])
    np.testing.assert_array_equal(lowdim.to_fp8([0.0, -0.0], "e4m3"), [0x00, 0x80])
    assert lowdim.to_fp8(np.float64([1e300]), "e4m3")[0] == 0x7E   # float64 beyond float32


@pytest.mark.parametrize("kind", list(FLOAT_REF))
def test_decode_is_exact(kind):
    dt, _, cdt = FLOAT_REF[kind]
    codes = np.arange(256 if cdt is np.uint8 else 65536).astype(cdt)
    ours, ref = unconvert(codes, kind), codes.view(dt).astype(np.float32)
    np.testing.assert_array_equal(ours.view(np.uint32)[np.isfinite(ref)],
                                  ref.view(np.uint32)[np.isfinite(ref)])
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))


def test_conversions_keep_shape_and_refuse_nonfinite(rng):
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    assert lowdim.to_fp8(x).shape == (2, 3, 5)
    np.testing.assert_array_equal(lowdim.from_bf16(lowdim.to_bf16(x)), x.astype(ml_dtypes.bfloat16).astype(np.float32))
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="X contains NaN or infinity"):
            lowdim.to_fp8([1.0, bad])
    with pytest.raises(ValueError, match="kind must be 'e4m3' or 'e5m2'"):
        lowdim.to_fp8([1.0], "e3m4")
    with pytest.raises(TypeError, match="dtype uint8"):
        lowdim.from_fp8(np.zeros(3, np.int8))


@pytest.mark.parametrize("d", DIMS)
def test_binarize_matches_packbits(rng, d):
    x = rng.standard_normal((5, d)).astype(np.float32)
    x[:, ::3] = 0.0
    x[0, 0] = -0.0
    np.testing.assert_array_equal(lowdim.binarize(x), np.packbits(x > 0, axis=1))
    np.testing.assert_array_equal(lowdim.binarize(x[0].astype(np.float64)), np.packbits(x[0] > 0))


# ---- ScalarQuantizer: codes ---------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d", [1, 7, 16, 33, 97])
@pytest.mark.parametrize("rotation", [None, "hadamard"])
def test_codes_equal_numpy_twin_and_thread_counts(rng, kind, d, rotation):
    X = (rng.standard_normal((70, d)) * 3).astype(np.float32)
    X[:, d // 2] = 1.5                                 # a constant dimension: vdiff = 0
    sq = lowdim.ScalarQuantizer(kind, rotation=rotation, random_state=3).fit(X)
    codes = sq.encode(X)
    assert codes.dtype == _ref_codecs.code_dtype(kind)
    assert codes.shape[1] * codes.itemsize == sq.code_size
    x = sq._rotate(sq._check_x(X))
    lo, vdiff = sq._params()
    np.testing.assert_array_equal(codes, _ref_codecs.codec_encode(x, kind, lo, vdiff, 1))
    wide = (rng.standard_normal((40, d)) * 9).astype(np.float32)     # clipped at both ends
    np.testing.assert_array_equal(sq.encode(wide), _ref_codecs.codec_encode(
        sq._rotate(wide), kind, lo, vdiff, 1))
    np.testing.assert_array_equal(codes, lowdim.ScalarQuantizer(
        kind, rotation=rotation, random_state=3, n_threads=1).fit(X).encode(X))
    dec = sq.decode(codes)
    assert dec.shape == X.shape and dec.dtype == np.float32
    twin = _ref_codecs.codec_decode(codes, kind, lo, vdiff, sq._D, 1)
    np.testing.assert_array_equal(sq.decode(codes), sq._unrotate(twin))


@pytest.mark.parametrize("kind", INT_KINDS)
def test_int_codes_follow_faiss_formula(rng, kind):
    X = rng.standard_normal((200, 19)).astype(np.float32)
    sq = lowdim.ScalarQuantizer(kind).fit(X)
    lo, hi = X.min(0), X.max(0)
    np.testing.assert_array_equal(sq.ranges_, np.stack([lo, hi]))
    xi = np.clip((X - lo) / (hi - lo), 0, 1)
    L = 15 if kind == "int4" else 255
    level = (xi.astype(np.float64) * 15.0).astype(np.uint8) if L == 15 else \
        (np.float32(255) * xi).astype(np.uint8)
    codes = sq.encode(X)
    if kind == "int4":
        got = np.stack([codes & 15, codes >> 4], axis=2).reshape(200, -1)[:, :19]
        assert (codes[:, -1] >> 4 == 0).all()           # odd d: zero high nibble
    else:
        got = codes.view(np.uint8) ^ (0x80 if kind == "int8" else 0)
    np.testing.assert_array_equal(got, level)
    want = lo + ((level.astype(np.float32) + np.float32(0.5)) / np.float32(L)) * (hi - lo)
    np.testing.assert_array_equal(sq.decode(codes), want)


def test_ranges_options(rng):
    X = rng.standard_normal((500, 6)).astype(np.float32)
    q = lowdim.ScalarQuantizer("uint8", ranges=(0.01, 0.99)).fit(X)
    np.testing.assert_allclose(q.ranges_, np.quantile(X, [0.01, 0.99], axis=0), rtol=1e-6)
    explicit = np.stack([np.full(6, -1.0), np.full(6, 1.0)])
    q = lowdim.ScalarQuantizer("int8", ranges=explicit).fit(X)
    np.testing.assert_array_equal(q.ranges_, explicit)
    c = q.encode(np.array([[-5.0, -1.0, 0.0, 1.0, 5.0, 0.999]], np.float32))
    np.testing.assert_array_equal(c, [[-128, -128, -1, 127, 127, 126]])
    const = X.copy()
    const[:, 2] = 0.5                               # a constant dimension: level 0, decodes to it
    q = lowdim.ScalarQuantizer("uint8").fit(const)
    assert (q.encode(const)[:, 2] == 0).all() and (q.decode(q.encode(const))[:, 2] == 0.5).all()


def test_rotation_preserves_geometry(rng):
    X = rng.standard_normal((50, 20)).astype(np.float32)
    X[:, 3] *= 50                                   # an outlier dimension
    q = lowdim.ScalarQuantizer("fp16", rotation="hadamard", random_state=7).fit(X)
    assert q.code_size == 32 * 2
    np.testing.assert_allclose(q.decode(q.encode(X)), X, rtol=0, atol=0.1)
    err = {}
    for rot in (None, "hadamard"):
        s = lowdim.ScalarQuantizer("int4", rotation=rot).fit(X)
        err[rot] = float(((s.decode(s.encode(X)) - X) ** 2).mean())
    assert err["hadamard"] < err[None]


# ---- search on codes ------------------------------------------------------------------------

def clustered(rng, n, d, centers=20, noise=0.3):
    c = rng.standard_normal((centers, d)).astype(np.float32)
    return (c[rng.integers(0, centers, n)] + noise * rng.standard_normal((n, d))).astype(np.float32)


def oracle_search(Q, V, k, metric):
    q, v = Q.astype(np.float64), V.astype(np.float64)
    ip = q @ v.T
    if metric in ("euclidean", "sqeuclidean"):
        key = (q * q).sum(1)[:, None] + (v * v).sum(1)[None] - 2 * ip
    elif metric == "inner_product":
        key = -ip
    else:
        key = 1 - ip / np.linalg.norm(q, axis=1)[:, None] / np.linalg.norm(v, axis=1)[None]
    idx = np.argsort(key, axis=1, kind="stable")[:, :k]
    dist = np.take_along_axis(key, idx, 1)
    dist = {"euclidean": np.sqrt(np.maximum(dist, 0)), "inner_product": -dist}.get(metric, dist)
    return dist, idx, key


@pytest.mark.parametrize("kind", KINDS[:-1])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "inner_product", "cosine"])
@pytest.mark.parametrize("d", [5, 32, 47])
def test_float_search_matches_decoded_oracle(rng, kind, metric, d):
    X, Q = clustered(rng, 300, d), clustered(rng, 13, d)
    sq = lowdim.ScalarQuantizer(kind).fit(X)
    codes = sq.encode(X)
    dist, idx = sq.search(Q, codes, 7, metric=metric, exact=True)
    od, oi, key = oracle_search(Q, sq.decode(codes), 7, metric)
    assert dist.dtype == np.float32 and idx.dtype == np.int64
    np.testing.assert_allclose(dist, od, rtol=1e-4, atol=1e-4)
    # returned rows are the oracle's up to near-equal keys
    got = np.take_along_axis(key, idx, 1)
    np.testing.assert_allclose(got, np.take_along_axis(key, oi, 1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["int4", "fp8_e4m3"])
def test_rotated_search_is_in_the_rotated_space(rng, kind):
    X, Q = clustered(rng, 200, 20), clustered(rng, 6, 20)
    sq = lowdim.ScalarQuantizer(kind, rotation="hadamard", random_state=11).fit(X)
    codes = sq.encode(X)
    lo, vdiff = sq._params()
    xr = _ref_codecs.codec_decode(codes, kind, lo, vdiff, 32, 1)   # x̂ in the 32 rotated dims
    for metric in ("euclidean", "inner_product"):
        dist, idx = sq.search(Q, codes, 5, metric=metric, exact=True)
        od, oi, key = oracle_search(sq._rotate(Q.astype(np.float32)), xr, 5, metric)
        np.testing.assert_allclose(dist, od, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.take_along_axis(key, idx, 1),
                                   np.take_along_axis(key, oi, 1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", INT_KINDS)
@pytest.mark.parametrize("metric", ["euclidean", "inner_product", "cosine"])
@pytest.mark.parametrize("d", [1, 15, 16, 17, 33, 64, 97])
def test_integer_search_equals_int64_oracle(rng, kind, metric, d):
    X, Q = clustered(rng, 260, d), clustered(rng, 9, d)
    sq = lowdim.ScalarQuantizer(kind).fit(X)
    codes = sq.encode(X)
    dist, idx = sq.search(Q, codes, 5, metric=metric)
    # oracle: integer dot products in int64, keys in float64 with the kernels' formula
    lo, vdiff = sq._params()
    t, alpha, cst = sq._integer_query(Q, lo, vdiff)
    stored = (np.stack([codes & 15, codes >> 4], 2).reshape(len(codes), -1)[:, :d]
              if kind == "int4" else codes)
    dots = t.astype(np.int64) @ stored.astype(np.int64).T
    ip = cst[:, None] + alpha[:, None] * dots.astype(np.float64)
    xh = sq.decode(codes).astype(np.float64)
    nrm = np.zeros(len(xh))
    for j in range(d):
        nrm += xh[:, j] * xh[:, j]
    key = {"euclidean": nrm[None] - 2 * ip, "inner_product": -ip,
           "cosine": -ip / np.sqrt(nrm)[None]}[metric]
    oi = np.lexsort((np.broadcast_to(np.arange(len(X)), key.shape), key), axis=1)[:, :5]
    np.testing.assert_array_equal(idx, oi)
    ok = np.take_along_axis(key, oi, 1)
    q64 = Q.astype(np.float64)
    want = {"euclidean": np.sqrt(np.maximum(ok + (q64 * q64).sum(1)[:, None], 0)),
            "inner_product": -ok,
            "cosine": 1 + ok / np.linalg.norm(q64, axis=1)[:, None]}[metric]
    np.testing.assert_array_equal(dist, want.astype(np.float32))
    # and the query rounding costs little against the exact asymmetric distances
    ed, _ = sq.search(Q, codes, 5, metric=metric, exact=True)
    np.testing.assert_allclose(dist, ed, rtol=2e-3, atol=2e-3)


def test_ties_go_to_lower_index():
    X = np.ones((40, 8), np.float32)
    X[::2] = -1
    sq = lowdim.ScalarQuantizer("int8").fit(X)
    for exact in (False, True):
        _, idx = sq.search(X[:3], sq.encode(X), 6, exact=exact)
        np.testing.assert_array_equal(idx, [[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9, 11],
                                            [0, 2, 4, 6, 8, 10]])


def popcount_oracle(A, B):
    bits_a, bits_b = np.unpackbits(A, axis=1).astype(np.int64), np.unpackbits(B, axis=1).astype(np.int64)
    return bits_a.sum(1)[:, None] + bits_b.sum(1)[None] - 2 * bits_a @ bits_b.T


@pytest.mark.parametrize("nbytes", [1, 3, 8, 9, 16, 17, 96])
def test_hamming_knn_equals_oracle(rng, nbytes):
    Y = rng.integers(0, 256, (300, nbytes), dtype=np.uint8)
    Y[50:60] = Y[0]                                       # duplicates: ties
    Q = rng.integers(0, 256, (11, nbytes), dtype=np.uint8)
    dist, idx = lowdim.hamming_knn(Q, 9, Y=Y)
    D = popcount_oracle(Q, Y)
    oi = np.argsort(D, axis=1, kind="stable")[:, :9]
    assert dist.dtype == np.int32
    np.testing.assert_array_equal(idx, oi)
    np.testing.assert_array_equal(dist, np.take_along_axis(D, oi, 1))
    dist, idx = lowdim.hamming_knn(Y, 4, n_threads=2)       # self excluded
    D = popcount_oracle(Y, Y)
    np.fill_diagonal(D, np.iinfo(np.int64).max)
    oi = np.argsort(D, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(idx, oi)
    np.testing.assert_array_equal(dist, np.take_along_axis(D, oi, 1))
    assert dist[0, 0] == 0 and idx[0, 0] <= 50


@pytest.mark.parametrize("kind", ["int8", "int4", "fp16", "binary"])
def test_results_independent_of_thread_count(rng, kind):
    """Few queries, many rows: the rows are split between threads and merged."""
    X, Q = clustered(rng, 2600, 40), clustered(rng, 3, 40)
    sq = lowdim.ScalarQuantizer(kind).fit(X)
    codes = sq.encode(X)
    runs = []
    for threads in (1, 2, 3, 7):
        sq.set_params(n_threads=threads)
        runs.append(sq.search(Q, codes, 12, metric="cosine"))
        if kind == "binary":
            runs.append(lowdim.hamming_knn(codes[:5], 12, Y=codes, n_threads=threads))
            runs.append(lowdim.hamming_knn(codes, 3, n_threads=threads))
    step = 3 if kind == "binary" else 1
    for later in range(step, len(runs), step):
        for a, b in zip(runs[:step], runs[later:later + step]):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
    if kind == "binary":
        D = popcount_oracle(codes[:5], codes)
        np.testing.assert_array_equal(runs[1][1], np.argsort(D, axis=1, kind="stable")[:, :12])


def recall(idx, truth):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(idx, truth)])


def test_recall_int8_and_binary_rescoring(rng):
    X, Q = clustered(rng, 4000, 96, centers=50, noise=0.6), clustered(rng, 60, 96, centers=50, noise=0.6)
    _, truth = lowdim.knn(Q, 10, Y=X, metric="cosine")
    sq8 = lowdim.ScalarQuantizer("int8").fit(X)
    c8 = sq8.encode(X)
    _, i8 = sq8.search(Q, c8, 10, metric="cosine")
    assert recall(i8, truth) >= 0.95
    bq = lowdim.ScalarQuantizer("binary").fit(X)
    cb = bq.encode(X)
    hd, ib = bq.search(Q, cb, 10, metric="cosine")
    np.testing.assert_array_equal(hd, lowdim.hamming_knn(lowdim.binarize(Q), 10, Y=cb)[0])
    _, ir = bq.search(Q, cb, 10, metric="cosine", rescore=(sq8, c8), oversample=10)
    _, iff = bq.search(Q, cb, 10, metric="cosine", rescore=X, oversample=10)
    assert recall(ir, truth) >= recall(ib, truth) + 0.05
    assert recall(iff, truth) >= recall(ib, truth) + 0.05
    # binary -> int8 -> float in two calls
    _, cand = bq.search(Q, cb, 40, metric="cosine", rescore=(sq8, c8), oversample=10)
    d2, i2 = lowdim.rescore(Q, cand, X, 10, metric="cosine")
    assert recall(i2, truth) >= recall(ir, truth)
    assert (np.diff(d2, axis=1) >= 0).all()


def test_rescore_is_exact_on_candidates(rng):
    X, Q = rng.standard_normal((100, 12)), rng.standard_normal((4, 12))
    cand = np.tile(np.arange(100), (4, 1))[:, ::-1]
    for metric in ("euclidean", "sqeuclidean", "inner_product", "cosine"):
        d, i = lowdim.rescore(Q, cand, X, 5, metric=metric)
        od, oi, _ = oracle_search(Q, X, 5, metric)
        np.testing.assert_array_equal(i, oi)
        np.testing.assert_allclose(d, od, rtol=1e-6)


# ---- persistence, interop -------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_save_load_pickle(tmp_path, rng, kind):
    X = rng.standard_normal((40, 13)).astype(np.float32)
    sq = lowdim.ScalarQuantizer(kind, rotation="hadamard", random_state=5).fit(X)
    sq.save(tmp_path / "q.npz")
    for other in (lowdim.ScalarQuantizer.load(tmp_path / "q.npz"), pickle.loads(pickle.dumps(sq))):
        np.testing.assert_array_equal(other.encode(X), sq.encode(X))
        assert other.get_params()["kind"] == kind and other.code_size == sq.code_size


@pytest.mark.parametrize("kind", KINDS)
def test_pickled_codes_decode_and_search(rng, kind):
    # Codes that went through pickle (multiprocessing, joblib, Dask) carry an equal but
    # distinct dtype object; the native check once compared identity and refused them.
    X = rng.standard_normal((30, 16)).astype(np.float32)
    sq = lowdim.ScalarQuantizer(kind).fit(X)
    codes = sq.encode(X)
    moved = pickle.loads(pickle.dumps(codes))
    np.testing.assert_array_equal(sq.decode(moved), sq.decode(codes))
    np.testing.assert_array_equal(sq.search(X[:3], moved, 4)[1], sq.search(X[:3], codes, 4)[1])


def test_load_refuses_foreign_and_corrupted(tmp_path):
    np.savez(tmp_path / "x.npz", format=np.array("something"))
    with pytest.raises(ValueError, match="not a valid lowdim ScalarQuantizer file"):
        lowdim.ScalarQuantizer.load(tmp_path / "x.npz")
    (tmp_path / "y.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="not a valid lowdim ScalarQuantizer file"):
        lowdim.ScalarQuantizer.load(tmp_path / "y.npz")
    sq = lowdim.ScalarQuantizer("uint8").fit(np.eye(4, dtype=np.float32))
    sq.save(tmp_path / "z.npz")
    data = dict(np.load(tmp_path / "z.npz"))
    data["ranges"] = data["ranges"][:, :2]
    np.savez(tmp_path / "z.npz", **data)
    with pytest.raises(ValueError, match="ranges of dtype float32 and shape"):
        lowdim.ScalarQuantizer.load(tmp_path / "z.npz")


FAISS_TYPES = {"uint8": "QT_8bit", "int4": "QT_4bit", "fp16": "QT_fp16", "bf16": "QT_bf16"}


@pytest.mark.parametrize("kind", list(FAISS_TYPES))
@pytest.mark.parametrize("d", [7, 16, 33])
def test_faiss_parity(rng, kind, d):
    faiss = pytest.importorskip("faiss")
    X = clustered(rng, 500, d)
    fq = faiss.ScalarQuantizer(d, getattr(faiss.ScalarQuantizer, FAISS_TYPES[kind]))
    fq.train(X)
    ours = lowdim.ScalarQuantizer.from_faiss(fq)
    codes = ours.encode(X)
    fc = fq.compute_codes(X)
    ours_bytes = codes.view(np.uint8).reshape(fc.shape)
    if kind == "fp16":
        # faiss's encode_fp16 rounds exact ties away from zero; ours is IEEE round to
        # nearest even (numpy's float16), so codes differ only at those ties
        np.testing.assert_array_equal(codes, X.astype(np.float16).view(np.uint16))
        off = codes != fc.view(np.uint16)
        lo, hi = (c.view(np.float16).astype(np.float64) for c in (codes[off], fc.view(np.uint16)[off]))
        np.testing.assert_array_equal(np.abs(X[off] - lo), np.abs(X[off] - hi))
    else:
        np.testing.assert_array_equal(ours_bytes, fc)
    # decode: faiss's scalar formula exactly; its SIMD path (d % 8 == 0) fuses the multiply-add
    dec, fdec = ours.decode(codes), fq.decode(ours_bytes)
    if d % 8:
        np.testing.assert_array_equal(dec, fdec)
    else:
        np.testing.assert_allclose(dec, fdec, rtol=1e-6, atol=1e-6 * float(np.abs(X).max()))
    back = ours.to_faiss()
    np.testing.assert_array_equal(back.compute_codes(X), fc)
    if kind in ("uint8", "int4"):
        ranged = lowdim.ScalarQuantizer(kind).fit(X)
        np.testing.assert_array_equal(ranged.to_faiss().compute_codes(X),
                                      ranged.encode(X).view(np.uint8))
        mse = float(((ranged.decode(ranged.encode(X)) - X) ** 2).mean())
        assert mse <= float(((fq.decode(fc) - X) ** 2).mean()) * (1 + 1e-6)


def test_faiss_refusals():
    faiss = pytest.importorskip("faiss")
    fq = faiss.ScalarQuantizer(8, faiss.ScalarQuantizer.QT_8bit_direct)
    with pytest.raises(ValueError, match="has no lowdim kind"):
        lowdim.ScalarQuantizer.from_faiss(fq)
    sq = lowdim.ScalarQuantizer("int8").fit(np.eye(8, dtype=np.float32))
    with pytest.raises(ValueError, match="faiss has no codec for kind='int8'"):
        sq.to_faiss()


def test_sentence_transformers_formulas(rng):
    """quantize_embeddings (sentence_transformers/quantization.py), written out without torch."""
    emb = clustered(rng, 300, 64)
    ranges = np.vstack([emb.min(0), emb.max(0)])
    starts, steps = ranges[0], (ranges[1] - ranges[0]) / 255
    st_uint8 = ((emb - starts) / steps).astype(np.uint8)
    st_int8 = ((emb - starts) / steps - 128).astype(np.int8)
    st_ubinary = np.packbits(emb > 0).reshape(emb.shape[0], -1)
    st_binary = (np.packbits(emb > 0).reshape(emb.shape[0], -1) - 128).astype(np.int8)
    u8 = lowdim.ScalarQuantizer("uint8", ranges=ranges).fit(emb).encode(emb)
    i8 = lowdim.ScalarQuantizer("int8", ranges=ranges).fit(emb).encode(emb)
    # the same bins; float32 rounding of the two expressions may differ at a bin edge
    diff = u8.astype(int) - st_uint8.astype(int)
    assert np.abs(diff).max() <= 1 and (diff != 0).mean() < 1e-3
    # sentence-transformers truncates toward zero after − 128: one bin up below 0
    d8 = st_int8.astype(int) - i8.astype(int)
    assert set(np.unique(d8)) <= {-1, 0, 1} and (d8[i8 >= 0] != 0).mean() < 1e-3
    assert (d8[i8 < -1] == 1).mean() > 0.99
    b = lowdim.binarize(emb)
    np.testing.assert_array_equal(b, st_ubinary)
    np.testing.assert_array_equal(lowdim.ScalarQuantizer("binary").fit(emb).encode(emb), st_ubinary)
    np.testing.assert_array_equal((b.astype(np.int16) - 128).astype(np.int8), st_binary)


# ---- bad input ------------------------------------------------------------------------------

def test_bad_input_messages(rng):
    X = rng.standard_normal((20, 10)).astype(np.float32)
    with pytest.raises(ValueError, match="kind must be one of"):
        lowdim.ScalarQuantizer("int3").fit(X)
    with pytest.raises(ValueError, match="rotation must be None or 'hadamard'"):
        lowdim.ScalarQuantizer("int8", rotation="pca").fit(X)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        lowdim.ScalarQuantizer("int8").fit(bad)
    sq = lowdim.ScalarQuantizer("int8").fit(X)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        sq.encode(bad)
    with pytest.raises(ValueError, match="Q contains NaN or infinity"):
        sq.search(bad, sq.encode(X), 3)
    with pytest.raises(ValueError, match=r"ranges: hi must be > lo in every dimension; dimension 2"):
        r = np.stack([np.zeros(10), np.ones(10)])
        r[1, 2] = 0
        lowdim.ScalarQuantizer("uint8", ranges=r).fit(X)
    with pytest.raises(ValueError, match=r"ranges must have shape \(2, 10\)"):
        lowdim.ScalarQuantizer("uint8", ranges=np.zeros((2, 9))).fit(X)
    with pytest.raises(ValueError, match="ranges quantiles must satisfy"):
        lowdim.ScalarQuantizer("uint8", ranges=(0.9, 0.1)).fit(X)
    with pytest.raises(TypeError, match="codes must be a numpy array of dtype int8"):
        sq.search(X, sq.encode(X).view(np.uint8), 3)
    with pytest.raises(ValueError, match=r"codes must have shape \(n, 10\)"):
        sq.decode(sq.encode(X)[:, :5])
    with pytest.raises(ValueError, match="X has 9 features"):
        sq.encode(X[:, :9])
    with pytest.raises(ValueError, match="metric must be one of"):
        sq.search(X, sq.encode(X), 3, metric="l1")
    with pytest.raises(ValueError, match=r"k must be \[1, 20\]"):
        sq.search(X, sq.encode(X), 21)
    with pytest.raises(ValueError, match="Q has 1 all-zero rows"):
        sq.search(np.zeros((1, 10)), sq.encode(X), 3, metric="cosine")
    with pytest.raises(TypeError, match="packed bits"):
        lowdim.hamming_knn(np.zeros((3, 2), np.int8), 1)
    with pytest.raises(ValueError, match="k must be <= 2"):
        lowdim.hamming_knn(np.zeros((3, 2), np.uint8), 3)
    with pytest.raises(lowdim._base.NotFittedError):
        lowdim.ScalarQuantizer("int8").encode(X)


@pytest.mark.parametrize("decode", [lowdim.from_bf16, lowdim.from_fp16])
def test_decoding_a_huge_declared_view_is_refused_before_allocating(decode):
    codes = np.broadcast_to(np.zeros((1, 4), np.uint16), (2**36, 4))   # 1 TiB of float32
    with pytest.raises(ValueError, match="GiB of memory"):
        decode(codes)


def test_hamming_knn_refuses_a_huge_declared_view_before_copying():
    codes = np.broadcast_to(np.zeros((1, 8), np.uint8)[:, ::2], (2**37, 4))   # not contiguous
    with pytest.raises(ValueError, match="GiB of memory"):
        lowdim.hamming_knn(codes, 1)
