"""Tests of lowdim.measures against textbook numpy oracles, the authors' code and known answers.

Oracles are direct (O(n²) where that is the definition) float64 implementations written
here from each paper's formula or code: Kornblith's Gram-matrix CKA (U-statistic centring
for debiased), Huh et al.'s mutual_knn (n × n similarity + argsort), Wang & Isola's
pdist-based uniformity, reptrix's α-ReQ fit and PCA spectrum, IsoScore 1.x (PCA) and 2.0.1
(torch.cov + svdvals) transcribed to numpy; the IsoScore package itself when it and torch
are installed. Then invariances (rotation, isotropic scaling, row permutation) and bad input.
"""
import math

import numpy as np
import pytest
from scipy import linalg, stats
from scipy.spatial.distance import cdist, pdist

import lowdim
from lowdim import measures as M
from lowdim.measures import _common, isotropy, spectrum

TOL = dict(rel=1e-10, abs=1e-10)      # pytest.approx
NTOL = dict(rtol=1e-10, atol=1e-10)    # np.testing.assert_allclose


@pytest.fixture
def data(rng):
    """A small anisotropic float64 cloud: 60 × 12 with unequal variances and a mean."""
    scales = np.linspace(0.3, 3.0, 12)
    return rng.standard_normal((60, 12)) * scales + rng.standard_normal(12)


@pytest.fixture
def small_blocks(monkeypatch):
    """Force many row blocks / Gram blocks / pair chunks, so blocked sums are exercised."""
    for mod in (_common, isotropy, spectrum):
        monkeypatch.setattr(mod, "BLOCK_ROWS", 7)
    monkeypatch.setattr(isotropy, "GRAM_BLOCK_ENTRIES", 100)
    monkeypatch.setattr(isotropy, "PAIR_CHUNK", 33)


def rotation(d, rng):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# ------------------------------------------------------------------ oracles
def isoscore_v2_oracle(points, C0=None, zeta=0.0):
    """IsoScore 2.0.1 (IsoScore_star with zeta=0 is IsoScore) transcribed to numpy."""
    n = points.shape[1]
    C = np.cov(points.T)
    cov = C if C0 is None else (1 - zeta) * C + zeta * C0
    pcs = np.linalg.svd(cov, compute_uv=False)
    pcs_norm = pcs * np.sqrt(n) / np.linalg.norm(pcs)
    defect = np.linalg.norm(pcs_norm - np.ones(n)) / np.sqrt(2 * (n - np.sqrt(n)))
    return ((n - defect**2 * (n - np.sqrt(n)))**2 - n) / (n * (n - 1))


def isoscore_v1_oracle(points_dn):
    """IsoScore 1.x (published 2022 code): points (d, n), PCA reorientation, diag of cov."""
    from sklearn.decomposition import PCA
    p = np.transpose(points_dn)
    pca_points = np.transpose(PCA(n_components=p.shape[1]).fit_transform(p))
    cov_diag = np.diag(np.cov(pca_points))
    n = len(cov_diag)
    normed = cov_diag * np.sqrt(n) / np.linalg.norm(cov_diag)
    defect = np.linalg.norm(normed - 1) / np.sqrt(2 * (n - np.sqrt(n)))
    return ((n - defect**2 * (n - np.sqrt(n)))**2 - n) / (n * (n - 1))


def gram_cka_oracle(X, Y, debiased=False):
    """Kornblith et al.'s cka(gram_linear(X), gram_linear(Y), debiased) on raw X, Y."""
    def center(g):
        g = g.copy()
        n = g.shape[0]
        if debiased:                       # Székely & Rizzo U-centring
            np.fill_diagonal(g, 0)
            means = g.sum(0) / (n - 2)
            means -= means.sum() / (2 * (n - 1))
            g -= means[:, None]
            g -= means[None, :]
            np.fill_diagonal(g, 0)
        else:
            h = np.eye(n) - 1.0 / n
            g = h @ g @ h
        return g
    kx, ky = center(X @ X.T), center(Y @ Y.T)
    return (kx.ravel() @ ky.ravel()) / (np.linalg.norm(kx) * np.linalg.norm(ky))


def huh_mutual_knn_oracle(A, B, k):
    """Huh et al. 2024 mutual_knn: normalised features, inner-product kNN, n × n masks."""
    def knn(f):
        f = f / np.linalg.norm(f, axis=1, keepdims=True)
        s = f @ f.T
        np.fill_diagonal(s, -1e8)
        return np.argsort(-s, axis=1, kind="stable")[:, :k]
    n = len(A)
    ma, mb = np.zeros((n, n)), np.zeros((n, n))
    ma[np.arange(n)[:, None], knn(A)] = 1
    mb[np.arange(n)[:, None], knn(B)] = 1
    return ((ma * mb).sum(1) / k).mean()


