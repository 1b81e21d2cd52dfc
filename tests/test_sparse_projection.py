"""Tests of the matrix-free sparse / Gaussian random projections and FastRP.

Oracles: a pure-Python evaluation of the documented entry function, X @ components_.T,
the other backend, scipy, scikit-learn's estimators and checks, dense FastRP from explicit
matrix powers. Every test runs per backend/ISA (tests/conftest.py).
"""
import math
import pickle
import warnings

import numpy as np
import pytest

import lowdim
from lowdim import _ref
from lowdim.random_projection import gaussian_random_matrix, sparse_random_matrix

sp = pytest.importorskip("scipy.sparse")

M64 = (1 << 64) - 1


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _entry_oracle(seed, j, i, density, k):
    """R[j, i] straight from the definition in sparse_projection.h, in Python ints."""
    stream = (0x53505250 << 32) + j
    key = _mix64(_mix64((seed + 0x9E3779B97F4A7C15) & M64)
                 ^ ((stream * 0xD1B54A32D192ED03 + 0x9E3779B97F4A7C15) & M64))
    b = _mix64((key + (i + 1) * 0x9E3779B97F4A7C15) & M64)
    if (b >> 11) >= math.ceil(density * 2**53):
        return 0.0
    v = math.sqrt(1 / density) / math.sqrt(k)
    return -v if b & 1 else v


def test_matrix_matches_definition():
    k, d, rho, seed = 5, 40, 0.3, 2**63 + 11
    R = sparse_random_matrix(k, d, density=rho, seed=seed).toarray()
    want = np.array([[_entry_oracle(seed, j, i, rho, k) for i in range(d)] for j in range(k)])
    np.testing.assert_array_equal(R, want)


@pytest.mark.parametrize("k,d,density", [(1, 1, "auto"), (7, 97, 0.1), (33, 65, 1.0),
                                         (64, 1000, "auto")])
def test_pattern_bitwise_equal_to_numpy_twin(k, d, density):
    R = sparse_random_matrix(k, d, density=density, seed=9)
    rho = 1 / math.sqrt(d) if density == "auto" else density
    indptr, indices, neg = _ref.sparse_rp_pattern(9, k, d, math.ceil(rho * 2**53), 1)
    np.testing.assert_array_equal(R.indptr, indptr)
    np.testing.assert_array_equal(R.indices, indices)
    np.testing.assert_array_equal(R.data < 0, neg.astype(bool))


@pytest.mark.parametrize("n", [1, 2, 7, 15, 16, 17, 33])
@pytest.mark.parametrize("d", [1, 3, 8, 9, 31, 65, 97])
def test_dense_equals_matrix_product(n, d):
    rng = np.random.default_rng(n * 100 + d)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        X = rng.standard_normal((n, d)).astype(dtype)
        for k in (1, 9, 17):
            y = lowdim.sparse_random_projection(X, k, density=0.5, seed=d)
            assert y.dtype == dtype and y.shape == (n, k)
            R = sparse_random_matrix(k, d, density=0.5, seed=d).toarray()
            np.testing.assert_allclose(y, X.astype(np.float64) @ R.T, rtol=tol, atol=tol)


def test_output_dtypes():
    X = np.arange(60).reshape(6, 10)
    assert lowdim.sparse_random_projection(X, 3).dtype == np.float64
    y16 = lowdim.sparse_random_projection(X.astype(np.float16), 3)
    assert y16.dtype == np.float32
    np.testing.assert_allclose(y16, lowdim.sparse_random_projection(X, 3), rtol=1e-5)


