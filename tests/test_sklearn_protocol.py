"""The scikit-learn estimator protocol on SRHT, FastJLT and ProductQuantizer.

scikit-learn's own check_estimator (every check, none declared inapplicable), a Pipeline with
set_output(transform="pandas"), get_feature_names_out's input_features rules, NotFittedError,
and ProductQuantizer's M / n_subquantizers alias through get_params and clone.
"""
import pickle
import warnings

import numpy as np
import pytest

import lowdim
from lowdim._base import NotFittedError

ESTIMATORS = {
    "SRHT": lambda: lowdim.SRHT(n_components=2),
    "FastJLT": lambda: lowdim.FastJLT(n_components=2),
    "ProductQuantizer": lambda: lowdim.ProductQuantizer(1, nbits=2),
    "ProductQuantizer-alias": lambda: lowdim.ProductQuantizer(n_subquantizers=1, nbits=2),
}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_check_estimator(name, variant):
    if variant == "native-scalar":
        pytest.skip("estimator plumbing is ISA independent; checked on the other variants")
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    with warnings.catch_warnings():     # sklearn's SkipTestWarning for array-API checks
        warnings.simplefilter("ignore", checks.SkipTestWarning)
        # check_estimator's data sets are tiny: PQ's "too few points per centroid" advice
        warnings.filterwarnings("ignore", "training .* centroids per sub-space", UserWarning)
        results = checks.check_estimator(ESTIMATORS[name](), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    assert len(results) >= 40


def _frame(n=64, d=8, seed=0):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.standard_normal((n, d)), columns=[f"f{i}" for i in range(d)])


@pytest.mark.parametrize("make", [lambda: lowdim.SRHT(n_components=4, random_state=0),
                                  lambda: lowdim.FastJLT(n_components=4, random_state=0),
                                  lambda: lowdim.ProductQuantizer(2, nbits=2)],
                         ids=["SRHT", "FastJLT", "ProductQuantizer"])
def test_pipeline_set_output_pandas(make):
    pipeline = pytest.importorskip("sklearn.pipeline")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)    # few PQ training points
        pipe = pipeline.make_pipeline(preprocessing.StandardScaler(), make())
        pipe.set_output(transform="pandas")
        out = pipe.fit_transform(X)
    est = pipe[-1]
    prefix = type(est).__name__.lower()
    if prefix == "productquantizer":       # transform = reconstruction: the input's columns
        assert list(out.columns) == list(X.columns)
    else:
        assert list(out.columns) == [f"{prefix}{i}" for i in range(4)]
    assert list(out.index) == list(X.index)
    np.testing.assert_array_equal(est.feature_names_in_, X.columns.to_numpy(dtype=object))
    # The frame holds what the estimator alone gives on the scaled numbers.
    alone = est.set_output(transform="default").transform(pipe[0].transform(X))
    assert isinstance(alone, np.ndarray)
    np.testing.assert_array_equal(out.to_numpy(), alone)


@pytest.mark.parametrize("make", [lambda: lowdim.SRHT(n_components=3, random_state=0),
                                  lambda: lowdim.FastJLT(n_components=3, random_state=0),
                                  lambda: lowdim.ProductQuantizer(2, nbits=2),
                                  lambda: lowdim.SparseRandomProjection(3, random_state=0)],
                         ids=["SRHT", "FastJLT", "ProductQuantizer", "SparseRandomProjection"])