def brute_knn(X, k, metric="euclidean"):
    if metric == "cosine":
        D = cdist(X, X, "cosine")
    else:
        D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    return np.argsort(D, axis=1, kind="stable")[:, :k]


def reptrix_alpha_oracle(X, lo=5, hi=100, float32_weights=False):
    """reptrix.utils.get_eigenspectrum + reptrix.alpha.get_powerlaw, transcribed."""
    from sklearn.decomposition import PCA
    feats = X - X.mean(0)
    eig = PCA(n_components=min(2048, *X.shape), svd_solver="full").fit(
        feats).explained_variance_ratio_
    trange = np.arange(lo, min(hi, len(eig)))
    y = np.log(np.abs(eig))[trange][:, None]
    r = trange + 1
    x = np.concatenate((-np.log(r)[:, None], np.ones((r.size, 1))), axis=1)
    w = 1.0 / (r.astype(np.float32) if float32_weights else r.astype(np.float64))[:, None]
    return np.linalg.solve(x.T @ (x * w), (w * x).T @ y).flatten()[0]


# ------------------------------------------------------------------ isotropy
def test_isoscore_matches_transcriptions_of_both_package_versions(data):
    assert M.isoscore(data) == pytest.approx(isoscore_v2_oracle(data), **TOL)
    assert M.isoscore(data) == pytest.approx(isoscore_v1_oracle(data.T), **TOL)


def test_isoscore_star_matches_transcription(data, rng):
    C0 = np.cov(rng.standard_normal((500, 12)).T)
    for zeta, c0 in ((0.0, None), (0.3, None), (0.7, C0)):
        ref = isoscore_v2_oracle(data, np.eye(12) if c0 is None else c0, zeta)
        assert M.isoscore_star(data, zeta=zeta, C0=c0) == pytest.approx(ref, **TOL)
    assert M.isoscore_star(data, zeta=0.0) == pytest.approx(M.isoscore(data), **TOL)


# IsoScore 2.0.1 calls torch on numpy 2 arrays, which warns about __array_wrap__ (theirs).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_isoscore_against_the_authors_package(data):
    """The IsoScore 2.0.1 package itself (needs torch; not in the test extra: too heavy)."""
    iso = pytest.importorskip("IsoScore.IsoScore", reason="IsoScore (and torch) not installed")
    # The package takes sqrt of an integer tensor (torch computes it in float32), so it
    # agrees to ~1e-8 relative, not to float64 rounding; the transcriptions above use
    # float64 throughout and agree to 1e-10.
    assert M.isoscore(data) == pytest.approx(float(iso.IsoScore(data)), rel=1e-6)
    ref = float(iso.IsoScore_star(data, np.eye(12), 0.25))
    assert M.isoscore_star(data, zeta=0.25) == pytest.approx(ref, rel=1e-6)


def test_isoscore_known_answers(rng):
    assert M.isoscore(rng.standard_normal((20000, 16))) > 0.99
    line = rng.standard_normal((300, 1)) * rng.standard_normal((1, 16))    # 1-D in 16 dims
    assert M.isoscore(line) == pytest.approx(0.0, abs=1e-9)
    half = np.hstack([rng.standard_normal((20000, 8)), np.zeros((20000, 8))])
    assert 0.3 < M.isoscore(half) < 0.6       # 8 of 16 dims used: ≈ (8 − 1) / 15


def test_w2_isotropy_is_the_minimum_over_isotropic_gaussians(data):
    C = np.cov(data.T)

    def w2sq(sigma):                              # Gaussian W2, means equal
        r = linalg.sqrtm(sigma * C * sigma).real
        return np.trace(C) + len(C) * sigma**2 - 2 * np.trace(r)
    best = np.sqrt(np.linalg.eigvalsh(C).clip(0)).mean()
    expected = math.sqrt(w2sq(best))
    assert M.w2_isotropy(data, normalize=False) == pytest.approx(expected, rel=1e-9)
    assert w2sq(best * 1.01) > w2sq(best) and w2sq(best * 0.99) > w2sq(best)
    assert M.w2_isotropy(data) == pytest.approx(expected / math.sqrt(np.trace(C)), rel=1e-9)


def test_w2_isotropy_known_answers(rng):
    assert M.w2_isotropy(rng.standard_normal((40000, 8))) < 0.02
    line = rng.standard_normal((200, 1)) * rng.standard_normal((1, 8))
    assert M.w2_isotropy(line) == pytest.approx(math.sqrt(1 - 1 / 8), abs=1e-7)


