"""Tests of lowdim.lid, twonn, intrinsic_dim and the skdim-style lowdim.id estimators.

Known answers: points uniform on spheres / balls / Gaussian linear subspaces of known
dimension, rotated into a higher ambient space. Peers: scikit-dimension (when installed)
must agree to 2%. Invariances and the duplicate policy are checked exactly.
"""
import numpy as np
import pytest

import lowdim
from lowdim import id as lid_id


def embed(Z, D, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((D, Z.shape[1])))
    return Z @ Q.T


def sphere(n, m, rng):          # S^m in R^(m+1): dimension m
    Z = rng.standard_normal((n, m + 1))
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def ball(n, m, rng):            # uniform m-ball: dimension m
    return sphere(n, m - 1, rng) * rng.random((n, 1)) ** (1 / m)


def subspace(n, m, rng):        # Gaussian in an m-dim linear subspace
    return rng.standard_normal((n, m))


def lid_oracle(X, k, kfac):
    x = np.asarray(X, dtype=np.float64)
    out = []
    for i in range(len(x)):
        r = np.sort(np.delete(np.linalg.norm(x - x[i], axis=1), i))[:k]
        out.append(kfac / np.sum(np.log(r[-1] / r)))
    return np.array(out)


@pytest.mark.parametrize("shape, m, D, n", [
    (sphere, 2, 10, 2000), (sphere, 5, 1000, 2000), (ball, 3, 20, 2000),
    (subspace, 6, 100, 2000), (sphere, 10, 200, 5000), (ball, 5, 50, 5000)])
def test_known_dimension_within_10_percent(shape, m, D, n):
    rng = np.random.default_rng(m * 7 + D)
    X = embed(shape(n, m, rng), D, rng).astype(np.float32)
    dist, idx = lowdim.knn(X, 20)         # one search; the estimators reuse it
    assert abs(lid_id.TwoNN(dist=True).fit(dist[:, :2]).dimension_ - m) <= 0.1 * m
    assert abs(lid_id.MLE().fit(X, precomputed_knn_arrays=(dist, idx)).dimension_ - m) <= 0.1 * m
    assert abs(np.median(lowdim.lid(None, 20, knn=(dist, idx))) - m) <= 0.1 * m


@pytest.mark.parametrize("estimator, shift", [("mle", 0), ("levina_bickel", 1)])
def test_lid_matches_textbook_loop(estimator, shift, rng):
    X = rng.standard_normal((65, 7))
    got = lowdim.lid(X, 9, estimator=estimator)
    np.testing.assert_allclose(got, lid_oracle(X, 9, 9 - shift), rtol=1e-10)


def test_lid_precomputed_knn_skips_search(rng):
    X = rng.standard_normal((80, 5))
    d, i = lowdim.knn(X, 12)
    np.testing.assert_allclose(lowdim.lid(None, 10, knn=(d, i)), lowdim.lid(X, 10), rtol=1e-12)


def test_twonn_formula_by_hand(rng):
    X = rng.standard_normal((300, 4))
    x = X.astype(np.float64)
    r = np.sort(np.linalg.norm(x[:, None] - x[None], axis=2), axis=1)[:, 1:3]
    mu = np.sort(r[:, 1] / r[:, 0])
    n_keep = int(300 * 0.9)
    lx, ly = np.log(mu[:n_keep]), -np.log(1 - np.arange(1, n_keep + 1) / 300)
    assert lowdim.twonn(X) == pytest.approx(lx @ ly / (lx @ lx), rel=1e-10)


def test_invariant_to_rotation_translation_scale(rng):
    X = embed(sphere(600, 4, rng), 12, rng)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    Y = 37.5 * (X @ Q) + rng.standard_normal(12) * 10
    np.testing.assert_allclose(lowdim.lid(Y, 15), lowdim.lid(X, 15), rtol=1e-6)
    assert lowdim.twonn(Y) == pytest.approx(lowdim.twonn(X), rel=1e-6)
    assert lowdim.intrinsic_dim(Y, "mle") == pytest.approx(lowdim.intrinsic_dim(X, "mle"),
                                                            rel=1e-6)


@pytest.mark.parametrize("shape, m", [(sphere, 20), (ball, 10), (subspace, 6)])
def test_agrees_with_skdim(shape, m):
    skdim = pytest.importorskip("skdim")
    rng = np.random.default_rng(m)
    X = embed(shape(1500, m, rng), 40, rng)
    assert lid_id.MLE().fit(X).dimension_ == pytest.approx(
        skdim.id.MLE().fit(X).dimension_, rel=0.02)
    assert lid_id.TwoNN().fit(X).dimension_ == pytest.approx(
        skdim.id.TwoNN().fit(X).dimension_, rel=0.02)
    np.testing.assert_allclose(lid_id.MLE().fit(X).dimension_pw_,
                               skdim.id.MLE().fit(X).dimension_pw_, rtol=0.02)


