"""lowdim.dask on a real distributed.LocalCluster (2 worker processes, 1 thread each).

Every function is compared with the in-memory lowdim call on the computed array: bitwise
for projections, codes and kNN indices, equal estimates for intrinsic dimension. Plus the
graph-size bound (parameters, not matrices), a worker killed mid-job, and bad input raising
the in-memory messages. The workers run lowdim's default backend, so this module runs once
(on the default variant), not once per backend.
"""
import os
import re
import signal
import time

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import wait

import lowdim
import lowdim.dask as ldd

from helpers_shared import run

TIMEOUT = 120


@pytest.fixture(autouse=True)
def variant():
    """Overrides conftest's per-backend fixture: the cluster's workers use the default one."""
    yield lowdim.backend()


@pytest.fixture(scope="module")
def client(dask_client):
    """The session's LocalCluster (tests/conftest.py), shared with test_report_stream."""
    return dask_client


def graph_bytes(*collections):
    graph = {}
    for c in collections:
        graph.update(dict(c.__dask_graph__()))
    import cloudpickle
    return len(cloudpickle.dumps(graph))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    latent = rng.standard_normal((1100, 6))
    X = (latent @ rng.standard_normal((6, 48)) + 0.05 * rng.standard_normal((1100, 48)))
    return X.astype(np.float32)


def chunked(X, rows=(137,)):
    return da.from_array(X, chunks=(rows[0], X.shape[1]))


# ---- projections ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sparse_random_projection", "srht", "fjlt"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_projection_is_bitwise_the_in_memory_call(client, data, name, dtype):
    X = (data * 10).astype(dtype)
    # Odd row blocks, and columns split in two (merged to whole rows by lowdim.dask).
    Xd = da.from_array(X, chunks=(97, 30))
    got, = run(client, getattr(ldd, name)(Xd, 40, seed=11))
    want = getattr(lowdim, name)(X, 40, seed=11)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_gaussian_matches_to_rounding_not_bitwise(client, data):
    # OpenBLAS sums depend on the rows per call: equal to rounding only (documented).
    got, = run(client, ldd.gaussian_random_projection(chunked(data), 40, seed=3))
    want = lowdim.gaussian_random_projection(data, 40, seed=3)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("make", [
    lambda: lowdim.SparseRandomProjection(24, random_state=5),
    lambda: lowdim.GaussianRandomProjection(24, random_state=5),
    lambda: lowdim.SRHT(24, random_state=5),
    lambda: lowdim.FastJLT(24, random_state=5)])
def test_estimator_transform(client, data, make):
    est = make().fit(data)
    got, = run(client, ldd.transform(est, chunked(data)))
    want = est.transform(data)
    if isinstance(est, lowdim.GaussianRandomProjection):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    else:
        np.testing.assert_array_equal(got, want)


def test_estimator_errors_before_compute(data):
    est = lowdim.SRHT(8, random_state=1).fit(data)
    with pytest.raises(ValueError) as want:
        est.transform(data[:, :10])
    with pytest.raises(ValueError, match=str(want.value)):
        ldd.transform(est, chunked(data[:, :10]))
    with pytest.raises(lowdim._base.NotFittedError):
        ldd.transform(lowdim.SRHT(8), chunked(data))
    with pytest.raises(TypeError, match="estimator must be one of"):
        ldd.transform(lowdim.ProductQuantizer(4, random_state=0), chunked(data))


@pytest.mark.parametrize("fn", [ldd.sparse_random_projection, ldd.srht, ldd.fjlt,
                                ldd.gaussian_random_projection])
def test_graph_holds_parameters_not_the_matrix(fn):
    X = da.zeros((10**6, 4096), chunks=(62500, 4096), dtype=np.float32)
    y = fn(X, 256, seed=1)
    size = graph_bytes(y)
    matrix = 256 * 4096 * 4
    assert size < 16 << 10, size          # a few KiB for 16 blocks, not the 4 MiB matrix
    assert size < matrix / 200


# ---- kNN and intrinsic dimension ------------------------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine", "inner_product"])
def test_knn_self_equals_in_memory(client, data, metric):
    d, i = run(client, *ldd.knn(chunked(data, (150,)), 9, metric=metric))
    d0, i0 = lowdim.knn(data, 9, metric=metric)
    np.testing.assert_array_equal(i, i0)
    np.testing.assert_allclose(d, d0, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "inner_product"])
