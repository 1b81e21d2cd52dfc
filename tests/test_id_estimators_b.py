"""Parity of lowdim.id.ESS / MiND_ML / DANCo with scikit-dimension (skdim), issue 13.

skdim itself is the oracle, run once per module on small inputs (its ESS loops over points in
Python). ESS with all pairs and MiND_MLi are deterministic and must agree to rounding; MiND_MLk
must be the maximiser of skdim's own likelihood (skdim's L-BFGS-B sometimes stops one step
early); DANCo given skdim's calibration must give skdim's answer; random parts (ESS groups
when not all are used, DANCo's reference balls) are compared statistically.
"""
import math
import warnings

import numpy as np
import pytest

import lowdim
from lowdim import id as lid_id
from lowdim.id import _danco, _ess

skdim = pytest.importorskip("skdim")


def _manifolds(n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return skdim.datasets.BenchmarkManifolds(random_state=0).generate(n=n)


@pytest.fixture(scope="module")
def data():
    d = _manifolds(80)
    return {name: d[name] for name in ("M1_Sphere", "M6_Nonlinear")}


@pytest.fixture(scope="module")
def skdim_ess(data):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, X in data.items():
            for ver in "ab":
                est = skdim.id.ESS(ver=ver).fit(X, n_neighbors=20)
                out[name, ver] = (est.dimension_, est.dimension_pw_, est.essval_)
    return out


@pytest.mark.parametrize("ver", ["a", "b"])
def test_ess_equals_skdim_when_all_pairs_are_used(data, skdim_ess, ver):
    for name, X in data.items():
        ours = lid_id.ESS(ver=ver).fit(X, n_neighbors=20)
        dim, pw, ess = skdim_ess[name, ver]
        np.testing.assert_allclose(ours.essval_, ess, rtol=1e-10)
        np.testing.assert_allclose(ours.dimension_pw_, pw, rtol=1e-10)
        assert ours.dimension_ == pytest.approx(dim, rel=1e-10)


def test_ess_precomputed_knn_and_smooth(data, skdim_ess):
    X = data["M6_Nonlinear"]
    dist, idx = skdim._commonfuncs.get_nn(X, 20)
    ours = lid_id.ESS().fit(X, precomputed_knn_arrays=(dist, idx), smooth=True)
    np.testing.assert_allclose(ours.dimension_pw_, skdim_ess["M6_Nonlinear", "a"][1],
                               rtol=1e-10)
    pw = ours.dimension_pw_
    np.testing.assert_allclose(ours.dimension_pw_smooth_,
                               [np.mean(np.r_[pw[i], pw[idx[i]]]) for i in range(len(X))])
    assert ours.fit_transform(X, n_neighbors=20, comb="median") == np.median(pw)


def test_ess_reference_is_skdims():
    for ver, d in (("a", 1), ("a", 3), ("b", 1)):
        est = skdim.id.ESS(ver=ver, d=d)
        theirs = np.r_[est._essReference(20, 1), est._essReference(38, 21)]
        np.testing.assert_allclose(_ess.reference(ver, d, np.arange(1, 39)), theirs,
                                   rtol=1e-12, atol=1e-300)


@pytest.fixture(scope="module")
def skdim_ess_groups():
    # C(9, 4) = 126 groups: all used; C(21, 4) = 5985: 5000 drawn (skdim: from numpy's
    # generator, lowdim: from its counter-based one)
    X = _manifolds(22)["M10a_Cubic"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampled = skdim.id.ESS(d=3, random_state=0).fit(X, n_neighbors=21).dimension_pw_
        every = skdim.id.ESS(d=3).fit(X[:10], n_neighbors=9).dimension_pw_
    return X, sampled, every


def test_ess_sampled_groups_agree_statistically_and_are_seeded(skdim_ess_groups):
    X, theirs, all_theirs = skdim_ess_groups
    ours = lid_id.ESS(d=3, random_state=3).fit(X, n_neighbors=21).dimension_pw_
    assert np.mean(ours) == pytest.approx(np.mean(theirs), rel=0.02)
    assert np.abs(ours - theirs).max() < 0.05 * np.mean(theirs)
    np.testing.assert_array_equal(
        ours, lid_id.ESS(d=3, random_state=3).fit(X, n_neighbors=21).dimension_pw_)
    assert (ours != lid_id.ESS(d=3, random_state=4).fit(X, n_neighbors=21).dimension_pw_).any()
    np.testing.assert_allclose(lid_id.ESS(d=3).fit(X[:10], n_neighbors=9).dimension_pw_,
                               all_theirs, rtol=1e-9)


def test_ess_rejects_b_with_d_above_one(data):
    with pytest.raises(ValueError, match="d > 1 is not supported"):
        lid_id.ESS(ver="b", d=2).fit(data["M1_Sphere"])


@pytest.fixture(scope="module")
def all300():
    return _manifolds(300)


@pytest.fixture(scope="module")
def suite300(all300):
    return {name: all300[name] for name in ("M1_Sphere", "M4_Nonlinear", "M7_Roll",
                                            "Mp2_Paraboloid")}


def test_mind_mli_equal_and_mlk_maximises_skdims_likelihood(suite300):
    for name, X in suite300.items():
        assert lid_id.MiND_ML(ver="MLi").fit(X).dimension_ == \
            skdim.id.MiND_ML(ver="MLi").fit(X).dimension_
        sk = skdim.id.MiND_ML()
        ours = lid_id.MiND_ML().fit(X).dimension_
        assert ours == pytest.approx(sk.fit(X).dimension_, rel=0.02)
        nb, _ = skdim._commonfuncs.get_nn(X, 21)
        rhos = nb[:, 0] / nb[:, -1]
        if ours < sk.D:                      # an interior maximum: the gradient vanishes
            assert abs(sk._nlld_gr(ours, rhos, len(rhos))) < 1e-6 * len(rhos)
        assert sk._lld(ours, rhos, len(rhos)) >= sk._lld(sk.dimension_, rhos, len(rhos)) - 1e-9
        assert lid_id.MiND_ML(mlk_solver="lbfgsb").fit(X).dimension_ == \
            pytest.approx(sk.dimension_, rel=1e-7)


@pytest.fixture(scope="module")
def skdim_mind_pw(suite300):
    X = suite300["M4_Nonlinear"][:30]
    return X, skdim.id.MiND_ML(ver="MLi").fit_pw(X, n_neighbors=25).dimension_pw_


def test_mind_fit_pw_equals_skdims(skdim_mind_pw):
    X, theirs = skdim_mind_pw
    ours = lid_id.MiND_ML(ver="MLi").fit_pw(X, n_neighbors=25, smooth=True)
    np.testing.assert_array_equal(ours.dimension_pw_, theirs)
    assert ours.dimension_pw_smooth_.shape == (30,)
    mlk = lid_id.MiND_ML().fit_pw(X, n_neighbors=25).dimension_pw_
    assert np.all(np.abs(mlk - ours.dimension_pw_) < 1)


def test_mind_ml1_is_the_closed_form(suite300):
    X = suite300["M1_Sphere"]
    nb, _ = skdim._commonfuncs.get_nn(X, 2)
    expected = -2 / np.mean(np.log(nb[:, 0] ** 2 / nb[:, 1] ** 2))
    assert lid_id.MiND_ML(ver="ML1").fit(X).dimension_ == pytest.approx(expected, rel=1e-9)


def test_mind_lbfgsb_reproduces_skdims_early_stop(all300):
    X = all300["M13b_Spiral"]      # skdim's L-BFGS-B stops at its start d = 2
    sk = skdim.id.MiND_ML().fit(X).dimension_
    assert sk == 2.0
    assert lid_id.MiND_ML().fit(X).dimension_ == pytest.approx(1.742, abs=0.01)
    assert lid_id.MiND_ML(mlk_solver="lbfgsb").fit(X).dimension_ == pytest.approx(sk, rel=1e-7)
    with pytest.raises(ValueError, match="mlk_solver"):
        lid_id.MiND_ML(mlk_solver="newton").fit(X)


def test_mind_mlk_bounded_by_D():
    X = np.random.default_rng(0).uniform(size=(300, 12))
    assert lid_id.MiND_ML(D=5).fit(X).dimension_ == 5.0
    assert skdim.id.MiND_ML(D=5).fit(X).dimension_ == 5.0


@pytest.fixture(scope="module")
def skdim_danco(suite300):
    """skdim's DANCoFit on each manifold (D = 20): answer, divergence, calibration used."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, X in suite300.items():
            est = skdim.id.DANCo(ver="DANCoFit", D=20).fit(X)
            out[name] = (est.dimension_, est.kl_divergence_, est.calibration_data_)
    return out


def test_danco_with_skdims_calibration_gives_skdims_answer(suite300, skdim_danco):
    for name, (dim, kl, cal) in skdim_danco.items():
        ours = lid_id.DANCo(D=20, calibration_data=cal, mlk_solver="lbfgsb").fit(suite300[name])
        assert ours.dimension_ == pytest.approx(dim, rel=1e-6)
        assert ours.kl_divergence_ == pytest.approx(kl, rel=1e-6)
        exact = lid_id.DANCo(D=20, calibration_data=cal).fit(suite300[name]).dimension_
        assert exact == pytest.approx(dim, rel=0.02)


def test_danco_own_calibration_agrees_statistically(suite300, skdim_danco):
    # one reference ball per dimension (as skdim's ver='DANCo'): within sampling noise of
    # skdim's table, the mean over 100 balls
    X = suite300["Mp2_Paraboloid"]
    dim, _, cal = skdim_danco["Mp2_Paraboloid"]
    ours = lid_id.DANCo(D=20).fit(X)
    assert ours.dimension_ == pytest.approx(dim, rel=0.1)
    got = np.array([[c["dhat"], c["mu_tau"]] for c in ours.calibration_data_["calibration_data"]])
    expected = np.array([[c["dhat"], c["mu_tau"]] for c in cal["calibration_data"]])
    np.testing.assert_allclose(got[2:], expected[2:], rtol=0.1)


def test_danco_is_seeded_and_calibration_reusable(suite300):
    X = suite300["Mp2_Paraboloid"]
    a = lid_id.DANCo(D=6, random_state=5).fit(X)
    _danco._CACHE.clear()
    b = lid_id.DANCo(D=6, random_state=5).fit(X)
    assert a.dimension_ == b.dimension_
    assert a.calibration_data_ == b.calibration_data_
    c = lid_id.DANCo(D=8, random_state=5, calibration_data=a.calibration_data_).fit(X)
    assert c.calibration_data_["maxdim"] == 8
    assert c.calibration_data_["calibration_data"][:6] == a.calibration_data_["calibration_data"]
    with pytest.raises(ValueError, match="calibration_data is for"):
        lid_id.DANCo(D=6, calibration_data=a.calibration_data_).fit(X[:200])


def test_danco_fit_table_close_to_skdims():
    # d >= 3 only: at d = 1, 2 skdim's L-BFGS-B stops at its integer start (d̂ = 2.000 for
    # every n at d = 2) where lowdim finds the maximiser (docs/intrinsic_dimension.md)
    t = np.load(_danco.Path(skdim.id._DANCo._FIT_TABLE))
    k, card, ours = _danco._table()
    assert k == int(t["k"]) and list(card) == list(t["cardinalities"])
    np.testing.assert_allclose(ours["dhat"][2:], t["dhat"][2:], rtol=0.04)
    np.testing.assert_allclose(ours["mu_tau"][2:], t["mu_tau"][2:], rtol=0.04)
    # n >= 1000 (40 000 reference points per cell, skdim's 100 balls): within 1 % in d̂
    np.testing.assert_allclose(ours["dhat"][2:, -3:], t["dhat"][2:, -3:], rtol=0.01)
    np.testing.assert_allclose(ours["mu_tau"][2:, -3:], t["mu_tau"][2:, -3:], rtol=0.006)
    # ν is noisy at small d
    np.testing.assert_allclose(ours["mu_nu"][3:], t["mu_nu"][3:], atol=0.06)
    assert not np.allclose(ours["dhat"][1], 2.0, rtol=0.02)


def test_danco_fit_equals_skdims_fit_within_two_percent(suite300, skdim_danco):
    for name, X in suite300.items():
        ours = lid_id.DANCo(ver="DANCoFit", D=20).fit(X).dimension_
        assert ours == pytest.approx(skdim_danco[name][0], rel=0.02), name


def test_danco_mind_versions_and_errors(suite300):
    X = suite300["M4_Nonlinear"]
    assert lid_id.DANCo(ver="MIND_MLi", D=10).fit(X).dimension_ == \
        skdim.id.DANCo(ver="MIND_MLi", D=10).fit(X).dimension_
    with pytest.raises(ValueError, match="requires k=10"):
        lid_id.DANCo(ver="DANCoFit", k=5).fit(X)
    with pytest.raises(ValueError, match="ver must be"):
        lid_id.DANCo(ver="danco").fit(X)


def test_duplicates_are_merged(suite300):
    X = suite300["M4_Nonlinear"]
    Xd = np.vstack([X, X[:40]])
    assert lid_id.MiND_ML().fit(Xd).dimension_ == lid_id.MiND_ML().fit(X).dimension_
    assert lid_id.DANCo(D=6).fit(Xd).dimension_ == lid_id.DANCo(D=6).fit(X).dimension_
    ess = lid_id.ESS().fit(Xd, n_neighbors=20)
    assert np.isfinite(ess.dimension_pw_).all()
    assert ess.dimension_ == lid_id.ESS().fit(X, n_neighbors=20).dimension_
    with pytest.raises(ValueError, match="duplicate"):
        lid_id.MiND_ML(duplicates="raise").fit(Xd)


def test_known_answers_on_uniform_cubes():
    rng = np.random.default_rng(1)
    for d in (2, 5):
        Q = np.linalg.qr(rng.standard_normal((10, d)))[0]
        X = rng.uniform(size=(400, d)) @ Q.T
        assert lid_id.DANCo(D=10).fit(X).dimension_ == pytest.approx(d, rel=0.15)
        assert lid_id.MiND_ML().fit(X).dimension_ == pytest.approx(d, rel=0.2)
        assert lid_id.ESS().fit(X, n_neighbors=30).dimension_ == pytest.approx(d, rel=0.15)
        assert math.isfinite(lid_id.ESS(ver="b").fit(X, n_neighbors=30).dimension_)


def test_danco_table_cell_rebuilds():
    # tools/make_danco_table.py's cell (n = 20, d = 5): 100 seeded balls, replicates 1000…
    k, card, table = _danco._table()
    got = _danco.reference_statistics_mean(20, k, 5, 0, 100, rep0=1000)
    for value, key in zip(got, ("dhat", "mu_nu", "mu_tau")):
        assert float(f"{value:.10g}") == pytest.approx(table[key][4, 0], rel=1e-9)


@pytest.fixture(scope="module")
def pw_case():
    """A 3-d set in R^5 (30 points), skdim's calibration for neighbourhoods of 25 points,
    and skdim's own DANCo fit_pw with it (30 fits of 25 points: the oracle)."""
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    X = np.tanh(rng.uniform(-1, 1, size=(30, 3))) @ Q.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = skdim.id.DANCo(ver="DANCoFit", D=5).fit(X[:25]).calibration_data_
        est = skdim.id.DANCo(D=5, calibration_data=cal).fit_pw(X, n_neighbors=25, smooth=True)
    return X, cal, est


def test_danco_fit_pw_equals_skdims_fit_pw(pw_case):
    from scipy.interpolate import CubicSpline
    X, cal, theirs = pw_case
    ours = lid_id.DANCo(D=5, calibration_data=cal).fit_pw(X, n_neighbors=25, smooth=True)
    # the same spline through the same divergences; skdim's L-BFGS-B (tol 1e-3) stops up to
    # ~0.16 short of the spline's minimum where it is flat, which lowdim takes exactly
    np.testing.assert_allclose(ours.dimension_pw_, theirs.dimension_pw_, atol=0.2)
    assert np.mean(np.abs(ours.dimension_pw_ - theirs.dimension_pw_)) < 0.06
    np.testing.assert_allclose(ours.dimension_pw_smooth_, theirs.dimension_pw_smooth_,
                               atol=0.1)
    _, idx = lowdim.knn(X, 25)
    for i, (a, b) in enumerate(zip(ours.dimension_pw_[:8], theirs.dimension_pw_[:8])):
        fit = lid_id.DANCo(D=5, calibration_data=cal).fit(X[idx[i]])
        assert fit.dimension_ == pytest.approx(b, rel=1e-6)          # fit is skdim's call
        data = _danco.statistics(*_neighbourhood(X[idx[i]]), 10, 5)
        kl = _danco.kl_divergence(10, data, cal["calibration_data"][:5])
        f = CubicSpline(np.arange(1, 6), kl)
        assert f(a) <= f(b) + 1e-9                              # at least as low as skdim's
        assert f(b) - f(a) <= 2e-3 * max(1.0, abs(f(b)))        # skdim's stop: tol 1e-3 in f
    assert ours.calibration_data_["N"] == 25


def _neighbourhood(x):
    _, idx = lowdim.knn(x, 11)
    return x, idx


def test_danco_fit_pw_mind_versions_and_table(pw_case):
    X = pw_case[0]
    _, idx = lowdim.knn(X, 25)
    for ver in ("MIND_MLi", "MIND_MLk"):
        pw = lid_id.DANCo(ver=ver, D=5).fit_pw(X, n_neighbors=25).dimension_pw_
        one = [lid_id.DANCo(ver=ver, D=5).fit(X[i]).dimension_ for i in idx[:8]]
        np.testing.assert_allclose(pw[:8], one, rtol=1e-9)
    # DANCoFit: the shipped table's calibration at N = 25 is what fit_pw uses
    fit = lid_id.DANCo(ver="DANCoFit", D=5).fit_pw(X, n_neighbors=25)
    table = lid_id.DANCo(D=5, calibration_data=fit.calibration_data_).fit_pw(X, n_neighbors=25)
    np.testing.assert_array_equal(fit.dimension_pw_, table.dimension_pw_)
    assert fit.transform_pw() is fit.dimension_pw_


def test_danco_fit_pw_is_the_spline_minimum():
    # the vectorised fractal step against a fine grid over the downhill spline piece
    from scipy.interpolate import CubicSpline
    rng = np.random.default_rng(3)
    D = 8
    base = (np.arange(1, D + 1) - rng.uniform(2, 7, size=(15, 1))) ** 2
    kl = base + rng.uniform(0, 0.5, size=(15, D))
    de = np.argmin(kl, axis=1) + 1
    got = _danco._fractal_rows(kl, de, n_features=D)
    grid = np.linspace(0, 1, 5001)
    for row, d, g in zip(kl, de, got):
        f = CubicSpline(np.arange(1, D + 1), row)
        xs = np.concatenate([d - 1 + grid if d > 1 else [], d + grid if d < D else []])
        best = xs[np.argmin(f(xs))]
        assert g == pytest.approx(best, abs=3e-4)
        assert f(g) <= f(_danco._fractal(row, int(d), D)) + 1e-12


def test_danco_fit_pw_errors(pw_case):
    X = pw_case[0]
    with pytest.raises(ValueError, match="n_neighbors must be"):
        lid_id.DANCo(ver="DANCoFit").fit_pw(X, n_neighbors=40)
    with pytest.raises(ValueError, match="requires 20 <= n_samples"):
        lid_id.DANCo(ver="DANCoFit").fit_pw(X, n_neighbors=15)
    with pytest.raises(ValueError, match="duplicate"):
        lid_id.DANCo(ver="MIND_MLk").fit_pw(np.vstack([X, X]), n_neighbors=25)
    with pytest.raises(ValueError, match="precomputed_knn"):
        lid_id.DANCo().fit_pw(X, precomputed_knn=np.zeros((3, 25), dtype=int), n_neighbors=25)
