"""The readers of `lowdim report` for parquet, HDF5 (ann-benchmarks), safetensors and text
tables with a header row or an id column: each file is written here by its own library
(pyarrow, h5py, safetensors; skipped when missing), read back by load_matrix and compared
with the matrix written; a sample gives the same rows as from an .npy; --key mistakes are
one line that lists the keys. Backend-independent: each test runs on one variant only.
"""
import json
import sys

import numpy as np
import pytest

from lowdim.report import ReportInputError, load_matrix
from lowdim.report.readers import rows_in

X = np.random.default_rng(7).standard_normal((40, 6)).astype(np.float32)


def once(variant):
    if variant != "numpy":
        pytest.skip("file reading does not depend on the backend")


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    path = tmp_path_factory.mktemp("fmt") / "x.npy"
    np.save(path, X)
    return path


def read(path, **kw):
    notes = []
    return load_matrix(path, notes=notes, **kw), notes


def same_sample(path, npy, **kw):
    np.testing.assert_array_equal(load_matrix(path, n_sample=9, seed=5, **kw),
                                  load_matrix(npy, n_sample=9, seed=5))


def test_parquet_list_fixed_size_list_and_float_columns(tmp_path, npy, variant):
    once(variant)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), X.shape[1])
    lists = pa.array([list(r) for r in X.astype(np.float64)], type=pa.list_(pa.float64()))
    pq.write_table(pa.table({"id": np.arange(40), "emb": fixed, "v": lists}),
                   tmp_path / "a.parquet", row_group_size=16)      # 3 row groups
    got, notes = read(tmp_path / "a.parquet", key="emb")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, X)
    assert notes == ["a.parquet: read column 'emb'; --key selects another of 'v'"]
    np.testing.assert_array_equal(read(tmp_path / "a.parquet", key="v")[0], X)
    same_sample(tmp_path / "a.parquet", npy, key="emb")
    assert rows_in(tmp_path / "a.parquet", "emb") == 40          # --compare --sample counts
    with pytest.raises(ReportInputError, match=r"2 columns hold a matrix; choose one with "
                                               r"--key: 'emb', 'v'$"):
        load_matrix(tmp_path / "a.parquet")
    with pytest.raises(ReportInputError, match=r"no column 'nope'; it has 'id', 'emb', 'v'$"):
        load_matrix(tmp_path / "a.parquet", key="nope")
    with pytest.raises(ReportInputError, match="'id' is int64, not a list of numbers"):
        load_matrix(tmp_path / "a.parquet", key="id")
    cols = {"id": np.arange(40), **{f"f{i}": X[:, i] for i in range(6)}, "text": ["t"] * 40}
    pq.write_table(pa.table(cols), tmp_path / "b.parquet")
    got, notes = read(tmp_path / "b.parquet")
    np.testing.assert_array_equal(got, X)
    assert notes == ["b.parquet: read the 6 float columns as the matrix; skipped 'id', 'text'"]


def test_parquet_null_rows_and_ragged_lists(tmp_path, variant):
    once(variant)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [list(r) for r in X[:5]]
    rows[2] = None
    pq.write_table(pa.table({"e": pa.array(rows, type=pa.list_(pa.float32()))}),
                   tmp_path / "n.parquet")
    got, notes = read(tmp_path / "n.parquet")
    assert np.isnan(got[2]).all() and np.array_equal(np.delete(got, 2, 0), np.delete(X[:5], 2, 0))
    assert notes == ["n.parquet: 1 null rows in column 'e' read as NaN rows"]
    pq.write_table(pa.table({"e": pa.array([[1.0, 2.0], [3.0]])}), tmp_path / "r.parquet")
    with pytest.raises(ReportInputError, match="lists of lengths 1 to 2"):
        load_matrix(tmp_path / "r.parquet")


def test_hdf5_ann_benchmarks_layout(tmp_path, npy, variant):
    once(variant)
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "glove.hdf5", "w") as f:       # the ann-benchmarks layout
        f["train"], f["test"] = X, X[:5] * 2
        f["neighbors"] = np.zeros((5, 10), np.int32)
        f.attrs["distance"] = "angular"
        f.create_dataset("packed", data=X, chunks=(7, 6), compression="gzip")
    got, notes = read(tmp_path / "glove.hdf5")
    np.testing.assert_array_equal(got, X)
    assert notes == ["glove.hdf5: read dataset 'train'; --key selects another of 'neighbors', "
                     "'packed', 'test'",
                     "glove.hdf5: the file's distance attribute is 'angular' (lowdim: --metric "
                     "cosine)"]
    np.testing.assert_array_equal(load_matrix(tmp_path / "glove.hdf5", key="test"), X[:5] * 2)
    assert (rows_in(tmp_path / "glove.hdf5", None), rows_in(tmp_path / "glove.hdf5", "test")) \
        == (40, 5)
    same_sample(tmp_path / "glove.hdf5", npy)                       # memory-mapped
    same_sample(tmp_path / "glove.hdf5", npy, key="packed")          # chunked, compressed
    with pytest.raises(ReportInputError, match=r"no dataset 'x'; it has 'neighbors', 'packed', "
                                               r"'test', 'train'$"):
        load_matrix(tmp_path / "glove.hdf5", key="x")


