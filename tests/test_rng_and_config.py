"""The counter-based generator (bit-identical across backends) and the settings API."""
import os
import subprocess
import sys

import numpy as np
import pytest

import lowdim
from lowdim import _config, _rng


def test_random_bits_are_frozen():
    # The definition is part of lowdim's contract: seeds must give the same projections
    # across releases. Changing rng.h / _rng.py breaks this on purpose.
    assert [int(v) for v in _rng.random_bits(0, 0, 0, 3)] == [
        2077113891230206638, 8364644637914473986, 1366676424054786541]
    assert [int(v) for v in _rng.random_bits(42, 7, 100, 2)] == [
        6577643593041392343, 17439727707475780842]
    assert len(set(int(v) for v in _rng.random_bits(1, 2, 0, 1000))) == 1000


@pytest.mark.skipif(_config._core is None, reason="native backend not built")
@pytest.mark.parametrize("seed, stream, start", [(0, 0, 0), (1, 2, 3), (2**64 - 1, 2**40, 2**50)])
def test_native_generator_is_bit_identical_to_numpy(seed, stream, start):
    np.testing.assert_array_equal(_config._core.random_bits(seed, stream, start, 4097),
                                  _rng.random_bits(seed, stream, start, 4097))


def test_uniform_and_signs_statistics():
    u = _rng.uniform(_rng.random_bits(5, 1, 0, 200_000))
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * (1 / np.sqrt(12)) / np.sqrt(len(u))
    s = _rng.signs(5, 100_000, np.float32)
    assert set(np.unique(s)) == {-1.0, 1.0} and abs(s.mean()) < 5 / np.sqrt(len(s))
    idx = _rng.sample_without_replacement(5, 9, 1000, 100)
    assert len(np.unique(idx)) == 100 and idx.min() >= 0 and idx.max() < 1000
    z = _rng.normal(_rng.random_bits(1, 1, 0, 100_000), _rng.random_bits(1, 2, 0, 100_000))
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.03


def test_random_state_conventions():
    assert _rng.seed_from_random_state(3) == 3
    rs = np.random.RandomState(0)
    assert _rng.seed_from_random_state(np.random.RandomState(0)) == _rng.seed_from_random_state(rs)
    assert isinstance(_rng.seed_from_random_state(None), int)
    with pytest.raises(TypeError, match="random_state"):
        _rng.seed_from_random_state("x")


def test_settings_api(capsys):
    assert lowdim.backend() in ("native", "numpy")
    with pytest.raises(ValueError, match="backend"):
        lowdim.set_backend("cuda")
    with pytest.raises(ValueError, match="n_threads"):
        lowdim.set_num_threads(0)
    old = lowdim.get_num_threads()
    lowdim.set_num_threads(3)
    assert lowdim.get_num_threads() == 3
    lowdim.set_num_threads(old)
    lowdim.show_config()
    out = capsys.readouterr().out
    assert "backend" in out and "isa" in out and "threads" in out


@pytest.mark.skipif(_config._core is None, reason="native backend not built")
def test_set_isa_refuses_unknown_levels():
    with pytest.raises(ValueError, match="ISA"):
        lowdim.set_isa("avx9000")
    assert "scalar" in lowdim.available_isas()


@pytest.mark.skipif(_config._core is None, reason="native backend not built")
def test_compiled_isas_cover_the_available_ones():
    # The bindings cannot see the kernels' LOWDIM_HAVE_* flags; the answer comes from
    # the kernel library (a scalar-only report on an AVX2 build was a real bug).
    compiled = lowdim.config()["compiled_isas"]
    assert compiled[0] == "scalar"
    assert set(lowdim.available_isas()) <= set(compiled)


def _run(code, **env):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, check=True).stdout.strip()


def test_environment_variables_select_backend_isa_threads(variant):
    if variant != "numpy":   # the children read only their environment
        pytest.skip("environment parsing is backend independent; checked on the numpy variant")
    assert _run("import lowdim; print(lowdim.backend())", LOWDIM_BACKEND="numpy") == "numpy"
    assert _run("import lowdim; print(lowdim.get_num_threads())", LOWDIM_NUM_THREADS="3") == "3"
    if _config._core is not None:
        assert _run("import lowdim; print(lowdim.isa())", LOWDIM_ISA="scalar",
                    LOWDIM_BACKEND="native") == "scalar"


# ---- adversarial inputs (fuzz regressions) ----

def test_huge_broadcast_view_refused_before_allocating():
    import lowdim
    big = np.broadcast_to(np.float64(1.0), (10**6, 10**6))
    for call in (lambda: lowdim.SRHT(4).fit_transform(big),
                 lambda: lowdim.FastJLT(4).fit_transform(big),
                 lambda: lowdim.id.TwoNN().fit(big),
                 lambda: lowdim.ProductQuantizer(2, nbits=2, random_state=0).fit(big),
                 lambda: lowdim.GaussianRandomProjection(4).fit_transform(big),
                 lambda: lowdim.SparseRandomProjection(4).fit_transform(big)):
        with pytest.raises(ValueError, match="contiguous copy of X needs about"):
            call()


def test_sample_without_replacement_is_the_k_smallest_keys():
    keys = _rng.random_bits(7, 3, 0, 5000)
    expected = np.sort(np.argsort(keys)[:123])
    np.testing.assert_array_equal(_rng.sample_without_replacement(7, 3, 5000, 123), expected)
    np.testing.assert_array_equal(_rng.sample_without_replacement(7, 3, 10, 10), np.arange(10))
