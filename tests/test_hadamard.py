"""FWHT, SRHT and FJLT against textbook oracles, on every backend/ISA (conftest.py).

Oracles: Sylvester's H (scipy.linalg.hadamard) for small n and the closed form
H[i, j] = (-1)^popcount(i & j) for sampled outputs up to n = 2^16; ±1 inputs make every
result an exact integer, so comparisons are exact. Random transforms are checked for
the JL contract and for bit-identity with the numpy twin.
"""
import contextlib
import itertools
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lowdim
from lowdim import _ref

EXACT_SIZES = [2**m for m in range(1, 17)]


def hadamard_entry_sign(i, j):
    """(-1)^popcount(i & j), the closed form of Sylvester's Hadamard matrix."""
    bits = np.bitwise_and(i, j)
    parity = np.zeros_like(bits)
    while np.any(bits):
        parity ^= bits & 1
        bits >>= 1
    return 1 - 2 * parity


def pm1(rng, shape, dtype=np.float32):
    return rng.choice(np.array([-1.0, 1.0], dtype=dtype), size=shape)


@pytest.mark.parametrize("n", EXACT_SIZES)
def test_fwht_of_pm1_is_exact_against_closed_form(n, rng):
    x = pm1(rng, (3, n))
    y = lowdim.fwht(x)
    rows = rng.integers(0, n, size=min(n, 48))
    j = np.arange(n)
    expected = np.stack([(hadamard_entry_sign(i, j) * x).sum(axis=1) for i in rows], axis=1)
    np.testing.assert_array_equal(y[:, rows], expected)
    np.testing.assert_array_equal(lowdim.fwht(y), n * x)     # H·H = n·I


@pytest.mark.parametrize("n", [2, 4, 8, 16, 32, 64, 128, 256])
def test_fwht_equals_sylvester_matrix_product(n, rng):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    x = rng.standard_normal((5, n))
    np.testing.assert_allclose(lowdim.fwht(x), x @ scipy_linalg.hadamard(n).T, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 32, 64, 1024])
def test_fwht_bitwise_equals_numpy_twin(n, dtype, rng):
    x = rng.standard_normal((9, n)).astype(dtype)
    expected = x.copy()
    _ref.fwht(expected, 1.0, 1)
    np.testing.assert_array_equal(lowdim.fwht(x), expected)


def test_fwht_normalized_preserves_norms_and_inverts(rng):
    x = rng.standard_normal((7, 512))
    y = lowdim.fwht(x, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)
    np.testing.assert_allclose(lowdim.fwht(y, normalize=True), x, atol=1e-12)


def test_fwht_along_any_axis_of_a_3d_array(rng):
    x = pm1(rng, (4, 8, 16), dtype=np.float64)
    for axis in range(3):
        moved = np.moveaxis(x, axis, -1)
        expected = np.moveaxis(lowdim.fwht(moved.reshape(-1, moved.shape[-1]))
                               .reshape(moved.shape), -1, axis)
        np.testing.assert_array_equal(lowdim.fwht(x, axis=axis), expected)
        np.testing.assert_array_equal(lowdim.fwht(x, axis=axis - 3), expected)


def test_fwht_in_place_when_out_is_x(rng):
    x = pm1(rng, (5, 64))
    expected = lowdim.fwht(x)
    assert lowdim.fwht(x, out=x) is x
    np.testing.assert_array_equal(x, expected)


def test_fwht_does_not_modify_input_and_accepts_views(rng):
    base = pm1(rng, (6, 128), dtype=np.float64)
    x = base[::2, ::2]                                   # non-contiguous, length 64
    copy = x.copy()
    np.testing.assert_array_equal(lowdim.fwht(x), lowdim.fwht(copy))
    np.testing.assert_array_equal(x, copy)
    readonly = base.copy()
    readonly.flags.writeable = False
    assert lowdim.fwht(readonly).shape == base.shape
    fortran = np.asfortranarray(base)
    np.testing.assert_array_equal(lowdim.fwht(fortran), lowdim.fwht(base))


def _caller_views(tmp_path, base):
    """Objects whose np.asarray is a new view over the caller's memory (issue 10)."""
    views = {"pickled": pickle.loads(pickle.dumps(base)),
             "matrix": base.copy().view(np.matrix),     # a view: np.matrix() would copy
             "masked": np.ma.masked_array(base.copy(), mask=np.zeros(base.shape, bool))}
    mm = np.lib.format.open_memmap(tmp_path / "w.npy", mode="w+", dtype=base.dtype,
                                   shape=base.shape)
    mm[...] = base
    mm.flush()
    views["memmap"] = mm
    views["memmap_readonly"] = np.load(tmp_path / "w.npy", mmap_mode="r")
    return views