def test_knn_with_base_equals_in_memory(client, data, metric):
    Q, Y = data[:230], data[230:]
    d, i = run(client, *ldd.knn(chunked(Q, (100,)), 12, Y=chunked(Y, (61,)), metric=metric))
    d0, i0 = lowdim.knn(Q, 12, Y=Y, metric=metric)
    np.testing.assert_array_equal(i, i0)
    np.testing.assert_allclose(d, d0, rtol=1e-6, atol=1e-6)
    # An in-memory base (numpy Y) works the same.
    d2, i2 = run(client, *ldd.knn(chunked(Q, (100,)), 12, Y=Y, metric=metric))
    np.testing.assert_array_equal(i2, i0)


def test_knn_ties_go_to_the_lower_global_index(client):
    # A small integer grid: most distances tie exactly, across blocks too.
    X = np.random.default_rng(3).integers(0, 3, size=(400, 3)).astype(np.float64)
    d, i = run(client, *ldd.knn(chunked(X, (33,)), 15))
    d0, i0 = lowdim.knn(X, 15)
    np.testing.assert_array_equal(i, i0)
    np.testing.assert_array_equal(d, d0)
    row = np.arange(len(X))[:, None]
    assert not (i == row).any()                      # self excluded
    tied = d[:, 1:] == d[:, :-1]
    assert tied.any() and (i[:, 1:][tied] > i[:, :-1][tied]).all()


def test_knn_single_row_blocks(client, data):
    X = data[:40]
    d, i = run(client, *ldd.knn(da.from_array(X, chunks=((1, 1, 2, 5, 31), 48)), 5))
    np.testing.assert_array_equal(i, lowdim.knn(X, 5)[1])


def test_lid_twonn_intrinsic_dim_equal_in_memory(client, data):
    data = data[:600]
    Xd = chunked(data, (250,))
    for est in ("mle", "levina_bickel"):
        got, = run(client, ldd.lid(Xd, 10, estimator=est))
        np.testing.assert_array_equal(got, lowdim.lid(data, 10, estimator=est))
    dist, idx = ldd.knn(Xd, 12)
    got, = run(client, ldd.lid(None, 10, knn=(dist, idx)))
    np.testing.assert_array_equal(got, lowdim.lid(data, 10))
    for method in ("linear", "mle"):
        assert ldd.twonn(Xd, method=method) == lowdim.twonn(data, method=method)
    assert ldd.intrinsic_dim(Xd, "mle", k=10) == lowdim.intrinsic_dim(data, "mle", k=10)
    assert ldd.intrinsic_dim(Xd) == lowdim.intrinsic_dim(data)


def test_duplicates_raise(client, data):
    X = np.concatenate([data[:200], data[:5]])
    with pytest.raises(ValueError, match="points have a duplicate"):
        run(client, ldd.lid(chunked(X), 5))
    with pytest.raises(ValueError, match="points have a duplicate"):
        ldd.twonn(chunked(X))
    with pytest.raises(ValueError, match=r"duplicates must be one of \('raise',\)"):
        ldd.lid(chunked(X), 5, duplicates="merge")


def test_ph_dimension_equals_in_memory(client, data):
    kw = dict(n_max=600, n_steps=6, n_reruns=3, seed=9)
    dim, sizes, energies = ldd.ph_dimension(chunked(data), return_points=True, **kw)
    dim0, sizes0, energies0 = lowdim.ph_dimension(data, return_points=True, **kw)
    np.testing.assert_array_equal(sizes, sizes0)
    np.testing.assert_array_equal(energies, energies0)
    assert dim == dim0


def test_seeded_sample_is_the_in_memory_sample(client):
    from lowdim import _rng
    from lowdim.dask._common import seeded_sample
    for n, k in [(10, 3), (1000, 999), (5000, 37), (3, 5)]:
        got = seeded_sample(42, 77, n, k, per_task=256).compute()
        np.testing.assert_array_equal(got, _rng.sample_without_replacement(42, 77, n, k))


# ---- product quantization ------------------------------------------------------------------

@pytest.fixture(scope="module")
def pq(data):
    return lowdim.ProductQuantizer(8, 4, random_state=3).fit(data)


