"""One set of conventions (issue 15): seeds, neighbour-count names and output dtypes.

Seeds: functions take `seed` (default 0), estimators `random_state` with scikit-learn's
meaning (None draws from numpy's global RandomState at fit); the seed actually used is
`seed_`, and an estimator with random_state=s transforms as the function with seed=s.
Neighbour counts: `k`, with `n_neighbors` accepted. Dtypes: float16/bfloat16/float32 →
float32, float64 and integers → float64, for a function and its estimator alike.
"""
import numpy as np
import pytest

import lowdim

X = np.random.default_rng(5).standard_normal((40, 8))

PAIRS = [  # (function, estimator class, extra keyword arguments)
    (lowdim.sparse_random_projection, lowdim.SparseRandomProjection, {"dense_output": True}),
    (lowdim.gaussian_random_projection, lowdim.GaussianRandomProjection, {}),
    (lowdim.srht, lowdim.SRHT, {}),
    (lowdim.fjlt, lowdim.FastJLT, {}),
]


@pytest.mark.parametrize("func, cls, extra", PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_random_state_int_equals_function_seed(func, cls, extra):
    est = cls(4, random_state=9, **extra).fit(X)
    assert est.seed_ == 9
    np.testing.assert_array_equal(est.transform(X), func(X, 4, seed=9))


@pytest.mark.parametrize("func, cls, extra", PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_random_state_none_follows_numpy_global_seed(func, cls, extra):
    np.random.seed(123)
    first = cls(4, **extra).fit(X)
    np.random.seed(123)
    second = cls(4, **extra).fit(X)
    third = cls(4, **extra).fit(X)
    assert first.seed_ == second.seed_ != third.seed_
    np.testing.assert_array_equal(first.transform(X), func(X, 4, seed=first.seed_))


def test_function_seed_defaults_to_zero():
    np.testing.assert_array_equal(lowdim.srht(X, 4), lowdim.srht(X, 4, seed=0))


def test_scalar_quantizer_seed_is_an_alias_of_random_state():
    a = lowdim.ScalarQuantizer("int8", rotation="hadamard", random_state=4).fit(X)
    b = lowdim.ScalarQuantizer("int8", rotation="hadamard", seed=4).fit(X)
    assert a.seed_ == b.seed_ == 4
    np.testing.assert_array_equal(a.encode(X), b.encode(X))
    with pytest.raises(ValueError, match="random_state=3 and its alias seed=4 differ"):
        lowdim.ScalarQuantizer("int8", random_state=3, seed=4).fit(X)


def test_n_neighbors_is_an_alias_of_k():
    np.testing.assert_array_equal(lowdim.knn(X, 3)[1], lowdim.knn(X, n_neighbors=3)[1])
    np.testing.assert_array_equal(lowdim.lid(X, 5), lowdim.lid(X, n_neighbors=5))
    assert (lowdim.intrinsic_dim(X, "mle", k=5)
            == lowdim.intrinsic_dim(X, "mle", n_neighbors=5))
    with pytest.raises(ValueError, match="k=3 and its alias n_neighbors=4 differ"):
        lowdim.knn(X, 3, n_neighbors=4)
    with pytest.raises(TypeError, match="missing the neighbour count k"):
        lowdim.knn(X)


@pytest.mark.parametrize("dtype, out", [(np.float16, np.float32), (np.float32, np.float32),
                                        (np.float64, np.float64), (np.int32, np.float64)])
@pytest.mark.parametrize("func, cls, extra", PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_one_dtype_rule_for_functions_and_estimators(func, cls, extra, dtype, out):
    A = (X * 4).astype(dtype)
    assert func(A, 4, seed=1).dtype == out
    assert cls(4, random_state=1, **extra).fit_transform(A).dtype == out
