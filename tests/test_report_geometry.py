"""`lowdim report`'s geometry section and `--compare` (issue 19), run as a subprocess.

The JSON numbers must equal direct lowdim.measures calls on the same seeded row sample;
X against a rotation of X must give CKA 1, Procrustes 0 and mutual-kNN alignment 1;
mismatched rows must end in one line on stderr and exit status 2. Small inputs, each
end-to-end run once (the measures themselves are tested per backend in test_measures.py).
"""
import argparse
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

import lowdim
from lowdim import measures as M
from lowdim.report import ReportInputError, geometry
from lowdim.report.io import sample_rows
from test_report import one_line_error, run_cli

pytestmark = pytest.mark.filterwarnings("error")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "report.md"


def once(variant):
    if variant != "numpy":
        pytest.skip("an end-to-end run per suite is enough; the kernels are tested per backend")


def embedding(n, d, seed, outlier=3):
    """Anisotropic float rows with a common mean and one outlier dimension."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 1.5, d) + 0.7
    X[:, outlier] *= 6.0
    return X


def documented_keys(section):
    """Keys in the `| key | ... |` table under docs/report.md's heading for `section`."""
    text = DOCS.read_text()
    part = text[text.index(f"## Schema (`{section}`"):]
    part = part[:part.find("\n## ", 4)] if "\n## " in part[4:] else part
    return {k for row in re.findall(r"^\| (`[^|]+`) \|", part, re.M)
            for k in re.findall(r"`([a-z_0-9]+)`", row)}


