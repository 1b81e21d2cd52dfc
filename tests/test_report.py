"""`lowdim report` run as a user runs it: a subprocess on files of every format.

Checks the JSON numbers against the library functions and known answers, and that bad
files end with a one-line error and exit status 2, never a traceback.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

import lowdim
from lowdim.report import ReportInputError, builtin_sample, load_matrix
from lowdim.report.analysis import effective_rank
from lowdim.report.sample import EXPECTED

pytestmark = pytest.mark.filterwarnings("error")


def run_cli(*args, backend="native"):
    env_backend = "numpy" if backend == "numpy" or lowdim._config._core is None else "native"
    import os
    env = {**os.environ, "LOWDIM_BACKEND": env_backend}
    return subprocess.run([sys.executable, "-m", "lowdim.cli", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def subspace_points(n=600, d=24, m=4, seed=0):
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((d, m)))[0]
    return (rng.uniform(-1, 1, (n, m)) @ basis.T).astype(np.float32)


def write_fvecs(path, X):
    n, d = X.shape
    rec = np.empty((n, d + 1), dtype=np.float32)
    rec[:, 0] = np.array([d], dtype=np.int32).view(np.float32)[0]
    rec[:, 1:] = X
    rec.tofile(path)


def write_bvecs(path, X):
    n, d = X.shape
    rec = np.empty((n, 4 + d), dtype=np.uint8)
    rec[:, :4] = np.frombuffer(np.int32(d).tobytes(), dtype=np.uint8)
    rec[:, 4:] = X
    rec.tofile(path)


@pytest.fixture(scope="module")
def points():
    return subspace_points()


@pytest.fixture(scope="module")
def files(tmp_path_factory, points):
    d = tmp_path_factory.mktemp("formats")
    np.save(d / "x.npy", points)
    np.savez(d / "x.npz", emb=points, other=np.zeros(3))
    write_fvecs(d / "x.fvecs", points)
    np.savetxt(d / "x.csv", points, delimiter=",")
    np.savetxt(d / "x.tsv", points, delimiter="\t")
    write_bvecs(d / "x.bvecs", (np.abs(points) * 100).astype(np.uint8))
    return d


@pytest.mark.parametrize("name", ["x.npy", "x.fvecs", "x.csv", "x.tsv"])
def test_readers_give_the_same_matrix(files, points, name, variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")
    np.testing.assert_allclose(load_matrix(files / name), points, rtol=1e-6)


def test_npz_key_bvecs_and_sampling(files, points, variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")
    np.testing.assert_array_equal(load_matrix(files / "x.npz", key="emb"), points)
    with pytest.raises(ReportInputError, match="--key"):
        load_matrix(files / "x.npz")
    assert load_matrix(files / "x.bvecs").dtype == np.uint8
    s1 = load_matrix(files / "x.npy", n_sample=50, seed=3)
    s2 = load_matrix(files / "x.fvecs", n_sample=50, seed=3)
    assert s1.shape == (50, points.shape[1])
    np.testing.assert_array_equal(s1, s2)            # same rows whatever the format


def test_report_json_matches_library_and_known_answers(files, points, tmp_path, variant):
    out = tmp_path / "r.json"
    page = tmp_path / "r.html"
    res = run_cli("report", str(files / "x.npy"), "--quick", "--quiet", "--json", str(out),
                  "--html", str(page), backend=variant)
    assert res.returncode == 0, res.stderr
    rep = json.loads(out.read_text())
    assert rep["basics"]["n"] == 600 and rep["basics"]["d"] == 24
    assert rep["basics"]["duplicate_rows"] == 0
    shape = rep["shape"]
    assert shape["twonn"] == pytest.approx(lowdim.twonn(points), rel=1e-6)
    assert shape["mst_length"] == pytest.approx(lowdim.mst_length(points), rel=1e-6)
    for key in ("twonn", "mle", "ph0_dimension", "id_calibrated"):
        assert 3.2 < shape[key] < 4.8, (key, shape[key])   # points fill a 4-D cube
    assert shape["effective_rank"] == pytest.approx(effective_rank(points), rel=1e-6)
    assert 3 < shape["effective_rank"] < 4.01
    recalls = {(p["method"], p["k"]): p["recall_at_10"] for p in rep["compression"]["projections"]}
    assert recalls[("truncate", 16)] < 1.0 and 0 <= min(recalls.values()) <= 1
    assert "Recommendation" in res.stdout and "<svg" in page.read_text()


def test_builtin_sample_report_finds_the_documented_answers(tmp_path, variant):
    if variant == "native-scalar":
        pytest.skip("the avx2 and numpy runs cover this end-to-end check")
    out = tmp_path / "r.json"
    res = run_cli("report", "--quick", "--quiet", "--json", str(out), backend=variant)
    assert res.returncode == 0, res.stderr
    rep = json.loads(out.read_text())
    assert rep["basics"]["duplicate_rows"] == EXPECTED["duplicate_rows"] == 10
    for key in ("twonn", "mle", "id_calibrated"):   # within ~15% of the latent dimension, 8
        assert abs(rep["shape"][key] / EXPECTED["intrinsic_dimension"] - 1) < 0.19, key
    assert builtin_sample().shape == (3000, 128)


def test_nonfinite_rows_are_reported_and_excluded(tmp_path, points, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    X = points.copy()
    X[:5, 0] = np.nan
    X[5, 1] = np.inf
    np.save(tmp_path / "nan.npy", X)
    out = tmp_path / "r.json"
    res = run_cli("report", str(tmp_path / "nan.npy"), "--quick", "--quiet", "--json", str(out),
                  backend="numpy")
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())["basics"]["nonfinite_rows"] == 6


BAD_FILES = {
    "truncated.npy": lambda p: p.write_bytes(np.lib.format.magic(1, 0) + b"\x00\x01garbage"),
    "empty.npy": lambda p: p.write_bytes(b""),
    "vector.npy": lambda p: np.save(p, np.arange(10.0)),
    "badheader.fvecs": lambda p: np.array([7, 1, 2], dtype=np.int32).tofile(p),
    "text.csv": lambda p: p.write_text("1,2,3\n4,five,6\n"),
    "empty.csv": lambda p: p.write_text(""),
    "unknown.xyz": lambda p: p.write_text("1 2 3"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_give_one_line_error_and_exit_2(tmp_path, name, variant):
    if variant != "numpy":
        pytest.skip("file errors do not depend on the backend")
    path = tmp_path / name
    BAD_FILES[name](path)
    res = run_cli("report", str(path), "--quick", "--quiet", backend="numpy")
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().startswith("lowdim: error:") and len(res.stderr.strip().splitlines()) == 1


def test_missing_file_and_bad_arguments(tmp_path, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    assert run_cli("report", str(tmp_path / "nope.npy"), backend="numpy").returncode == 2
    assert run_cli("report", "--sample", "1", backend="numpy").returncode == 2
    assert run_cli("frobnicate", backend="numpy").returncode == 2


def test_duplicate_row_count_against_np_unique(rng, variant):
    if variant != "numpy":
        pytest.skip("pure numpy helper")
    from lowdim.report.analysis import duplicate_rows
    X = rng.integers(0, 3, size=(400, 200)).astype(np.float32)    # many repeats
    X[:, ::7] = 0.0                                              # rows agree on many words
    assert duplicate_rows(X) == len(X) - len(np.unique(X, axis=0))
    Y = rng.standard_normal((300, 5))
    Y[100:110] = Y[:10]
    assert duplicate_rows(Y) == 10 and duplicate_rows(Y[:1]) == 0
