"""The scikit-learn estimator protocol on every lowdim.id estimator (issue 15).

scikit-learn's check_estimator on each class, with only the checks declared in
lowdim.id._estimators.EXPECTED_FAILED_CHECKS (transform returns one number per data set,
as scikit-dimension's estimators, which fail the same checks) expected to fail; the same
checks on skdim's classes as the oracle of what applies; NotFittedError; dtype tags.
"""
import warnings

import numpy as np
import pytest

import lowdim.id
from lowdim._base import NotFittedError
from lowdim.id._estimators import EXPECTED_FAILED_CHECKS

CLASSES = ["MLE", "TwoNN", "ESS", "lPCA", "MOM", "TLE", "CorrInt", "MiND_ML", "GRIDE"]


def _run_checks(est):
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    with warnings.catch_warnings():
        # SkipTestWarning (array-API checks), and the estimators' own advice on the checks'
        # tiny data sets (neighbourhoods clipped to len(X) - 1)
        warnings.simplefilter("ignore")
        return checks.check_estimator(est, on_fail=None,
                                      expected_failed_checks=EXPECTED_FAILED_CHECKS)


def _failed(results):
    return {r["check_name"] for r in results if r["status"] == "failed"}


@pytest.fixture
def numpy_variant(variant):
    # The protocol (validation, tags, messages) is Python code shared by every backend;
    # one variant keeps the ~2 s of checks inside the CI budget.
    if variant != "numpy":
        pytest.skip("estimator protocol is backend independent; checked on the numpy variant")


@pytest.mark.parametrize("name", CLASSES)
def test_check_estimator(name, numpy_variant):
    results = _run_checks(getattr(lowdim.id, name)())
    assert _failed(results) == set()
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(EXPECTED_FAILED_CHECKS)
    assert len(results) >= 45


@pytest.mark.slow
def test_check_estimator_danco(numpy_variant):
    # slow only because DANCo draws its reference balls on every fit
    results = _run_checks(lowdim.id.DANCo())
    assert _failed(results) == set()
    assert {r["check_name"] for r in results if r["status"] == "xfail"} == set(EXPECTED_FAILED_CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["TwoNN"])
def test_skdim_fails_the_declared_checks_too(name, numpy_variant):
    """The declared checks are the ones scikit-dimension's estimators cannot pass either."""
    skdim = pytest.importorskip("skdim")
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = checks.check_estimator(getattr(skdim.id, name)(), on_fail=None)
    assert _failed(results) == set(EXPECTED_FAILED_CHECKS)


@pytest.mark.parametrize("name", CLASSES + ["DANCo"])
def test_not_fitted_error(name):
    est = getattr(lowdim.id, name)()
    with pytest.raises(NotFittedError, match=f"This {name} instance is not fitted yet"):
        est.transform()
    with pytest.raises(NotFittedError, match=f"This {name} instance is not fitted yet"):
        est.transform_pw()
    with pytest.raises(AttributeError):        # scikit-learn's bases, installed or not
        est.transform()
    exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(exceptions.NotFittedError):
        est.transform()


def test_transform_checks_x_and_returns_a_numpy_scalar():
    X = np.random.default_rng(0).uniform(size=(60, 3))
    est = lowdim.id.MLE(K=5).fit(X)
    out = est.transform(X)
    assert isinstance(out, np.float64) and out == est.dimension_ == est.transform()
    with pytest.raises(ValueError, match="X has 2 features, but MLE is expecting 3 features"):
        est.transform(X[:, :2])
    with pytest.raises(ValueError, match="Expected a 2-D array"):
        est.transform(X[0])
    with pytest.raises(ValueError, match="Found array with 1 sample"):
        lowdim.id.TwoNN().fit(X[:1])
    with pytest.raises(ValueError, match="Found array with 1 feature"):
        lowdim.id.lPCA().fit(X[:, :1])
    assert isinstance(lowdim.id.lPCA().fit_transform(X), np.integer)


def test_dtype_tags_tell_the_truth():
    pytest.importorskip("sklearn", minversion="1.6")
    from sklearn.utils import get_tags
    assert get_tags(lowdim.id.MLE()).transformer_tags.preserves_dtype == ["float64"]
    assert get_tags(lowdim.id.lPCA()).transformer_tags.preserves_dtype == []
    assert get_tags(lowdim.id.lPCA(ver="participation_ratio")) \
        .transformer_tags.preserves_dtype == ["float64"]
