"""Tests of lowdim.id_scale_curve: Gride (Denti et al. 2022) and TwoNN under decimation.

Oracles: Gride's likelihood maximised by a dense grid search (scipy-free), Gride at n1 = 1
equal to the closed-form Pareto MLE n / Σ ln(r2/r1); known answers on a uniform cube; a
curve that grows with scale on a noisy line (1-D at large scales, noise dimension at small).
"""
import numpy as np
import pytest
from math import lgamma

import lowdim
from lowdim.id._scale import gride


def loglik(d, mu, n1):
    """Gride log-likelihood, textbook form (Denti et al. 2022, eq. for n2 = 2·n1)."""
    logb = lgamma(n1) + lgamma(n1) - lgamma(2 * n1)
    return np.sum(np.log(d) + (n1 - 1) * np.log(mu**d - 1)
                  - ((2 * n1 - 1) * d + 1) * np.log(mu) - logb)


@pytest.mark.parametrize("n1", [1, 2, 4, 8])
def test_gride_maximises_the_likelihood(n1, rng):
    X = rng.random((700, 3))
    dist, _ = lowdim.knn(X, 2 * n1)
    d, se = gride(dist, n1)
    r = dist.astype(np.float64)
    mu = r[:, 2 * n1 - 1] / r[:, n1 - 1]
    grid = np.linspace(0.5 * d, 1.5 * d, 2001)
    best = grid[np.argmax([loglik(g, mu, n1) for g in grid])]
    assert d == pytest.approx(best, abs=1.5 * (grid[1] - grid[0]))
    assert 0 < se < 0.3 * d


def test_gride_n1_one_is_the_pareto_mle(rng):
    X = rng.standard_normal((500, 4))
    dist, _ = lowdim.knn(X, 2)
    r = dist.astype(np.float64)
    assert gride(dist, 1)[0] == pytest.approx(500 / np.log(r[:, 1] / r[:, 0]).sum(), rel=1e-9)


def test_scale_curve_known_answer_and_shape(rng):
    X = rng.random((4000, 4)) @ np.linalg.qr(rng.standard_normal((10, 4)))[0].T
    res = lowdim.id_scale_curve(X, max_n1=16)
    g, dec = res["gride"], res["decimation"]
    assert g["n1"] == [1, 2, 4, 8, 16]
    assert all(3.3 < d < 4.5 for d in g["id"][:3])
    assert np.all(np.diff(g["scale"]) > 0) and np.all(np.diff(dec["scale"]) > 0)
    assert dec["n_points"][:3] == [4000, 2000, 1000] and min(dec["n_points"]) >= 20
    assert 3.3 < dec["id"][0] < 4.5
    assert np.isfinite(g["std_error"]).all() and np.isfinite(dec["std_error"]).all()


def test_noisy_line_dimension_falls_with_scale(rng):
    t = rng.random(3000) * 100
    X = np.c_[t, np.zeros(3000), np.zeros(3000)] + 0.01 * rng.standard_normal((3000, 3))
    g = lowdim.id_scale_curve(X, max_n1=64)["gride"]
    assert g["id"][0] > 2.0 and g["id"][-1] < 1.3


def test_duplicates_and_seed(rng):
    U = rng.standard_normal((300, 3))
    X = np.concatenate([U, U[:50]])
    a, b = lowdim.id_scale_curve(X), lowdim.id_scale_curve(U)
    assert a == b
    assert lowdim.id_scale_curve(U, seed=1)["gride"] == b["gride"]
    with pytest.raises(ValueError, match="duplicate"):
        lowdim.id_scale_curve(X, duplicates="raise")
    with pytest.raises(ValueError, match="at least 3 points"):
        lowdim.id_scale_curve(U[:2])
    with pytest.raises(ValueError, match="only 1 distinct points"):
        lowdim.id_scale_curve(np.ones((50, 2)))