def test_mean_cosine_against_full_matrix(data, small_blocks):
    u = data / np.linalg.norm(data, axis=1, keepdims=True)
    c = u @ u.T
    n = len(u)
    expected = (c.sum() - np.trace(c)) / (n * (n - 1))
    assert M.mean_cosine(data) == pytest.approx(expected, **TOL)
    assert M.mean_cosine(np.tile([1.0, 2.0, 3.0], (5, 1))) == pytest.approx(1.0, **TOL)


def uniformity_oracle(X, t, log=True):
    z = X / np.linalg.norm(X, axis=1, keepdims=True)
    m = np.exp(-t * pdist(z, "sqeuclidean")).mean()
    return np.log(m) if log else m


@pytest.mark.parametrize("blocks", [False, True])
def test_uniformity_exact_against_pdist(data, blocks, request):
    if blocks:
        request.getfixturevalue("small_blocks")
    for t, log in ((2.0, True), (0.5, False)):
        r = M.uniformity(data, t, log=log)
        assert r.exact and r.n_pairs == 60 * 59 // 2 and r.stderr == 0.0
        assert r.value == pytest.approx(uniformity_oracle(data, t, log), **TOL)
    raw = M.uniformity(data, normalize=False).value
    assert raw == pytest.approx(np.log(np.exp(-2 * pdist(data, "sqeuclidean")).mean()), **TOL)


def test_uniformity_sampled_is_seeded_and_within_its_error(data, small_blocks):
    exact = uniformity_oracle(data, 2.0)
    r = M.uniformity(data, max_pairs=1000, seed=7)
    assert not r.exact and r.n_pairs == 1000 and r.stderr > 0
    assert abs(r.value - exact) < 5 * r.stderr
    assert M.uniformity(data, max_pairs=1000, seed=7) == r
    assert M.uniformity(data, max_pairs=1000, seed=8).value != r.value
    raw_exact = np.log(np.exp(-0.05 * pdist(data, "sqeuclidean")).mean())
    raw = M.uniformity(data, 0.05, normalize=False, max_pairs=1000)
    assert abs(raw.value - raw_exact) < 5 * raw.stderr
    r32 = M.uniformity(data.astype(np.float32), max_pairs=1000, seed=7)
    assert r32.value == pytest.approx(r.value, rel=1e-5)      # same pairs, float32 dots


def test_uniformity_pair_sample_is_uniform_and_never_a_self_pair():
    n = 6
    i, j = isotropy.sample_pairs(3, n, 0, 30000)
    counts = np.bincount(i * n + j, minlength=n * n).reshape(n, n)
    assert np.all(np.diag(counts) == 0)
    off = counts[~np.eye(n, dtype=bool)]
    assert off.min() > 0.8 * off.mean() and off.max() < 1.2 * off.mean()
    i2, j2 = isotropy.sample_pairs(3, n, 1000, 1005)        # any chunking, same pairs
    np.testing.assert_array_equal(i2, i[1000:1005])
    np.testing.assert_array_equal(j2, j[1000:1005])
    X = np.eye(n)                   # every pair at squared distance 2 on the sphere
    assert M.uniformity(X, max_pairs=10).value == pytest.approx(-4.0, abs=1e-12)


def test_alignment_against_loop(data, rng, small_blocks):
    Y = data + 0.1 * rng.standard_normal(data.shape)
    z = data / np.linalg.norm(data, axis=1, keepdims=True)
    w = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    for alpha in (2.0, 1.0):
        expected = np.mean([np.linalg.norm(a - b) ** alpha for a, b in zip(z, w)])
        assert M.alignment(data, Y, alpha) == pytest.approx(expected, **TOL)
    assert M.alignment(data, data) == pytest.approx(0.0, abs=1e-15)
    assert M.alignment(data, -data) == pytest.approx(4.0, **TOL)


# ------------------------------------------------------------------ spectrum
def test_effective_rank_is_rankme(data, small_blocks):
    s = np.linalg.svd(data, compute_uv=False)
    p = s / s.sum() + 1e-7
    assert M.effective_rank(data) == pytest.approx(np.exp(-(p * np.log(p)).sum()), **TOL)
    p0 = s / s.sum()
    assert M.effective_rank(data, eps=0) == pytest.approx(np.exp(-(p0 * np.log(p0)).sum()),
                                                          **TOL)
    sc = np.linalg.svd(data - data.mean(0), compute_uv=False)
    pc = sc / sc.sum() + 1e-7
    assert M.effective_rank(data, center=True) == pytest.approx(
        np.exp(-(pc * np.log(pc)).sum()), **TOL)