def test_twonn_fit_pw_agrees_with_skdim(rng):
    skdim = pytest.importorskip("skdim")
    X = embed(ball(150, 3, rng), 8, rng)
    ours = lid_id.TwoNN().fit_pw(X, n_neighbors=30, smooth=True)
    theirs = skdim.id.TwoNN().fit_pw(X, n_neighbors=30, smooth=True)
    np.testing.assert_allclose(ours.dimension_pw_, theirs.dimension_pw_, rtol=1e-6)
    np.testing.assert_allclose(ours.dimension_pw_smooth_, theirs.dimension_pw_smooth_, rtol=1e-6)


def test_estimator_api(rng):
    X = rng.standard_normal((200, 5))
    mle = lid_id.MLE(K=10).fit(X, smooth=True)
    assert mle.n_neighbors_ == 10 and mle.dimension_pw_.shape == (200,)
    assert mle.dimension_ == pytest.approx(lowdim.intrinsic_dim(X, "mle", k=10), rel=1e-12)
    assert mle.dimension_pw_smooth_.shape == (200,)
    assert lid_id.MLE().fit(X, comb="median").dimension_ == pytest.approx(
        np.median(lid_id.MLE().fit(X).dimension_pw_))
    assert lid_id.MLE().fit_pw(X, n_neighbors=12).dimension_pw_.shape == (200,)
    tw = lid_id.TwoNN(method="mle").fit(X)
    assert tw.x_.shape == tw.y_.shape == (180, 1) and 3 < tw.dimension_ < 7
    r = lowdim.knn(X, 2)[0]
    assert lid_id.TwoNN(dist=True).fit(r).dimension_ == pytest.approx(lowdim.twonn(X))
    assert lid_id.TwoNN(discard_fraction=0.2).get_params()["discard_fraction"] == 0.2
    with pytest.raises(lowdim._base.NotFittedError):
        lid_id.TwoNN().transform()


def test_duplicates_counted_once(rng):
    U = rng.standard_normal((120, 6))
    X = np.concatenate([U, U[:40], U[:5]])              # 45 duplicate rows
    np.testing.assert_allclose(lowdim.lid(X, 10)[:120], lowdim.lid(U, 10), rtol=1e-12)
    np.testing.assert_allclose(lowdim.lid(X, 10)[120:160], lowdim.lid(U, 10)[:40], rtol=1e-12)
    assert np.isfinite(lowdim.lid(X, 10)).all()
    assert lowdim.twonn(X) == pytest.approx(lowdim.twonn(U), rel=1e-12)
    assert lid_id.MLE().fit(X).dimension_ == pytest.approx(lid_id.MLE().fit(U).dimension_)
    pw = lid_id.TwoNN().fit_pw(X, n_neighbors=20).dimension_pw_
    np.testing.assert_allclose(pw[120:], pw[np.r_[0:40, 0:5]])
    with pytest.raises(ValueError, match=r"85 points have a duplicate"):
        lowdim.lid(X, 10, duplicates="raise")
    with pytest.raises(ValueError, match=r"zero distances for 85 points"):
        lowdim.lid(None, 10, knn=lowdim.knn(X, 10))
    np.testing.assert_allclose(lowdim.lid(X, 10, knn=lowdim.knn(X, 10)), lowdim.lid(X, 10))
    with pytest.raises(ValueError, match=r"85 points have a duplicate"):
        lowdim.lid(X, 10, knn=lowdim.knn(X, 10), duplicates="raise")


def test_remove_duplicates_then_estimate(rng):
    U = rng.standard_normal((100, 4))
    X = np.concatenate([U, U])
    assert lowdim.twonn(lowdim.remove_duplicates(X)) == pytest.approx(lowdim.twonn(U))