def test_thread_count_and_backends_agree(variant):
    X = np.random.default_rng(1).standard_normal((101, 300)).astype(np.float32)
    ys = [lowdim.sparse_random_projection(X, 40, seed=5, n_threads=t) for t in (1, 2, 3, 7)]
    for y in ys[1:]:
        np.testing.assert_array_equal(ys[0], y)
    twin = _ref.sparse_rp_dense(X, 5, 40, math.ceil(2**53 / math.sqrt(300)),
                                math.sqrt(math.sqrt(300)) / math.sqrt(40), 1)
    np.testing.assert_array_equal(ys[0], twin)          # the twin sums in kernel order
    if variant.startswith("native"):   # every ISA adds in pattern order: bitwise equal
        lowdim.set_isa("scalar")
        np.testing.assert_array_equal(lowdim.sparse_random_projection(X, 40, seed=5), ys[0])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_equals_dense(fmt):
    X = sp.random(57, 203, density=0.05, format=fmt, dtype=np.float64, random_state=3)
    dense = lowdim.sparse_random_projection(X.toarray(), 17, seed=4)
    np.testing.assert_allclose(lowdim.sparse_random_projection(X, 17, seed=4), dense,
                               rtol=1e-12, atol=1e-12)
    out = lowdim.sparse_random_projection(X, 17, seed=4, dense_output=False)
    assert sp.issparse(out)
    np.testing.assert_allclose(out.toarray(), dense, rtol=1e-12, atol=1e-12)
    X32 = X.astype(np.float32).tocsr()
    X32.indices, X32.indptr = X32.indices.astype(np.int64), X32.indptr.astype(np.int64)
    y32 = lowdim.sparse_random_projection(X32, 17, seed=4)
    np.testing.assert_array_equal(lowdim.sparse_random_projection(X32, 17, seed=4, n_threads=3),
                                  lowdim.sparse_random_projection(X32, 17, seed=4, n_threads=1))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, dense, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("density", [1 / 3, 0.1, "auto"])
def test_entry_statistics(density):
    k, d = 200, 1000
    R = sparse_random_matrix(k, d, density=density, seed=7).toarray()
    rho = 1 / math.sqrt(d) if density == "auto" else density
    v = math.sqrt(1 / rho) / math.sqrt(k)
    values = np.unique(R)
    np.testing.assert_allclose(values, [-v, 0.0, v], rtol=1e-15)
    total = k * d
    for frac, p in (((R == 0).mean(), 1 - rho), ((R > 0).mean(), rho / 2), ((R < 0).mean(), rho / 2)):
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / total)
    col_means = R.mean(axis=0) / v           # each a mean of k signs-or-zeros
    assert abs(col_means.mean()) < 5 * math.sqrt(rho / (k * d))


def test_jl_contract():
    rng = np.random.default_rng(0)
    n, eps = 30, 0.5
    X = rng.standard_normal((n, 2000))
    k = int(lowdim.johnson_lindenstrauss_min_dim(n, eps=eps))
    for project in (lambda A: lowdim.sparse_random_projection(A, k, seed=1),
                    lambda A: lowdim.gaussian_random_projection(A, k, seed=1)):
        Y = project(X)
        iu = np.triu_indices(n, 1)
        d_in = ((X[:, None] - X[None]) ** 2).sum(-1)[iu]
        d_out = ((Y[:, None] - Y[None]) ** 2).sum(-1)[iu]
        ratio = d_out / d_in
        assert ratio.min() > 1 - eps and ratio.max() < 1 + eps


