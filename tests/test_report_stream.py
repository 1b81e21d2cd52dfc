"""`lowdim report` streamed over .npy shards (lowdim.report.stream), in-process and on Dask.

Oracle: the in-memory report's basics (analysis.basics) of the concatenated file, and its
seeded sample (load_matrix(..., n_sample=, seed=)); NaN/inf rows, a zero row and duplicates
inside and across shards are planted. Duplicates are confirmed byte for byte: with every
hash forced equal the count must not change. Hostile shards give one line and exit 2. The
--scheduler run uses the session's LocalCluster (tests/conftest.py). Runs once, not per
backend: the streaming is numpy, the CLI subprocesses use the default backend.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lowdim
from lowdim import _validate, cli
from lowdim.report import analysis, load_matrix, stream
from lowdim.report.io import ReportInputError

ROOT = Path(__file__).resolve().parents[1]
SIZES = (300, 1, 349, 250)        # shards; one of a single row
N_SAMPLE = 300


@pytest.fixture(autouse=True)
def variant():
    """Overrides conftest's per-backend fixture (see the module docstring)."""
    yield lowdim.backend()


def _matrix():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((sum(SIZES), 8)).astype(np.float32) * 3
    X[5] = np.nan
    X[400, 3] = np.inf
    X[10] = 0
    X[[700, 800]] = X[3]              # duplicates across shards
    X[850] = X[401]
    X[366] = X[364]                   # across a chunk boundary (64-row chunks) in a shard
    return X


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    X = _matrix()
    np.save(d / "all.npy", X)
    bounds = np.cumsum((0,) + SIZES)
    paths = []
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        paths.append(d / f"part-{i}.npy")
        np.save(paths[-1], X[a:b])
    return d, X, [str(p) for p in paths]


