"""OPQ rotation of ProductQuantizer (Ge et al., CVPR 2013; faiss OPQMatrix schedule): the
rotation is orthogonal, deterministic and identical on every backend; reconstruction error
beats plain PQ and faiss's OPQMatrix + ProductQuantizer on anisotropic data; persistence.
"""
import pickle

import numpy as np
import pytest

import lowdim


def _anisotropic(seed, n=2600, d=32):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * np.exp(-np.arange(d) / 6.0)[None]
    return (rng.standard_normal((n, d)) @ mix).astype(np.float32)


def _mse(x, xh):
    return float(((x.astype(np.float64) - xh) ** 2).sum(1).mean())


@pytest.fixture(scope="module")
def data():
    return _anisotropic(0)


def test_rotation_orthogonal_and_helps(data):
    opq = lowdim.ProductQuantizer(4, 6, rotation="opq", opq_iter=4, random_state=0).fit(data)
    R = opq.rotation_.astype(np.float64)
    assert opq.rotation_.shape == (32, 32) and opq.rotation_.dtype == np.float32
    np.testing.assert_allclose(R @ R.T, np.eye(32), atol=1e-5)
    plain = lowdim.ProductQuantizer(4, 6, random_state=0).fit(data)
    e_opq = _mse(data, opq.decode(opq.encode(data)))
    e_pq = _mse(data, plain.decode(plain.encode(data)))
    assert e_opq < 0.5 * e_pq, (e_opq, e_pq)
    assert plain.rotation_ is None


def test_search_and_table_use_rotation(data):
    opq = lowdim.ProductQuantizer(4, 6, rotation="opq", opq_iter=2, random_state=0).fit(data)
    codes = opq.encode(data)
    q = data[:7]
    d, i = opq.search(q, codes, 5)
    # ADC in the rotated space equals the distance to the rotated-back reconstruction
    xh = opq.decode(codes).astype(np.float64)
    full = ((q.astype(np.float64)[:, None] - xh[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d, np.take_along_axis(full, i, 1), rtol=1e-4, atol=1e-3)
    table = opq.distance_table(q).astype(np.float64)
    adc = sum(table[:, m, codes[:, m]] for m in range(4))        # Σ_m T[i, m, code_m]
    np.testing.assert_allclose(adc, full, rtol=1e-4, atol=1e-3)


def test_deterministic_and_backend_identical(data, variant):
    if variant == "numpy":
        pytest.skip("compares each native variant with the numpy twin")
    data = data[:800]        # any size shows it; the full 2600 rows took 35 s under ASan
    opq = lowdim.ProductQuantizer(4, 4, rotation="opq", opq_iter=2, random_state=5).fit(data)
    again = lowdim.ProductQuantizer(4, 4, rotation="opq", opq_iter=2, random_state=5,
                                    n_threads=1).fit(data)
    np.testing.assert_array_equal(opq.rotation_, again.rotation_)
    np.testing.assert_array_equal(opq.codebooks_, again.codebooks_)
    saved = lowdim.backend()
    lowdim.set_backend("numpy")
    try:
        ref = lowdim.ProductQuantizer(4, 4, rotation="opq", opq_iter=2, random_state=5).fit(data)
    finally:
        lowdim.set_backend(saved)
    np.testing.assert_array_equal(opq.rotation_, ref.rotation_)
    np.testing.assert_array_equal(opq.encode(data), ref.encode(data))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_mse_at_most_faiss(seed):
    faiss = pytest.importorskip("faiss")
    x = _anisotropic(seed)
    ours = lowdim.ProductQuantizer(4, 6, rotation="opq", opq_iter=10, random_state=seed).fit(x)
    e_ours = _mse(x, ours.decode(ours.encode(x)))
    opq = faiss.OPQMatrix(32, 4)
    opq.niter = 10
    inner = faiss.ProductQuantizer(32, 4, 6)    # same nbits inside (faiss defaults to 8);
    opq.pq = inner                              # a named reference keeps it alive
    opq.train(x)
    xr = opq.apply(x)
    pq = faiss.ProductQuantizer(32, 4, 6)
    pq.train(xr)
    e_faiss = _mse(x, opq.reverse_transform(pq.decode(pq.compute_codes(xr))))
    assert e_ours <= e_faiss, (e_ours, e_faiss)


def test_save_load_pickle(data, tmp_path):
    opq = lowdim.ProductQuantizer(4, 6, rotation="opq", opq_iter=2, random_state=0).fit(data)
    codes = opq.encode(data)
    opq.save(tmp_path / "p.npz")
    back = lowdim.ProductQuantizer.load(tmp_path / "p.npz")
    assert back.rotation == "opq" and back.opq_iter == 2
    np.testing.assert_array_equal(back.rotation_, opq.rotation_)
    np.testing.assert_array_equal(back.encode(data), codes)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(opq)).encode(data), codes)
    plain = lowdim.ProductQuantizer(4, 6, random_state=0).fit(data)
    plain.save(tmp_path / "q.npz")
    assert lowdim.ProductQuantizer.load(tmp_path / "q.npz").rotation_ is None


def test_bad_input(data):
    with pytest.raises(ValueError, match="rotation must be None or 'opq'"):
        lowdim.ProductQuantizer(4, 6, rotation="hadamard", random_state=0).fit(data)
    with pytest.raises(TypeError, match="opq_iter must be an integer"):
        lowdim.ProductQuantizer(4, 6, rotation="opq", opq_iter=1.5, random_state=0).fit(data)
    opq = lowdim.ProductQuantizer(4, 6, rotation="opq", opq_iter=1, random_state=0).fit(data)
    with pytest.raises(ValueError, match="X has 31 features, but ProductQuantizer is expecting 32"):
        opq.encode(data[:, :31])
    with pytest.raises(ValueError, match="to_faiss"):
        opq.to_faiss()