def test_geometry_and_compare_json_equal_direct_measures(tmp_path, variant, rng):
    """One run: the geometry of X on its seeded sample, and X against a rotated and scaled
    copy of itself (--compare): CKA 1, Procrustes 0, mutual-kNN alignment 1."""
    once(variant)
    n, d, seed = 2300, 16, 3      # > the --quick sample of 2000 rows: a real subsample
    X = embedding(n, d, 0)
    Y = 2.5 * X @ np.linalg.qr(rng.standard_normal((d, d)))[0]
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    res = run_cli("report", str(tmp_path / "x.npy"), "--compare", str(tmp_path / "y.npy"),
                  "--quick", "--quiet", "--codecs", "int8", "--seed", str(seed), "--json",
                  str(out), "--html", str(page), backend="numpy")
    assert res.returncode == 0, res.stderr
    rep = json.loads(out.read_text())
    g, c = rep["geometry"], rep["compare"]
    rows = sample_rows(n, geometry.SIZES[1], seed + geometry.SEED_OFFSET)
    assert g["n_used"] == c["n_used"] == len(rows) == 2000 and g["seed"] == seed
    S, T = X[rows], Y[rows]
    lowdim.set_backend("numpy")
    want = M.summary(S, k=10, n_outliers=5, seed=seed, max_pairs=geometry.UNIFORMITY_PAIRS)
    for key, value in want.items():
        if isinstance(value, float):
            assert g[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        else:
            assert g[key] == value, key
    # the same numbers as the single public functions
    assert g["isoscore"] == pytest.approx(M.isoscore(S), rel=1e-12)
    assert g["mean_cosine"] == pytest.approx(M.mean_cosine(S), rel=1e-12)
    assert g["effective_rank"] == pytest.approx(M.effective_rank(S), rel=1e-12)
    assert g["effective_rank_centered"] == pytest.approx(M.effective_rank(S, center=True),
                                                         rel=1e-12)
    assert g["alpha_req"] == pytest.approx(M.alpha_req(S).alpha, rel=1e-12)
    assert g["hubness_skewness"] == pytest.approx(M.hubness(S, 10).skewness, rel=1e-12)
    assert g["outlier_dimensions"]["count"] == 1 and g["outlier_dimensions"]["worst"][0][0] == 3
    assert g["uniformity_pairs"] == geometry.UNIFORMITY_PAIRS and g["undefined"] == {}
    # compare: known answers, and the library's numbers on the same rows
    assert c["rows_excluded"] == 0 and c["source"].endswith("y.npy")
    assert c["linear_cka"] == pytest.approx(1.0, abs=1e-12)
    assert c["linear_cka_debiased"] == pytest.approx(1.0, abs=1e-12)
    assert c["procrustes"] == pytest.approx(0.0, abs=1e-12)
    assert c["mutual_knn_alignment"] == 1.0
    for key, value in M.compare_summary(S, T, k=10).items():
        assert c[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    # printed, explained, on the page, and every key documented
    assert "Geometry (on 2000 points)" in res.stdout and "worst: 3 (" in res.stdout
    assert "Compare with" in res.stdout and "linear CKA 1" in res.stdout
    html_text = page.read_text()
    for meaning in geometry.html_notes(rep):
        assert meaning.split(" = ")[0] in res.stdout
        assert f"<p><small>{html.escape(meaning)}</small></p>" in html_text
    assert set(g) == documented_keys("geometry") and set(c) == documented_keys("compare")


def test_compare_with_other_rows_is_one_line_and_exit_2(tmp_path, variant):
    """With --sample both files give 50 rows: the whole files' row counts must be compared."""
    once(variant)
    np.save(tmp_path / "a.npy", embedding(120, 5, 4).astype(np.float32))
    np.save(tmp_path / "b.npy", embedding(110, 5, 5).astype(np.float32))
    res = run_cli("report", str(tmp_path / "a.npy"), "--compare", str(tmp_path / "b.npy"),
                  "--quick", "--quiet", "--sample", "50", backend="numpy")
    line = one_line_error(res)
    assert "110 rows" in line and "120" in line and "same rows" in line


def args_for(file, compare, sample=None):
    return argparse.Namespace(file=file, compare=compare, key=None, sample=sample, seed=0)


def test_load_compare_refuses_other_rows_bad_files_and_no_file(tmp_path, variant):
    once(variant)
    a, b, bad = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "bad.npy"
    X = embedding(40, 4, 6)
    np.save(a, X)
    np.save(b, X[:30])
    bad.write_bytes(b"not numpy")
    with pytest.raises(ReportInputError, match="has 30 rows but .* has 40"):
        geometry.load_compare(args_for(str(a), str(b)), X)
    with pytest.raises(ReportInputError, match="bad.npy"):
        geometry.load_compare(args_for(str(a), str(bad)), X)
    with pytest.raises(ReportInputError, match="needs FILE"):
        geometry.load_compare(args_for(None, str(a)), X)
    np.testing.assert_array_equal(geometry.load_compare(args_for(str(a), str(a), 10), X[:10]),
                                  geometry.load_compare(args_for(str(a), str(a), 10), X)[:10])


def test_compare_of_unrelated_spaces_excludes_nonfinite_rows(variant):
    X, Y = embedding(400, 10, 2), embedding(400, 6, 3, outlier=0)
    X[7, 2] = np.nan                       # excluded from both, and counted
    c, why = geometry.compare(X, Y, quick=True, seed=0, source="b.npy")
    keep = np.isfinite(X).all(axis=1)
    assert why is None and c["rows_excluded"] == 1 and c["n_used"] == 399
    assert (c["d_x"], c["d_y"]) == (10, 6)
    assert c["linear_cka"] == pytest.approx(M.linear_cka(X[keep], Y[keep]), rel=1e-12)
    assert abs(c["linear_cka_debiased"]) < 0.05 and c["mutual_knn_alignment"] < 0.2


def test_undefined_geometry_gives_a_reason(variant):
    rep = {"wall_time_s": 0.0}

    class Progress:
        timings = {}

        def step(self, name):
            import contextlib
            self.timings[name] = 0.0
            return contextlib.nullcontext()

    const = np.ones((30, 4))
    geometry.add_to_report(rep, const, const, quick=True, seed=0, progress=Progress())
    assert rep["geometry"] is None and "constant" in rep["undefined"]["geometry"]
    assert rep["compare"] is None and "constant" in rep["undefined"]["compare"]
    text = "\n".join(geometry.text_lines(rep))
    assert "Geometry: undefined (" in text and "Compare: undefined (" in text
    few = np.full((5, 3), np.nan)
    few[:3] = np.arange(9.0).reshape(3, 3)
    assert geometry.geometry(few, quick=True, seed=0) == (
        None, "only 3 finite rows; needs at least 4")


def test_huge_and_subnormal_rows_give_finite_geometry(variant):
    X = embedding(200, 6, 7)
    for scale in (1e300, 1e-310):
        g, why = geometry.geometry(X * scale, quick=True, seed=0)
        assert why is None
        ref, _ = geometry.geometry(X, quick=True, seed=0)
        for key in ("isoscore", "mean_cosine", "effective_rank", "hubness_skewness"):
            assert g[key] == pytest.approx(ref[key], rel=1e-6), (scale, key)