def _cli(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    return subprocess.run([sys.executable, "-m", "lowdim.cli", "report", *argv],
                          capture_output=True, text=True, env=env, timeout=300)


def _check_basics(got, X):
    want, _ = analysis.basics(X)
    for key in ("n", "d", "dtype", "nonfinite_rows", "duplicate_rows", "zero_rows"):
        assert got[key] == want[key], key
    assert want["duplicate_rows"] == 4 and want["nonfinite_rows"] == 2
    assert got["norm"]["min"] == want["norm"]["min"]
    assert got["norm"]["max"] == want["norm"]["max"]
    for q in ("p5", "median", "p95"):     # 256 bins per octave: within 2^-8 relative
        assert got["norm"][q] == pytest.approx(want["norm"][q], rel=2**-8), q


@pytest.mark.parametrize("where", ["in-process", "scheduler"])
def test_cli_on_shards_gives_the_concatenated_files_basics(shards, where, request, capsys):
    # The --scheduler run is a subprocess (a separate client process, as a user runs it);
    # the in-process run calls cli.main (a subprocess costs seconds of imports).
    d, X, paths = shards
    out = d / f"{where}.json"
    options = ["--quick", "--codecs", "int8", "--sample", str(N_SAMPLE), "--chunk-rows", "64",
               "--quiet", "--json", str(out)]
    if where == "scheduler":
        address = request.getfixturevalue("dask_client").scheduler.address
        res = _cli(*paths, "--scheduler", address, *options)     # several paths, not a glob
        assert res.returncode == 0, res.stderr
        stdout = res.stdout
    else:
        assert cli.main(["report", str(d / "part-*.npy"), *options]) == 0
        stdout = capsys.readouterr().out
    rep = json.loads(out.read_text())
    _check_basics(rep["basics"], X)
    info = rep["stream"]
    assert (info["rows_seen"], info["rows_sampled"], info["files"]) == (len(X), N_SAMPLE, 4)
    assert info["chunks"] == sum(-(-n // 64) for n in SIZES)
    assert rep["shape"]["n_used"] <= N_SAMPLE
    assert f"basics over all {len(X)} rows" in stdout
    assert f"seeded sample of {N_SAMPLE} rows" in stdout
    assert ("Dask scheduler" in stdout) == (where == "scheduler")


def test_sample_is_the_in_memory_readers_sample(shards):
    d, X, paths = shards
    for seed in (0, 5):
        got, info = stream.stream_input(paths, n_sample=N_SAMPLE, seed=seed, chunk_rows=50)
        want = load_matrix(d / "all.npy", n_sample=N_SAMPLE, seed=seed)
        np.testing.assert_array_equal(got, want)
    got, info = stream.stream_input(paths, chunk_rows=1000)      # n < default sample: all
    np.testing.assert_array_equal(got, X)
    assert info["rows_sampled"] == len(X)


def test_duplicates_are_confirmed_byte_for_byte(shards, monkeypatch):
    d, X, paths = shards
    _, honest = stream.stream_input(paths, n_sample=10, chunk_rows=64)
    # Every row in one hash group: the count comes from the byte comparison alone, over
    # batches of 7 rows (the group is split across many batches).
    monkeypatch.setattr(stream, "row_hashes", lambda rows: np.zeros(len(rows), np.uint64))
    _, forced = stream.stream_input(paths, n_sample=10, chunk_rows=7)
    assert forced["basics"]["duplicate_rows"] == honest["basics"]["duplicate_rows"] == 4
    Y = np.zeros((50, 3), np.int16)
    Y[:, 0] = np.arange(50) % 20          # 30 rows repeat an earlier one
    np.save(d / "ints.npy", Y)
    _, info = stream.stream_input([str(d / "ints.npy")], chunk_rows=4)
    assert info["basics"]["duplicate_rows"] == 30
    assert info["basics"]["zero_rows"] == 3


def test_one_npy_larger_than_memory_is_streamed(shards, monkeypatch):
    d, X, _ = shards
    path = str(d / "all.npy")
    args = argparse.Namespace(scheduler=None, key=None, sample=N_SAMPLE, seed=0, chunk_rows=64)
    assert stream.from_args([path], args, analysis.Progress(None)) is None
    # 2 × the file: less than its rows plus their float copy, more than the sample needs.
    monkeypatch.setattr(_validate, "available_memory", lambda: 2 * X.nbytes)
    with pytest.raises(ReportInputError, match="use --sample N"):
        load_matrix(path)
    got = stream.from_args([path], args, analysis.Progress(None))
    _check_basics(got["basics"], X)
    assert got["sample"].shape == (N_SAMPLE, X.shape[1])


def _hostile(d):
    good = np.ones((5, 4), np.float32)
    np.save(d / "a.npy", good)
    np.save(d / "wide.npy", np.ones((5, 6), np.float32))
    np.save(d / "f64.npy", good.astype(np.float64))
    np.save(d / "cube.npy", np.ones((2, 2, 2), np.float32))
    np.save(d / "text.npy", np.array([["a", "b"]]))
    (d / "garbage.npy").write_bytes(b"\x93NUMPY\x01\x00{'descr': nonsense")
    raw = (d / "a.npy").read_bytes()
    (d / "short.npy").write_bytes(raw[:-7])
    (d / "a.csv").write_text("1,2\n3,4\n")
    return {
        "wide.npy": "do not match the first file a.npy (d = 4",
        "f64.npy": "dtype float64 do not match the first file a.npy (d = 4, dtype float32)",
        "cube.npy": "expected a 2-D matrix",
        "text.npy": "is not numeric",
        "garbage.npy": "garbage.npy: cannot read",
        "short.npy": "short.npy: cannot read",
        "a.csv": "streaming reads .npy files only",
    }


def test_hostile_shards_one_line_exit_2(tmp_path, capsys):
    for bad, message in _hostile(tmp_path).items():
        code = cli.main(["report", str(tmp_path / "a.npy"), str(tmp_path / bad), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2, bad
        assert err.count("\n") == 1 and err.startswith("lowdim: error: ") and message in err, err
    for argv, message in (([str(tmp_path / "none-*.npy")], "no file matches"),
                          ([str(tmp_path / "a.npy"), str(tmp_path / "missing.npy")],
                           "missing.npy: No such file"),
                          ([str(tmp_path / "a.npy")] * 2 + ["--key", "x"], "--key selects")):
        assert cli.main(["report", *argv, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_scheduler_without_dask_is_one_line_exit_2(shards, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed fails
    assert cli.main(["report", shards[2][0], "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert capsys.readouterr().err == ("lowdim: error: --scheduler needs dask and distributed: "
                                       "pip install 'lowdim[dask]'\n")