def test_effective_rank_counts_min_n_d_singular_values(rng):
    wide = rng.standard_normal((5, 30))
    s = np.linalg.svd(wide, compute_uv=False)          # 5 values, not 30
    p = s / s.sum() + 1e-7
    assert M.effective_rank(wide) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-9)


def test_vn_entropy_against_covariance_eigenvalues(data, small_blocks):
    lam = np.linalg.eigvalsh(np.cov(data.T))
    p = lam / lam.sum()
    assert M.vn_entropy(data) == pytest.approx(-(p * np.log(p)).sum(), **TOL)
    lam = np.linalg.eigvalsh(data.T @ data)
    p = lam / lam.sum()
    assert M.vn_entropy(data, center=False) == pytest.approx(-(p * np.log(p)).sum(), **TOL)
    line = np.outer(np.arange(10.0), [1.0, 2.0, 2.0])
    assert M.vn_entropy(line) == pytest.approx(0.0, abs=1e-12)


def test_alpha_req_matches_reptrix(rng):
    X = rng.standard_normal((400, 150)) * np.arange(1, 151) ** -0.8
    res = M.alpha_req(X)
    assert res.fit_range == (5, 100)
    assert res.alpha == pytest.approx(reptrix_alpha_oracle(X), **TOL)
    # reptrix builds its weights in float32: the same fit to ~1e-7
    assert res.alpha == pytest.approx(reptrix_alpha_oracle(X, float32_weights=True), rel=1e-6)
    assert M.alpha_req(X, fit_range=(0, 40)).alpha == pytest.approx(
        reptrix_alpha_oracle(X, 0, 40), **TOL)


def test_alpha_req_recovers_an_exact_power_law(rng):
    n, d, a = 300, 120, 1.3
    U, _ = np.linalg.qr(rng.standard_normal((n, d)) - 0.0)
    U -= U.mean(0)                               # centred, then re-orthonormalise
    U, _ = np.linalg.qr(U)
    X = U * np.sqrt(np.arange(1, d + 1) ** -a)   # covariance eigenvalues ∝ i^(−a)
    res = M.alpha_req(X)
    assert res.alpha == pytest.approx(a, rel=1e-8) and res.r2 == pytest.approx(1.0, abs=1e-9)


def test_outlier_dimensions(rng, small_blocks):
    X = rng.standard_normal((500, 40))
    X[:, 7] *= 6.0                               # variance 36 ≫ 5 × mean
    X[:, 21] *= 4.0                              # variance 16 > 5 × mean (≈ 2.3)
    X[:, 3] += 50.0                              # big mean, normal variance
    od = M.outlier_dimensions(X)
    assert list(od.indices) == [7, 21]
    var = X.var(axis=0)
    np.testing.assert_allclose(od.variance, var, **NTOL)
    np.testing.assert_allclose(od.scores, var[[7, 21]] / var.mean(), **NTOL)
    np.testing.assert_allclose(od.kurtosis, stats.kurtosis(X, axis=0), **NTOL)
    np.testing.assert_allclose(od.max_abs, np.abs(X).max(0), **NTOL)
    np.testing.assert_allclose(od.mean, X.mean(0), **NTOL)
    mag = M.outlier_dimensions(X, statistic="mean_abs", factor=5.0)
    assert list(mag.indices) == [3]
    assert "variance > 5" in od.rule
    X[:, 30] = 1.0                                # a constant dimension: kurtosis NaN
    assert np.isnan(M.outlier_dimensions(X).kurtosis[30])


# ------------------------------------------------------------------ hubness
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_hubness_against_brute_force(rng, metric):
    X = rng.standard_normal((150, 30))
    k = 7
    occ = np.bincount(brute_knn(X, k, metric).ravel(), minlength=150)
    h = M.hubness(X, k, metric=metric)
    np.testing.assert_array_equal(h.k_occurrence, occ)
    assert h.skewness == pytest.approx(stats.skew(occ), **TOL)
    assert h.antihub_share == pytest.approx(np.mean(occ == 0), **TOL)
    assert h.hub_share == pytest.approx(np.mean(occ > 2 * k), **TOL)
    assert h.k == k and h.k_occurrence.sum() == 150 * k


