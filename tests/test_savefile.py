"""Save files of ScalarQuantizer, RaBitQ and ProductQuantizer (lowdim._savefile): they carry
the lowdim and generator versions, are written atomically, and a file whose seeded parts
this lowdim would regenerate differently (another generator version) is refused clearly."""
import os
import warnings

import numpy as np
import pytest

import lowdim
from lowdim import _rng

X = np.random.default_rng(2).standard_normal((64, 12)).astype(np.float32)


def _pq():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # few points per centroid
        return lowdim.ProductQuantizer(2, nbits=2, n_iter=2, random_state=1).fit(X)


MAKERS = {
    "ScalarQuantizer": lambda: lowdim.ScalarQuantizer("int8", rotation="hadamard",
                                                      random_state=3).fit(X),
    "RaBitQ": lambda: lowdim.RaBitQ(random_state=3).fit(X),
    "ProductQuantizer": _pq,
}


def _rewrite(path, **changes):
    with np.load(path) as f:
        entries = {k: f[k] for k in f.files}
    entries.update(changes)
    np.savez(path, **{k: v for k, v in entries.items() if v is not None})


@pytest.mark.parametrize("name", MAKERS)
def test_files_carry_versions_and_round_trip(name, tmp_path):
    model = MAKERS[name]()
    path = tmp_path / "model.npz"
    model.save(path)
    assert os.listdir(tmp_path) == ["model.npz"]           # no temporary left behind
    with np.load(path) as f:
        assert str(f["lowdim_version"]) == lowdim.__version__
        assert int(f["generator_version"]) == _rng.GENERATOR_VERSION
    loaded = type(model).load(path)
    np.testing.assert_array_equal(loaded.encode(X), model.encode(X))


@pytest.mark.parametrize("name", ["ScalarQuantizer", "RaBitQ"])
def test_other_generator_version_is_refused_when_seeded(name, tmp_path):
    path = tmp_path / "model.npz"
    MAKERS[name]().save(path)
    _rewrite(path, generator_version=np.array(_rng.GENERATOR_VERSION + 1),
             lowdim_version=np.array("9.9"))
    with pytest.raises(ValueError, match=r"lowdim 9\.9 with random-generator version 2.*"
                                         r"cannot reproduce"):
        getattr(lowdim, name).load(path)


def test_stored_codebooks_load_under_any_generator(tmp_path):
    path = tmp_path / "pq.npz"
    pq = _pq()
    pq.save(path)
    _rewrite(path, generator_version=np.array(_rng.GENERATOR_VERSION + 1))
    np.testing.assert_array_equal(lowdim.ProductQuantizer.load(path).encode(X), pq.encode(X))


@pytest.mark.parametrize("name", ["ScalarQuantizer", "RaBitQ"])
def test_unversioned_files_of_earlier_releases_load(name, tmp_path):
    path = tmp_path / "model.npz"
    model = MAKERS[name]()
    model.save(path)
    _rewrite(path, generator_version=None, lowdim_version=None)
    with np.load(path) as f:
        assert "generator_version" not in f.files
    np.testing.assert_array_equal(type(model).load(path).encode(X), model.encode(X))


@pytest.mark.parametrize("name", ["ScalarQuantizer", "RaBitQ"])
def test_hostile_members_are_refused(name, tmp_path):
    path = tmp_path / "model.npz"
    MAKERS[name]().save(path)
    _rewrite(path, generator_version=np.array([1, 2], dtype=object))
    with pytest.raises(ValueError, match="not a valid lowdim .* file"):
        getattr(lowdim, name).load(path)
