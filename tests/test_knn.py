"""Tests of lowdim.knn and lowdim.remove_duplicates against a textbook oracle.

Oracle: every pairwise distance by direct differences in float64, ordered by
(distance, index). Random continuous data has no ties, so indices must match exactly;
integer lattices have many exact ties, which must go to the lower index.
"""
import numpy as np
import pytest

import lowdim

SIZES = [2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97]


def oracle(X, k, Y=None, metric="sqeuclidean"):
    x = np.asarray(X, dtype=np.float64)
    y = x if Y is None else np.asarray(Y, dtype=np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)
    if metric in ("inner_product", "cosine"):
        key = -(x @ y.T)
    else:
        key = np.array([((y - row) ** 2).sum(-1) for row in x])
    if Y is None:
        np.fill_diagonal(key, np.inf)
    idx = np.array([np.lexsort((np.arange(len(row)), row))[:k] for row in key])
    dist = np.take_along_axis(key, idx, axis=1)
    if metric == "euclidean":
        dist = np.sqrt(dist)
    elif metric == "inner_product":
        dist = -dist
    elif metric == "cosine":
        dist = 1 + dist
    return dist, idx


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_matches_oracle_tail_sizes(n, dtype, rng):
    d = [1, 3, 8, 17, 33][n % 5]
    X = rng.standard_normal((n, d)).astype(dtype)
    for k in sorted({1, min(5, n - 1), n - 1}):
        dist, idx = lowdim.knn(X, k, metric="sqeuclidean")
        ref_d, ref_i = oracle(X, k)
        assert dist.shape == (n, k) and idx.shape == (n, k)
        assert dist.dtype == dtype and idx.dtype == np.int64
        np.testing.assert_array_equal(idx, ref_i)
        np.testing.assert_allclose(dist, ref_d, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_blocks_and_tails_high_dim(rng):
    # > one query block (192) and several database blocks (256) with ragged ends; d > 256
    # so the depth loop accumulates over chunks.
    X = rng.standard_normal((601, 300)).astype(np.float32)
    dist, idx = lowdim.knn(X, 20, metric="euclidean")
    ref_d, ref_i = oracle(X, 20, metric="euclidean")
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-5)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine", "inner_product"])
def test_metrics_with_separate_database(metric, rng):
    X = rng.standard_normal((45, 19))
    Y = rng.standard_normal((70, 19))
    dist, idx = lowdim.knn(X, 70, Y=Y, metric=metric)
    ref_d, ref_i = oracle(X, 70, Y=Y, metric=metric)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-10, atol=1e-12)


def test_float32_database_keeps_query_dtype(rng):
    X = rng.standard_normal((10, 4)).astype(np.float32)
    dist, _ = lowdim.knn(X, 3, Y=rng.standard_normal((20, 4)))
    assert dist.dtype == np.float32


def test_ties_go_to_lower_index():
    # 1-D lattice with repeated points: many exactly equal distances.
    X = np.array([[0], [1], [2], [1], [3], [2], [0], [5]], dtype=np.float32)
    dist, idx = lowdim.knn(X, 7, metric="sqeuclidean")
    ref_d, ref_i = oracle(X, 7)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_array_equal(dist, ref_d)
    assert list(idx[1][:3]) == [3, 0, 2]      # duplicate at 0 first, then the tie 0 / 2


def test_lattice_ties_large(rng):
    # A 2-D integer grid, shuffled: the ties straddle the candidate boundary.
    g = np.stack(np.meshgrid(np.arange(12), np.arange(12)), -1).reshape(-1, 2)
    X = g[rng.permutation(len(g))].astype(np.float64)
    dist, idx = lowdim.knn(X, 9)
    ref_d, ref_i = oracle(X, 9)
    np.testing.assert_array_equal(idx, ref_i)


def test_thread_count_does_not_change_result(rng):
    # 11 row blocks of the self-search: with 7 threads, tiles meet at locked blocks and
    # are retried later, in an order that differs from run to run.
    X = rng.standard_normal((2000, 16)).astype(np.float32)
    base = lowdim.knn(X, 7, n_threads=1)
    for t in (2, 3, 7):
        other = lowdim.knn(X, 7, n_threads=t)
        np.testing.assert_array_equal(base[0], other[0])
        np.testing.assert_array_equal(base[1], other[1])


def test_integer_input_promoted(rng):
    X = rng.integers(-5, 5, size=(30, 3))
    dist, idx = lowdim.knn(X, 4)
    assert dist.dtype == np.float64
    np.testing.assert_array_equal(idx, oracle(X, 4)[1])


