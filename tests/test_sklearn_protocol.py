"""The scikit-learn estimator protocol on every public estimator class of lowdim.

scikit-learn's own check_estimator on each class (none declared inapplicable but FastRP's
three transductive checks, which must then fail), a test that no public estimator class is
left out of it, a Pipeline with set_output(transform="pandas"), get_feature_names_out's
input_features rules, NotFittedError, and ProductQuantizer's M / n_subquantizers alias
through get_params and clone.
"""
import importlib
import inspect
import pickle
import pkgutil
import warnings

import numpy as np
import pytest

import lowdim
from lowdim._base import NotFittedError

# Every public estimator class, with the configurations check_estimator runs on.
ESTIMATORS = {
    "SRHT": [lambda: lowdim.SRHT(n_components=2)],
    "FastJLT": [lambda: lowdim.FastJLT(n_components=2)],
    "ProductQuantizer": [lambda: lowdim.ProductQuantizer(1, nbits=2),
                         lambda: lowdim.ProductQuantizer(n_subquantizers=1, nbits=2)],
    "ScalarQuantizer": [lambda: lowdim.ScalarQuantizer("int4", rotation="hadamard")],
    "RaBitQ": [lambda: lowdim.RaBitQ(bits=2)],
    # self_influence: the sample-order check fails for certain (see FastRP's Notes)
    "FastRP": [lambda: lowdim.FastRP(8, self_influence=1.0)],
}
CHECKED_ELSEWHERE = {
    "SparseRandomProjection": "tests/test_sparse_projection.py::test_sklearn_check_estimator",
    "GaussianRandomProjection": "tests/test_sparse_projection.py::test_sklearn_check_estimator",
}
# lowdim.id (MLE, TwoNN, ...) has its own protocol tests: tests/test_id_skdim_parity.py.
NOT_WALKED = ("lowdim.id",)
CASES = [(name, i) for name, makers in ESTIMATORS.items() for i in range(len(makers))]


def _public_estimator_classes():
    """Public estimator classes reachable from lowdim and its public (sub)modules."""
    from lowdim._base import _ParamsBase       # scikit-learn's BaseEstimator when installed
    modules = [lowdim]
    for info in pkgutil.walk_packages(lowdim.__path__, "lowdim."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or info.name.startswith(NOT_WALKED):
            continue
        modules.append(importlib.import_module(info.name))
    found = {}
    for module in modules:
        listed = getattr(module, "__all__", None)
        for name in listed if listed is not None else list(vars(module)):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) and issubclass(obj, _ParamsBase)) \
                    or name.startswith("_") or not obj.__module__.startswith("lowdim.") \
                    or obj.__module__.startswith(NOT_WALKED):
                continue
            # Without __all__, only classes defined in a public module (not the base class
            # that lowdim._base lends every estimator module).
            if listed is None and any(p.startswith("_") for p in obj.__module__.split(".")):
                continue
            found[obj.__name__] = obj
    return found


def test_every_public_estimator_is_checked(variant):
    if variant != "numpy":
        pytest.skip("the list of classes does not depend on the backend")
    found = _public_estimator_classes()
    assert {"SRHT", "ScalarQuantizer", "FastRP", "RaBitQ"} <= found.keys()   # the walk works
    missing = sorted(found.keys() - ESTIMATORS.keys() - CHECKED_ELSEWHERE.keys())
    assert not missing, f"public estimators without check_estimator: {missing}"


@pytest.mark.parametrize("name, config", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_check_estimator(name, config, variant):
    if variant == "native-scalar":
        pytest.skip("estimator plumbing is ISA independent; checked on the other variants")
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    est = ESTIMATORS[name][config]()
    declared = getattr(type(est), "expected_failed_checks", {})
    with warnings.catch_warnings():     # sklearn's SkipTestWarning for array-API checks
        warnings.simplefilter("ignore", checks.SkipTestWarning)
        # check_estimator's data sets are tiny: PQ's "too few points per centroid" advice
        warnings.filterwarnings("ignore", "training .* centroids per sub-space", UserWarning)
        results = checks.check_estimator(est, on_fail=None, expected_failed_checks=declared)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    assert len(results) >= 40
    # A declared check must really fail (else it hides nothing and should go).
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(declared)


def _frame(n=64, d=8, seed=0):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.standard_normal((n, d)), columns=[f"f{i}" for i in range(d)])


@pytest.mark.parametrize("make", [lambda: lowdim.SRHT(n_components=4, random_state=0),
                                  lambda: lowdim.FastJLT(n_components=4, random_state=0),
                                  lambda: lowdim.ProductQuantizer(2, nbits=2),
                                  lambda: lowdim.ScalarQuantizer("int8"),
                                  lambda: lowdim.RaBitQ(bits=2, random_state=0)],
                         ids=["SRHT", "FastJLT", "ProductQuantizer", "ScalarQuantizer", "RaBitQ"])
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
    if hasattr(est, "decode"):       # quantizers: transform = reconstruction, X's columns
        assert list(out.columns) == list(X.columns)
        assert out.dtypes.unique().tolist() == [np.float32]
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