def test_fwht_never_writes_into_the_callers_memory(rng, tmp_path):
    base = pm1(rng, (3, 16), dtype=np.float64)
    expected = lowdim.fwht(base.copy())
    for name, x in _caller_views(tmp_path, base).items():
        result = np.asarray(lowdim.fwht(x))
        np.testing.assert_array_equal(result, expected, err_msg=name)
        np.testing.assert_array_equal(np.asarray(x), base, err_msg=name)
        assert not np.shares_memory(result, np.asarray(x)), name
    on_disk = np.load(tmp_path / "w.npy")          # the file behind the memmap is unchanged
    np.testing.assert_array_equal(on_disk, base)


def test_fwht_out_overlapping_input_by_memory_not_identity(rng):
    x = pm1(rng, (4, 32), dtype=np.float64)
    expected = lowdim.fwht(x)
    alias = x.view()                               # another object over the same memory
    assert lowdim.fwht(alias, out=x) is x
    np.testing.assert_array_equal(x, expected)
    y = pm1(rng, (4, 32), dtype=np.float64)
    expected = lowdim.fwht(y, axis=0)
    assert lowdim.fwht(y, axis=0, out=y) is y      # in place along a strided axis
    np.testing.assert_array_equal(y, expected)


def test_fwht_torch_tensor_input_untouched(rng):
    torch = pytest.importorskip("torch")
    base = pm1(rng, (2, 8), dtype=np.float32)
    t = torch.from_numpy(base.copy())
    result = lowdim.fwht(t)
    np.testing.assert_array_equal(t.numpy(), base)
    assert not np.shares_memory(result, t.numpy())


def test_fwht_dtypes(rng):
    x = pm1(rng, (2, 32), dtype=np.float64)
    assert lowdim.fwht(x.astype(np.float16)).dtype == np.float32
    assert lowdim.fwht(x.astype(np.float32)).dtype == np.float32
    assert lowdim.fwht(x.astype(np.int64)).dtype == np.float64
    np.testing.assert_array_equal(lowdim.fwht(x.astype(np.int8)), lowdim.fwht(x))


def test_fwht_1d_and_thread_count_invariance(rng):
    x = rng.standard_normal(4096).astype(np.float32)
    assert lowdim.fwht(x).shape == (4096,)
    batch = rng.standard_normal((37, 256)).astype(np.float32)
    one = lowdim.fwht(batch, n_threads=1)
    for t in (2, 3, 8):
        np.testing.assert_array_equal(lowdim.fwht(batch, n_threads=t), one)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 4), m=st.integers(0, 11), seed=st.integers(0, 2**32 - 1))
def test_fwht_involution_property(rows, m, seed):
    n = 2**m
    x = np.random.default_rng(seed).integers(-3, 4, size=(rows, n)).astype(np.float32)
    np.testing.assert_array_equal(lowdim.fwht(lowdim.fwht(x)), n * x)


