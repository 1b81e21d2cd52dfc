"""RaBitQ (lowdim.RaBitQ, Gao & Long SIGMOD 2024; extended RaBitQ, Gao et al. 2025): the scan
kernel against a dense dot product, bitwise equality across backends/ISAs/threads, the
extended code against its definition (the rescaling search maximises ⟨x̂, o⟩), unbiasedness
and coverage of the error bound (the estimator error is ≈ Gaussian, so coverage at ε₀ is
≈ P(|N(0,1)| ≤ ε₀)), exact top k with bound-based reranking, recall against sign codes +
Hamming and faiss, for 1…8 bits and quantized queries.
"""
import math
import pickle

import numpy as np
import pytest

import lowdim
from lowdim import _config, _ref
from lowdim.quantizers._ref_rabitq import _TIGHT_START
from lowdim.quantizers.rabitq import FACTOR_BYTES


def _gauss(rng, n, d, shift=1.0):
    return (rng.standard_normal((n, d)) + shift * rng.standard_normal(d)).astype(np.float32)


def _clustered(rng, n, d, n_clusters=20, spread=0.35):
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    lab = rng.integers(0, n_clusters, n)
    return (centres[lab] + spread * rng.standard_normal((n, d))).astype(np.float32)


def _true_sq(q, x):
    q64, x64 = q.astype(np.float64), x.astype(np.float64)
    return ((q64 * q64).sum(1)[:, None] + (x64 * x64).sum(1)[None] - 2 * q64 @ x64.T)


def _exact_topk(q, x, k):
    d = _true_sq(q, x)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def _recall(found, truth):
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(found, truth)]))