def test_gaussian():
    k, d = 100, 500
    R = gaussian_random_matrix(k, d, seed=3)
    assert abs(R.mean()) < 5 / math.sqrt(k * d) / math.sqrt(k)
    assert abs(R.var() * k - 1) < 0.02
    X = np.random.default_rng(2).standard_normal((20, d))
    y = lowdim.gaussian_random_projection(X, k, seed=3)
    np.testing.assert_allclose(y, X @ R.T, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(lowdim.gaussian_random_projection(sp.csr_matrix(X), k, seed=3), y,
                               rtol=1e-10, atol=1e-10)


def test_estimator_fit_transform_components_pickle():
    X = np.random.default_rng(0).standard_normal((40, 300)).astype(np.float32)
    est = lowdim.SparseRandomProjection(25, random_state=0)
    y = est.fit_transform(X)
    np.testing.assert_array_equal(y, est.fit(X).transform(X))
    C = est.components_
    assert sp.isspmatrix_csr(C) and C.dtype == np.float32 and C.shape == (25, 300)
    assert est.density_ == 1 / math.sqrt(300) and est.n_components_ == 25
    np.testing.assert_allclose(y, X @ C.toarray().T, rtol=1e-5, atol=1e-5)
    blob = pickle.dumps(est)
    assert len(blob) < 2000                      # the seed, not the matrix
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.transform(X), y)
    np.testing.assert_array_equal(again.components_.toarray(), C.toarray())
    back = lowdim.SparseRandomProjection(25, compute_inverse_components=True,
                                         random_state=0).fit(X)
    assert back.inverse_components_.shape == (300, 25)
    np.testing.assert_allclose(back.inverse_transform(y), est.inverse_transform(y), rtol=1e-4,
                               atol=1e-4)
    Xs = sp.csr_matrix(X)
    assert sp.issparse(est.transform(Xs))
    dense_est = lowdim.SparseRandomProjection(25, dense_output=True, random_state=0).fit(Xs)
    np.testing.assert_allclose(dense_est.transform(Xs), y, rtol=1e-5, atol=1e-5)


def test_matches_sklearn_conventions():
    skrp = pytest.importorskip("sklearn.random_projection")
    X = np.random.default_rng(0).standard_normal((100, 2000))
    for ours, theirs in ((lowdim.SparseRandomProjection(eps=0.5), skrp.SparseRandomProjection(eps=0.5)),
                         (lowdim.GaussianRandomProjection(eps=0.5), skrp.GaussianRandomProjection(eps=0.5))):
        ours.fit(X)
        theirs.fit(X)
        assert ours.n_components_ == theirs.n_components_
        assert getattr(ours, "density_", None) == getattr(theirs, "density_", None)
        assert ours.get_params().keys() >= theirs.get_params().keys()
    n = np.array([1, 10, 1000, 10**6])[:, None]
    eps = np.array([0.01, 0.1, 0.5, 0.99])[None, :]
    np.testing.assert_array_equal(lowdim.johnson_lindenstrauss_min_dim(n, eps=eps),
                                  skrp.johnson_lindenstrauss_min_dim(n, eps=eps))


@pytest.mark.parametrize("cls", ["SparseRandomProjection", "GaussianRandomProjection"])
def test_sklearn_check_estimator(cls, variant):
    if variant == "native-scalar":
        pytest.skip("estimator plumbing is ISA independent; checked on the other variants")
    checks = pytest.importorskip("sklearn.utils.estimator_checks")
    with warnings.catch_warnings():     # sklearn's SkipTestWarning for array-API checks
        warnings.simplefilter("ignore", checks.SkipTestWarning)
        results = checks.check_estimator(getattr(lowdim, cls)(n_components=2), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed


def test_bad_input():
    X = np.ones((5, 8))
    with pytest.raises(ValueError, match="NaN or infinity"):
        lowdim.sparse_random_projection(np.full((3, 4), np.nan), 2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        lowdim.sparse_random_projection(sp.csr_matrix(np.array([[0, np.inf]])), 2)
    with pytest.raises(ValueError, match="empty"):
        lowdim.sparse_random_projection(np.ones((0, 4)), 2)
    with pytest.raises(ValueError, match="empty"):
        lowdim.sparse_random_projection(sp.csr_matrix((3, 0)), 2)
    with pytest.raises(ValueError, match="n_components"):
        lowdim.sparse_random_projection(X, 0)
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="density"):
            lowdim.sparse_random_projection(X, 2, density=bad)
    with pytest.raises(ValueError, match="2-D"):
        lowdim.sparse_random_projection(np.ones(4), 2)
    with pytest.raises(TypeError, match="real numeric"):
        lowdim.sparse_random_projection(np.ones((2, 2), dtype=complex), 2)
    with pytest.raises(ValueError, match="seed"):
        lowdim.sparse_random_projection(X, 2, seed=-1)
    est = lowdim.SparseRandomProjection(3)
    with pytest.raises(lowdim._base.NotFittedError):
        est.transform(X)
    est.fit(X)
    with pytest.raises(ValueError, match="features"):
        est.transform(np.ones((2, 9)))
    with pytest.raises(ValueError, match="larger than the original space"):
        lowdim.SparseRandomProjection().fit(X)


# ---- FastRP -------------------------------------------------------------------------------

def _fastrp_dense(A, k, weights, beta, self_w, normalize, seed):
    A = A.toarray().astype(np.float64)
    n = A.shape[0]
    deg = A.sum(1)
    P = np.divide(A, deg[:, None], out=np.zeros_like(A), where=deg[:, None] > 0)
    L = np.diag(np.power(deg, beta, out=np.zeros(n), where=deg > 0))
    R0 = sparse_random_matrix(k, n, seed=seed).toarray().T
    norm = (lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)) \
        if normalize else (lambda x: x)
    out = self_w * norm(L @ R0)
    for i, w in enumerate(weights, start=1):
        out = out + w * norm(np.linalg.matrix_power(P, i) @ L @ R0)
    return out