def test_pq_encode_decode_search_bitwise(client, pq, data):
    codes, = run(client, ldd.encode(pq, chunked(data)))
    np.testing.assert_array_equal(codes, pq.encode(data))
    cd = da.from_array(codes, chunks=(211, 8))
    rec, = run(client, ldd.decode(pq, cd))
    np.testing.assert_array_equal(rec, pq.decode(codes))
    Q = data[:70] + 0.01
    for Qin in (Q, chunked(Q, (30,))):
        d, i = run(client, *ldd.search(pq, Qin, cd, 11))
        d0, i0 = pq.search(Q, codes, 11)
        np.testing.assert_array_equal(i, i0)
        np.testing.assert_array_equal(d, d0)


_CODECS = {
    "sq-int8": lambda: lowdim.ScalarQuantizer("int8"),
    "sq-int4-hadamard": lambda: lowdim.ScalarQuantizer("int4", rotation="hadamard", random_state=2),
    "sq-fp16": lambda: lowdim.ScalarQuantizer("fp16"),
    "sq-binary-hadamard": lambda: lowdim.ScalarQuantizer("binary", rotation="hadamard",
                                                          random_state=3),
    "rabitq": lambda: lowdim.RaBitQ(random_state=4),
}


@pytest.mark.parametrize("name", list(_CODECS))
def test_codec_fit_encode_decode_equal_in_memory(client, data, name):
    X = (data * 3).astype(np.float64)           # float64 in: rounded to float32 per block too
    got = ldd.fit(_CODECS[name](), chunked(X))
    want = _CODECS[name]().fit(X)
    if name == "rabitq":    # float64 sums added per block vs numpy's pairwise mean
        np.testing.assert_allclose(got.center_, want.center_, rtol=1e-6, atol=1e-6)
        got.center_ = want.center_
    else:
        assert (got.ranges_ is None) == (want.ranges_ is None)
        if want.ranges_ is not None:
            np.testing.assert_array_equal(got.ranges_, want.ranges_)
    codes, = run(client, ldd.encode(got, da.from_array(X, chunks=(97, 30))))
    np.testing.assert_array_equal(codes, want.encode(X))
    rec, = run(client, ldd.decode(got, da.from_array(codes, chunks=(211, -1))))
    np.testing.assert_array_equal(rec, want.decode(codes))


def test_codec_errors_before_compute(data):
    with pytest.raises(ValueError, match="quantile ranges need every row"):
        ldd.fit(lowdim.ScalarQuantizer("int8", ranges=(0.01, 0.99)), chunked(data))
    sq = lowdim.ScalarQuantizer("int8").fit(data)
    with pytest.raises(ValueError, match="fitted with 48"):
        ldd.encode(sq, chunked(data[:, :10]))
    with pytest.raises(TypeError, match="codes must be a dask array of dtype int8"):
        ldd.decode(sq, da.zeros((5, 48), dtype=np.uint8))
    with pytest.raises(TypeError, match="ProductQuantizer, ScalarQuantizer or RaBitQ"):
        ldd.encode(lowdim.SRHT(8), chunked(data))
    X = data.copy()
    X[500, 3] = np.nan
    with pytest.raises(ValueError) as want:
        lowdim.ScalarQuantizer("int8").fit(X)
    with pytest.raises(ValueError, match=re.escape(str(want.value)[:25])):
        ldd.fit(lowdim.ScalarQuantizer("int8"), chunked(X))


@pytest.fixture(scope="module")
def big():
    """256 KiB of codebooks: large next to a task, so a copy per task would show."""
    with pytest.warns(UserWarning, match="recommended"):    # few points: fast, and enough here
        return lowdim.ProductQuantizer(16, 8, n_iter=1, random_state=1).fit(
            np.random.default_rng(0).standard_normal((2000, 256)).astype(np.float32))


def test_pq_state_is_shipped_once_not_per_task(client, big):
    X = da.zeros((100_000, 256), chunks=(1000, 256), dtype=np.float32)   # 100 blocks
    codes = ldd.encode(big, X)
    assert graph_bytes(codes) < big.codebooks_.nbytes / 4      # a scattered future per graph
    cd = da.zeros((100_000, 16), chunks=(1000, 16), dtype=np.uint8)
    assert graph_bytes(ldd.decode(big, cd)) < big.codebooks_.nbytes / 4
    assert graph_bytes(*ldd.search(big, np.zeros((5, 256), np.float32), cd, 3)) \
        < big.codebooks_.nbytes / 4


