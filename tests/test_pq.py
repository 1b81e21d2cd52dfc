"""Tests of product quantization (lowdim.pq): oracles, exact inputs, faiss parity, files.

Every test runs on each backend/ISA (conftest.py). Oracles: brute-force numpy argmin in
float64, a float32 ADC sum in m order, faiss (when installed) with the same codebooks.
"""
import os
import warnings
import zipfile

import numpy as np
import pytest

import lowdim
from lowdim import _config, _ref
from lowdim._base import NotFittedError

SHAPES = [(1, 1), (2, 2), (3, 1), (7, 7), (8, 2), (9, 3), (15, 5), (16, 4), (17, 17), (32, 4),
          (33, 11), (64, 8), (65, 13), (97, 97)]


def oracle_codes(X, cb):
    M, K, dsub = cb.shape
    xs = X.astype(np.float64).reshape(len(X), M, 1, dsub)
    return np.argmin(((xs - cb[None].astype(np.float64)) ** 2).sum(-1), axis=2)


def fitted(cb):
    return lowdim.ProductQuantizer._from_codebooks(cb)


def quiet_fit(pq, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "fewer than 39·K points"
        return pq.fit(X)


@pytest.mark.parametrize("d,M", SHAPES)
@pytest.mark.parametrize("K", [2, 16, 256])
def test_encode_matches_argmin_oracle(rng, d, M, K):
    cb = rng.standard_normal((M, K, d // M)).astype(np.float32)
    for n in (1, 3, 9, 33):
        X = rng.standard_normal((n, d)).astype(np.float32)
        codes = lowdim.pq_encode(X, cb)
        assert codes.dtype == np.uint8 and codes.shape == (n, M)
        np.testing.assert_array_equal(codes, oracle_codes(X, cb))


def test_ties_go_to_lowest_index():
    cb = np.zeros((2, 8, 1), dtype=np.float32)
    cb[0, :, 0] = [5, 0, 2, 9, 0, 2, 7, 8]      # 0 at 1 and 4; 2 at 2 and 5
    cb[1, :, 0] = [4, 4, 4, 4, 4, 4, 4, 4]      # all equal: code 0
    X = np.array([[0, 0], [1, 3], [2, 100], [-9, 4]], dtype=np.float32)
    # x=1 is at distance 1 from centroids 0 (index 1), 2 (index 2) and 2 (index 5) -> 1.
    np.testing.assert_array_equal(lowdim.pq_encode(X, cb), [[1, 0], [1, 0], [2, 0], [1, 0]])


@pytest.mark.parametrize("K", [3, 8, 9, 17, 512])
def test_concatenated_centroids_roundtrip_exactly(rng, K):
    M, dsub = 5, 3
    cb = rng.standard_normal((M, K, dsub)).astype(np.float32)
    codes = rng.integers(0, K, (97, M)).astype(np.uint8 if K <= 256 else np.uint16)
    X = lowdim.pq_decode(codes, cb)
    assert X.dtype == np.float32 and X.shape == (97, M * dsub)
    np.testing.assert_array_equal(X, np.concatenate([cb[m][codes[:, m]] for m in range(M)], 1))
    np.testing.assert_array_equal(lowdim.pq_encode(X, cb), codes)


def test_input_dtypes_agree(rng):
    cb = rng.standard_normal((4, 16, 2)).astype(np.float32)
    X = rng.standard_normal((20, 8)).astype(np.float16)
    want = lowdim.pq_encode(X.astype(np.float32), cb)
    for dt in (np.float16, np.float64):
        np.testing.assert_array_equal(lowdim.pq_encode(X.astype(dt), cb), want)


def test_distance_table_matches_oracle(rng):
    M, K, dsub = 6, 32, 5
    pq = fitted(rng.standard_normal((M, K, dsub)).astype(np.float32))
    Q = rng.standard_normal((9, M * dsub)).astype(np.float32)
    table = pq.distance_table(Q)
    assert table.shape == (9, M, K) and table.dtype == np.float32
    want = ((Q.astype(np.float64).reshape(9, M, 1, dsub) - pq.codebooks_[None]) ** 2).sum(-1)
    np.testing.assert_allclose(table, want, rtol=1e-5, atol=1e-6)


def brute_adc(table, codes, k):
    acc = np.zeros((table.shape[0], len(codes)), dtype=np.float32)
    for m in range(codes.shape[1]):
        acc += table[:, m, codes[:, m].astype(np.intp)]
    order = np.argsort(acc, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(acc, order, 1), order


@pytest.mark.parametrize("n,k", [(1, 1), (7, 7), (33, 5), (65, 10), (500, 17)])
def test_search_equals_brute_force_adc(rng, n, k):
    M, K, dsub = 4, 16, 3
    pq = fitted(rng.standard_normal((M, K, dsub)).astype(np.float32))
    codes = rng.integers(0, K, (n, M)).astype(np.uint8)
    codes[n // 2:] = codes[: n - n // 2]            # duplicated codes: exact distance ties
    Q = rng.standard_normal((9, M * dsub)).astype(np.float32)
    dist, idx = pq.search(Q, codes, k)
    want_d, want_i = brute_adc(pq.distance_table(Q), codes, k)
    np.testing.assert_array_equal(idx, want_i)
    np.testing.assert_array_equal(dist, want_d)
    assert idx.dtype == np.int64 and dist.dtype == np.float32


def test_search_uint16_codes(rng):
    M, K, dsub = 3, 512, 2
    pq = fitted(rng.standard_normal((M, K, dsub)).astype(np.float32))
    assert pq.nbits == 9
    X = rng.standard_normal((40, M * dsub))
    codes = pq.encode(X)
    assert codes.dtype == np.uint16
    np.testing.assert_array_equal(codes, oracle_codes(X.astype(np.float32), pq.codebooks_))
    dist, idx = pq.search(X[:5], codes, 3)
    np.testing.assert_array_equal(idx, brute_adc(pq.distance_table(X[:5]), codes, 3)[1])


def clustered(rng, n, d, n_clusters=40):
    centers = rng.standard_normal((n_clusters, d)) * 3
    return (centers[rng.integers(0, n_clusters, n)]
            + rng.standard_normal((n, d))).astype(np.float32)


def test_fit_is_deterministic_across_threads_and_backends(rng):
    X = clustered(rng, 1300, 12)
    a = lowdim.ProductQuantizer(3, 5, n_iter=6, random_state=7, n_threads=1).fit(X)
    for threads in (2, 3, 5):    # 5 > M: threads share the points of each sub-space
        b = lowdim.ProductQuantizer(3, 5, n_iter=6, random_state=7, n_threads=threads).fit(X)
        np.testing.assert_array_equal(a.codebooks_, b.codebooks_)
    # The numpy twin is the spec: same codebooks bit for bit from the same start.
    init = a.codebooks_.copy()
    got = _config.kernels().pq_kmeans(X, init, 4, 2)
    np.testing.assert_array_equal(got, _ref.pq_kmeans(X, init, 4, 1))
    c = lowdim.ProductQuantizer(3, 5, n_iter=6, random_state=8).fit(X)
    assert not np.array_equal(a.codebooks_, c.codebooks_)


def test_empty_clusters_are_split(rng):
    # 8 distinct points repeated, 16 clusters: empty clusters appear at every iteration.
    X = np.repeat(rng.standard_normal((8, 4)).astype(np.float32), 8, axis=0)
    init = np.repeat(X[:1].reshape(1, 1, 4), 16, axis=1).reshape(1, 16, 4).copy()
    got = _config.kernels().pq_kmeans(X, init, 5, 1)
    np.testing.assert_array_equal(got, _ref.pq_kmeans(X, init, 5, 1))
    assert np.isfinite(got).all()
    # every distinct point ends up with a centroid close to it
    dmin = ((X[:, None] - got[0][None]) ** 2).sum(-1).min(1)
    assert dmin.max() < 1e-3


def test_fit_subsamples_and_reduces_error(rng):
    X = clustered(rng, 3000, 16)
    pq = lowdim.ProductQuantizer(4, 4, n_iter=8, max_points_per_centroid=40, random_state=0).fit(X)
    assert pq.codebooks_.shape == (4, 16, 4) and pq.n_features_in_ == 16
    mse = ((pq.decode(pq.encode(X)) - X) ** 2).mean()
    mse0 = ((lowdim.ProductQuantizer(4, 4, n_iter=0, random_state=0).fit(X).decode(pq.encode(X)) - X) ** 2).mean()
    assert mse < 0.8 * X.var() and mse <= mse0
    # transform is the reconstruction (a Pipeline's next step sees features, not code ids)
    np.testing.assert_array_equal(pq.fit_transform(X), pq.decode(pq.encode(X)))
    assert pq.transform(X).dtype == np.float32 and not hasattr(pq, "inverse_transform")


def test_bad_input(rng):
    X = rng.standard_normal((300, 12)).astype(np.float32)
    with pytest.raises(ValueError, match="not divisible"):
        lowdim.ProductQuantizer(5, 2, random_state=0).fit(X)
    for nbits in (0, 17):
        with pytest.raises(ValueError, match=r"nbits must be \[1, 16\]"):
            lowdim.ProductQuantizer(4, nbits, random_state=0).fit(X)
    with pytest.raises(ValueError, match="at least 2\\*\\*nbits = 512"):
        lowdim.ProductQuantizer(4, 9, random_state=0).fit(X)
    with pytest.warns(UserWarning, match="recommended"):
        lowdim.ProductQuantizer(4, 4, n_iter=1, random_state=0).fit(X)
    bad = X.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        lowdim.ProductQuantizer(4, 2, random_state=0).fit(bad)
    with pytest.raises(NotFittedError):
        lowdim.ProductQuantizer(4, 2, random_state=0).encode(X)
    pq = quiet_fit(lowdim.ProductQuantizer(4, 2, n_iter=2, random_state=0), X)
    bad[3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        pq.encode(bad)
    with pytest.raises(ValueError, match="features"):
        pq.encode(X[:, :8])
    codes = pq.encode(X)
    with pytest.raises(TypeError, match="dtype uint8"):
        pq.decode(codes.astype(np.int64))
    with pytest.raises(TypeError, match="dtype uint8"):
        pq.decode(codes.tolist())
    with pytest.raises(ValueError, match="out of range"):
        pq.decode(np.full((2, 4), 4, dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        pq.decode(codes[:, :3])
    with pytest.raises(ValueError, match=r"k must be \[1, 300\]"):
        pq.search(X[:2], codes, 301)
    with pytest.raises(ValueError, match="at most 65536"):
        lowdim.pq_encode(X, np.zeros((1, 65537, 12), np.float32))


def test_save_load_roundtrip_and_refusals(rng, tmp_path):
    X = rng.standard_normal((400, 8)).astype(np.float32)
    pq = quiet_fit(lowdim.ProductQuantizer(2, 3, n_iter=3, random_state=5), X)
    path = tmp_path / "pq.npz"
    pq.save(path)
    back = lowdim.ProductQuantizer.load(path)
    np.testing.assert_array_equal(back.codebooks_, pq.codebooks_)
    assert back.get_params()["random_state"] == 5 and back.nbits == 3
    np.testing.assert_array_equal(back.encode(X), pq.encode(X))

    raw = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a valid lowdim ProductQuantizer file"):
        lowdim.ProductQuantizer.load(tmp_path / "trunc.npz")
    flipped = bytearray(raw)
    pos = raw.index(pq.codebooks_.tobytes()[:16])   # inside the stored codebooks
    flipped[pos + 3] ^= 0xFF
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="not a valid lowdim ProductQuantizer file"):
        lowdim.ProductQuantizer.load(tmp_path / "flip.npz")
    np.save(tmp_path / "plain.npy", X)
    with pytest.raises(ValueError, match="not an .npz"):
        lowdim.ProductQuantizer.load(tmp_path / "plain.npy")

    def rewrite(name, **changes):
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
        data.update(changes)
        data = {k: v for k, v in data.items() if v is not None}
        np.savez(tmp_path / name, **data)
        return tmp_path / name

    with pytest.raises(ValueError, match="format version 2"):
        lowdim.ProductQuantizer.load(rewrite("v2.npz", format_version=np.array(2)))
    with pytest.raises(ValueError, match="is not a lowdim ProductQuantizer file"):
        lowdim.ProductQuantizer.load(rewrite("other.npz", format=np.array("faiss")))
    with pytest.raises(ValueError, match="do not match"):
        lowdim.ProductQuantizer.load(rewrite("shape.npz", nbits=np.array(4)))
    with pytest.raises(ValueError, match="do not match"):
        lowdim.ProductQuantizer.load(rewrite("dtype.npz", codebooks=pq.codebooks_.astype(float)))
    with pytest.raises(ValueError, match="missing entries"):
        lowdim.ProductQuantizer.load(rewrite("missing.npz", nbits=None))
    with pytest.raises(FileNotFoundError):
        lowdim.ProductQuantizer.load(tmp_path / "nope.npz")
    assert zipfile.is_zipfile(path)


def _saved(rng, tmp_path):
    X = rng.standard_normal((400, 8)).astype(np.float32)
    pq = quiet_fit(lowdim.ProductQuantizer(2, 3, n_iter=3, random_state=5), X)
    pq.save(tmp_path / "pq.npz")
    with np.load(tmp_path / "pq.npz") as f:
        return {k: f[k] for k in f.files}


def _write_members(path, members):
    """An .npz of raw members {key: bytes}; lets a header declare what the data is not."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for key, raw in members.items():
            z.writestr(key + ".npy", raw)
    return path


def _npy_bytes(arr):
    import io
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _forged(shape, descr="<f4", data=b"\0" * 64):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + data


@pytest.mark.parametrize("change, message", [
    ({"codebooks": _forged((1, 2**40, 1))}, r"declares shape \(1, 1099511627776, 1\)"),
    ({"codebooks": _forged((2, 8, 4), "|O")}, "do not match"),
    ({"format_version": np.array([1, 1])}, "format_version must be a single integer"),
    ({"format_version": np.array(1.0)}, "format_version must be a single integer"),
    ({"nbits": np.array(True)}, "nbits must be a single integer"),
    ({"format": np.array(["lowdim.ProductQuantizer"] * 2)}, "format entry"),
    ({"format": np.array(b"lowdim.ProductQuantizer")}, "format entry"),
    ({"nbits": np.array(0)}, r"nbits must be in \[1, 16\], got 0"),
    ({"nbits": np.array(17)}, r"nbits must be in \[1, 16\], got 17"),
    ({"n_subquantizers": np.array(0)}, r"n_subquantizers must be in \[1, "),
    ({"n_subquantizers": np.array(3)}, "do not match n_subquantizers=3"),
    ({"n_iter": np.array(-1)}, r"n_iter must be in \[0, 100000\], got -1"),
    ({"n_iter": np.array(10**6)}, r"n_iter must be in \[0, 100000\]"),
    ({"max_points_per_centroid": np.array(0)}, "max_points_per_centroid must be in"),
    ({"seed": np.array(-7)}, r"seed must be in \[-1, "),
    ({"seed": np.array(2**64 - 1, dtype=np.uint64)}, r"seed must be in \[-1, "),
    ({"codebooks": np.zeros((2, 8, 0), np.float32)}, "do not match"),
    ({"codebooks": np.zeros((2, 8, 4, 1), np.float32)}, "do not match"),
    ({"codebooks": np.full((2, 8, 4), np.nan, np.float32)}, "NaN or infinity"),
    ({"codebooks": np.full((2, 8, 4), np.inf, np.float32)}, "NaN or infinity"),
    ({"codebooks": np.zeros((2, 8, 4), ">f4")}, "do not match"),
])
def test_load_refuses_hostile_files_with_value_error(rng, tmp_path, change, message):
    members = {k: _npy_bytes(v) for k, v in _saved(rng, tmp_path).items()}
    members.update({k: v if isinstance(v, bytes) else _npy_bytes(v) for k, v in change.items()})
    path = _write_members(tmp_path / "hostile.npz", members)
    with pytest.raises(ValueError, match=message) as info:
        lowdim.ProductQuantizer.load(path)
    assert type(info.value) is not MemoryError and "\n" not in str(info.value)


def test_load_refuses_codebooks_beyond_available_memory(rng, tmp_path, monkeypatch):
    from lowdim import _validate
    pq = lowdim.ProductQuantizer.load(_write_members(tmp_path / "ok.npz", {
        k: _npy_bytes(v) for k, v in _saved(rng, tmp_path).items()}))
    monkeypatch.setattr(_validate, "available_memory", lambda: 100)
    with pytest.raises(ValueError, match=r"more than the 0\.0 GiB available"):
        lowdim.ProductQuantizer.load(tmp_path / "ok.npz")
    assert pq.codebooks_.shape == (2, 8, 4)


def test_save_is_atomic_and_appends_npz(rng, tmp_path):
    X = rng.standard_normal((400, 8)).astype(np.float32)
    pq = quiet_fit(lowdim.ProductQuantizer(2, 3, n_iter=3, random_state=5), X)
    pq.save(str(tmp_path / "model"))                     # np.savez's rule: ".npz" appended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    np.testing.assert_array_equal(lowdim.ProductQuantizer.load(tmp_path / "model.npz")
                                  .codebooks_, pq.codebooks_)
    with pytest.raises(FileNotFoundError):
        pq.save(tmp_path / "no_dir" / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_check_memory_compares_with_available_memory(monkeypatch):
    from lowdim import _validate
    available = _validate.available_memory()
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < available <= total
    with open("/proc/meminfo") as fh:
        kb = {line.split(":")[0]: int(line.split()[1]) for line in fh}
    assert available == pytest.approx(kb["MemAvailable"] * 1024, rel=0.25)   # it moves
    _validate.check_memory(available // 2, what="half")
    monkeypatch.setattr(_validate, "available_memory", lambda: int(12.3 * 2**30))
    with pytest.raises(ValueError, match=r"^the decoded output needs about 14\.0 GiB of "
                                         r"memory, more than the 12\.3 GiB available$"):
        codes = np.broadcast_to(np.zeros(4, np.uint8), (2**30 * 14 // 16, 4))   # 16 B/row out
        lowdim.pq_decode(codes, np.zeros((4, 2, 1), np.float32))


# ---- faiss parity (skipped when faiss is not installed) ------------------------------------

@pytest.fixture
def faiss():
    """faiss on one thread (the machine is shared; OpenMP spinning slows tests down)."""
    mod = pytest.importorskip("faiss")
    saved = mod.omp_get_max_threads()
    mod.omp_set_num_threads(1)
    yield mod
    mod.omp_set_num_threads(saved)


def test_codes_equal_faiss_compute_codes(rng, faiss):
    for d, M, nbits in [(16, 2, 8), (24, 8, 4), (64, 16, 8), (30, 10, 4)]:
        X = rng.standard_normal((2000, d)).astype(np.float32)
        fpq = faiss.ProductQuantizer(d, M, nbits)
        fpq.cp.niter = 3
        fpq.cp.min_points_per_centroid = 1      # silence faiss's small-sample warning
        fpq.train(X)
        ours = lowdim.ProductQuantizer.from_faiss(fpq)
        packed = fpq.compute_codes(X)
        if nbits == 4:   # faiss packs two 4-bit codes per byte, first code in the low half
            want = np.stack([packed & 15, packed >> 4], axis=2).reshape(len(X), M)
        else:
            want = packed
        np.testing.assert_array_equal(ours.encode(X), want)
        np.testing.assert_array_equal(ours.decode(ours.encode(X[:50])), fpq.decode(packed[:50]))
        with pytest.raises(ValueError, match="not trained"):
            lowdim.ProductQuantizer.from_faiss(faiss.IndexPQ(d, M, nbits))
        back = ours.to_faiss()
        np.testing.assert_array_equal(faiss.vector_to_array(back.centroids),
                                      faiss.vector_to_array(fpq.centroids))


def test_quality_matches_faiss(rng, faiss, variant):
    if variant == "numpy":   # test_fit_is_deterministic_across_threads_and_backends
        pytest.skip("the numpy twin trains the native codebooks bit for bit")
    d, M, nbits = 32, 8, 6
    X = clustered(rng, 6000, d, n_clusters=200)
    base, Q = X[:5000], X[5000:5300]
    exact = np.argsort(((Q[:, None] - base[None]) ** 2).sum(-1), axis=1)[:, :10]

    def recall(idx):
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, exact)])

    # Both k-means are random: one run's recall moves by ~0.005, so compare 3-seed means.
    mse, rec = {"faiss": [], "ours": []}, {"faiss": [], "ours": []}
    for seed in range(3):
        fpq = faiss.ProductQuantizer(d, M, nbits)
        fpq.cp.seed = seed
        fpq.train(base)
        index = faiss.IndexPQ(d, M, nbits)
        index.pq = fpq
        index.is_trained = True
        index.add(base)
        mse["faiss"].append(((fpq.decode(fpq.compute_codes(base)) - base) ** 2).mean())
        rec["faiss"].append(recall(index.search(Q, 10)[1]))
        ours = lowdim.ProductQuantizer(M, nbits, random_state=seed).fit(base)
        codes = ours.encode(base)
        mse["ours"].append(((ours.decode(codes) - base) ** 2).mean())
        rec["ours"].append(recall(ours.search(Q, codes, 10)[1]))
    assert np.mean(mse["ours"]) <= 1.05 * np.mean(mse["faiss"])
    assert np.mean(rec["ours"]) >= np.mean(rec["faiss"]) - 0.01

    # Same codebooks: our ADC search returns faiss's neighbours and distances.
    same = lowdim.ProductQuantizer.from_faiss(index)
    d_s, i_s = same.search(Q, same.encode(base), 10)
    d_f, i_f = index.search(Q, 10)
    np.testing.assert_allclose(d_s, d_f, rtol=1e-4)
    assert (i_s == i_f).mean() > 0.99


def test_results_do_not_depend_on_thread_count(rng):
    M, K, dsub = 5, 32, 3
    cb = rng.standard_normal((M, K, dsub)).astype(np.float32)
    X = rng.standard_normal((203, M * dsub)).astype(np.float32)
    pq1, pq3 = fitted(cb), fitted(cb)
    pq1.n_threads, pq3.n_threads = 1, 3
    np.testing.assert_array_equal(pq1.encode(X), pq3.encode(X))
    np.testing.assert_array_equal(pq1.distance_table(X[:9]), pq3.distance_table(X[:9]))
    codes = pq1.encode(X)
    codes[100:200] = codes[:100]             # ties that straddle the threads' code ranges
    for nq in (1, 2, 11):                    # fewer queries than threads: codes are split
        want = brute_adc(pq1.distance_table(X[:nq]), codes, 7)
        for pq in (pq1, pq3):
            for a, b in zip(pq.search(X[:nq], codes, 7), want):
                np.testing.assert_array_equal(a, b)


def test_native_kernels_refuse_bad_codes_without_crashing(rng):
    if _config.backend() != "native":
        pytest.skip("checks the C++ binding's own guards")
    core = _config._core
    cb = rng.standard_normal((2, 4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="code out of range"):
        core.pq_decode(np.full((3, 2), 9, np.uint8), cb, 1)
    with pytest.raises(ValueError, match="M columns"):
        core.pq_decode(np.zeros((3, 5), np.uint8), cb, 1)
    table = core.pq_distance_table(np.zeros((1, 6), np.float32), cb, 1)
    with pytest.raises(ValueError, match="k must be"):
        core.pq_search(table, np.zeros((3, 2), np.uint8), 4, 1)
    with pytest.raises(ValueError, match="at least K"):
        core.pq_kmeans(np.zeros((3, 6), np.float32), cb, 1, 1)


def test_near_ties_agree_bitwise_with_the_numpy_spec(rng):
    # Points at the midpoint of two centroids, nudged by ~1 ulp: the argmin hinges on the
    # last bit, so every backend must round exactly like _ref_pq.py.
    M, K, dsub = 4, 64, 8
    cb = rng.standard_normal((M, K, dsub)).astype(np.float32)
    a, b = rng.integers(0, K, (2, 500, M))
    mid = 0.5 * (cb[np.arange(M), a] + cb[np.arange(M), b])            # (500, M, dsub)
    X = (mid + rng.standard_normal(mid.shape) * 1e-7).astype(np.float32).reshape(500, -1)
    kern = _config.kernels()
    np.testing.assert_array_equal(kern.pq_encode(X, cb, 2), _ref.pq_encode(X, cb, 1))
    np.testing.assert_array_equal(kern.pq_distance_table(X, cb, 2),
                                  _ref.pq_distance_table(X, cb, 1))
    init = cb.copy()
    np.testing.assert_array_equal(kern.pq_kmeans(X, init, 2, 2), _ref.pq_kmeans(X, init, 2, 1))


def _round_to_f32(q):
    """Correctly rounded float32 of an exact Fraction (nearest, ties to even)."""
    from fractions import Fraction
    f = np.float32(float(q))
    cands = [np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))]
    errs = [abs(Fraction(float(c)) - q) for c in cands]
    best = min(errs)
    ties = [c for c, e in zip(cands, errs) if e == best]
    return min(ties, key=lambda c: int(np.array(c).view(np.uint32)) & 1)


def test_fma32_emulation_is_correctly_rounded(rng):
    from fractions import Fraction
    from lowdim._ref_pq import fma32
    one, u = 1.0, 2.0 ** -23
    # Double rounding trap: a·b + c lies just below a float32 midpoint, and a plain float64
    # sum would land on the midpoint and round to even (up) instead of down.
    crafted = [(one + u, 2.0 ** -24 * (one - u), one + u), (-(one + u), 2.0 ** -24 * (one - u),
               -(one + u)), (one + u, 2.0 ** -24 * (one + u), one), (3.0, 5.0, -15.0)]
    a, b, c = (np.array(v, dtype=np.float32) for v in zip(*crafted))
    a = np.concatenate([a, rng.standard_normal(400).astype(np.float32)])
    b = np.concatenate([b, (rng.standard_normal(400) * 1e-4).astype(np.float32)])
    c = np.concatenate([c, rng.standard_normal(400).astype(np.float32)])
    got = fma32(a, b, c)
    want = [_round_to_f32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
            for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(got, np.array(want, dtype=np.float32))
    assert got[0] == np.float32(one + u)      # the trap: naive float64 gives 1 + 2u


def test_fit_nine_bits_gives_uint16_codes(rng):
    X = rng.standard_normal((600, 4)).astype(np.float64)
    pq = quiet_fit(lowdim.ProductQuantizer(2, 9, n_iter=2, random_state=3), X)
    assert pq.codebooks_.shape == (2, 512, 2) and pq.codebooks_.dtype == np.float32
    codes = pq.encode(X)
    assert codes.dtype == np.uint16 and int(codes.max()) < 512
    np.testing.assert_array_equal(codes, oracle_codes(X.astype(np.float32), pq.codebooks_))
    with pytest.raises(TypeError, match="dtype uint16"):
        pq.decode(codes.astype(np.uint8))


def test_n_iter_huge_refused():
    x = np.random.default_rng(0).standard_normal((50, 8))
    with pytest.raises(ValueError, match=r"n_iter must be \[0, 100000\]"):
        lowdim.ProductQuantizer(2, nbits=2, n_iter=10**12, random_state=0).fit(x)


def test_decode_huge_output_refused_before_allocating():
    cb = np.ones((2, 4, 2), np.float32)
    codes = np.broadcast_to(np.uint8(0), (10**11, 2))   # 800 GB of output
    with pytest.raises(ValueError, match="decoded output needs about"):
        lowdim.pq_decode(codes, cb)


def test_encode_when_squared_differences_overflow_float32():
    # (1e20 − 3e19)² and (1e20 − 5e19)² are both inf in float32: the first minimum was 0.
    np.testing.assert_array_equal(lowdim.pq_encode([[1e20]], [[[3e19], [5e19]]]), [[1]])
    np.testing.assert_array_equal(lowdim.pq_encode([[1e-30]], [[[3e-30], [2e-30]]]), [[1]])


@pytest.mark.parametrize("e", [66, 100, -90, -120])
def test_power_of_two_scaled_data_gives_the_same_codes_bitwise(e):
    # 2^e scaling is exact: codebooks must be the unscaled ones times 2^e, codes and search
    # indices equal (data scaled by 1e20 used 2 of 16 codes per sub-space).
    X = np.random.default_rng(3).standard_normal((1000, 6)).astype(np.float32)
    base = lowdim.ProductQuantizer(3, 4, random_state=5).fit(X)
    codes = base.encode(X)
    Xs = np.ldexp(X, e)
    pq = lowdim.ProductQuantizer(3, 4, random_state=5).fit(Xs)
    np.testing.assert_array_equal(pq.codebooks_, np.ldexp(base.codebooks_, e))
    np.testing.assert_array_equal(pq.encode(Xs), codes)
    np.testing.assert_array_equal(pq.search(Xs[:5], codes, 4)[1], base.search(X[:5], codes, 4)[1])
    with np.errstate(over="ignore", under="ignore"):
        want = np.ldexp(base.distance_table(X[:5]), 2 * e).astype(np.float32)
    np.testing.assert_array_equal(pq.distance_table(Xs[:5]), want)
    big = lowdim.ProductQuantizer(3, 4, random_state=5).fit(X * np.float32(1e20))
    assert all(len(np.unique(c)) == 16 for c in big.encode(X * np.float32(1e20)).T)


def test_float64_beyond_float32_range_is_refused_not_inf():
    cb = np.full((1, 2, 2), 1e300)                   # finite float64, inf as float32
    with pytest.raises(ValueError, match="beyond the float32 range"):
        lowdim.pq_decode(np.zeros((3, 1), np.uint8), cb)
    with pytest.raises(ValueError, match="beyond the float32 range"):
        lowdim.ProductQuantizer(1, 1, random_state=0).fit(np.full((4, 2), -1e39))
    out = lowdim.pq_decode(np.zeros((1, 1), np.uint8), np.full((1, 2, 2), 3e38))
    assert np.isfinite(out).all()                     # inside the range: unchanged