def test_hubness_reuses_a_larger_knn_and_grows_with_dimension(rng):
    X = rng.standard_normal((400, 50))
    knn20 = lowdim.knn(X, 20)
    assert M.hubness(X, 10, knn=knn20).skewness == M.hubness(X, 10).skewness
    low = M.hubness(rng.standard_normal((400, 2)), 10).skewness
    assert M.hubness(X, 10).skewness > low + 0.3          # Radovanović: hubness grows with d
    ring = np.c_[np.cos(np.arange(12) * np.pi / 6), np.sin(np.arange(12) * np.pi / 6)]
    h = M.hubness(ring, 2)                                  # symmetric: every N_k = k
    assert h.skewness == 0.0 and h.antihub_share == 0.0


# ------------------------------------------------------------------ similarity
@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_against_gram_oracle(data, rng, debiased, small_blocks):
    Y = np.tanh(data[:, :7] @ rng.standard_normal((7, 9))) + 0.3 * rng.standard_normal((60, 9))
    ours = M.linear_cka(data, Y, debiased=debiased)
    assert ours == pytest.approx(gram_cka_oracle(data, Y, debiased), **TOL)


def test_linear_cka_known_answers(data, rng):
    R = rotation(12, rng)
    for debiased in (False, True):
        assert M.linear_cka(data, data, debiased=debiased) == pytest.approx(1.0, **TOL)
        assert M.linear_cka(data, 3.5 * data @ R + 2.0, debiased=debiased) == pytest.approx(
            1.0, **TOL)
    n, d1, d2 = 2000, 10, 8
    X, Y = rng.standard_normal((n, d1)), rng.standard_normal((n, d2))
    sd = math.sqrt(2) / n                        # sampling sd of both estimates here
    assert abs(M.linear_cka(X, Y) - math.sqrt(d1 * d2) / n) < 5 * sd   # known upward bias
    assert abs(M.linear_cka(X, Y, debiased=True)) < 5 * sd


def test_procrustes_against_scipy(data, rng):
    Y = data[:, ::-1] @ rotation(12, rng) + 0.5 * rng.standard_normal((60, 12))
    a = data - data.mean(0)
    b = Y - Y.mean(0)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    Q, _ = linalg.orthogonal_procrustes(b, a)
    sq = np.linalg.norm(a - b @ Q) ** 2
    assert M.procrustes_distance(data, Y) == pytest.approx(sq, **TOL)
    assert M.procrustes_distance(data, Y, kind="euclidean") == pytest.approx(np.sqrt(sq), **TOL)
    nu = np.linalg.svd(a.T @ b, compute_uv=False).sum()
    assert M.procrustes_distance(data, Y, kind="angular") == pytest.approx(np.arccos(nu), **TOL)
    Z = rng.standard_normal((60, 5))                                 # d1 ≠ d2: zero-padding
    bz = np.hstack([Z - Z.mean(0), np.zeros((60, 7))])
    bz /= np.linalg.norm(bz)
    Qz, _ = linalg.orthogonal_procrustes(bz, a)
    assert M.procrustes_distance(data, Z) == pytest.approx(np.linalg.norm(a - bz @ Qz) ** 2,
                                                           **TOL)


def test_procrustes_known_answers(data, rng):
    assert M.procrustes_distance(data, data) == pytest.approx(0.0, abs=1e-12)
    Y = -2.0 * data @ rotation(12, rng) + 7.0
    assert M.procrustes_distance(data, Y) == pytest.approx(0.0, abs=1e-12)
    assert M.procrustes_distance(data, Y, kind="angular") < 1e-6


def test_mutual_knn_against_huh_et_al(rng):
    X = rng.standard_normal((120, 16))
    Y = X @ rng.standard_normal((16, 10)) + 0.8 * rng.standard_normal((120, 10))
    for k in (1, 5, 10):
        assert M.mutual_knn_alignment(X, Y, k) == pytest.approx(
            huh_mutual_knn_oracle(X, Y, k), **TOL)


def test_knn_overlap_against_sets(rng):
    X = rng.standard_normal((90, 8))
    Y = X + 0.5 * rng.standard_normal((90, 8))
    k = 6
    a, b = brute_knn(X, k, "cosine"), brute_knn(Y, k, "cosine")
    expected = np.mean([len(set(p) & set(q)) / len(set(p) | set(q)) for p, q in zip(a, b)])
    assert M.knn_overlap(X, Y, k) == pytest.approx(expected, **TOL)
    a, b = brute_knn(X, k), brute_knn(Y, k)
    expected = np.mean([len(set(p) & set(q)) / len(set(p) | set(q)) for p, q in zip(a, b)])
    assert M.knn_overlap(X, Y, k, metric="euclidean") == pytest.approx(expected, **TOL)