@pytest.mark.parametrize("normalize", [True, False])
def test_fastrp_equals_dense_powers(normalize):
    rng = np.random.default_rng(4)
    A = sp.random(40, 40, density=0.15, format="csr", random_state=5)
    A.data = rng.uniform(0.5, 2.0, A.nnz)           # weighted, directed
    args = dict(iteration_weights=(0.5, 1.0, 0.0, 2.0), normalization_strength=-0.5,
                self_influence=0.3, normalize_rows=normalize, seed=8)
    E = lowdim.fastrp(A, 16, **args)
    want = _fastrp_dense(A, 16, (0.5, 1.0, 0.0, 2.0), -0.5, 0.3, normalize, 8)
    assert E.dtype == np.float32 and np.isfinite(E).all()
    np.testing.assert_allclose(E, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(lowdim.fastrp(A, 16, n_threads=1, **args),
                                  lowdim.fastrp(A, 16, n_threads=3, **args))


def test_fastrp_recovers_communities():
    rng = np.random.default_rng(0)
    blocks, size = 4, 60
    labels = np.repeat(np.arange(blocks), size)
    p = np.where(labels[:, None] == labels[None, :], 0.15, 0.005)
    upper = np.triu(rng.random(p.shape) < p, 1)
    A = sp.csr_matrix((upper | upper.T).astype(np.float32))
    est = lowdim.FastRP(64, random_state=0)
    E = est.fit_transform(A)
    np.testing.assert_array_equal(E, est.transform(A))
    S = E @ E.T
    np.fill_diagonal(S, -np.inf)
    accuracy = (labels[S.argmax(1)] == labels).mean()
    assert accuracy > 0.9                     # chance is 0.25


def test_fastrp_bad_input_and_isolated_nodes():
    A = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float))
    E = lowdim.fastrp(A, 8)
    assert np.isfinite(E).all() and not E[2].any()
    with pytest.raises(ValueError, match="square"):
        lowdim.fastrp(sp.csr_matrix(np.ones((2, 3))), 4)
    with pytest.raises(ValueError, match="negative"):
        lowdim.fastrp(sp.csr_matrix(np.array([[0, -1.0], [1, 0]])), 4)
    np.testing.assert_array_equal(lowdim.fastrp(A.toarray(), 8), E)   # dense: its nonzeros
    with pytest.raises(TypeError, match="scipy.sparse matrix or a dense array"):
        lowdim.fastrp(np.array([["a", "b"], ["c", "d"]]), 4)
    with pytest.raises(ValueError, match="iteration_weights"):
        lowdim.fastrp(A, 4, iteration_weights=())
    with pytest.raises(ValueError, match="NaN"):
        lowdim.fastrp(sp.csr_matrix(np.array([[0, np.nan], [1, 0]])), 4)