@pytest.mark.parametrize("X, k, kw, exc, match", [
    (np.zeros((5, 2)), 5, {}, ValueError, r"k must be <= 4"),
    (np.zeros((5, 2)), 0, {}, ValueError, r"k must be"),
    (np.zeros((5, 2)), 2.0, {}, TypeError, r"k must be an integer"),
    (np.zeros((5, 2)), 6, {"Y": np.zeros((5, 2))}, ValueError, r"k must be <= 5"),
    (np.zeros(5), 1, {}, ValueError, r"2-D"),
    (np.zeros((0, 3)), 1, {}, ValueError, r"empty"),
    (np.array([[0.0, np.nan], [1, 2], [3, 4]]), 1, {}, ValueError, r"NaN or infinity"),
    (np.array([[0.0, np.inf], [1, 2], [3, 4]]), 1, {}, ValueError, r"NaN or infinity"),
    (np.array([[1e30], [1.0], [2.0]], dtype=np.float32), 1, {"metric": "inner_product"},
     ValueError, r"too large"),
    (np.zeros((5, 2), dtype=bool), 1, {}, TypeError, r"real numeric"),
    (np.zeros((5, 2)), 1, {"Y": np.zeros((5, 3))}, ValueError, r"columns"),
    (np.zeros((5, 2)), 1, {"metric": "manhattan"}, ValueError, r"metric must be"),
    (np.zeros((5, 2)), 1, {"metric": "cosine"}, ValueError, r"all-zero rows"),
    (np.zeros((5, 2)), 1, {"n_threads": 0}, ValueError, r"n_threads"),
])
def test_bad_input(X, k, kw, exc, match):
    with pytest.raises(exc, match=match):
        lowdim.knn(X, k, **kw)


def test_core_guards_direct_calls():
    from lowdim import _config
    core = _config.kernels()
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="k out of range"):
        core.knn(x, x, 4, "sqeuclidean", True, 1)
    with pytest.raises(ValueError, match="metric"):
        core.knn(x, x, 1, "l1", True, 1)


def test_remove_duplicates_order_index_inverse():
    X = np.array([[1.0, 2], [0, -0.0], [1, 2], [3, 3], [0, 0], [3, 3]])
    U, index, inverse = lowdim.remove_duplicates(X, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(U, [[1, 2], [0, 0], [3, 3]])
    np.testing.assert_array_equal(index, [0, 1, 3])
    np.testing.assert_array_equal(U[inverse], X)
    assert lowdim.remove_duplicates(np.ones((4, 3))).shape == (1, 3)


@pytest.mark.parametrize("n", [193, 385, 601])     # 2, 3, 4 row blocks
def test_self_search_equals_database_sweep(n, rng):
    # The self-search computes each tile once and uses it for rows and columns; the
    # database sweep (Y given) computes every tile. Both must agree.
    X = rng.standard_normal((n, 24)).astype(np.float32)
    d_self, i_self = lowdim.knn(X, 11, n_threads=2)
    d_all, i_all = lowdim.knn(X, 12, Y=X.copy(), n_threads=1)
    np.testing.assert_array_equal(i_all[:, 0], np.arange(n))
    np.testing.assert_array_equal(i_self, i_all[:, 1:])
    np.testing.assert_allclose(d_self, d_all[:, 1:], rtol=1e-6)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "inner_product"])
def test_metrics_self_search(metric, rng):
    X = rng.standard_normal((230, 9)).astype(np.float32)
    dist, idx = lowdim.knn(X, 6, metric=metric)
    ref_d, ref_i = oracle(X, 6, metric=metric)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-5, atol=1e-6)


def test_expansion_overflow_gives_the_true_neighbours():
    # Norms² fit float32 but ‖x‖² + ‖y‖² − 2x·y does not: was a neighbour at inf (native)
    # or self-neighbours at 0 (numpy). Distances that float32 can hold come back finite.
    X = np.array([[1.4e19], [-1.4e19], [1e19]], np.float32)
    dist, idx = lowdim.knn(X, 1)
    np.testing.assert_array_equal(idx, [[2], [2], [0]])
    np.testing.assert_allclose(dist, [[4e18], [2.4e19], [4e18]], rtol=1e-6)
    dist, idx = lowdim.knn(np.array([[1e30], [1.0], [2.0]], np.float32), 1)
    np.testing.assert_array_equal(idx, [[1], [2], [1]])
    np.testing.assert_allclose(dist, [[1e30], [1.0], [1.0]], rtol=1e-6)
    dist, _ = lowdim.knn(np.array([[3e38], [-3e38]], np.float32), 1)
    assert np.isposinf(dist).all()          # 6e38 is beyond float32: inf is the rounding


@pytest.mark.parametrize("dtype, exps", [(np.float32, (62, 100, -70, -100)),
                                         (np.float64, (500, 900, -600, -900))])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_power_of_two_scaled_data_gives_scaled_answers_bitwise(dtype, exps, metric, rng):
    # Scaling by 2^e is exact, so huge or tiny data must give the answer for ordinary
    # data times 2^e (2^2e for squared distances, 1 for cosine), bit for bit.
    X = rng.standard_normal((70, 5)).astype(dtype)
    Y = rng.standard_normal((40, 5)).astype(dtype)
    for kw in ({}, {"Y": Y}):
        base_d, base_i = lowdim.knn(X, 6, metric=metric, **kw)
        for e in exps:
            scaled = {key: np.ldexp(v, e) for key, v in kw.items()}
            d, i = lowdim.knn(np.ldexp(X, e), 6, metric=metric, **scaled)
            f = {"euclidean": e, "sqeuclidean": 2 * e, "cosine": 0}[metric]
            with np.errstate(over="ignore", under="ignore"):   # beyond the dtype: inf
                want = np.ldexp(base_d, f).astype(dtype)
            np.testing.assert_array_equal(i, base_i)
            np.testing.assert_array_equal(d, want)
