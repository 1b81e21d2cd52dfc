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
    if variant == "native-scalar":
        pytest.skip("the report on numpy and the fastest ISA; scalar kernels run in their suites")
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
    # the headline: the most accurate calibrated estimate (bench/RESULTS.md), not the raw TwoNN
    headline = lowdim.intrinsic_dim(points, "twonn_mle", calibrate="ball+cube")
    assert shape["id_calibrated"] == pytest.approx(headline, rel=1e-6)
    assert headline != pytest.approx(lowdim.intrinsic_dim(points, calibrate="ball"), rel=1e-3)
    assert shape["mst_length"] == pytest.approx(lowdim.mst_length(points), rel=1e-6)
    for key in ("twonn", "mle", "ph0_dimension", "id_calibrated"):
        assert 3.2 < shape[key] < 4.8, (key, shape[key])   # points fill a 4-D cube
    assert shape["effective_rank"] == pytest.approx(effective_rank(points), rel=1e-6)
    assert 3 < shape["effective_rank"] < 4.01
    rows = {r["setting"]: r for r in rep["compression"]["rows"]}
    assert rows["truncate-3 float32"]["recall_at_10"] < 1.0
    assert all(0 <= r["recall_at_10"] <= 1 for r in rows.values() if not r.get("skipped"))
    assert rows["float32 (exact)"]["recall_at_10"] == 1.0
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
    X = builtin_sample()
    assert X.shape == (3000, 128)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1, atol=1e-5)
    comp = rep["compression"]
    assert comp["metric"] == EXPECTED["metric"] and "unit-norm" in comp["metric_reason"]
    recs = {r["target"]: r for r in comp["recommendations"]}
    assert recs[0.95]["setting"] == EXPECTED["recommend_0.95"]
    assert recs[0.99]["setting"] == EXPECTED["recommend_0.99"]
    assert any("Hadamard rotation helps int4" in n for n in comp["notes"])


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


# ---- hostile files, arguments and outputs (issue 10) ----------------------------------------

def one_line_error(res, status=2):
    lines = res.stderr.strip().splitlines()
    assert res.returncode == status, (res.stdout, res.stderr)
    assert len(lines) == 1 and lines[0].startswith("lowdim: error:"), res.stderr
    return lines[0]


def forged_npz(path, shape, dtype="<f4", data=b"\0" * 64):
    """An .npz whose member header declares `shape` but stores only `data`."""
    import io
    import zipfile
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("emb.npy", buf.getvalue() + data)


@pytest.mark.parametrize("args, needle", [
    (["--seed", "-1", "--sample", "100"], "--seed"),
    (["--seed", str(2**64)], "--seed"),
    (["--sample", "3"], "--sample"),
    (["--sample", "many"], "--sample"),
    (["--frobnicate"], "unrecognized"),
])
def test_bad_arguments_give_one_line_and_exit_2(files, args, needle, variant):
    if variant != "numpy":
        pytest.skip("argument errors do not depend on the backend")
    res = run_cli("report", str(files / "x.npy"), "--quiet", *args, backend="numpy")
    assert needle in one_line_error(res) and res.stdout == ""


