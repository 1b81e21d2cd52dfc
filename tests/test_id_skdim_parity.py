"""Drop-in parity of lowdim.id.MLE / TwoNN with scikit-dimension (skdim), issue 13.

Each test runs the same call on skdim itself (the oracle) and on lowdim.id: the MLE form of
TwoNN keeps every ratio, precomputed kNN arrays are used whole, MLE clips n_neighbors with
a warning, fit_predict / fit_transform_pw / n_features_in_ / sklearn tags exist, and an
unfitted estimator raises scikit-learn's NotFittedError in both libraries. Where
lowdim deliberately differs (TwoNN.fit_pw with nothing discarded) the test says so.
"""
import numpy as np
import pytest

import lowdim
from lowdim import id as lid_id

skdim = pytest.importorskip("skdim")


@pytest.fixture
def X(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((9, 4)))
    return rng.standard_normal((400, 4)) @ Q.T


def test_twonn_mle_without_discarding_keeps_every_ratio(X):
    ours = lid_id.TwoNN(method="mle", discard_fraction=0).fit(X)
    with np.errstate(divide="ignore"):       # skdim's y_ holds -log(0) at F = 1
        theirs = skdim.id.TwoNN(method="mle", discard_fraction=0).fit(X)
    assert ours.dimension_ == pytest.approx(theirs.dimension_, rel=1e-10)
    assert ours.x_.shape == theirs.x_.shape == (400, 1)
    mu = np.sort(np.log(lowdim.knn(X, 2)[0][:, 1].astype(np.float64)
                        / lowdim.knn(X, 2)[0][:, 0]))
    assert ours.dimension_ == pytest.approx((400 - 1) / mu.sum(), rel=1e-10)


def test_twonn_fit_pw_without_discarding_is_finite(X):
    # skdim raises (its least-squares fit meets y = inf at F = 1); lowdim leaves that point
    # out of each neighbourhood's fit, as lowdim.twonn does globally.
    with pytest.raises(ValueError), np.errstate(divide="ignore"):
        skdim.id.TwoNN(discard_fraction=0).fit_pw(X, n_neighbors=30)
    pw = lid_id.TwoNN(discard_fraction=0).fit_pw(X, n_neighbors=30).dimension_pw_
    assert np.isfinite(pw).all() and 2 < np.median(pw) < 7
    pw_mle = lid_id.TwoNN(method="mle", discard_fraction=0).fit_pw(X, n_neighbors=30)
    with np.errstate(divide="ignore"):
        theirs = skdim.id.TwoNN(method="mle", discard_fraction=0).fit_pw(X, n_neighbors=30)
    np.testing.assert_allclose(pw_mle.dimension_pw_, theirs.dimension_pw_, rtol=1e-6)


def test_precomputed_knn_wider_than_k_uses_every_column(X):
    dist, idx = lowdim.knn(X, 35)
    ours = lid_id.MLE().fit(X, precomputed_knn_arrays=(dist, idx))
    theirs = skdim.id.MLE().fit(X, precomputed_knn_arrays=(dist, idx))
    assert ours.dimension_ == pytest.approx(theirs.dimension_, rel=1e-10)
    assert ours.dimension_ != pytest.approx(lid_id.MLE().fit(X).dimension_, rel=1e-3)
    np.testing.assert_allclose(ours.dimension_pw_, theirs.dimension_pw_, rtol=1e-10)


@pytest.mark.parametrize("n", [12, 20])         # n < K and n = K (K = 20): both clip
def test_mle_on_fewer_points_than_k_warns_and_clips(X, n):
    with pytest.warns(UserWarning, match="n_neighbors"):
        theirs = skdim.id.MLE().fit(X[:n]).dimension_
    with pytest.warns(UserWarning, match=r"setting n_neighbors = len\(X\)-1"):
        ours = lid_id.MLE().fit(X[:n])
    assert ours.n_neighbors_ == n - 1
    assert ours.dimension_ == pytest.approx(theirs, rel=1e-10)


def test_mle_on_one_more_point_than_k_does_not_warn(X):
    ours = lid_id.MLE().fit(X[:21])                  # filterwarnings=error: no warning here
    assert ours.dimension_ == pytest.approx(skdim.id.MLE().fit(X[:21]).dimension_, rel=1e-10)


def test_fit_predict_and_fit_transform_pw(X):
    dist, idx = lowdim.knn(X, 20)
    assert lid_id.MLE().fit_predict(X) == pytest.approx(skdim.id.MLE().fit_predict(X), rel=1e-10)
    ours = lid_id.MLE().fit_transform_pw(X, precomputed_knn_arrays=(dist, idx), smooth=True)
    theirs = skdim.id.MLE().fit_transform_pw(X, precomputed_knn_arrays=(dist, idx), smooth=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_n_features_in_and_transformer_tags(X):
    for est in (lid_id.MLE(), lid_id.TwoNN()):
        assert est.fit(X).n_features_in_ == 9
    assert lid_id.TwoNN().fit_pw(X, n_neighbors=20).n_features_in_ == 9
    assert lid_id.TwoNN(dist=True).fit(lowdim.knn(X, 2)[0]).n_features_in_ == 2
    pytest.importorskip("sklearn", minversion="1.6")
    for ours, theirs in ((lid_id.MLE(), skdim.id.MLE()), (lid_id.TwoNN(), skdim.id.TwoNN())):
        ours_tags, theirs_tags = ours.__sklearn_tags__(), theirs.__sklearn_tags__()
        assert ours_tags.transformer_tags == theirs_tags.transformer_tags
        assert ours.__sklearn_tags__().transformer_tags is not None


# every class skdim has, and lowdim.id offers under the same name
CLASSES = ("MLE", "TwoNN", "MOM", "TLE", "CorrInt", "GRIDE", "lPCA", "MiND_ML", "ESS", "DANCo")


@pytest.mark.parametrize("name", CLASSES)
def test_unfitted_transform_raises_sklearns_not_fitted_error_as_skdim(name, X):
    exceptions = pytest.importorskip("sklearn.exceptions")
    for est in (getattr(lid_id, name)(), getattr(skdim.id, name)()):
        with pytest.raises(exceptions.NotFittedError):
            est.transform(X)
    # fit_predict exactly where skdim has it (its MLE only)
    assert hasattr(getattr(lid_id, name)(), "fit_predict") == hasattr(
        getattr(skdim.id, name)(), "fit_predict")


@pytest.mark.parametrize("name", CLASSES[:7])       # the ones skdim fits in milliseconds
def test_n_features_in_equals_skdims(name, X):
    with np.errstate(all="ignore"):                 # skdim's own divisions on tied distances
        theirs = getattr(skdim.id, name)().fit(X[:120]).n_features_in_
    assert getattr(lid_id, name)().fit(X[:120]).n_features_in_ == theirs == 9
