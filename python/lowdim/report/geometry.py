"""The "geometry" section of `lowdim report` (isotropy, spectrum, outlier dimensions,
hubness) and, with `--compare B`, the similarity of two embeddings of the same rows
(linear and debiased CKA, Procrustes, mutual-kNN alignment).

Both come from lowdim.measures.summary / compare_summary on one seeded row sample (one
d × d scatter, one kNN graph), so the section costs well under a second in --quick.
Formulas and papers: docs/measures.md; JSON keys: docs/report.md.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from .. import measures
from .analysis import compute
from .io import SINGLE, ReportInputError, load_matrix, sample_rows
from .readers import READERS, rows_in

if TYPE_CHECKING:
    import argparse

    from .progress import Progress

Section = dict[str, Any]     # a JSON-ready section of the report (docs/report.md)

SIZES = (10000, 2000)     # rows of the geometry sample: (default, --quick)
SEED_OFFSET = 11          # row sample stream seed + 11 (analysis/compression use 1..5)
K = 10                    # hubness and mutual-kNN neighbourhood
UNIFORMITY_PAIRS = 5000   # sampled pairs of the uniformity estimate (stderr in the JSON)
N_WORST = 5               # outlier dimensions listed

MEANS = {
    "isotropy": "isotropy = how evenly the variance spreads over directions: IsoScore 1 = "
                "every direction alike, near 0 = a few directions carry it; mean cosine near "
                "0 = rows point every way, near 1 = all rows share one direction.",
    "spectrum": "spectrum = effective rank counts the directions in use (of d); α-ReQ is "
                "the power-law decay of the variance spectrum (larger = faster decay, "
                "fewer useful dimensions).",
    "outliers": "outlier dimensions = coordinates with over 5 × the mean variance; they "
                "dominate dot products and distances, and hurt low-bit quantisation.",
    "hubness": "hubness = skew of how often each row is someone's 10-NN: large skew means "
               "a few hubs crowd every result list; anti-hubs are never retrieved.",
    "compare": "CKA 1 = the two spaces agree up to rotation and scale (0 = unrelated); "
               "Procrustes 0 = one is a rotation of the other; mutual-kNN = share of the 10 "
               "neighbours both spaces agree on.",
}


def _finite(X: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Boolean mask of the rows without NaN/inf (the report excludes the others)."""
    return cast("npt.NDArray[np.bool_]", np.isfinite(X).all(axis=1))   # 2-D X: an array


def _as_float(X: npt.NDArray[Any]) -> npt.NDArray[np.floating[Any]]:
    return np.ascontiguousarray(X, dtype=np.float32 if X.dtype.itemsize <= 4 else np.float64)


def n_rows(path: str, key: str | None) -> int:
    """Rows of the whole file (cheap for .npy, .fvecs/.bvecs, parquet, HDF5 and safetensors;
    a full read otherwise)."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            return int(np.load(p, mmap_mode="r", allow_pickle=False).shape[0])
        if suffix in (".fvecs", ".bvecs"):
            d = int(np.fromfile(p, dtype="<i4", count=1)[0])
            return p.stat().st_size // (4 + d * (4 if suffix == ".fvecs" else 1))
        if suffix in READERS:     # parquet, HDF5, safetensors: from their metadata
            return rows_in(p, key)
    except (OSError, ValueError, IndexError, KeyError):
        pass                                    # load_matrix gives the one-line reason
    return len(load_matrix(path, key=key))


def load_compare(args: argparse.Namespace, X: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The --compare matrix: the same (sampled) rows as X, or ReportInputError."""
    if args.file is None:
        raise ReportInputError("--compare needs FILE (the first embedding of the rows)")
    key_b = None if Path(args.compare).suffix.lower() in SINGLE else args.key   # B may be .npy
    Y = load_matrix(args.compare, key=key_b, n_sample=args.sample, seed=args.seed)
    nx, ny = ((n_rows(args.file, args.key), n_rows(args.compare, key_b)) if args.sample
              else (len(X), len(Y)))
    if nx != ny:
        raise ReportInputError(f"--compare {args.compare} has {ny} rows but {args.file} has "
                               f"{nx}; the two embeddings must hold the same rows in the "
                               "same order")
    return Y


def geometry(X: npt.NDArray[Any], *, quick: bool, seed: int,
             finite: bool = False) -> tuple[Section | None, str | None]:
    """(section, None), or (None, reason) when the geometry is undefined for X.
    finite=True: X is known to hold no NaN/inf (the report's basics counted them)."""
    keep = None if finite else _finite(X)
    X = X if keep is None or keep.all() else X[keep]     # no copy of a clean matrix
    rows = sample_rows(len(X), SIZES[int(quick)], seed + SEED_OFFSET)
    S = _as_float(X if rows is None else X[rows])
    if len(S) < 4:
        return None, f"only {len(S)} finite rows; needs at least 4"
    k = min(K, len(S) - 1)
    out, why = compute(lambda: measures.summary(S, k=k, n_outliers=N_WORST, seed=seed,
                                                max_pairs=UNIFORMITY_PAIRS))
    if out is not None:
        out = {"schema_version": 1, "n_used": int(len(S)), "seed": seed, **out}
    return out, why


