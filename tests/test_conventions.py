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


XQ = np.random.default_rng(6).standard_normal((80, 8))   # 39·K points for PQ's K = 2
SEEDED = {  # estimators whose random_state was called seed before: (make, codes of X)
    "ScalarQuantizer": (lambda **kw: lowdim.ScalarQuantizer("int8", rotation="hadamard", **kw),
                        lambda est: est.encode(XQ)),
    "ProductQuantizer": (lambda **kw: lowdim.ProductQuantizer(2, 1, n_iter=2, **kw),
                         lambda est: est.encode(XQ)),
    "RaBitQ": (lambda **kw: lowdim.RaBitQ(**kw), lambda est: est.encode(XQ)),
}


@pytest.mark.parametrize("name", SEEDED)
def test_old_seed_keyword_is_a_deprecated_alias_of_random_state(name):
    make, codes = SEEDED[name]
    a = make(random_state=4).fit(XQ)
    old = make(seed=4)
    with pytest.warns(FutureWarning, match=rf"{name}\(seed=...\) is deprecated: pass "
                                           "random_state"):
        old.fit(XQ)
    assert a.seed_ == old.seed_ == 4
    np.testing.assert_array_equal(codes(a), codes(old))
    with pytest.raises(ValueError, match="random_state=3 and its alias seed=4 differ"), \
            pytest.warns(FutureWarning):
        make(random_state=3, seed=4).fit(XQ)


@pytest.mark.parametrize("name", SEEDED)
def test_random_state_round_trips_get_params_clone_and_pickle(name):
    import pickle
    sklearn_base = pytest.importorskip("sklearn.base")
    make, codes = SEEDED[name]
    est = make(random_state=7)
    assert est.get_params()["random_state"] == 7 and est.get_params()["seed"] is None
    fitted = sklearn_base.clone(est).fit(XQ)
    back = pickle.loads(pickle.dumps(fitted))
    assert back.get_params() == est.get_params() and back.seed_ == 7
    np.testing.assert_array_equal(codes(back), codes(make(random_state=7).fit(XQ)))
    np.random.seed(11)
    first = make().fit(XQ)
    np.random.seed(11)
    assert make().fit(XQ).seed_ == first.seed_      # random_state=None: numpy's global state


@pytest.mark.parametrize("name", ["ProductQuantizer", "RaBitQ"])
def test_pickles_from_before_the_rename_keep_their_seed(name):
    make, codes = SEEDED[name]
    est = make(random_state=5).fit(XQ)
    state = est.__getstate__()
    state.pop("random_state")
    state["seed"] = 5
    if name == "RaBitQ":
        state.pop("seed_")      # old RaBitQ pickles had no seed_
    old = type(est).__new__(type(est))
    old.__setstate__(state)
    assert old.random_state == 5 and old.seed is None and old.seed_ == 5
    np.testing.assert_array_equal(codes(old), codes(est))


def test_function_random_state_is_a_deprecated_alias_of_seed():
    U = X[:30]
    with pytest.warns(FutureWarning, match=r"id_scale_curve\(random_state=...\) is deprecated"):
        old = lowdim.id_scale_curve(U, random_state=2)
    assert old == lowdim.id_scale_curve(U, seed=2)
    with pytest.raises(ValueError, match="seed=1 and its old name random_state=2 differ"), \
            pytest.warns(FutureWarning):
        lowdim.id_scale_curve(U, seed=1, random_state=2)


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