@pytest.mark.parametrize("bad, match", [
    (np.ones((2, 6)), "power-of-two length"),
    (np.array([[1.0, np.nan]]), "NaN or infinity"),
    (np.array([[1.0, np.inf]]), "NaN or infinity"),
    (np.ones((0, 8)), "empty"),
    (np.ones(()), "array"),
])
def test_fwht_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        lowdim.fwht(bad)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 1, 7, 1000, 1023])
def test_nonfinite_anywhere_in_a_row_is_refused(bad_value, position, rng):
    # The check runs on the outputs (see hadamard.py); it must still see every input.
    x = rng.standard_normal((3, 1023)).astype(np.float32)
    x[2, min(position, 1022)] = bad_value
    padded = np.zeros((3, 1024), dtype=np.float32)
    padded[:, :1023] = x
    padded[2, position] = bad_value
    with pytest.raises(ValueError, match="NaN or infinity"):
        lowdim.fwht(padded)
    for transform in (lowdim.srht, lowdim.fjlt):
        with pytest.raises(ValueError, match="NaN or infinity"):
            transform(x, 8, seed=1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        lowdim.SRHT(8, random_state=0).fit(np.ones((2, 1023))).transform(x)


def test_fwht_rejects_bad_types_axis_and_out():
    with pytest.raises(TypeError, match="real numeric"):
        lowdim.fwht(np.ones(4, dtype=complex))
    with pytest.raises(TypeError, match="real numeric"):
        lowdim.fwht(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="axis"):
        lowdim.fwht(np.ones((2, 4)), axis=2)
    with pytest.raises(ValueError, match="out must be"):
        lowdim.fwht(np.ones((2, 4)), out=np.empty((2, 8)))
    ro = np.ones((2, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        lowdim.fwht(ro, out=ro)
    with pytest.raises(ValueError, match="n_threads"):
        lowdim.fwht(np.ones(4), n_threads=0)


# ---- SRHT and FJLT ----------------------------------------------------------------------

def squared_distance_ratios(x, y):
    from scipy.spatial.distance import pdist
    return pdist(y, "sqeuclidean") / pdist(x, "sqeuclidean")


@pytest.mark.parametrize("transform", [lowdim.srht, lowdim.fjlt])
def test_jl_contract_at_documented_dimension(transform, rng):
    pytest.importorskip("scipy")
    n, d, eps = 60, 1000, 0.5
    k = int(lowdim.johnson_lindenstrauss_min_dim(n, eps=eps))
    x = rng.standard_normal((n, d))
    x[:10] *= 0.01                                     # mixed scales, spiky rows too
    x[10:20] = 0.0
    x[10:20, rng.integers(0, d, 10)] = 1.0
    x[10:20] += 1e-3 * rng.standard_normal((10, d))
    ratios = squared_distance_ratios(x, transform(x, k, seed=7))
    assert ratios.min() > 1 - eps and ratios.max() < 1 + eps


@pytest.mark.parametrize("transform", [lowdim.srht, lowdim.fjlt])
def test_norm_is_preserved_in_expectation(transform, rng):
    x = rng.standard_normal((1, 300))
    sq = [np.sum(transform(x, 64, seed=s) ** 2) for s in range(200)]
    # Mean of 200 estimates of ||x||²: relative standard error ≈ sqrt(2/64)/sqrt(200).
    assert abs(np.mean(sq) / np.sum(x**2) - 1) < 5 * math.sqrt(2 / 64) / math.sqrt(200)


@pytest.mark.parametrize("d", [1, 2, 3, 7, 8, 9, 33, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_srht_bitwise_equals_numpy_twin_and_threads(d, dtype, rng):
    x = rng.standard_normal((13, d)).astype(dtype)
    k = min(d, 5)
    y = lowdim.srht(x, k, seed=3)
    lowdim.set_backend("numpy")
    np.testing.assert_array_equal(y, lowdim.srht(x, k, seed=3))
    lowdim.set_backend("native" if lowdim._config._core is not None else "numpy")
    np.testing.assert_array_equal(lowdim.srht(x, k, seed=3, n_threads=3), lowdim.srht(x, k, seed=3))


@pytest.mark.parametrize("d", [1, 9, 100, 512])
def test_fjlt_bitwise_equals_numpy_twin_and_threads(d, rng):
    x = rng.standard_normal((11, d)).astype(np.float32)
    k = min(d, 7)
    y = lowdim.fjlt(x, k, seed=5)
    expected = _ref.fjlt(x, *_fjlt_operands(5, d, k, np.float32))
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(lowdim.fjlt(x, k, seed=5, n_threads=4),
                                  lowdim.fjlt(x, k, seed=5, n_threads=1))


def _fjlt_operands(seed, d, k, dtype):
    from lowdim import _rng
    from lowdim.hadamard import default_fjlt_density, fjlt_matrix
    n = 1 << max(0, (d - 1).bit_length())
    indptr, cols, vals = fjlt_matrix(seed, d, k, default_fjlt_density(n), dtype)
    return _rng.signs(seed, n, dtype), indptr, cols, vals, 1


def test_fjlt_matrix_density_and_scale():
    from lowdim.hadamard import fjlt_matrix
    k, d, q = 64, 1024, 0.05
    indptr, cols, vals = fjlt_matrix(9, d, k, q, np.float64)
    m = int(np.ceil(q * d))
    np.testing.assert_array_equal(np.diff(indptr), m)
    assert np.all((cols >= 0) & (cols < d))
    # Columns uniform: each of 4 quarters of [0, d) gets ~1/4 of the draws.
    quarters = np.bincount(cols * 4 // d, minlength=4) / len(cols)
    assert np.all(np.abs(quarters - 0.25) < 5 * np.sqrt(0.25 * 0.75 / len(cols)))
    # Entries ~ N(0, 1/(m k)): check the variance to ~5 standard errors.
    var = np.mean(vals**2) * m * k
    assert abs(var - 1) < 5 * math.sqrt(2 / len(vals))


def test_projection_seed_semantics(rng):
    x = rng.standard_normal((4, 50))
    for transform in (lowdim.srht, lowdim.fjlt):
        np.testing.assert_array_equal(transform(x, 16, seed=1), transform(x, 16, seed=1))
        assert not np.allclose(transform(x, 16, seed=1), transform(x, 16, seed=2))
        np.testing.assert_array_equal(transform(x[0], 16, seed=1), transform(x, 16, seed=1)[0])


def test_projection_rejects_bad_arguments():
    x = np.ones((3, 10))
    with pytest.raises(ValueError, match="n_components"):
        lowdim.srht(x, 17)                             # more than the padded 16
    with pytest.raises(ValueError, match="n_components"):
        lowdim.fjlt(x, 0)
    with pytest.raises(TypeError, match="n_components"):
        lowdim.srht(x, 2.5)
    with pytest.raises(ValueError, match="density"):
        lowdim.fjlt(x, 4, density=1.5)
    with pytest.raises(ValueError, match="seed"):
        lowdim.srht(x, 4, seed=-1)
    with pytest.raises(ValueError, match="NaN"):
        lowdim.srht(np.full((2, 4), np.nan), 2)
    with pytest.raises(ValueError, match="3-D|1-D or 2-D"):
        lowdim.fjlt(np.ones((2, 2, 2)), 2)


# ---- estimators ----------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [lowdim.SRHT, lowdim.FastJLT])
def test_estimators_follow_transformer_protocol(cls, rng):
    x = rng.standard_normal((50, 300))
    est = cls(n_components=32, random_state=4)
    y = est.fit_transform(x)
    assert y.shape == (50, 32) and est.n_components_ == 32 and est.n_features_in_ == 300
    np.testing.assert_array_equal(y, cls(n_components=32, random_state=4).fit(x).transform(x))
    assert est.get_params()["n_components"] == 32
    with pytest.raises(ValueError, match="features"):
        est.transform(x[:, :10])
    with pytest.raises(ValueError, match="not fitted"):
        cls().transform(x)


@pytest.mark.parametrize("cls", [lowdim.SRHT, lowdim.FastJLT])
def test_estimators_auto_components_and_sklearn_clone(cls, rng):
    sklearn_base = pytest.importorskip("sklearn.base")
    x = rng.standard_normal((30, 2048))
    est = cls(eps=0.5, random_state=0).fit(x)
    assert est.n_components_ == lowdim.johnson_lindenstrauss_min_dim(30, eps=0.5)
    clone = sklearn_base.clone(est)
    np.testing.assert_array_equal(clone.fit(x).transform(x), est.transform(x))
    with pytest.raises(ValueError, match="target dimension"):
        cls(eps=0.1).fit(rng.standard_normal((1000, 16)))


def test_jl_min_dim_equals_sklearn():
    rp = pytest.importorskip("sklearn.random_projection")
    n = np.array([1, 2, 10, 1000, 10**6, 10**9])
    for eps in (0.01, 0.1, 0.5, 0.99):
        np.testing.assert_array_equal(lowdim.johnson_lindenstrauss_min_dim(n, eps=eps),
                                      rp.johnson_lindenstrauss_min_dim(n, eps=eps))
    np.testing.assert_array_equal(lowdim.johnson_lindenstrauss_min_dim(100, eps=[0.1, 0.2]),
                                  rp.johnson_lindenstrauss_min_dim(100, eps=[0.1, 0.2]))
    with pytest.raises(ValueError, match="eps"):
        lowdim.johnson_lindenstrauss_min_dim(10, eps=1.0)
    with pytest.raises(ValueError, match="n_samples"):
        lowdim.johnson_lindenstrauss_min_dim(0)


def test_concurrent_calls_from_python_threads_agree_with_serial(rng):
    from concurrent.futures import ThreadPoolExecutor
    xs = [rng.standard_normal((64, 1024)).astype(np.float32) for _ in range(6)]
    serial = [lowdim.srht(x, 100, seed=i) for i, x in enumerate(xs)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda a: lowdim.srht(a[1], 100, seed=a[0]), enumerate(xs)))
    for s, p in zip(serial, parallel):
        np.testing.assert_array_equal(s, p)


def test_fjlt_kernel_with_rows_of_unequal_length_matches_numpy_twin(rng, variant):
    # lowdim's own P has equal row lengths; the kernel takes any CSR matrix.
    from lowdim import _config
    lengths = np.array([3, 3, 3, 3, 0, 5, 1, 1, 1, 1, 2, 7, 7])
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    cols = rng.integers(0, 64, size=indptr[-1]).astype(np.int64)
    vals = rng.standard_normal(indptr[-1])
    x = rng.standard_normal((5, 50))
    signs = np.where(rng.random(64) < 0.5, -1.0, 1.0)
    got = _config.kernels().fjlt(x, signs, indptr, cols, vals, 2)
    np.testing.assert_array_equal(got, _ref.fjlt(x, signs, indptr, cols, vals, 1))


def test_jl_min_dim_refuses_nan_eps():
    with pytest.raises(ValueError, match="eps"):
        lowdim.johnson_lindenstrauss_min_dim(100, eps=np.nan)


@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float64, 1.7e308)])
def test_overflow_inside_the_butterflies_is_refused(dtype, big):
    # y[0] = x0 + x1 = 0 is finite but y[1] = x0 − x1 overflows: was [0, inf].
    with pytest.raises(ValueError, match="overflows"):
        lowdim.fwht(np.array([big, -big], dtype))
    x = np.zeros((3, 16), dtype)
    x[1, 4], x[1, 12] = big, -big           # only some outputs of row 1 overflow
    with pytest.raises(ValueError, match="overflows"):
        lowdim.fwht(x)
    np.testing.assert_array_equal(lowdim.fwht(np.array([3e38, -3e38])), [0.0, 6e38])


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float64, 1.7e308)])
@pytest.mark.parametrize("bad", ["nan", "-inf", "overflow"])
@pytest.mark.parametrize("row", [0, 41, 63])
def test_fwht_that_raises_leaves_x_and_out_untouched_even_in_place(dtype, big, bad, row, rng):
    # The check runs inside the kernel; in the caller's memory it reads every row before
    # the transform writes any, so a refused call changes nothing, in place or not.
    x = rng.standard_normal((64, 256)).astype(dtype)
    if bad == "overflow":
        x[row, 3], x[row, 200] = big, -big      # finite input, some outputs overflow
    else:
        x[row, 100] = float(bad)
    before = x.copy()
    for threads in (1, 2):
        for out in (x, np.full_like(x, 7.0)):
            kept = out.copy()
            with pytest.raises(ValueError, match="NaN or infinity"):
                lowdim.fwht(x, out=out, n_threads=threads)
            np.testing.assert_array_equal(_bits(x), _bits(before))
            np.testing.assert_array_equal(_bits(out), _bits(kept))


