"""lowdim.id lPCA, MOM, TLE, CorrInt and GRIDE against scikit-dimension (the oracle), issue 13.

Each test runs the same call on skdim and on lowdim.id on a few benchmark manifolds
(skdim.datasets.BenchmarkManifolds, small n): values equal to rounding, except where the
documented differences apply (lPCA's maxgap/Fan on rank-deficient spectra, duplicates).
bench/bench_id_estimators.py runs all 24 manifolds at n = 2500.
"""
import warnings

import numpy as np
import pytest

from lowdim import id as lid_id
from lowdim.id._lpca import VERS

skdim = pytest.importorskip("skdim")

# full-rank spectra (no rounding-noise eigenvalues), curved and flat, low and high d
NAMES = ("M1_Sphere", "M5b_Helix2d", "M9_Affine", "M11_Moebius")


_CACHE = {}


def sk(key, call):
    """skdim's result of call(), computed once for all backend variants; skdim's own
    RuntimeWarnings (0/0 in its formulas) are not ours to fail on."""
    if key not in _CACHE:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            _CACHE[key] = call()
    return _CACHE[key]


@pytest.fixture(scope="module")
def manifolds():
    data = skdim.datasets.BenchmarkManifolds(random_state=0).generate(n=300)
    return {name: data[name] for name in NAMES}


@pytest.mark.parametrize("ver", VERS)
def test_lpca_global_equals_skdim(manifolds, ver):
    for name, X in manifolds.items():
        ours = lid_id.lPCA(ver=ver).fit(X)
        theirs = sk(("lpca", ver, name), lambda: skdim.id.lPCA(ver=ver).fit(X))
        assert ours.dimension_ == pytest.approx(theirs.dimension_, rel=1e-9)
        np.testing.assert_allclose(ours.explained_var_, theirs.explained_var_, rtol=1e-8,
                                   atol=1e-12 * theirs.explained_var_[0])


@pytest.mark.parametrize("ver", VERS)
def test_lpca_pointwise_equals_skdim(manifolds, ver):
    X = manifolds["M1_Sphere"][:120]
    ours = lid_id.lPCA(ver=ver).fit_pw(X, n_neighbors=25, smooth=True)
    theirs = sk(("lpca_pw", ver), lambda: skdim.id.lPCA(ver=ver).fit_pw(X, n_neighbors=25,
                                                                         smooth=True))
    np.testing.assert_allclose(ours.dimension_pw_, theirs.dimension_pw_, rtol=1e-9)
    np.testing.assert_allclose(ours.dimension_pw_smooth_, theirs.dimension_pw_smooth_,
                               rtol=1e-9)


def test_lpca_options_equal_skdim(manifolds):
    X = manifolds["M9_Affine"]
    for kw in ({"center": False}, {"alphaFO": 0.2}, {"alphaRatio": 0.5},
               {"ver": "Fan", "PFan": 0.8, "alphaFan": 2}):
        assert lid_id.lPCA(**kw).fit(X).dimension_ == skdim.id.lPCA(**kw).fit(X).dimension_
    ev = skdim.id.lPCA().fit(X).explained_var_
    ours = lid_id.lPCA(ver="Kaiser", fit_explained_variance=True).fit(ev)
    assert ours.dimension_ == skdim.id.lPCA(ver="Kaiser", fit_explained_variance=True).fit(
        ev).dimension_
    np.testing.assert_allclose(ours.gap_, ev[:-1] / ev[1:])
    with pytest.raises(ValueError, match="ver must be one of"):
        lid_id.lPCA(ver="MP").fit(X)


@pytest.mark.parametrize("est", ["MOM", "TLE"])
def test_local_estimators_equal_skdim(manifolds, est):
    for name, X in manifolds.items():
        for i, kw in enumerate(({}, {"n_neighbors": 15, "comb": "median", "smooth": True})):
            ours = getattr(lid_id, est)().fit(X, **kw)
            theirs = sk((est, name, i), lambda: getattr(skdim.id, est)().fit(X, **kw))
            assert ours.dimension_ == pytest.approx(theirs.dimension_, rel=1e-9)
            np.testing.assert_allclose(ours.dimension_pw_, theirs.dimension_pw_, rtol=1e-8)
            if kw:
                np.testing.assert_allclose(ours.dimension_pw_smooth_,
                                           theirs.dimension_pw_smooth_, rtol=1e-8)


