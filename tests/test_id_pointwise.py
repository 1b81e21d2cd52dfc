"""fit_pw of GRIDE and CorrInt (lowdim.id): the global estimator on every neighbourhood.

Oracle: the textbook loop skdim's GlobalEstimator.fit_pw runs — fit the global estimator
on X[knn[i]] for each point (lowdim's global fits equal skdim's, tests/test_id_skdim_parity.py)
— and skdim's own GRIDE.fit_pw on a small set.
"""
import warnings

import numpy as np
import pytest

import lowdim
from lowdim import id as lid_id


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return np.tanh(rng.standard_normal((40, 4)) @ rng.standard_normal((4, 9)))


def loop(est, X, k):
    _, idx = lowdim.knn(X, k)
    return idx, np.array([est.fit(X[i]).dimension_ for i in idx])


@pytest.mark.parametrize("make", [lambda: lid_id.GRIDE(), lambda: lid_id.GRIDE(n1=2, n2=5),
                                  lambda: lid_id.CorrInt(k1=3, k2=7)])
def test_fit_pw_is_the_global_fit_on_each_neighbourhood(make, data):
    idx, want = loop(make(), data, 12)
    est = make().fit_pw(data, n_neighbors=12, smooth=True)
    np.testing.assert_allclose(est.dimension_pw_, want, rtol=1e-9)
    np.testing.assert_allclose(est.dimension_pw_smooth_,
                               (want + want[idx].sum(axis=1)) / 13, rtol=1e-9)
    again = make().fit_pw(data, precomputed_knn=idx, n_neighbors=12)
    np.testing.assert_array_equal(again.dimension_pw_, est.dimension_pw_)
    assert not hasattr(again, "dimension_pw_smooth_") and not hasattr(again, "dimension_")


def test_gride_fit_pw_equals_skdims(data):
    skdim = pytest.importorskip("skdim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = skdim.id.GRIDE().fit_pw(data[:30], n_neighbors=12).dimension_pw_
    ours = lid_id.GRIDE().fit_pw(data[:30], n_neighbors=12)
    np.testing.assert_allclose(ours.dimension_pw_, theirs, rtol=1e-9)
    assert ours.error_pw_.shape == (30,) and (ours.error_pw_ > 0).all()


@pytest.mark.parametrize("est, kw, match", [
    (lid_id.GRIDE(n1=4), dict(n_neighbors=6), "n2=8 needs"),
    (lid_id.GRIDE(), dict(n_neighbors=500), "n_neighbors must be <="),
    (lid_id.CorrInt(DM=True), dict(), "distance matrix"),
    (lid_id.CorrInt(), dict(precomputed_knn=np.zeros((5, 3), dtype=int)), "precomputed_knn"),
])
def test_fit_pw_bad_arguments(est, kw, match, data):
    with pytest.raises(ValueError, match=match):
        est.fit_pw(data, **kw)