@pytest.mark.parametrize("dtype, big", [(np.float32, 1e36), (np.float64, 1e306)])
def test_fwht_of_large_values_that_do_not_overflow(dtype, big, rng):
    # Rows above max / (2n) have their output checked; finite ones pass, same bits as
    # the numpy twin, in place and not.
    x = rng.standard_normal((8, 256)).astype(dtype)
    x[2, 5] = x[7, 0] = big
    expected = x.copy()
    _ref.fwht(expected, 1.0, 1)
    np.testing.assert_array_equal(_bits(lowdim.fwht(x, n_threads=2)), _bits(expected))
    assert lowdim.fwht(x, out=x) is x
    np.testing.assert_array_equal(_bits(x), _bits(expected))


def test_jl_min_dim_refuses_non_finite_n_and_a_bound_beyond_int64():
    for n in (np.inf, np.nan, [10, np.inf]):
        with pytest.raises(ValueError, match="n_samples"):
            lowdim.johnson_lindenstrauss_min_dim(n)
    for eps in (1e-300, 1e-9, [0.1, 1e-200]):      # was −2⁶³
        with pytest.raises(ValueError, match="does not fit in int64"):
            lowdim.johnson_lindenstrauss_min_dim(10**6, eps=eps)
    assert lowdim.johnson_lindenstrauss_min_dim(10**6, eps=1e-8) > 0


