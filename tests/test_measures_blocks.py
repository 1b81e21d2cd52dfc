"""Tests of the blocked moments behind lowdim.measures (measures/_common.py).

The scatter and the CKA moments are accumulated over row blocks of float32 (or float64)
data centred by a rounded mean, with the offset removed exactly afterwards. Oracles:
np.cov / direct float64 products of the same values, and Kornblith's Gram-matrix CKA
(U-statistic centring for debiased) — at row counts around the block size, for float32
against float64, and for data whose mean is large against its spread.
"""
import numpy as np
import pytest

from lowdim import measures as M
from lowdim.measures import _common

TOL = dict(rtol=1e-10, atol=1e-10)
F32 = 1e-5          # documented tolerance of float32 input against the float64 oracle


@pytest.fixture
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(_common, "BLOCK_ROWS", 8)


def gram_cka(X, Y, debiased):
    """Kornblith et al.'s cka(gram_linear(X), gram_linear(Y), debiased), float64."""
    def center(g):
        n = g.shape[0]
        if debiased:
            np.fill_diagonal(g, 0)
            means = g.sum(0) / (n - 2)
            means -= means.sum() / (2 * (n - 1))
            g = g - means[:, None] - means[None, :]
            np.fill_diagonal(g, 0)
            return g
        h = np.eye(n) - 1.0 / n
        return h @ g @ h
    kx, ky = center(X @ X.T), center(Y @ Y.T)
    return (kx.ravel() @ ky.ravel()) / (np.linalg.norm(kx) * np.linalg.norm(ky))


@pytest.mark.parametrize("n", [2, 7, 8, 9, 16, 17, 25])
def test_scatter_and_pair_moments_at_block_boundaries(n, rng, tiny_blocks):
    X = rng.standard_normal((n, 5)) * [1, 2, 3, 4, 5] + 10.0
    Y = rng.standard_normal((n, 3)) - 4.0
    S, mean = _common.scatter_and_mean(X)
    xc, yc = X - X.mean(0), Y - Y.mean(0)
    np.testing.assert_allclose(S, xc.T @ xc, **TOL)
    np.testing.assert_allclose(mean, X.mean(0), **TOL)
    mom = _common.PairMoments(X, Y, row_norms=True)
    np.testing.assert_allclose(mom.Sxx, xc.T @ xc, **TOL)
    np.testing.assert_allclose(mom.Syy, yc.T @ yc, **TOL)
    np.testing.assert_allclose(mom.Sxy, xc.T @ yc, **TOL)
    rx, ry = (xc**2).sum(1), (yc**2).sum(1)
    np.testing.assert_allclose([mom.trace_x, mom.trace_y], [rx.sum(), ry.sum()], **TOL)
    np.testing.assert_allclose(mom.r_sums, [rx.sum(), ry.sum()], **TOL)
    np.testing.assert_allclose([mom.r_dots[k] for k in ("xx", "yy", "xy")],
                               [rx @ rx, ry @ ry, rx @ ry], **TOL)


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("n", [8, 9, 23])
def test_cka_at_block_boundaries_against_gram(n, debiased, rng, tiny_blocks):
    X = rng.standard_normal((n, 6)) + 3.0
    Y = np.tanh(X[:, :4]) + 0.5 * rng.standard_normal((n, 4))
    assert M.linear_cka(X, Y, debiased=debiased) == pytest.approx(
        gram_cka(X, Y, debiased), rel=1e-10, abs=1e-10)


def offset_cloud(rng, n, d, offset):
    """float32 anisotropic data with a common mean `offset` times its spread: the rounded
    mean leaves an offset δ the moments must remove exactly."""
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d) + offset * rng.random(d)
    return X.astype(np.float32)


@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_float32_spectrum_matches_float64_oracle(offset, rng, tiny_blocks):
    X = offset_cloud(rng, 300, 20, offset)
    X64 = X.astype(np.float64)
    lam = np.linalg.eigvalsh(np.cov(X64.T))[::-1]
    p = lam / lam.sum()
    assert M.vn_entropy(X) == pytest.approx(-(p * np.log(p)).sum(), rel=F32)
    for fn in (M.isoscore, M.w2_isotropy, M.effective_rank, lambda A: M.alpha_req(
            A, fit_range=(2, 15)).alpha, lambda A: M.isoscore_star(A, zeta=0.3)):
        assert fn(X) == pytest.approx(fn(X64), rel=F32)
    S32, _ = _common.scatter_and_mean(X)
    np.testing.assert_allclose(S32, _common.scatter(X64), rtol=0,
                               atol=F32 * np.abs(_common.scatter(X64)).max())


@pytest.mark.parametrize("offset", [0.0, 30.0])
def test_float32_cka_matches_float64_oracle(offset, rng, tiny_blocks):
    X = offset_cloud(rng, 200, 12, offset)
    Y = (X[:, :9] @ rng.standard_normal((9, 9)) * 0.1
         + rng.standard_normal((200, 9)) + offset).astype(np.float32)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    for debiased in (False, True):
        want = gram_cka(X64, Y64, debiased)
        assert M.linear_cka(X, Y, debiased=debiased) == pytest.approx(want, rel=F32)
    mom = _common.PairMoments(X, Y, row_norms=True)
    rx = ((X64 - X64.mean(0)) ** 2).sum(1)
    ry = ((Y64 - Y64.mean(0)) ** 2).sum(1)
    np.testing.assert_allclose(mom.r_sums, [rx.sum(), ry.sum()], rtol=F32)
    np.testing.assert_allclose(mom.r_dots["xy"], rx @ ry, rtol=F32)


def test_debiased_cka_of_independent_float32_spaces_is_near_zero(rng):
    X = rng.standard_normal((3000, 8)).astype(np.float32) + 5
    Y = rng.standard_normal((3000, 6)).astype(np.float32) - 2
    assert abs(M.linear_cka(X, Y, debiased=True)) < 5 * np.sqrt(2) / 3000
    assert M.linear_cka(X, Y) > 3 * np.sqrt(2) / 3000      # the biased one is not


def test_constant_check_looks_past_equal_leading_rows(rng, tiny_blocks):
    X = np.ones((20, 4))
    with pytest.raises(ValueError, match="X is constant"):
        M.isoscore(X)
    X[19, 2] = 2.0                      # rows 0..18 equal: only the last block differs
    assert M.vn_entropy(X) == pytest.approx(0.0, abs=1e-12)     # one direction of spread
    assert M.isoscore(X) == pytest.approx(0.0, abs=1e-12)


def test_isoscore_star_with_a_nonsymmetric_target_uses_singular_values(rng):
    X = rng.standard_normal((50, 6)) * np.arange(1, 7)
    C0 = np.triu(np.ones((6, 6)))              # not symmetric: singular values, not |λ|
    shrunk = 0.6 * np.cov(X.T) + 0.4 * C0
    pcs = np.linalg.svd(shrunk, compute_uv=False)
    pn = pcs * np.sqrt(6) / np.linalg.norm(pcs)
    defect = np.linalg.norm(pn - 1) / np.sqrt(2 * (6 - np.sqrt(6)))
    want = ((6 - defect**2 * (6 - np.sqrt(6)))**2 - 6) / (6 * 5)
    assert M.isoscore_star(X, zeta=0.4, C0=C0) == pytest.approx(want, rel=1e-10)