def test_pq_fit_on_sample_is_the_in_memory_fit(client, data):
    make = lambda: lowdim.ProductQuantizer(8, 4, random_state=21, max_points_per_centroid=40)  # noqa
    got = ldd.fit(make(), chunked(data), sample=True)
    want = make().fit(data)
    np.testing.assert_array_equal(got.codebooks_, want.codebooks_)
    assert got.seed_ == want.seed_ and got.n_features_in_ == want.n_features_in_


def _lloyd_oracle(X, M, K, init, n_iter):
    """Textbook Lloyd in float64 per sub-space (no empty clusters on the test data)."""
    cb = init.astype(np.float64)
    dsub = X.shape[1] // M
    for _ in range(n_iter):
        for m in range(M):
            xs = X[:, m * dsub:(m + 1) * dsub].astype(np.float64)
            lab = ((xs[:, None, :] - cb[m][None]) ** 2).sum(-1).argmin(1)
            for c in range(K):
                cb[m, c] = xs[lab == c].mean(0)
    return cb


def test_pq_distributed_lloyd(client):
    from lowdim import _rng
    rng = np.random.default_rng(5)
    # Well-separated clusters in every sub-space: assignments are unambiguous.
    M, K, n = 4, 8, 1600
    centres = rng.uniform(-20, 20, size=(K, 4 * M)).astype(np.float32)
    X = (centres[rng.integers(0, K, n)] + rng.normal(0, 0.1, (n, 4 * M))).astype(np.float32)
    Xd = chunked(X, (170,))
    make = lambda: lowdim.ProductQuantizer(M, 3, n_iter=4, random_state=2)  # noqa: E731
    got = ldd.fit(make(), Xd)
    again = ldd.fit(make(), Xd)
    np.testing.assert_array_equal(got.codebooks_, again.codebooks_)   # deterministic
    first = _rng.sample_without_replacement(got.seed_, _rng.STREAM_PQ_INIT, n, K)
    init = X[first].reshape(K, M, 4).transpose(1, 0, 2)
    np.testing.assert_allclose(got.codebooks_, _lloyd_oracle(X, M, K, init, 4), rtol=1e-5,
                               atol=1e-5)


# ---- files -----------------------------------------------------------------------------

def test_from_npy_shards_and_glob(client, tmp_path, data):
    parts = [data[:300], data[300:301], data[301:]]
    for j, p in enumerate(parts):
        np.save(tmp_path / f"shard-{j:02d}.npy", p)
    X = ldd.from_npy(str(tmp_path / "shard-*.npy"), chunks=128)
    assert X.shape == data.shape
    assert X.chunks[0] == (128, 128, 44, 1) + (128,) * 6 + (31,)   # no block spans two files
    got, = run(client, X)
    np.testing.assert_array_equal(got, data)
    assert graph_bytes(X) < 8 << 10                  # file names and ranges, not data
    proj, = run(client, ldd.srht(X, 16, seed=2))
    np.testing.assert_array_equal(proj, lowdim.srht(data, 16, seed=2))
    single = ldd.from_npy(tmp_path / "shard-00.npy")
    np.testing.assert_array_equal(run(client, single)[0], parts[0])
    np.save(tmp_path / "shard-09.npy", data[:3, :5])
    with pytest.raises(ValueError, match="the first file"):
        ldd.from_npy(str(tmp_path / "shard-*.npy"))
    with pytest.raises(FileNotFoundError):
        ldd.from_npy(str(tmp_path / "none-*.npy"))


def test_from_zarr(client, tmp_path, data):
    zarr = pytest.importorskip("zarr")
    z = zarr.open(str(tmp_path / "x.zarr"), mode="w", shape=data.shape, chunks=(100, 16),
                  dtype="f4")
    z[:] = data
    X = ldd.from_zarr(str(tmp_path / "x.zarr"))
    assert len(X.chunks[1]) == 1
    got, = run(client, ldd.sparse_random_projection(X, 20, seed=4))
    np.testing.assert_array_equal(got, lowdim.sparse_random_projection(data, 20, seed=4))


# ---- faults and bad input -----------------------------------------------------------------

def _slow(block):
    time.sleep(0.3)
    return block