@pytest.mark.parametrize("call, exc, match", [
    (lambda X: lowdim.lid(X, 1), ValueError, r"k must be >= 2"),
    (lambda X: lowdim.lid(X, 30), ValueError, r"k must be <= 29"),
    (lambda X: lowdim.lid(X, 5, estimator="x"), ValueError, r"estimator must be"),
    (lambda X: lowdim.lid(X, 5, duplicates="keep"), ValueError, r"duplicates must be"),
    (lambda X: lowdim.lid(X[:, :0], 5), ValueError, r"empty"),
    (lambda X: lowdim.twonn(X[:2]), ValueError, r"at least 3 points"),
    (lambda X: lowdim.twonn(X, discard_fraction=1.0), ValueError, r"discard_fraction"),
    (lambda X: lowdim.twonn(X, method="lsq"), ValueError, r"method must be"),
    (lambda X: lowdim.twonn(np.ones((10, 3))), ValueError, r"only 1 distinct points"),
    (lambda X: lowdim.lid(np.ones((10, 3)), 3), ValueError, r"only 1 distinct points"),
    (lambda X: lowdim.lid(np.where(X > 0, np.nan, X), 3), ValueError, r"NaN"),
    (lambda X: lowdim.intrinsic_dim(X, "pca"), ValueError, r"method must be"),
    (lambda X: lowdim.lid(None, 3, knn=(np.ones((5, 2)), np.ones((5, 2)))), ValueError,
     r"neighbours per point"),
    (lambda X: lowdim.lid(None, 2, knn=(np.array([[2.0, 1]]), np.ones((1, 2)))), ValueError,
     r"sorted"),
    (lambda X: lid_id.TwoNN(dist=True).fit(np.array([[2.0, 1], [1, 2], [1, 3]])), ValueError,
     r"r1 <= r2"),
    (lambda X: lid_id.MLE().fit(X, comb="max"), ValueError, r"comb must be"),
])
def test_bad_input(call, exc, match, rng):
    X = rng.standard_normal((30, 3))
    with pytest.raises(exc, match=match):
        call(X)


def test_integer_data_accepted(rng):
    X = rng.integers(0, 1000, size=(200, 3))
    assert 2 < lowdim.twonn(X) < 4


def test_twonn_with_nothing_discarded_stays_finite():
    X = np.random.default_rng(3).standard_normal((400, 3))
    d = lowdim.twonn(X, discard_fraction=0.0)
    assert np.isfinite(d) and 2.3 < d < 3.7


def test_global_mle_of_equidistant_points_is_refused_not_inf():
    # Every point of the simplex np.eye(n) has all its neighbours at √2: each local MLE
    # is inf, and 1 / mean(1 / inf) was inf with a RuntimeWarning.
    with pytest.raises(ValueError, match="MLE is undefined"):
        lowdim.intrinsic_dim(np.eye(30), "mle", k=5)
    X = np.vstack([np.eye(30), np.random.default_rng(0).standard_normal((30, 30))])
    assert np.isfinite(lowdim.intrinsic_dim(X, "mle", k=5))     # some inf locals are fine


@pytest.mark.parametrize("bad, match", [
    (lambda i: i - 1, r"must be in \[0, 40\)"),             # -1 used to wrap to the last row
    (lambda i: i + 1, r"must be in \[0, 40\)"),             # 40 used to raise IndexError
    (lambda i: i.astype(np.float64), r"must be integers"),
])
def test_mle_smooth_validates_precomputed_indices(bad, match):
    X = np.random.default_rng(5).standard_normal((40, 3))
    dist, idx = lowdim.knn(X, 5)         # as wide as K: every column is used (as skdim)
    est = lid_id.MLE(K=5).fit(X, precomputed_knn_arrays=(dist, idx), smooth=True)
    np.testing.assert_allclose(est.dimension_pw_smooth_,
                               lid_id.MLE(K=5).fit(X, smooth=True).dimension_pw_smooth_)
    with pytest.raises(ValueError, match=match):
        lid_id.MLE(K=5).fit(X, precomputed_knn_arrays=(dist, bad(idx)), smooth=True)


def test_mle_estimator_of_equidistant_points_is_refused_not_inf():
    with pytest.raises(ValueError, match="MLE is undefined"):
        lid_id.MLE(K=5).fit(np.eye(30))


def test_mle_precomputed_rows_must_match_x():
    X = np.random.default_rng(6).standard_normal((40, 3))
    dist, idx = lowdim.knn(X, 6)
    with pytest.raises(ValueError, match="has 20 rows but X has 40"):
        lid_id.MLE(K=5).fit(X, precomputed_knn_arrays=(dist[:20], idx[:20]), smooth=True)


@pytest.mark.parametrize("scale", [2.0**-1070, 2.0**-600, 2.0**1000])   # subnormal .. huge
def test_id_estimators_are_scale_free_at_the_ends_of_the_float_range(scale):
    X = np.round(np.random.default_rng(7).standard_normal((60, 3)) * 8) + 0.5
    for f in (lambda x: lowdim.twonn(x), lambda x: lid_id.MLE(K=5).fit(x).dimension_,
              lambda x: lowdim.lid(x, 5)):
        np.testing.assert_allclose(f(X * scale), f(X), rtol=1e-12)