@pytest.mark.parametrize("nbytes", [1, 3, 8, 13, 32])
def test_scan_is_masked_sum_and_bitwise_twin(rng, nbytes):
    codes = rng.integers(0, 256, (301, nbytes + FACTOR_BYTES)).astype(np.uint8)
    y = rng.standard_normal((4, nbytes * 8)).astype(np.float32)
    got = _config.kernels().rabitq_scan(codes, nbytes, y, 2)
    bits = np.unpackbits(codes[:, :nbytes], axis=1).astype(np.float64)
    np.testing.assert_allclose(got, y.astype(np.float64) @ bits.T, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(got, _ref.rabitq_scan(codes, nbytes, y, 1))
    np.testing.assert_array_equal(got, _config.kernels().rabitq_scan(codes, nbytes, y, 1))


# d = 300 without rotation (38 plane bytes) and 512 with it (64) reach the AVX2 32-byte
# chunks and their byte tail; the others run the tails only
@pytest.mark.parametrize("d, bits, qb, rot", [
    (1, 1, None, "hadamard"), (7, 1, None, "hadamard"), (100, 1, None, "hadamard"),
    (128, 1, None, "hadamard"), (7, 2, None, "hadamard"), (100, 3, 4, "hadamard"),
    (128, 4, None, "hadamard"), (128, 8, 8, "hadamard"), (64, 2, 6, "hadamard"),
    (300, 1, 4, None), (300, 2, 7, None), (512, 1, 8, "hadamard"), (20, 1, 5, None)])
def test_codes_estimates_search_identical_across_backends_and_threads(rng, variant, d, bits,
                                                                      qb, rot):
    if variant == "numpy":
        pytest.skip("the numpy twin is the reference of this comparison")
    x = _gauss(rng, 300, d)
    q = _gauss(rng, 5, d)

    def run(n_threads):
        r = lowdim.RaBitQ(bits, random_state=3, rotation=rot, query_bits=qb, eps0=2.5,
                          n_threads=n_threads).fit(x)
        codes = r.encode(x)
        # 5 queries take the AVX2 table kernel for 1-bit codes, 2 the popcount kernel
        return (codes, *r.estimate_distances(q, codes), *r.search(q, codes, 4),
                *r.search(q, codes, 4, rescore=x), *r.search(q[:2], codes, 4))

    got = run(2)
    saved = lowdim.backend()
    lowdim.set_backend("numpy")
    try:
        ref = run(1)
    finally:
        lowdim.set_backend(saved)
    for a, b in zip(got + run(1), ref + ref):
        np.testing.assert_array_equal(a, b)


def _cos(e, o):
    return ((e + 0.5) * o).sum() / np.sqrt(((e + 0.5) ** 2).sum())


@pytest.mark.parametrize("bits", [2, 3, 5])
def test_extended_code_matches_definition(rng, bits):
    # bits = 2 … 8: plane 0 is the sign, the ex-planes hold u = (sign ? e : 2^ex − 1 − e);
    # ⟨x̂, o⟩ stored is the cosine of the decoded x̄ with o, and the rescaling search is at
    # least as good as every grid scale t of its range [t_start, t_end] (the paper's) on a
    # fine sweep (floor(t·o) clipped)
    d = 64
    x = _gauss(rng, 25, d)
    r = lowdim.RaBitQ(bits, rotation=None, random_state=0).fit(x)
    c = r.encode(x)
    nb, ex = d // 8, bits - 1
    assert r.code_size == r.bytes_per_vector == bits * nb + 12
    o = (x - r.center_).astype(np.float64)
    sign = np.unpackbits(c[:, :nb], axis=1)
    np.testing.assert_array_equal(sign, o > 0)
    u = sum((np.unpackbits(c[:, k * nb:(k + 1) * nb], axis=1).astype(np.int64) << (ex - k))
            for k in range(1, bits))
    e = np.where(sign == 1, u, (1 << ex) - 1 - u)
    norm, ip, xnorm = c[:, bits * nb:].copy().view("<f4").T.astype(np.float64)
    np.testing.assert_allclose(norm, np.linalg.norm(o, axis=1), rtol=1e-6)
    xbar = (sign << ex) + u - ((1 << bits) - 1) / 2
    np.testing.assert_allclose(xnorm, np.linalg.norm(xbar, axis=1), rtol=1e-6)
    np.testing.assert_allclose(ip, (xbar * o).sum(1) / (xnorm * norm), rtol=1e-5)
    for i in range(len(x)):
        oa = np.abs(o[i]) / norm[i]
        ts = np.linspace(_TIGHT_START[ex], 1.0, 300) * ((1 << ex) - 1 + 10) / oa.max()
        sweep = max(_cos(np.minimum(np.floor(t * oa), (1 << ex) - 1), oa) for t in ts)
        assert _cos(e[i], oa) >= sweep - 1e-9



def test_layout_and_factors(rng):
    x = _gauss(rng, 200, 100)
    r = lowdim.RaBitQ(random_state=0).fit(x)
    c = r.encode(x)
    assert r.code_size == 128 // 8 + 8 and c.shape == (200, r.code_size)
    norm, ip = c[:, 16:].copy().view("<f4").T
    np.testing.assert_allclose(norm, np.linalg.norm(x - r.center_, axis=1), rtol=1e-5)
    # ⟨ō, o⟩ of a random direction concentrates near √(2/π) ≈ 0.798 (paper, Sec. 3.2)
    assert abs(ip.mean() - math.sqrt(2 / math.pi)) < 0.02
    zero = r.encode(r.center_[None])
    assert zero[0, 16:].view("<f4")[1] == 1.0 and zero[0, 16:].view("<f4")[0] == 0.0


# mean |relative error| at 128-d: about 0.05 at 1 bit, halving per added bit
@pytest.mark.parametrize("bits, qb, err", [(1, None, 0.1), (2, None, 0.04), (4, None, 0.012),
                                           pytest.param(8, None, 0.001, marks=pytest.mark.slow), (2, 4, 0.04),
                                           pytest.param(4, 8, 0.012, marks=pytest.mark.slow)])
def test_estimator_is_unbiased(rng, bits, qb, err):
    x = _gauss(rng, 1500, 128)
    q = _gauss(rng, 40, 128)
    r = lowdim.RaBitQ(bits, random_state=1, query_bits=qb).fit(x)
    est, _ = r.estimate_distances(q, r.encode(x))
    true = _true_sq(q, x)
    rel = (est - true) / true
    assert abs(rel.mean()) < err / 10                # signed mean: no bias
    assert err / 10 < np.abs(rel).mean() < err       # but individual estimates do err


def test_mean_relative_error_shrinks_with_n(rng):
    # |mean relative error| over n × 20 pairs falls as n grows (to a floor set by the
    # 20 queries' own rotation noise): no bias left over
    q = _gauss(rng, 20, 64)
    means = []
    for n in (30, 6000):
        x = _gauss(np.random.default_rng(n), n, 64)
        r = lowdim.RaBitQ(random_state=2).fit(x)
        est, _ = r.estimate_distances(q, r.encode(x))
        means.append(abs(((est - _true_sq(q, x)) / _true_sq(q, x)).mean()))
    assert means[1] < means[0] / 2 and means[1] < 1e-3


@pytest.mark.parametrize("bits, eps0, low, high", [(1, 1.9, 0.925, 0.965), (1, 4.0, 0.999, 1.0),
                                                   (2, 1.9, 0.925, 0.97),
                                                   pytest.param(2, 4.0, 0.999, 1.0, marks=pytest.mark.slow),
                                                   pytest.param(4, 4.0, 0.999, 1.0, marks=pytest.mark.slow),
                                                   pytest.param(8, 4.0, 0.999, 1.0, marks=pytest.mark.slow)])
def test_bound_coverage(rng, bits, eps0, low, high):
    x = _gauss(rng, 1500 if bits > 1 else 3000, 256)
    q = _gauss(rng, 40, 256)
    r = lowdim.RaBitQ(bits, eps0=eps0, random_state=0).fit(x)
    est, bound = r.estimate_distances(q, r.encode(x))
    covered = np.abs(_true_sq(q, x) - est) <= bound
    assert low <= covered.mean() <= high


# The bound scales with ‖x − c‖‖q − c‖ (c the global mean here, no IVF), so at ε₀ = 4 most
# rows are reranked; at the paper's 1.9 far fewer.
@pytest.mark.parametrize("bits, eps0, most", [(1, 1.9, 0.5), (1, 4.0, 1.0), (2, 4.0, 1.0),
                                              (4, 4.0, 0.5),
                                              pytest.param(8, 4.0, 0.1, marks=pytest.mark.slow)])
def test_rerank_returns_exact_top_k(rng, bits, eps0, most):
    x = _clustered(rng, 3000 if bits == 1 else 1000, 128)
    q = _clustered(np.random.default_rng(7), 30, 128)
    r = lowdim.RaBitQ(bits, eps0=eps0, random_state=0).fit(x)
    codes = r.encode(x)
    d, i, nr = r.search(q, codes, 10, rescore=x)
    truth = _exact_topk(q, x, 10)
    np.testing.assert_array_equal(i, truth)
    np.testing.assert_allclose(d, np.take_along_axis(_true_sq(q, x), truth, 1), rtol=1e-5,
                               atol=1e-4)
    assert (nr >= 10).all() and nr.mean() < most * len(x)
    d0, i0, nr0 = r.search(q, codes, 10)
    assert (nr0 == 0).all() and (np.diff(d0, axis=1) >= 0).all()


def test_recall_beats_sign_codes_and_hamming(rng):
    x = _clustered(rng, 3000, 768)
    q = _clustered(np.random.default_rng(5), 50, 768)
    truth = _exact_topk(q, x, 10)
    r = lowdim.RaBitQ(random_state=0).fit(x)
    ours = _recall(r.search(q, r.encode(x), 10)[1], truth)
    sq = lowdim.ScalarQuantizer("binary", rotation="hadamard", random_state=0).fit(x)
    ham = _recall(sq.search(q, sq.encode(x), 10)[1], truth)
    assert ours >= ham + 0.05, (ours, ham)


def test_recall_at_least_faiss(rng):
    faiss = pytest.importorskip("faiss")
    if not hasattr(faiss, "IndexRaBitQ"):
        pytest.skip("this faiss has no IndexRaBitQ")
    d = 256
    x = _clustered(rng, 4000, d)
    q = _clustered(np.random.default_rng(9), 60, d)
    truth = _exact_topk(q, x, 10)
    r = lowdim.RaBitQ(random_state=0).fit(x)
    ours = _recall(r.search(q, r.encode(x), 10)[1], truth)
    index = faiss.IndexRaBitQ(d, faiss.METRIC_L2)
    index.qb = 0                       # float queries, as ours
    index.train(x)
    index.add(x)
    theirs = _recall(index.search(q, 10)[1], truth)
    assert index.code_size == r.code_size
    assert ours >= theirs - 0.01, (ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("bits", [2, 4])
def test_extended_recall_at_least_faiss(rng, bits):
    faiss = pytest.importorskip("faiss")
    try:
        index = faiss.IndexRaBitQ(128, faiss.METRIC_L2, bits)
    except TypeError:
        pytest.skip("this faiss has no multi-bit IndexRaBitQ")
    x = _clustered(rng, 1500, 128)
    q = _clustered(np.random.default_rng(9), 150, 128)
    truth = _exact_topk(q, x, 10)
    r = lowdim.RaBitQ(bits, query_bits=8, random_state=0).fit(x)
    ours = _recall(r.search(q, r.encode(x), 10)[1], truth)
    index.qb = 8                       # faiss's float-query path is far slower
    index.train(x)
    index.add(x)
    theirs = _recall(index.search(q, 10)[1], truth)
    assert r.code_size <= index.code_size
    assert ours >= theirs - 0.02, (ours, theirs)     # ≈ 1 standard error of recall here


def test_decode_is_projection_on_code_direction(rng):
    # d = 128 = D: with zero padding the decoded padding coordinates are dropped
    x = _gauss(rng, 200, 128)
    r = lowdim.RaBitQ(random_state=0).fit(x)
    c = r.encode(x)
    xh = r.decode(c)
    assert xh.shape == x.shape and xh.dtype == np.float32
    np.testing.assert_array_equal(r.encode(xh)[:, :16], c[:, :16])
    norm, ip = c[:, 16:].copy().view("<f4").T.astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(xh - r.center_, axis=1), norm * ip, rtol=1e-4)
    mse = ((xh - x) ** 2).sum(1)
    np.testing.assert_allclose(mse, norm**2 * (1 - ip**2), rtol=1e-3, atol=1e-3)


def test_no_rotation_matches_sign_of_centred_vector(rng):
    x = _gauss(rng, 100, 20)
    r = lowdim.RaBitQ(rotation=None, random_state=0).fit(x)
    c = r.encode(x)
    np.testing.assert_array_equal(c[:, :3], np.packbits(x - r.center_ > 0, axis=1))


def test_save_load_pickle(rng, tmp_path):
    x = _gauss(rng, 100, 50)
    r = lowdim.RaBitQ(random_state=11, eps0=2.5).fit(x)
    codes = r.encode(x)
    r.save(tmp_path / "r.npz")
    back = lowdim.RaBitQ.load(tmp_path / "r.npz")
    assert back.get_params()["eps0"] == 2.5 and back.random_state == 11
    np.testing.assert_array_equal(back.encode(x), codes)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(r)).encode(x), codes)
    r4 = lowdim.RaBitQ(4, query_bits=6, random_state=0).fit(x)
    r4.save(tmp_path / "r4.npz")
    back4 = lowdim.RaBitQ.load(tmp_path / "r4.npz")
    assert (back4.bits, back4.query_bits) == (4, 6)
    np.testing.assert_array_equal(back4.encode(x), r4.encode(x))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a valid lowdim RaBitQ file"):
        lowdim.RaBitQ.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", format=np.array("something"))
    with pytest.raises(ValueError, match="missing entries"):
        lowdim.RaBitQ.load(tmp_path / "other.npz")