def compare(X: npt.NDArray[Any], Y: npt.NDArray[Any], *, quick: bool, seed: int,
            source: str | None, finite: bool = False) -> tuple[Section | None, str | None]:
    """(section, None) for two embeddings of the same rows, or (None, reason).
    finite=True: X is known to hold no NaN/inf (Y is checked)."""
    both = _finite(Y) if finite else _finite(X) & _finite(Y)
    if not both.all():
        X, Y = X[both], Y[both]
    rows = sample_rows(len(X), SIZES[int(quick)], seed + SEED_OFFSET)
    if rows is not None:
        X, Y = X[rows], Y[rows]
    X, Y = _as_float(X), _as_float(Y)
    if len(X) < 4:
        return None, f"only {len(X)} rows finite in both; needs at least 4"
    out, why = compute(lambda: measures.compare_summary(X, Y, k=min(K, len(X) - 1)))
    if out is not None:
        out = {"schema_version": 1, "source": source, "n_used": int(len(X)), "seed": seed,
               "rows_excluded": int((~both).sum()), **out}
    return out, why


def add_to_report(rep: Section, X: npt.NDArray[Any], Y: npt.NDArray[Any] | None = None, *,
                  quick: bool, seed: int, progress: Progress,
                  compare_source: str | None = None) -> None:
    """rep["geometry"] (and rep["compare"] when Y is given), timed like the other steps;
    an undefined section is None with its reason in rep["undefined"]."""
    finite = (rep.get("basics") or {}).get("nonfinite_rows") == 0
    jobs: list[tuple[str, Callable[[], tuple[Section | None, str | None]]]] = [
        ("geometry", lambda: geometry(X, quick=quick, seed=seed, finite=finite))]
    if Y is not None:
        jobs.append(("compare", lambda: compare(X, Y, quick=quick, seed=seed,
                                                source=compare_source, finite=finite)))
    for name, job in jobs:
        with progress.step(f"{name} measures"):
            rep[name], why = job()
        if why is not None:
            rep.setdefault("undefined", {})[name] = why
        rep["wall_time_s"] = round(rep["wall_time_s"] + progress.timings[f"{name} measures"], 3)
    rep["timings_s"] = progress.timings


def text_lines(rep: Section) -> list[str]:
    """The printed geometry (and compare) section; [] when the report has neither."""
    from .render import _fmt
    out: list[str] = []
    if "geometry" in rep:
        g = rep["geometry"]
        if g is None:
            out += ["", f"Geometry: undefined ({rep['undefined']['geometry']})"]
        else:
            od = g["outlier_dimensions"]
            worst = ", ".join(f"{i} ({_fmt(s)}×)" for i, s in od["worst"]) or "none"
            out += ["", f"Geometry (on {g['n_used']} points):",
                    f"  isotropy: IsoScore {_fmt(g['isoscore'])}   mean cosine "
                    f"{_fmt(g['mean_cosine'])}   W2 to isotropic {_fmt(g['w2_isotropy'])}",
                    f"    ({MEANS['isotropy']})",
                    f"  spectrum: effective rank (RankMe) {_fmt(g['effective_rank'])} of "
                    f"{g['d']} (centred {_fmt(g['effective_rank_centered'])})   α-ReQ "
                    f"{_fmt(g['alpha_req'])} (R² {_fmt(g['alpha_req_r2'])})",
                    f"    ({MEANS['spectrum']})",
                    f"  outlier dimensions: {od['count']}; worst: {worst}",
                    f"    ({MEANS['outliers']})",
                    f"  hubness (k={g['hubness_k']}): skewness {_fmt(g['hubness_skewness'])}"
                    f"   anti-hubs {_fmt(g['antihub_share'])}   hubs (> 2k) "
                    f"{_fmt(g['hub_share'])}",
                    f"    ({MEANS['hubness']})"]
    if "compare" in rep:
        c = rep["compare"]
        if c is None:
            out += ["", f"Compare: undefined ({rep['undefined']['compare']})"]
        else:
            out += ["", f"Compare with {c['source']} (on {c['n_used']} paired rows; d "
                        f"{c['d_x']} vs {c['d_y']}):",
                    f"  linear CKA {_fmt(c['linear_cka'])}   debiased "
                    f"{_fmt(c['linear_cka_debiased'])}   Procrustes {_fmt(c['procrustes'])}"
                    f"   mutual-kNN (k={c['mutual_knn_k']}) "
                    f"{_fmt(c['mutual_knn_alignment'])}",
                    f"    ({MEANS['compare']})"]
    return out


def html_notes(rep: Section) -> list[str]:
    """The "what this means" lines of the sections present, for the HTML page."""
    keys = (["isotropy", "spectrum", "outliers", "hubness"] if rep.get("geometry") else [])
    return [MEANS[k] for k in keys + (["compare"] if rep.get("compare") else [])]