# ---- out of place in one pass (fwht_checked_into) -------------------------------------------

@contextlib.contextmanager
def _stores(mode):
    """The out-of-place pass's stores: by its size rule (plain for these small arrays) or
    forced non-temporal ("stream", native only: the numpy twin has no such choice)."""
    core = lowdim._config._core
    if mode == "stream":
        core._set_fwht_stream(1)
    try:
        yield
    finally:
        if core is not None:
            core._set_fwht_stream(-1)


def _out_at_offset(shape, dtype, offset):
    """An array whose data starts `offset` bytes past a 32-byte boundary."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    buf = np.empty(nbytes + 64, np.uint8)
    start = (-buf.ctypes.data) % 32 + offset
    return buf[start:start + nbytes].view(dtype).reshape(shape)


def _store_modes(variant):
    return ["rule"] if variant == "numpy" else ["rule", "stream"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 8, 128, 512, 2048])   # each kind of last pass, both dtypes
def test_fwht_out_of_place_equals_in_place_bitwise(dtype, n, variant, rng):
    # One fused pass (read a row, transform it in cache, check, scale, store) must give
    # the bits of the in-place transform, into a fresh array or a separate out=.
    x = (rng.standard_normal((7, n)) * 1e3).astype(dtype)
    before = x.copy()
    for mode, normalize in itertools.product(_store_modes(variant), (False, True)):
        expected = x.copy()
        assert lowdim.fwht(expected, out=expected, normalize=normalize) is expected
        with _stores(mode):
            for threads in (1, 2, 3):
                got = lowdim.fwht(x, normalize=normalize, n_threads=threads)
                np.testing.assert_array_equal(_bits(got), _bits(expected))
                out = np.full_like(x, 7.0)
                assert lowdim.fwht(x, out=out, normalize=normalize, n_threads=threads) is out
                np.testing.assert_array_equal(_bits(out), _bits(expected))
                np.testing.assert_array_equal(_bits(x), _bits(before))
            # 32-byte aligned: whole-register streams; 16: streamed in 16-byte halves;
            # 4: never streamed (float64 there is misaligned: the copying path)
            for offset in (0, 16, 4):
                out = _out_at_offset(x.shape, dtype, offset)
                lowdim.fwht(x, out=out, normalize=normalize)
                np.testing.assert_array_equal(_bits(out), _bits(expected))


@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float64, 1.7e308)])
@pytest.mark.parametrize("bad", ["nan", "inf", "overflow"])
def test_fwht_out_of_place_refuses_bad_rows_in_the_middle_and_at_the_end(dtype, big, bad,
                                                                        variant, rng):
    for mode, row in itertools.product(_store_modes(variant), (20, 39)):
        x = rng.standard_normal((40, 128)).astype(dtype)
        if bad == "overflow":
            x[row, 3], x[row, 100] = big, -big      # finite input, some outputs overflow
        else:
            x[row, 127] = float(bad)
        before = x.copy()
        with _stores(mode):
            for threads in (1, 2, 3):
                with pytest.raises(ValueError, match="NaN or infinity, or values so large"):
                    lowdim.fwht(x, n_threads=threads)
                out = np.full_like(x, 7.0)
                with pytest.raises(ValueError, match="NaN or infinity, or values so large"):
                    lowdim.fwht(x, out=out, n_threads=threads)
                np.testing.assert_array_equal(_bits(out), _bits(np.full_like(x, 7.0)))
                np.testing.assert_array_equal(_bits(x), _bits(before))


def test_fwht_checked_into_twins_agree_on_refusal_and_result(rng):
    # The kernel entry itself: same bool, same bits on every backend.
    kernels = lowdim._config.kernels()
    x = rng.standard_normal((5, 32)).astype(np.float32)
    out = np.zeros_like(x)
    assert kernels.fwht_checked_into(x, out, 0.25, True, 2) is True
    expected = x.copy()
    _ref.fwht(expected, 0.25, 1)
    np.testing.assert_array_equal(_bits(out), _bits(expected))
    x[4, 0] = np.inf
    kept = out.copy()
    assert kernels.fwht_checked_into(x, out, 1.0, True, 2) is False
    np.testing.assert_array_equal(_bits(out), _bits(kept))
    assert kernels.fwht_checked_into(x, np.zeros_like(x), 1.0, False, 2) is False