def test_npz_declaring_more_than_it_stores_is_refused_before_reading(tmp_path, variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")
    forged_npz(tmp_path / "bomb.npz", (2**40, 4))      # 16 TiB declared in a few bytes
    line = one_line_error(run_cli("report", str(tmp_path / "bomb.npz"), backend="numpy"))
    assert "declares shape (1099511627776, 4)" in line and "MemoryError" not in line
    forged_npz(tmp_path / "obj.npz", (4, 4), dtype="|O")
    assert "dtype object is not numeric" in one_line_error(run_cli("report", str(tmp_path / "obj.npz"),
                                                      backend="numpy"))


def test_npz_larger_than_available_memory_is_refused(tmp_path, monkeypatch, variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")
    from lowdim import _validate
    np.savez_compressed(tmp_path / "zeros.npz", emb=np.zeros((1000, 100)))  # 800 kB in ~1 kB
    assert (tmp_path / "zeros.npz").stat().st_size < 10_000
    monkeypatch.setattr(_validate, "available_memory", lambda: 500_000)
    with pytest.raises(ReportInputError, match=r"more than the 0\.0 GiB available"):
        load_matrix(tmp_path / "zeros.npz")
    monkeypatch.setattr(_validate, "available_memory", lambda: 10**9)
    assert load_matrix(tmp_path / "zeros.npz").shape == (1000, 100)


def test_csv_with_byte_order_mark_is_read(tmp_path, points, variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in points[:50])
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + body.encode())
    (tmp_path / "bom.tsv").write_bytes(b"\xef\xbb\xbf" + body.replace(",", "\t").encode())
    for name in ("bom.csv", "bom.tsv"):
        np.testing.assert_array_equal(load_matrix(tmp_path / name), points[:50].astype(float))


def test_directory_and_fifo_are_named_as_such(tmp_path, variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")
    import os
    (tmp_path / "dir.npy").mkdir()
    os.mkfifo(tmp_path / "pipe.npy")            # opening it would block: must not be opened
    assert "is a directory" in one_line_error(run_cli("report", str(tmp_path / "dir.npy"),
                                                      backend="numpy"))
    assert "is a FIFO" in one_line_error(run_cli("report", str(tmp_path / "pipe.npy"),
                                                 backend="numpy"))
    assert "no such file" in one_line_error(run_cli("report", str(tmp_path / "none.npy"),
                                                    backend="numpy"))


def test_multiline_names_still_give_one_line(tmp_path, points, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    np.savez(tmp_path / "two.npz", a=points, b=points)
    line = one_line_error(run_cli("report", str(tmp_path / "two.npz"), "--key", "x\ny",
                                  backend="numpy"))
    assert "'x\\ny'" in line or "x y" in line


@pytest.mark.parametrize("target", ["missing_dir/r.json", "dir", "in.npy", "file.txt/r.json"])
def test_unwritable_output_is_refused_before_the_analysis(tmp_path, points, target, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    np.save(tmp_path / "in.npy", points)
    (tmp_path / "dir").mkdir()
    (tmp_path / "file.txt").write_text("keep")
    for option in ("--json", "--html"):
        res = run_cli("report", str(tmp_path / "in.npy"), "--quick", "--quiet", option,
                      str(tmp_path / target), backend="numpy")
        one_line_error(res)
        assert res.stdout == ""                     # refused before the report was computed
    assert (tmp_path / "file.txt").read_text() == "keep"
    np.testing.assert_array_equal(np.load(tmp_path / "in.npy"), points)


def test_outputs_are_written_atomically(tmp_path, variant):
    if variant != "numpy":
        pytest.skip("pure Python helper")
    from lowdim.report.output import OutputError, check_outputs, write_atomic
    target = tmp_path / "r.html"
    target.write_text("old report")
    with pytest.raises(OutputError, match="cannot write"):
        write_atomic(target, "new <b>" + "\ud800")     # fails half-way: unencodable text
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]    # no temporary left
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    with pytest.raises(OutputError, match="same file"):
        check_outputs({"--json": str(target), "--html": str(target)})


def test_undefined_measures_are_reported_and_the_rest_printed(tmp_path, variant):
    if variant != "native-avx2":
        # one end-to-end run: the numpy backend's report on this input takes minutes, and
        # its kernels are compared with the native ones by every other test
        pytest.skip("the avx2 run covers the end-to-end run")
    np.save(tmp_path / "eye.npy", np.eye(200))    # every point at distance √2 of every other
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    res = run_cli("report", str(tmp_path / "eye.npy"), "--quick", "--quiet", "--json", str(out),
                  "--html", str(page), backend=variant)
    assert res.returncode == 0, res.stderr
    rep = json.loads(out.read_text(), parse_constant=pytest.fail)   # no NaN/Infinity
    shape = rep["shape"]
    assert shape["twonn"] is None and "ratio r2/r1 is 1" in shape["undefined"]["twonn"]
    assert shape["mle"] is None and shape["undefined"]["mle"]
    assert shape["mst_length"] == pytest.approx(199 * np.sqrt(2), rel=1e-6)
    assert shape["effective_rank"] == pytest.approx(effective_rank(np.eye(200)), rel=1e-9)
    assert rep["compression"]["rows"] and rep["compression"]["metric"] == "cosine"
    assert "TwoNN undefined (every ratio r2/r1 is 1" in res.stdout
    assert "Recommendation" in res.stdout and "undefined (" in page.read_text()


def test_report_on_too_few_finite_rows_prints_basics(tmp_path, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    X = np.full((6, 3), np.nan)
    X[:3] = [[1, 2, 3], [4, 5, 6], [7, 8, 10]]
    np.save(tmp_path / "few.npy", X)
    out = tmp_path / "r.json"
    res = run_cli("report", str(tmp_path / "few.npy"), "--quiet", "--json", str(out),
                  backend="numpy")
    assert res.returncode == 0, res.stderr
    rep = json.loads(out.read_text())
    assert rep["basics"]["nonfinite_rows"] == 3 and rep["shape"] is None
    assert "only 3 finite rows" in rep["undefined"]["shape"]
    assert "Shape: undefined (only 3 finite rows" in res.stdout


# ---- compression frontier -----------------------------------------------------------------

def _frontier_rows(rng, n=40):
    rows = [{"setting": f"s{i}", "bytes_per_vector": float(b), "recall_at_10": float(r),
             "compression_ratio": 512 / b, "snippet": f"code {i}"}
            for i, (b, r) in enumerate(zip(rng.integers(1, 20, n), rng.integers(0, 11, n) / 10))]
    rows.append({"setting": "skipped", "bytes_per_vector": 1.0, "recall_at_10": None,
                 "skipped": "failed"})
    return rows


def test_frontier_is_exactly_the_non_dominated_set(rng, variant):
    if variant != "numpy":
        pytest.skip("pure Python")
    from lowdim.report.compression import pareto
    for _ in range(20):
        rows = _frontier_rows(rng)
        pareto(rows)
        measured = [r for r in rows if r["recall_at_10"] is not None]
        assert not rows[-1]["pareto"]           # the skipped row
        for r in measured:  # brute force: dominated = another is <= in bytes, >= in recall,
            dominated = any(  # and differs in one of the two
                (s["bytes_per_vector"], s["recall_at_10"]) != (r["bytes_per_vector"],
                                                               r["recall_at_10"])
                and s["bytes_per_vector"] <= r["bytes_per_vector"]
                and s["recall_at_10"] >= r["recall_at_10"] for s in measured)
            assert r["pareto"] == (not dominated), r


def test_recommendation_is_the_smallest_frontier_setting_meeting_the_target(rng, variant):
    if variant != "numpy":
        pytest.skip("pure Python")
    from lowdim.report.compression import pareto, recommend
    for _ in range(20):
        rows = _frontier_rows(rng)
        pareto(rows)
        for target in (0.5, 0.9, 1.0):
            rec = recommend(rows, target)
            ok = [r for r in rows if r["pareto"] and r["recall_at_10"] >= target]
            if ok:
                best = min(ok, key=lambda r: r["bytes_per_vector"])
                assert rec["met"] and rec["setting"] == best["setting"]
                assert rec["snippet"] == best["snippet"]
            else:
                top = max(r["recall_at_10"] for r in rows if r["pareto"])
                assert not rec["met"] and rec["miss"] == pytest.approx(target - top)
                assert "misses by" in rec["text"]


def test_hadamard_rotation_helps_int4_with_an_outlier_dimension(rng, variant):
    from lowdim.report.analysis import SIZES, Progress
    from lowdim.report.compression import compression
    X = (rng.normal(size=(3000, 16)) @ rng.normal(size=(16, 256)) / 4
         + 0.3 * rng.normal(size=(3000, 256))).astype(np.float32)
    X[:, 0] *= 20                               # one dimension of large magnitude
    comp = compression(X, quick=True, seed=0, progress=Progress(None), sizes=SIZES,
                       codecs=("int4",))
    rows = {r["setting"]: r for r in comp["rows"]}
    assert rows["int4+hadamard"]["recall_at_10"] > rows["int4"]["recall_at_10"] + 0.05
    assert any(n.startswith("the Hadamard rotation helps int4") for n in comp["notes"])


def test_cli_rows_match_direct_library_calls(tmp_path, variant):
    if variant != "native-avx2":
        # one end-to-end run: the numpy backend's report on this input takes minutes, and
        # its kernels are compared with the native ones by every other test
        pytest.skip("the avx2 run covers the end-to-end run")
    from lowdim.report.analysis import SIZES
    from lowdim.report.compression import recall, split
    rng = np.random.default_rng(5)
    basis = np.linalg.qr(rng.standard_normal((768, 32)))[0]
    X = (rng.standard_normal((2000, 32)) @ basis.T).astype(np.float32)   # 32-dim subspace
    np.save(tmp_path / "sub.npy", X)
    out = tmp_path / "r.json"
    res = run_cli("report", str(tmp_path / "sub.npy"), "--quick", "--quiet", "--json", str(out),
                  "--codecs", "int8,binary,pca,truncate", "--target-recall", "0.8",
                  backend=variant)
    assert res.returncode == 0, res.stderr
    comp = json.loads(out.read_text())["compression"]
    assert comp["schema_version"] == 2 and comp["metric"] == "euclidean"
    rows = {r["setting"]: r for r in comp["rows"]}
    Q, B, T = split(X, comp["n_queries"], SIZES["base"][1], SIZES["pq_train"][1], 0)
    truth = lowdim.knn(Q, 10, Y=B)[1]
    q = lowdim.ScalarQuantizer("int8").fit(T)
    assert rows["int8"]["recall_at_10"] == recall(q.search(Q, q.encode(B), 10)[1], truth)
    assert rows["int8"]["bytes_per_vector"] == 768 and rows["int8"]["compression_ratio"] == 4
    b = lowdim.ScalarQuantizer("binary").fit(T)
    assert rows["binary"]["recall_at_10"] == recall(b.search(Q, b.encode(B), 10)[1], truth)
    assert rows["binary"]["bytes_per_vector"] == 96
    assert rows["binary+int8 rescore"]["bytes_per_vector"] == 96 + 768
    for k in (96, 192):                    # the 32-dim subspace: PCA keeps every neighbour
        assert rows[f"PCA-{k} float32"]["recall_at_10"] > 0.99
    assert rows["truncate-96 float32"]["recall_at_10"] < 0.9
    assert [r["target"] for r in comp["recommendations"]] == [0.99, 0.95, 0.9, 0.8]
    assert "pq" not in {r["family"] for r in comp["rows"]}
    assert "Recommendation: recall@10 ≥ 0.8" in res.stdout


def test_failing_codec_is_skipped_with_its_reason(tmp_path, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    X = np.random.default_rng(1).standard_normal((40, 128)).astype(np.float32)
    np.save(tmp_path / "few.npy", X)
    out = tmp_path / "r.json"
    res = run_cli("report", str(tmp_path / "few.npy"), "--quiet", "--json", str(out),
                  "--codecs", "pca", backend="numpy")
    assert res.returncode == 0, res.stderr
    rows = {r["setting"]: r for r in json.loads(out.read_text())["compression"]["rows"]}
    assert "needs at least 64 training rows" in rows["PCA-64 float32"]["skipped"]
    assert rows["PCA-64 float32"]["recall_at_10"] is None
    assert rows["PCA-8 float32"]["recall_at_10"] is not None
    assert "skipped PCA-64 float32: PCA-64 needs" in res.stdout


@pytest.mark.parametrize("args, needle", [(("--codecs", "int9"), "unknown codec int9"),
                                          (("--target-recall", "1.5"), "recall in (0, 1]"),
                                          (("--metric", "l1"), "invalid choice")])
def test_bad_compression_arguments_give_one_line(args, needle, variant):
    if variant != "numpy":
        pytest.skip("covered once")
    res = run_cli("report", "--quick", *args, backend="numpy")
    assert res.returncode == 2 and needle in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
