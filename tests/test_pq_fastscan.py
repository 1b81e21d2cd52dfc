"""Tests of the 4-bit PQ fast-scan search (ProductQuantizer.search with nbits=4, issue 14).

Every test runs on each backend/ISA (conftest.py). Oracles: the plain ADC search
(fast_scan=False) with the documented near-tie bound, a textbook re-implementation of the
uint8 tables, integer scores and candidate selection, and the numpy twin for bitwise
agreement across backends, ISAs and thread counts.
"""
import os
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lowdim
from lowdim import _config, _ref, _ref_fastscan

K = 16


def fitted(rng, M, dsub):
    """A 4-bit quantizer with random codebooks (no training: fast on every backend)."""
    return lowdim.ProductQuantizer._from_codebooks(
        rng.standard_normal((M, K, dsub)).astype(np.float32))


def adc(table, codes, idx):
    """Exact ADC of codes[idx] per query: float32 sums in m order (pq_search's)."""
    out = np.zeros(idx.shape, np.float32)
    for m in range(codes.shape[1]):
        out += table[np.arange(len(idx))[:, None], m, codes[idx, m]]
    return out


def textbook_luts(table):
    """uint8 tables as in cpp/include/lowdim/fastscan.h, written out plainly."""
    nq, M, _ = table.shape
    top = min(127, 65535 // M)
    out = np.zeros(table.shape, np.uint8)
    for q in range(nq):
        rows = [[float(v) for v in table[q, m]] for m in range(M)]
        span = max(max(r) - min(r) for r in rows)
        a = top / span if span > 0 else 0.0
        for m, r in enumerate(rows):
            out[q, m] = [min(top, np.floor((v - min(r)) * a + 0.5)) for v in r]
    return out


def scale_units(table):
    """Distance per score unit, span/top, per query: the tables' rounding step."""
    M = table.shape[1]
    t = table.astype(np.float64)
    return (t.max(2) - t.min(2)).max(1) / min(127, 65535 // M)


def check_against_plain(table, codes, fast, plain, kprime):
    """Distances exact; neighbours equal the plain ones except documented near-ties: a plain
    neighbour j may be missing only when at least kprime other codes have ADC distance
    ≤ D_j + M·unit (each of the M table entries is rounded by at most half a unit)."""
    (d_fast, i_fast), (d_plain, i_plain) = fast, plain
    np.testing.assert_array_equal(d_fast, adc(table, codes, i_fast))
    assert (np.diff(d_fast, axis=1) >= 0).all()
    assert (d_fast >= d_plain).all()               # the plain result is the global best
    all_d = adc(table, codes, np.broadcast_to(np.arange(len(codes)), (len(table), len(codes))))
    unit, M, missed = scale_units(table), codes.shape[1], 0
    for q in range(len(table)):
        if set(i_fast[q]) == set(i_plain[q]):
            np.testing.assert_array_equal(d_fast[q], d_plain[q])
            np.testing.assert_array_equal(i_fast[q], i_plain[q])
            continue
        for j in set(i_plain[q]) - set(i_fast[q]):
            missed += 1
            limit = all_d[q, j] + M * unit[q] * (1 + 1e-6) + 1e-6 * abs(all_d[q, j])
            assert (all_d[q] <= limit).sum() - 1 >= kprime, (q, j)
    return missed


@pytest.mark.parametrize("n,M,dsub", [(1, 1, 3), (2, 3, 1), (31, 3, 2), (32, 4, 2),
                                      (33, 5, 2), (65, 8, 1), (97, 7, 3), (700, 16, 2)])
def test_fast_scan_matches_plain_adc(rng, n, M, dsub):
    pq = fitted(rng, M, dsub)
    codes = rng.integers(0, K, (n, M)).astype(np.uint8)
    codes[n // 2:] = codes[: n - n // 2]           # duplicated codes: exact distance ties
    Q = rng.standard_normal((9, M * dsub)).astype(np.float32)
    k = min(10, n)
    fast = pq.search(Q, codes, k)
    plain = pq.search(Q, codes, k, fast_scan=False)
    assert fast[0].dtype == np.float32 and fast[1].dtype == np.int64
    assert fast[0].shape == fast[1].shape == (9, k)
    check_against_plain(pq.distance_table(Q), codes, fast, plain, min(n, 4 * k))


def test_near_ties_stay_within_the_documented_bound(rng):
    # oversample=1 re-ranks only k candidates: neighbours do get missed, but only within
    # the bound (the check fails for a kernel whose scores are off by more than M/2 units).
    pq = fitted(rng, 16, 2)
    codes = rng.integers(0, K, (3000, 16)).astype(np.uint8)
    Q = rng.standard_normal((20, 32)).astype(np.float32)
    fast = pq.search(Q, codes, 10, oversample=1)
    missed = check_against_plain(pq.distance_table(Q), codes, fast,
                                 pq.search(Q, codes, 10, fast_scan=False), 10)
    assert missed > 0
    # Enough candidates: the plain result exactly.
    fast = pq.search(Q, codes, 10, oversample=300)
    for a, b in zip(fast, pq.search(Q, codes, 10, fast_scan=False)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("M", [1, 2, 9, 600])
def test_kernel_equals_textbook_selection(rng, M):
    # k = kprime: the result is the re-rank of exactly the k smallest (score, index) pairs,
    # computed here from scratch. M = 600 has top = 109 (sums near the uint16 limit).
    n, nq, k = 77, 5, 6
    table = (rng.random((nq, M, K)) * rng.choice([1e-3, 1.0, 50.0], (nq, M, 1))
             ).astype(np.float32)
    table[0, :, :] = 2.0                           # every span 0: all scores 0
    codes = rng.integers(0, K, (n, M)).astype(np.uint8)
    codes[40:] = codes[:37]
    luts = textbook_luts(table)
    np.testing.assert_array_equal(luts, _ref_fastscan.fastscan_luts(table))
    score = luts[np.arange(nq)[:, None, None], np.arange(M)[None, None, :], codes[None]].astype(
        np.int64).sum(-1)
    assert score.max() <= 65535
    want_i = np.empty((nq, k), np.int64)
    for q in range(nq):
        cand = sorted(range(n), key=lambda i: (score[q, i], i))[:k]
        d = adc(table[q:q + 1], codes, np.array([cand]))[0]
        want_i[q] = sorted(cand, key=lambda i: (d[cand.index(i)], i))
    got_d, got_i = _config.kernels().pq_fastscan_search(table, codes, k, k, 2)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_d, adc(table, codes, want_i))


@pytest.mark.parametrize("nq", [1, 2, 9])
def test_bitwise_equal_to_numpy_twin_for_any_thread_count(rng, nq):
    M, n = 6, 300
    table = rng.random((nq, M, K)).astype(np.float32)
    codes = rng.integers(0, K, (n, M)).astype(np.uint8)
    codes[150:] = codes[:150]                      # ties straddling the threads' block ranges
    want = _ref.pq_fastscan_search(table, codes, 7, 12, 1)
    for threads in (1, 2, 3):
        got = _config.kernels().pq_fastscan_search(table, codes, 7, 12, threads)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_fast_scan_flag_and_other_nbits(rng):
    pq = fitted(rng, 4, 2)
    codes = rng.integers(0, K, (200, 4)).astype(np.uint8)
    Q = rng.standard_normal((3, 8)).astype(np.float32)
    plain = pq.search(Q, codes, 5, fast_scan=False)
    np.testing.assert_array_equal(plain[1], _ref.pq_search(pq.distance_table(Q), codes, 5, 1)[1])
    pq8 = lowdim.ProductQuantizer._from_codebooks(
        rng.standard_normal((4, 256, 2)).astype(np.float32))
    codes8 = rng.integers(0, 256, (200, 4)).astype(np.uint8)
    for a, b in zip(pq8.search(Q, codes8, 5), pq8.search(Q, codes8, 5, fast_scan=False)):
        np.testing.assert_array_equal(a, b)


def test_huge_values_use_the_scaled_table(rng):
    # Sub-distances beyond float32: search scales every sub-space by one power of two;
    # fast-scan runs on that table and gets the same distances back.
    pq = lowdim.ProductQuantizer._from_codebooks(
        (rng.standard_normal((4, K, 2)) * 1e25).astype(np.float32))
    codes = rng.integers(0, K, (100, 4)).astype(np.uint8)
    Q = (rng.standard_normal((3, 8)) * 1e25).astype(np.float32)
    fast, plain = pq.search(Q, codes, 5, oversample=20), pq.search(Q, codes, 5, fast_scan=False)
    for a, b in zip(fast, plain):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs,exc,message", [
    (dict(fast_scan="yes"), TypeError, "fast_scan must be True or False, got str"),
    (dict(fast_scan=None), TypeError, "fast_scan must be True or False, got NoneType"),
    (dict(oversample=0), ValueError, "oversample must be >= 1, got 0"),
    (dict(oversample=2.0), TypeError, "oversample must be an integer, got float"),
    (dict(k=0), ValueError, "k must be [1, 50], got 0"),
])
def test_bad_input_same_text_on_every_backend(rng, kwargs, exc, message):
    pq = fitted(rng, 2, 2)
    codes = rng.integers(0, K, (50, 2)).astype(np.uint8)
    args = {"k": 3, **kwargs}
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        pq.search(np.zeros((1, 4)), codes, args.pop("k"), **args)


def test_bad_codes_refused(rng):
    pq = fitted(rng, 2, 2)
    with pytest.raises(ValueError, match=re.escape("codes out of range: max code 16 >= 16")):
        pq.search(np.zeros((1, 4)), np.full((5, 2), 16, np.uint8), 1)
    with pytest.raises(TypeError, match="codes must be a numpy array of dtype uint8"):
        pq.search(np.zeros((1, 4)), np.zeros((5, 2), np.int64), 1)
    if _config.backend() == "native":   # the binding's own guard for direct callers
        with pytest.raises(ValueError, match="codes must be < 16"):
            _config._core.pq_fastscan_search(np.zeros((1, 2, 16), np.float32),
                                             np.full((5, 2), 200, np.uint8), 1, 1, 1)


def test_pickle_and_save_load_keep_fast_scan(rng, tmp_path):
    x = rng.standard_normal((700, 8)).astype(np.float32)
    pq = lowdim.ProductQuantizer(4, nbits=4, n_iter=3, random_state=0).fit(x)
    codes = pq.encode(x)
    want = pq.search(x[:5], codes, 4)
    pq.save(tmp_path / "pq.npz")
    for other in (pickle.loads(pickle.dumps(pq)), lowdim.ProductQuantizer.load(tmp_path / "pq.npz")):
        for a, b in zip(other.search(x[:5], codes, 4), want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_sigint_stops_fast_scan(variant):
    if variant == "numpy":
        pytest.skip("numpy operations return to Python, which handles signals itself")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
           "LOWDIM_BACKEND": "native", "LOWDIM_ISA": variant.split("-", 1)[1]}
    code = textwrap.dedent("""
        import os, signal, threading, time, numpy as np
        from lowdim import _config
        rng = np.random.default_rng(0)
        table = rng.random((20000, 32, 16)).astype(np.float32)
        codes = rng.integers(0, 16, (200000, 32)).astype(np.uint8)
        threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        try:
            _config._core.pq_fastscan_search(table, codes, 10, 40, 2)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - t0 - 0.3)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120).stdout.split()
    assert out[0] == "interrupted", out
    assert float(out[1]) < 2.0