def test_bad_input(rng):
    x = _gauss(rng, 50, 16)
    with pytest.raises(ValueError, match=r"bits must be \[1, 8\], got 9"):
        lowdim.RaBitQ(bits=9, random_state=0).fit(x)
    with pytest.raises(ValueError, match=r"query_bits must be \[4, 8\], got 3"):
        lowdim.RaBitQ(query_bits=3, random_state=0).fit(x)
    with pytest.raises(ValueError, match="rotation must be 'hadamard' or None"):
        lowdim.RaBitQ(rotation="opq", random_state=0).fit(x)
    with pytest.raises(ValueError, match="eps0 must be a finite number > 0"):
        lowdim.RaBitQ(eps0=0, random_state=0).fit(x)
    with pytest.raises(ValueError, match="NaN or infinity|NaN|finite"):
        lowdim.RaBitQ(random_state=0).fit(np.full((3, 4), np.nan))
    r = lowdim.RaBitQ(random_state=0).fit(x)
    codes = r.encode(x)
    with pytest.raises(lowdim._base.NotFittedError):
        lowdim.RaBitQ(random_state=0).encode(x)
    with pytest.raises(TypeError, match="codes must be a numpy array of dtype uint8"):
        r.estimate_distances(x, codes.astype(np.int8))
    with pytest.raises(ValueError, match=r"codes must have shape \(n, 10\)"):
        r.search(x, codes[:, :5], 3)
    with pytest.raises(ValueError, match="Q has 15 features, but this RaBitQ was fitted with 16"):
        r.search(x[:, :15], codes, 3)
    with pytest.raises(ValueError, match=r"k must be"):
        r.search(x, codes, 51)
    with pytest.raises(ValueError, match=r"rescore must have shape \(50, 16\)"):
        r.search(x, codes, 3, rescore=x[:10])