def test_estimator_validation_is_lowdim_own():
    # One validation path with or without scikit-learn (compared in a child process in
    # tests/test_numerics_hardening.py).
    X = np.random.default_rng(1).standard_normal((12, 40))
    est = lowdim.SparseRandomProjection(5, random_state=1).fit(X)
    assert est.n_features_in_ == 40
    np.testing.assert_allclose(est.transform(X), X @ est.components_.toarray().T, rtol=1e-12)
    with pytest.raises(ValueError, match="expecting 40 features"):
        est.transform(sp.csr_matrix(np.ones((2, 41))))
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.transform(np.full((2, 40), np.inf))


def test_native_entry_points_reject_bad_csr(variant):
    if not variant.startswith("native"):
        pytest.skip("checks of the C++ bindings")
    from lowdim import _core
    data = np.ones(2, dtype=np.float32)
    cases = [(np.array([0, 2]), np.array([0, 9])),          # column out of range
             (np.array([0, 3]), np.array([0, 1])),          # indptr past nnz
             (np.array([0, 2, 1, 2]), np.array([0, 1]))]    # indptr not monotone
    for indptr, indices in cases:
        with pytest.raises(ValueError):
            _core.sparse_rp_csr(indptr, indices, data, 4, 0, 3, 2**52, 1.0, 1)
        with pytest.raises(ValueError):
            _core.csr_spmm(indptr, indices, data, np.ones((4, 3), np.float32), 1)
    with pytest.raises(ValueError, match="n_components"):
        _core.sparse_rp_dense(np.ones((2, 2), np.float32), 0, 0, 2**52, 1.0, 1)


def test_huge_sparse_output_refused_before_allocating():
    X = sp.csr_matrix((10**9, 10**9))
    with pytest.raises(ValueError, match="projected output needs about"):
        lowdim.sparse_random_projection(X, 4)


def test_projection_overflow_is_refused_not_returned_as_inf():
    X = np.full((4, 64), 1e308)
    with pytest.raises(ValueError, match="overflows"):
        lowdim.sparse_random_projection(X, 8, density=1.0, seed=0)


def test_gaussian_projection_overflow_is_refused_not_returned_as_inf():
    with pytest.raises(ValueError, match="projection overflows"):     # was ±inf
        lowdim.gaussian_random_projection(np.full((2, 4), 1.5e308), 2)
    with pytest.raises(ValueError, match="projection overflows"):
        lowdim.gaussian_random_projection(np.full((2, 4), 3e38, np.float32), 2)


@pytest.mark.parametrize("kw", [{"iteration_weights": (1e300, 1e300)},
                                {"iteration_weights": (3e38, 3e38)},
                                {"self_influence": 1e300},
                                {"normalization_strength": 1e300, "normalize_rows": False}])