def test_knn_similarities_known_answers(rng):
    X = rng.standard_normal((200, 12))
    R = rotation(12, rng)
    assert M.mutual_knn_alignment(X, X) == 1.0 and M.knn_overlap(X, X, 10) == 1.0
    assert M.mutual_knn_alignment(X, 4.0 * X @ R) == 1.0
    unrelated = M.mutual_knn_alignment(X, rng.standard_normal((200, 12)), 10)
    assert abs(unrelated - 10 / 199) < 0.03                 # chance level k / (n − 1)


# ------------------------------------------------------------------ invariances
SINGLE = {
    "isoscore": M.isoscore,
    "w2_isotropy": M.w2_isotropy,
    "mean_cosine": M.mean_cosine,
    "uniformity": lambda X: M.uniformity(X).value,
    "effective_rank": M.effective_rank,
    "vn_entropy": M.vn_entropy,
    "alpha_req": lambda X: M.alpha_req(X, fit_range=(1, 12)).alpha,
    "hubness": lambda X: M.hubness(X, 5).skewness,
}
PAIRED = {
    "linear_cka": M.linear_cka,
    "debiased_cka": lambda X, Y: M.linear_cka(X, Y, debiased=True),
    "procrustes": lambda X, Y: M.procrustes_distance(X, Y, kind="angular"),
    "alignment": lambda X, Y: M.alignment(X, Y[:, :12]),
    "mutual_knn": lambda X, Y: M.mutual_knn_alignment(X, Y, 5),
    "knn_overlap": lambda X, Y: M.knn_overlap(X, Y, 5),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_single_matrix_invariances(name, data, rng):
    f = SINGLE[name]
    base = f(data)
    perm = rng.permutation(len(data))
    assert f(data[perm]) == pytest.approx(base, rel=1e-9, abs=1e-12)
    assert f(data * 3.7) == pytest.approx(base, rel=1e-9, abs=1e-12)
    if name not in ("mean_cosine", "uniformity", "effective_rank"):   # need centred data
        assert f(data @ rotation(12, rng)) == pytest.approx(base, rel=1e-9, abs=1e-12)
    else:   # rotation about the origin keeps cosines and singular values
        R = rotation(12, rng)
        assert f(data @ R) == pytest.approx(base, rel=1e-9, abs=1e-12)


def test_centred_measures_ignore_translation(data):
    for f in (M.isoscore, M.w2_isotropy, M.vn_entropy,
              lambda X: M.effective_rank(X, center=True)):
        assert f(data + 100.0) == pytest.approx(f(data), rel=1e-9)


@pytest.mark.parametrize("name", sorted(PAIRED))
def test_paired_invariances(name, data, rng):
    f = PAIRED[name]
    Y = np.hstack([data, data[:, :3] ** 2]) + 0.2 * rng.standard_normal((60, 15))
    base = f(data, Y)
    perm = rng.permutation(len(data))
    assert f(data[perm], Y[perm]) == pytest.approx(base, rel=1e-9, abs=1e-12)
    if name != "alignment":         # alignment compares x_i with y_i in one space
        assert f(2.5 * data @ rotation(12, rng), Y) == pytest.approx(base, rel=1e-9, abs=1e-12)
    assert f(data, Y) == pytest.approx(f(data.astype(np.float32), Y.astype(np.float32)),
                                       rel=2e-4, abs=2e-5)


def test_float32_agrees_with_float64(data, rng):
    x32 = data.astype(np.float32)
    for name, f in SINGLE.items():
        assert f(x32) == pytest.approx(f(x32.astype(np.float64)), rel=1e-4, abs=1e-6), name


# ------------------------------------------------------------------ summaries
def test_summary_equals_the_public_functions(data):
    s = M.summary(data, k=5)
    assert s["isoscore"] == pytest.approx(M.isoscore(data), **TOL)
    assert s["mean_cosine"] == pytest.approx(M.mean_cosine(data), **TOL)
    assert s["uniformity"] == pytest.approx(M.uniformity(data).value, **TOL)
    assert s["w2_isotropy"] == pytest.approx(M.w2_isotropy(data), **TOL)
    assert s["effective_rank"] == pytest.approx(M.effective_rank(data), **TOL)
    assert s["vn_entropy"] == pytest.approx(M.vn_entropy(data), **TOL)
    assert s["alpha_req"] == pytest.approx(M.alpha_req(data).alpha, **TOL)
    assert s["hubness_skewness"] == pytest.approx(M.hubness(data, 5).skewness, **TOL)
    assert s["antihub_share"] == M.hubness(data, 5).antihub_share
    assert s["outlier_dimensions"]["count"] == len(M.outlier_dimensions(data).indices)
    assert s["n"] == 60 and s["d"] == 12 and s["uniformity_exact"]


def test_compare_summary_equals_the_public_functions(data, rng):
    Y = data @ rng.standard_normal((12, 6)) + rng.standard_normal((60, 6))
    c = M.compare_summary(data, Y, k=4)
    assert c["linear_cka"] == pytest.approx(M.linear_cka(data, Y), **TOL)
    assert c["linear_cka_debiased"] == pytest.approx(M.linear_cka(data, Y, debiased=True), **TOL)
    assert c["procrustes"] == pytest.approx(M.procrustes_distance(data, Y), **TOL)
    assert c["mutual_knn_alignment"] == M.mutual_knn_alignment(data, Y, 4)
    assert c["knn_jaccard"] == M.knn_overlap(data, Y, 4)


# ------------------------------------------------------------------ bad input
ALL_SINGLE = [M.isoscore, lambda X: M.isoscore_star(X, zeta=0.1), M.uniformity,
              M.w2_isotropy, M.mean_cosine, M.effective_rank, M.vn_entropy, M.alpha_req,
              M.outlier_dimensions, lambda X: M.hubness(X, 1), M.summary]
ALL_PAIRED = [M.linear_cka, M.procrustes_distance, M.alignment,
              lambda X, Y: M.mutual_knn_alignment(X, Y, 1), lambda X, Y: M.knn_overlap(X, Y, 1),
              lambda X, Y: M.compare_summary(X, Y, k=1)]


@pytest.mark.parametrize("i", range(len(ALL_SINGLE)))
def test_single_bad_input(i):
    f = ALL_SINGLE[i]
    with pytest.raises(ValueError, match="X needs at least 2 rows"):
        f(np.ones((1, 4)))
    bad = np.ones((5, 4))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        f(bad)
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        f(bad)
    with pytest.raises(TypeError, match="real numeric array"):
        f(np.ones((5, 4), dtype=bool))
    with pytest.raises(ValueError, match="must be a 2-D array"):
        f(np.ones(5))


@pytest.mark.parametrize("f", [M.isoscore, M.w2_isotropy, M.vn_entropy, M.alpha_req,
                               M.outlier_dimensions, M.hubness, M.summary,
                               lambda X: M.effective_rank(X, center=True)])
def test_constant_data_is_refused(f):
    with pytest.raises(ValueError, match=r"X is constant \(all 12 rows are equal\)"):
        f(np.tile([1.0, 2.0, 3.0], (12, 1)))


@pytest.mark.parametrize("i", range(len(ALL_PAIRED)))
def test_paired_bad_input(i, rng):
    f = ALL_PAIRED[i]
    X = rng.standard_normal((10, 4))
    with pytest.raises(ValueError, match="X has 10 rows but Y has 9"):
        f(X, rng.standard_normal((9, 4)))
    Y = X.copy()
    Y[0, 0] = np.nan
    with pytest.raises(ValueError, match="Y contains NaN or infinity"):
        f(X, Y)
    with pytest.raises(ValueError, match="X needs at least 2 rows"):
        f(X[:1], X[:1])
    if f is not M.alignment:
        with pytest.raises(ValueError, match=r"Y is constant"):
            f(X, np.ones((10, 4)))


def test_specific_argument_errors(data):
    with pytest.raises(ValueError, match="zeta must be in"):
        M.isoscore_star(data, zeta=1.5)
    with pytest.raises(TypeError, match="zeta must be a number"):
        M.isoscore_star(data, zeta="0.1")
    with pytest.raises(TypeError, match="zeta"):
        M.isoscore_star(data)
    with pytest.raises(ValueError, match=r"C0 must have shape \(12, 12\)"):
        M.isoscore_star(data, zeta=0.1, C0=np.eye(3))
    with pytest.raises(ValueError, match="isoscore needs at least 2 columns"):
        M.isoscore(data[:, :1])
    with pytest.raises(ValueError, match="k must be"):
        M.hubness(data, 60)
    with pytest.raises(ValueError, match="X has 12 columns but Y has 5"):
        M.alignment(data, data[:, :5])
    with pytest.raises(ValueError, match="X has 1 all-zero rows"):
        M.mean_cosine(np.vstack([data, np.zeros(12)]))
    with pytest.raises(ValueError, match="Y has 1 all-zero rows"):
        M.mutual_knn_alignment(data, np.vstack([data[1:], np.zeros(12)]), 3)
    with pytest.raises(ValueError, match="debiased CKA needs at least 4 rows"):
        M.linear_cka(data[:3], data[:3], debiased=True)
    with pytest.raises(ValueError, match="alpha_req needs at least 2 eigenvalues"):
        M.alpha_req(data[:, :6])
    with pytest.raises(ValueError, match="statistic must be one of"):
        M.outlier_dimensions(data, statistic="kurtosis")
    with pytest.raises(ValueError, match="kind must be one of"):
        M.procrustes_distance(data, data, kind="nuclear")
    with pytest.raises(ValueError, match="t must be a finite number > 0"):
        M.uniformity(data, t=0)
    with pytest.raises(ValueError, match="X is all zeros"):
        M.effective_rank(np.zeros((4, 3)))


# ------------------------------------------------- coordinates near the float limits
SCALE_FREE = {
    "isoscore": lambda X, Y: M.isoscore(X),
    "isoscore_star(zeta=1)": lambda X, Y: M.isoscore_star(X, zeta=1.0),
    "uniformity": lambda X, Y: M.uniformity(X).value,
    "uniformity(sampled)": lambda X, Y: M.uniformity(X, max_pairs=50).value,
    "alignment": lambda X, Y: M.alignment(X, Y),
    "w2_isotropy": lambda X, Y: M.w2_isotropy(X),
    "mean_cosine": lambda X, Y: M.mean_cosine(X),
    "effective_rank": lambda X, Y: M.effective_rank(X),
    "vn_entropy": lambda X, Y: M.vn_entropy(X),
    "alpha_req": lambda X, Y: M.alpha_req(X, fit_range=(1, 5)).alpha,
    "outlier scores": lambda X, Y: M.outlier_dimensions(X, factor=1.0).scores.sum(),
    "kurtosis": lambda X, Y: float(M.outlier_dimensions(X).kurtosis.sum()),
    "hubness": lambda X, Y: M.hubness(X, 3).skewness,
    "linear_cka": lambda X, Y: M.linear_cka(X, Y),
    "debiased cka": lambda X, Y: M.linear_cka(X, Y, debiased=True),
    "procrustes": lambda X, Y: M.procrustes_distance(X, Y, kind="angular"),
    "mutual_knn": lambda X, Y: M.mutual_knn_alignment(X, Y, 3),
    "summary": lambda X, Y: M.summary(X, k=3)["effective_rank"],
    "compare_summary": lambda X, Y: M.compare_summary(X, Y, k=3)["linear_cka"],
}
IN_UNITS = {   # not scale free: finite in X's units, or a clear ValueError
    "isoscore_star(zeta=0.3)": lambda X, Y: M.isoscore_star(X, zeta=0.3),
    "uniformity(normalize=False)": lambda X, Y: M.uniformity(X, normalize=False).value,
    "uniformity(normalize=False, log=False)": lambda X, Y: M.uniformity(
        X, normalize=False, log=False, max_pairs=50).value,
    "alignment(normalize=False)": lambda X, Y: M.alignment(X, Y, normalize=False),
    "w2_isotropy(normalize=False)": lambda X, Y: M.w2_isotropy(X, normalize=False),
    "outlier variance": lambda X, Y: float(M.outlier_dimensions(X).variance.sum()),
}


def limit_inputs(dtype, rng):
    """(name, factor, X, Y): X = factor · base with factor a power of two near the top of
    dtype's range, far above float32's (for float64) or into the subnormals."""
    base = np.round(rng.standard_normal((30, 5)) * 8)      # integers: exact when scaled
    info = np.finfo(dtype)
    top, sub = np.log2(float(info.max)), np.log2(float(info.smallest_subnormal))
    for name, e in (("huge", int(top) - 6), ("big", 70), ("subnormal", int(sub) + 5)):
        f = 2.0 ** e
        X = (base * f).astype(dtype)
        yield name, f, X, (X[:, ::-1] * dtype(0.5)).astype(dtype), base


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_coordinates_near_the_float_limits_give_finite_or_clear_results(dtype, rng):
    for name, f, X, Y, base in limit_inputs(dtype, rng):
        for what, fn in SCALE_FREE.items():
            want = fn(base, base[:, ::-1] * 0.5)
            if what in ("outlier scores", "kurtosis") and name == "huge" and dtype == np.float64:
                with pytest.raises(ValueError, match="variance of X overflows float64"):
                    fn(X, Y)        # it also returns the variances, in X's units
                continue
            assert fn(X, Y) == pytest.approx(want, rel=1e-5, abs=1e-6), (name, what)
        for what, fn in IN_UNITS.items():
            try:
                value = fn(X, Y)
            except ValueError as exc:
                assert "float64" in str(exc) or "scale" in str(exc), (name, what, exc)
                continue
            assert math.isfinite(value), (name, what)
