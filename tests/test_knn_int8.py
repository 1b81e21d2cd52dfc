"""lowdim.knn(method="int8") against the float path, bit for bit (issue 17).

The int8 candidate pass may only drop pairs it proves cannot be candidates, so every
output array must equal method="float"'s exactly, on each backend and ISA: random and
clustered data, lattices full of ties and duplicates, and near-ties built so the int8
estimate ranks the true (k+1)-th neighbour ahead of the k-th. The rescored-pair counts
must not depend on the ISA (the integer kernels are exact) or the thread count.
"""
import numpy as np
import pytest

import lowdim
from lowdim import _config
from lowdim._ref_knn_int8 import _quantize

METRICS = ("euclidean", "sqeuclidean", "cosine", "inner_product")


def assert_same(X, k, Y=None, metric="sqeuclidean", n_threads=None):
    ref = lowdim.knn(X, k, Y=Y, metric=metric, n_threads=n_threads)
    got = lowdim.knn(X, k, Y=Y, metric=metric, n_threads=n_threads, method="int8")
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[0].view(np.int32), ref[0].view(np.int32))
    return got


def rescored(X, k, Y=None, metric="sqeuclidean", n_threads=2):
    y = X if Y is None else Y
    return _config.kernels().knn_int8(X, y, k, metric, Y is None, n_threads)[2]


def mixture(rng, n, d, centres=12, spread=0.1, offset=0.0):
    c = rng.standard_normal((centres, d))
    X = c[rng.integers(0, centres, n)] + spread * rng.standard_normal((n, d)) + offset
    return X.astype(np.float32)


@pytest.mark.parametrize("n, d", [(2, 1), (9, 3), (17, 7), (33, 16), (65, 33), (97, 65)])
def test_random_tail_sizes_self(n, d, rng):
    X = rng.standard_normal((n, d)).astype(np.float32)
    for k in sorted({1, min(5, n - 1), n - 1}):
        assert_same(X, k)


@pytest.mark.parametrize("metric", METRICS)
def test_metrics_database_and_self(metric, rng):
    X = mixture(rng, 200, 40, offset=2.0)
    Q = mixture(rng, 70, 40, offset=2.0)
    assert_same(Q, 9, Y=X, metric=metric)
    assert_same(X, 9, metric=metric)


def test_clustered_data_rescores_few_pairs(rng):
    X = mixture(rng, 400, 64, centres=20, offset=3.0)
    assert_same(X, 10)
    count = rescored(X, 10)
    assert count / (400 * 399) < 0.2     # the bound separates clusters: most pairs skipped
    assert count >= 400 * 18             # at least k + 8 candidates per query


def test_loose_bound_falls_back_to_every_pair(rng):
    # Near-equidistant points (10·e_i plus noise far below the int8 step): the bound
    # cannot separate them, so queries switch to rescoring every row (the dense path).
    X = (10 * np.eye(150, 160) + 0.01 * rng.standard_normal((150, 160))).astype(np.float32)
    assert_same(X, 6)
    assert rescored(X, 6) > 0.9 * 150 * 149


def test_lattice_ties_and_duplicates(rng):
    X = rng.integers(0, 3, (300, 6)).astype(np.float32)
    X[200:260] = X[0]                     # 61 copies of one row: distance-0 ties
    for metric in ("sqeuclidean", "inner_product"):
        assert_same(X, 15, metric=metric)
        assert_same(X[:50], 25, Y=X, metric=metric)


def test_adversarial_near_ties_come_back_in_exact_order(rng):
    # Per query: k − 1 points at radii 0.3 … 0.6, then the k-th and (k+1)-th at radii 1 and
    # 1 + 2e-5 in random directions, far below int8 resolution; the rest far away.
    # The int8 estimates rank many (k+1)-th ahead of the k-th (checked below), yet the
    # output must be the exact order, equal to the float path's and to float64's.
    k, d, nq = 5, 48, 24    # the radii below are for k = 5
    Q = rng.standard_normal((nq, d))
    rows = []
    for q in Q:
        for r in [0.3, 0.4, 0.5, 0.6, 1.0, 1.0 + 2e-5]:
            u = rng.standard_normal(d)
            rows.append(q + r * u / np.linalg.norm(u))
    far = 4 * rng.standard_normal((300, d))
    Y = np.vstack([np.array(rows), far]).astype(np.float32)
    Q = Q.astype(np.float32)
    dist, idx = assert_same(Q, k + 1, Y=Y)
    exact = ((Y[None].astype(np.float64) - Q[:, None].astype(np.float64)) ** 2).sum(-1)
    np.testing.assert_array_equal(idx, np.argsort(exact, axis=1, kind="stable")[:, :k + 1])
    # The adversarial part: the int8 estimate (the bound's centre) flips k and k + 1.
    mu = Y.astype(np.float64).mean(0).astype(np.float32).astype(np.float64)
    qa, sa, *_ = _quantize(Q, mu, 127)
    qb, sb, *_ = _quantize(Y, mu, 63)
    za, zb = Q - mu, Y - mu
    est = (za ** 2).sum(1)[:, None] + (zb ** 2).sum(1)[None] - 2 * sa[:, None] * sb * (qa @ qb.T)
    kth, nxt = idx[:, k - 1], idx[:, k]
    r = np.arange(nq)
    assert (est[r, nxt] < est[r, kth]).sum() >= 3


def test_thread_count_and_isa_do_not_change_anything(rng):
    X = mixture(rng, 300, 24)
    base = assert_same(X, 8, n_threads=1)
    count = rescored(X, 8, n_threads=1)
    for t in (2, 3) if lowdim.backend() == "native" else ():
        other = lowdim.knn(X, 8, metric="sqeuclidean", n_threads=t, method="int8")
        np.testing.assert_array_equal(other[0], base[0])
        np.testing.assert_array_equal(other[1], base[1])
        assert rescored(X, 8, n_threads=t) == count
    if lowdim.backend() == "native":
        saved = lowdim.isa()
        try:
            for isa in lowdim.available_isas():
                lowdim.set_isa(isa)
                assert rescored(X, 8, n_threads=2) == count, isa
        finally:
            lowdim.set_isa(saved)


def test_bad_method():
    X = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="method must be one of"):
        lowdim.knn(X, 1, method="bf16")
    with pytest.raises(ValueError, match="needs float32 X"):
        lowdim.knn(X.astype(np.float64), 1, method="int8")


def test_norms_near_the_float_limit(rng):
    # Inner products of rows with norms² up to ~1e38: the int8 interval would overflow float,
    # so the call runs the float path; sqeuclidean data is scaled by Python first.
    X = (rng.standard_normal((40, 8)) * 3e18).astype(np.float32)
    assert_same(X, 5, metric="inner_product")
    assert_same(X, 5)