def test_get_feature_names_out_validates_input_features(make):
    X = _frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = make().fit(X)
    names = est.get_feature_names_out()
    assert names.dtype == object and len(names) == (8 if "Product" in type(est).__name__ else 3)
    np.testing.assert_array_equal(est.get_feature_names_out(list(X.columns)), names)
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        est.get_feature_names_out([f"g{i}" for i in range(8)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        unnamed = make().fit(X.to_numpy())
    with pytest.raises(ValueError, match=r"length equal to number of features \(8\), got 3"):
        unnamed.get_feature_names_out(["a", "b", "c"])
    assert len(unnamed.get_feature_names_out([f"a{i}" for i in range(8)])) == len(names)
    if "Product" in type(est).__name__:
        np.testing.assert_array_equal(names, X.columns.to_numpy(dtype=object))
        np.testing.assert_array_equal(unnamed.get_feature_names_out(), [f"x{i}" for i in range(8)])


@pytest.mark.parametrize("est, call", [
    (lowdim.SRHT(2), lambda e: e.transform(np.ones((2, 4)))),
    (lowdim.FastJLT(2), lambda e: e.transform(np.ones((2, 4)))),
    (lowdim.FastJLT(2), lambda e: e.get_feature_names_out()),
    (lowdim.ProductQuantizer(2), lambda e: e.transform(np.ones((2, 4)))),
    (lowdim.ProductQuantizer(2), lambda e: e.decode(np.zeros((2, 2), np.uint8))),
    (lowdim.ProductQuantizer(2), lambda e: e.search(np.ones((2, 4)), None, 1)),
    (lowdim.ProductQuantizer(2), lambda e: e.get_feature_names_out()),
    (lowdim.SparseRandomProjection(2), lambda e: e.transform(np.ones((2, 4)))),
    (lowdim.ScalarQuantizer("int8"), lambda e: e.encode(np.ones((2, 4)))),
], ids=lambda v: type(v).__name__ if not callable(v) else "")
def test_not_fitted_error(est, call):
    with pytest.raises(NotFittedError, match=f"This {type(est).__name__} instance is not "
                                             "fitted yet"):
        call(est)
    with pytest.raises(ValueError):      # scikit-learn's bases, installed or not
        call(est)
    with pytest.raises(AttributeError):
        call(est)
    exceptions = pytest.importorskip("sklearn.exceptions")
    assert issubclass(NotFittedError, exceptions.NotFittedError)


def test_pq_M_and_its_alias():
    X = np.random.default_rng(0).standard_normal((320, 8)).astype(np.float32)
    a = lowdim.ProductQuantizer(4, nbits=3, random_state=0).fit(X)
    b = lowdim.ProductQuantizer(n_subquantizers=4, nbits=3, random_state=0).fit(X)
    c = lowdim.ProductQuantizer(M=4, nbits=3, random_state=0).fit(X)
    np.testing.assert_array_equal(a.codebooks_, b.codebooks_)
    np.testing.assert_array_equal(a.codebooks_, c.codebooks_)
    assert a.get_params()["M"] == 4 and a.get_params()["n_subquantizers"] is None
    assert b.get_params()["n_subquantizers"] == 4
    base = pytest.importorskip("sklearn.base")
    for est in (a, b):
        twin = base.clone(est).fit(X)
        np.testing.assert_array_equal(twin.codebooks_, a.codebooks_)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).encode(X), a.encode(X))
    assert repr(b) == "ProductQuantizer(n_subquantizers=4, nbits=3, random_state=0)"
    with pytest.raises(ValueError, match="M=2 and its alias n_subquantizers=4 differ"):
        lowdim.ProductQuantizer(2, n_subquantizers=4).fit(X)
    lowdim.ProductQuantizer(4, n_subquantizers=4, nbits=3).fit(X)     # equal: accepted
    with pytest.raises(TypeError, match="needs M"):
        lowdim.ProductQuantizer().fit(X)
    with pytest.raises(ValueError, match="not divisible by M=3"):
        lowdim.ProductQuantizer(3).fit(X)


@pytest.mark.parametrize("make", [lambda: lowdim.SRHT(4, random_state=3),
                                  lambda: lowdim.FastJLT(4, random_state=3),
                                  lambda: lowdim.SparseRandomProjection(4, random_state=3),
                                  lambda: lowdim.ProductQuantizer(2, nbits=2)],
                         ids=["SRHT", "FastJLT", "SparseRandomProjection", "ProductQuantizer"])
def test_pickles_carry_versions_and_refuse_another_generator(make, monkeypatch):
    X = np.random.default_rng(0).standard_normal((200, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = make().fit(X)
    blob = pickle.dumps(est)
    state = est.__getstate__()
    assert state["_lowdim_versions"] == {"lowdim": lowdim.__version__,
                                         "generator": lowdim._rng.GENERATOR_VERSION}
    np.testing.assert_array_equal(pickle.loads(blob).transform(X), est.transform(X))
    legacy = type(est).__new__(type(est))       # a pickle made before the versions entry
    legacy.__setstate__({k: v for k, v in state.items() if k != "_lowdim_versions"})
    np.testing.assert_array_equal(legacy.transform(X), est.transform(X))
    monkeypatch.setattr(lowdim._rng, "GENERATOR_VERSION", lowdim._rng.GENERATOR_VERSION + 1)
    with pytest.raises(ValueError, match=f"pickled by lowdim {lowdim.__version__} with "
                                         "random-generator version 1; .* cannot reproduce"):
        pickle.loads(blob)