def test_fastrp_overflow_is_refused_not_returned_as_inf(kw):
    import scipy.sparse as sp
    A = sp.random(30, 30, density=0.2, random_state=0, format="csr") * 5
    with pytest.raises(ValueError, match="embedding overflows float32"):
        lowdim.fastrp(A, 8, **kw)
    assert np.isfinite(lowdim.fastrp(A, 8, iteration_weights=(1e30, 1e30))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, d, k", [(1, 1, 1), (7, 65, 9), (17, 300, 7), (33, 97, 40)])
def test_dense_and_csr_bitwise_equal_to_numpy_twin(dtype, n, d, k):
    # The README promises bitwise equality: the twin sums in the kernels' order (was 1 ulp
    # off in 105 of 189 float64 entries, from BLAS).
    rng = np.random.default_rng(n * d)
    X = rng.standard_normal((n, d)).astype(dtype)
    rho = 1 / math.sqrt(d)
    t, scale = math.ceil(rho * 2**53), math.sqrt(1 / rho) / math.sqrt(k)
    np.testing.assert_array_equal(lowdim.sparse_random_projection(X, k, seed=3),
                                  _ref.sparse_rp_dense(X, 3, k, t, scale, 1))
    S = sp.random(n, d, density=0.3, random_state=n, format="csr", dtype=dtype)
    S.data[::2] *= 1e8                   # magnitudes far apart: any reordering shows
    np.testing.assert_array_equal(lowdim.sparse_random_projection(S, k, seed=3),
                                  _ref.sparse_rp_csr(S.indptr, S.indices, S.data, d, 3, k, t,
                                                     scale, 1))


def test_sparse_cost_follows_the_nonzeros_not_n_features():
    # R is generated only on the columns that occur: was a MemoryError (2^31 + 8 columns)
    # and 6 s (one nonzero in 2^26 columns, native; 80 s numpy). Columns include a run of
    # 70 consecutive ids (the 64-wide block hash) and the last column of 2^40.
    d, k, rho = 2**40, 9, 0.5
    cols = np.concatenate([[0, 5], np.arange(2**33, 2**33 + 70), [d - 1]])
    rng = np.random.default_rng(4)
    rows = [np.sort(rng.choice(cols, size=m, replace=False)) for m in (3, 0, 40, 73)]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = np.concatenate(rows).astype(np.int64)
    data = rng.standard_normal(indices.size)
    X = sp.csr_matrix((data, indices, indptr), shape=(4, d))
    y = lowdim.sparse_random_projection(X, k, density=rho, seed=7)
    want = np.zeros((4, k))
    for r in range(4):
        for p in range(indptr[r], indptr[r + 1]):
            for j in range(k):
                want[r, j] += _entry_oracle(7, j, int(indices[p]), rho, k) * data[p]
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    assert (y != 0).any()
    zero = lowdim.sparse_random_projection(sp.csr_matrix((1, 2**31 + 8)), 8)
    np.testing.assert_array_equal(zero, np.zeros((1, 8)))
    one = sp.csr_matrix(([2.0], [2**26 - 3], [0, 1]), shape=(1, 2**26))
    y = lowdim.sparse_random_projection(one, 5000, seed=1)     # milliseconds, not seconds
    np.testing.assert_array_equal(
        y[0], [2.0 * _entry_oracle(1, j, 2**26 - 3, 2**-13, 5000) for j in range(5000)])


def test_jl_bound_of_one_sample_and_tiny_eps_is_refused_without_warning():
    with pytest.raises(ValueError, match="does not fit in int64"):
        lowdim.johnson_lindenstrauss_min_dim(1, eps=1e-300)     # 0/0: used to warn


def test_fastrp_refuses_weights_beyond_float32_instead_of_inf():
    import scipy.sparse as sp
    A = sp.csr_matrix(np.array([[0.0, 1e300], [1e300, 0.0]]))
    with pytest.raises(ValueError, match="beyond the float32 range"):
        lowdim.fastrp(A, 2)


@pytest.mark.parametrize("cls", [lowdim.GaussianRandomProjection,
                                 lowdim.SparseRandomProjection])
def test_estimators_refuse_a_huge_object_view_before_converting_it(cls):
    X = np.broadcast_to(np.array([[1.0]], dtype=object), (2**36, 1))   # 512 GiB as float64
    with pytest.raises(ValueError, match="GiB of memory"):
        cls(1, random_state=0).fit(X)


@pytest.mark.parametrize("cls", [lowdim.GaussianRandomProjection,
                                 lowdim.SparseRandomProjection])
def test_estimators_refuse_a_projection_that_overflows(cls):
    X = np.full((2, 4), 3e38, np.float32)            # finite; the projection is not
    with pytest.raises(ValueError, match="the projection overflows"):
        cls(3, random_state=0).fit_transform(X)


@pytest.mark.parametrize("call", [lambda A: lowdim.fastrp(A, 2),
                                  lambda A: lowdim.sparse_random_projection(A, 2)])
def test_sparse_input_whose_csr_form_cannot_fit_is_refused_before_converting(call):
    import scipy.sparse as sp
    A = sp.csc_matrix((2**36, 4), dtype=np.float32)       # empty; CSR indptr: 512 GiB
    with pytest.raises(ValueError, match="the CSR form of"):
        call(A)