def test_local_estimators_take_precomputed_knn_and_clip(manifolds):
    X = manifolds["M11_Moebius"][:150]
    from sklearn.neighbors import NearestNeighbors
    knn = NearestNeighbors(n_neighbors=12).fit(X).kneighbors()
    for est in ("MOM", "TLE"):
        ours = getattr(lid_id, est)().fit(X, precomputed_knn_arrays=knn).dimension_pw_
        theirs = sk((est, "knn"), lambda: getattr(skdim.id, est)().fit(
            X, precomputed_knn_arrays=knn).dimension_pw_)
        np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    with pytest.warns(UserWarning, match="n_neighbors >= len"):
        assert np.isfinite(lid_id.MOM().fit(X[:60]).dimension_)   # 100 >= 60 points


def test_duplicates_are_merged(manifolds):
    X = manifolds["M1_Sphere"]
    for est in (lid_id.MOM(), lid_id.TLE(), lid_id.GRIDE()):
        a = est.fit(X).dimension_
        b = est.fit(np.vstack([X, X[:5]])).dimension_
        assert np.isfinite(b) and abs(a - b) < 0.05 * a
    with pytest.raises(ValueError, match="duplicate"):
        lid_id.TLE(duplicates="raise").fit(np.vstack([X, X[:5]]))


def test_corrint_equals_skdim(manifolds):
    for name, X in manifolds.items():
        for i, kw in enumerate(({}, {"k1": 5, "k2": 40})):
            ours = lid_id.CorrInt(**kw).fit(X).dimension_
            theirs = sk(("corrint", name, i), lambda: skdim.id.CorrInt(**kw).fit(X).dimension_)
            assert ours == pytest.approx(theirs, rel=1e-9)
    X = manifolds["M5b_Helix2d"]
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    assert lid_id.CorrInt(DM=True).fit(D).dimension_ == pytest.approx(
        sk("corrint_dm", lambda: skdim.id.CorrInt(DM=True).fit(D).dimension_), rel=1e-9)


def test_corrint_counts_dense_regions_exactly(rng):
    # a tight cluster puts many more than K points inside r2 for some rows: the recount
    X = np.vstack([rng.standard_normal((40, 3)) * 1e-3, rng.standard_normal((200, 3))])
    assert lid_id.CorrInt().fit(X).dimension_ == pytest.approx(
        sk("corrint_cluster", lambda: skdim.id.CorrInt().fit(X).dimension_), rel=1e-9)


def test_gride_equals_skdim(manifolds):
    for name, X in manifolds.items():
        for i, kw in enumerate(({}, {"n1": 2, "n2": 5}, {"multiscale": True, "range_max": 32})):
            ours = lid_id.GRIDE(**kw).fit(X)
            theirs = sk(("gride", name, i), lambda: skdim.id.GRIDE(**kw).fit(X))
            assert ours.dimension_ == pytest.approx(theirs.dimension_, rel=1e-9)
            assert ours.error_ == pytest.approx(theirs.error_, rel=1e-9)
            if kw.get("multiscale"):
                np.testing.assert_array_equal(ours.scales_, theirs.scales_)
                np.testing.assert_allclose(ours.dimension_scales_, theirs.dimension_scales_,
                                           rtol=1e-9)
                np.testing.assert_allclose(ours.radius_scales_, theirs.radius_scales_,
                                           rtol=1e-6)
    with pytest.raises(ValueError, match="n1 and n2"):
        lid_id.GRIDE(n1=3, n2=2).fit(manifolds["M1_Sphere"])


def test_interface(manifolds):
    X = manifolds["M9_Affine"]
    for est in (lid_id.lPCA(), lid_id.MOM(), lid_id.TLE(), lid_id.CorrInt(), lid_id.GRIDE()):
        d = est.fit_transform(X)
        assert d == est.transform() and est.n_features_in_ == X.shape[1]
    pw = lid_id.MOM().fit_transform_pw(X, n_neighbors=10)
    assert pw.shape == (len(X),)