def test_safetensors_written_by_the_library(tmp_path, npy, variant):
    once(variant)
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"emb": X, "bias": np.zeros(3, np.float32), "w": X[:4].astype(np.float16)},
                 str(tmp_path / "m.safetensors"), metadata={"format": "np"})
    np.testing.assert_array_equal(load_matrix(tmp_path / "m.safetensors", key="emb"), X)
    np.testing.assert_array_equal(load_matrix(tmp_path / "m.safetensors", key="w"),
                                  X[:4].astype(np.float16))
    same_sample(tmp_path / "m.safetensors", npy, key="emb")
    assert rows_in(tmp_path / "m.safetensors", "w") == 4
    with pytest.raises(ReportInputError, match=r"2 tensors hold a matrix; choose one with "
                                               r"--key: 'emb', 'w'$"):
        load_matrix(tmp_path / "m.safetensors")
    with pytest.raises(ReportInputError, match=r"expected a 2-D matrix \(n, d\), got shape \(3,\)"):
        load_matrix(tmp_path / "m.safetensors", key="bias")


def write_safetensors(path, tensors):
    """The format by hand (8-byte header length, JSON header, data), for dtypes numpy lacks."""
    header, blobs, at = {}, [], 0
    for name, (code, shape, raw) in tensors.items():
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def test_safetensors_bf16_and_fp8_against_ml_dtypes(tmp_path, variant):
    once(variant)
    ml = pytest.importorskip("ml_dtypes")
    codes = {"BF16": ml.bfloat16, "F8_E4M3": ml.float8_e4m3fn, "F8_E5M2": ml.float8_e5m2}
    write_safetensors(tmp_path / "q.safetensors", {
        c: (c, X.shape, X.astype(t).tobytes()) for c, t in codes.items()})
    for code, t in codes.items():
        got = load_matrix(tmp_path / "q.safetensors", key=code)
        np.testing.assert_array_equal(got.astype(np.float32), X.astype(t).astype(np.float32))
    every = np.arange(256, dtype=np.uint8)     # all 256 FP8 E4M3 codes, NaN included
    write_safetensors(tmp_path / "all.safetensors", {"t": ("F8_E4M3", (128, 2), every.tobytes())})
    np.testing.assert_array_equal(load_matrix(tmp_path / "all.safetensors").ravel(),
                                  every.view(ml.float8_e4m3fn).astype(np.float32))
    write_safetensors(tmp_path / "bad.safetensors", {"t": ("F32", (40, 6), b"\0" * 100)})
    with pytest.raises(ReportInputError, match="does not hold"):
        load_matrix(tmp_path / "bad.safetensors")


def csv_rows(M, prefix=lambda i: ""):
    return "\n".join(prefix(i) + ",".join(repr(float(v)) for v in r) for i, r in enumerate(M))


@pytest.mark.parametrize("body, note", [
    ("id,a,b,c,d,e,f\n" + csv_rows(X, lambda i: f"{i},"),
     ["x.csv: header row skipped (id, a, b, c, …)", "x.csv: 'id' skipped as an id column "
                                                    "(an id-like name)"]),
    (",a,b,c,d,e,f\n" + csv_rows(X, lambda i: f"{i},"),         # pandas' to_csv
     ["x.csv: header row skipped (, a, b, c, …)", "x.csv: the first column skipped as an id "
                                                  "column (an id-like name)"]),
    ("a,b,c,d,e,f\n" + csv_rows(X), ["x.csv: header row skipped (a, b, c, d, …)"]),
    (csv_rows(X, lambda i: f"{i + 1},"), ["x.csv: the first column skipped as an id column "
                                          "(strictly increasing integers)"]),
    (csv_rows(X, lambda i: f'"doc-{i}",'), ["x.csv: the first column skipped as an id column "
                                            "(non-numbers)"]),
    ("# exported\n" + csv_rows(X), []),
])
def test_csv_header_and_id_column_are_skipped_and_said(tmp_path, npy, body, note, variant):
    once(variant)
    (tmp_path / "x.csv").write_text(body)
    got, notes = read(tmp_path / "x.csv")
    np.testing.assert_allclose(got, X, rtol=1e-7)
    assert notes == note
    same_sample(tmp_path / "x.csv", npy)      # only the sampled lines are parsed


def test_integer_table_keeps_its_first_column(tmp_path, variant):
    once(variant)
    M = np.arange(30).reshape(10, 3) * 3      # every column increasing integers: data, not ids
    (tmp_path / "i.csv").write_text(csv_rows(M))
    got, notes = read(tmp_path / "i.csv")
    np.testing.assert_array_equal(got, M)
    assert notes == []


def test_key_on_a_single_matrix_file_and_missing_package_are_one_line(tmp_path, npy, capsys,
                                                                      monkeypatch, variant):
    once(variant)
    from lowdim import cli
    with pytest.raises(ReportInputError, match=r"--key selects an array of an \.npz"):
        load_matrix(npy, key="emb")
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    for name in ("pyarrow", "pyarrow.parquet"):       # as if not installed
        monkeypatch.setitem(sys.modules, name, None)
    assert cli.main(["report", str(tmp_path / "x.parquet"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (
        'lowdim: error: x.parquet: reading parquet needs pyarrow: pip install "lowdim[report]" '
        '(or pip install pyarrow)')