def _kill_one_worker_mid_job(client, collections):
    pids = client.run(os.getpid)
    futures = client.compute(collections)
    time.sleep(0.8)
    assert not all(f.done() for f in futures), "the job finished before the fault"
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    wait(futures, timeout=TIMEOUT)
    out = client.gather(futures)
    client.wait_for_workers(2, timeout=60)
    return out


def test_worker_killed_mid_projection_and_knn(client, data):
    X = np.concatenate([data, data[:, ::-1] + 1])
    # 13 blocks of 0.3 s each: the job takes >= 1.9 s on 2 workers.
    Xd = chunked(X, (180,)).map_blocks(_slow, dtype=X.dtype)
    y, d, i = _kill_one_worker_mid_job(
        client, [ldd.sparse_random_projection(Xd, 32, seed=8), *ldd.knn(Xd, 4)])
    np.testing.assert_array_equal(y, lowdim.sparse_random_projection(X, 32, seed=8))
    np.testing.assert_array_equal(i, lowdim.knn(X, 4)[1])


def _in_memory_error(fn):
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    return info.type, str(info.value)


def test_bad_input_same_errors_as_in_memory(client, data):
    unknown = chunked(data)[chunked(data)[:, 0] > 0]
    for fn in (lambda X: ldd.srht(X, 8), lambda X: ldd.knn(X, 3),
               lambda X: ldd.sparse_random_projection(X, 8), lambda X: ldd.lid(X, 3)):
        with pytest.raises(ValueError, match="unknown chunk sizes"):
            fn(unknown)                                # before any compute
    for bad in (data > 0, data.astype(np.complex64)):
        for ours, theirs in [(ldd.srht, lowdim.srht), (ldd.fjlt, lowdim.fjlt),
                             (ldd.sparse_random_projection, lowdim.sparse_random_projection)]:
            kind, msg = _in_memory_error(lambda: theirs(bad, 8))
            with pytest.raises(kind, match=msg.replace("(", r"\(").replace(")", r"\)")):
                ours(chunked(bad), 8)
        kind, msg = _in_memory_error(lambda: lowdim.knn(bad, 3))
        with pytest.raises(kind, match=msg):
            ldd.knn(chunked(bad), 3)
    for args in [dict(k=2000), dict(k=3, metric="hamming")]:
        kind, msg = _in_memory_error(lambda: lowdim.knn(data, **args))
        with pytest.raises(kind, match=msg.replace("(", r"\(").replace(")", r"\)")):
            ldd.knn(chunked(data), **args)
    nan = data.copy()
    nan[500, 3] = np.nan
    for ours, theirs in [(lambda X: ldd.srht(X, 8), lambda X: lowdim.srht(X, 8)),
                         (lambda X: ldd.sparse_random_projection(X, 8),
                          lambda X: lowdim.sparse_random_projection(X, 8)),
                         (lambda X: ldd.knn(X, 3)[1], lambda X: lowdim.knn(X, 3)),
                         (lambda X: ldd.encode(lowdim.ProductQuantizer(8, 4, random_state=1)
                                               .fit(data), X),
                          lambda X: lowdim.ProductQuantizer(8, 4, random_state=1).fit(data).encode(X))]:
        kind, msg = _in_memory_error(lambda: theirs(nan))
        with pytest.raises(kind, match=msg):
            run(client, ours(chunked(nan)))
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        ldd.ph_dimension(chunked(nan), n_max=100)
    with pytest.raises(TypeError, match="codes must be a dask array of dtype uint8"):
        ldd.decode(lowdim.ProductQuantizer(8, 4, random_state=1).fit(data),
                   da.zeros((10, 8), dtype=np.int32))


def test_pq_without_a_client_ships_the_codebooks_once(big, monkeypatch):
    import distributed

    def no_client():
        raise ValueError("No clients found")
    monkeypatch.setattr(distributed, "default_client", no_client)
    X = da.from_array(np.random.default_rng(1).standard_normal((3000, 256)).astype(np.float32),
                      chunks=(100, 256))                            # 30 blocks
    codes = ldd.encode(big, X)
    once = graph_bytes(codes) - graph_bytes(X)
    assert big.codebooks_.nbytes <= once < 1.2 * big.codebooks_.nbytes
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(codes.compute(), big.encode(X.compute()))
