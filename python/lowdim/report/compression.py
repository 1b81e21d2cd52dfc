"""The compression section of `lowdim report`: every setting of settings.grid measured on
held-out queries, its Pareto frontier and the smallest setting meeting each recall target.

recall@k = |found ∩ exact k nearest| / k on the float data with the same metric; Spearman
correlation of the codec's distance with the exact one on random (query, base) pairs.
A setting is on the frontier when no other is smaller (or as small) and at least as
accurate, one of the two strictly. Row schema: docs/report.md (SCHEMA_VERSION).
"""
from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

import lowdim

from .io import sample_rows
from .settings import Binary, Setting, grid

if TYPE_CHECKING:
    from .progress import Progress

Row = dict[str, Any]      # one row of the table (docs/report.md); values may be None
F32 = npt.NDArray[np.float32]

SCHEMA_VERSION = 2
TARGETS = (0.99, 0.95, 0.90)
RECALL100_MIN_BASE = 5000        # recall@100 only when 100 is at most 2% of the base
N_PAIRS = 2000


def pick_metric(X: npt.NDArray[Any], metric: str | None = None) -> tuple[str, str]:
    """(metric, why): cosine when every row has norm 1 ± 1e-3, euclidean otherwise."""
    if metric is not None:
        return metric, "chosen with --metric"
    norms = row_norms(X)
    if len(norms) and np.all(np.abs(norms - 1) < 1e-3):
        return "cosine", "default: every row is unit-norm"
    return "euclidean", "default: rows are not unit-norm"


_NORM_ROWS = 8192


def row_norms(X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Euclidean row norms in float64, in blocks of rows (bounded temporaries).

    Squares of float32 values cannot overflow or underflow in float64, so float32 rows go
    straight through; wider input is first scaled by each row's largest |x| so that finite
    rows near the top of the float range do not overflow on the way.
    """
    out = np.empty(len(X))
    for r0 in range(0, len(X), _NORM_ROWS):
        blk = np.asarray(X[r0:r0 + _NORM_ROWS])
        if blk.dtype.itemsize > 4:
            scale = np.abs(blk).max(axis=1).astype(np.float64)
            safe = np.where(scale > 0, scale, 1.0)
            with np.errstate(over="ignore"):   # a norm above 1.8e308 is inf, and reported so
                out[r0:r0 + len(blk)] = np.linalg.norm(blk / safe[:, None], axis=1) * safe
        else:
            b64 = blk.astype(np.float64)
            out[r0:r0 + len(blk)] = np.sqrt(np.einsum("ij,ij->i", b64, b64))
    return out


def rankdata(a: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Ranks 1..n with ties averaged (scipy.stats.rankdata's 'average')."""
    _, inv, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - (counts - 1) / 2.0)[inv]).astype(np.float64)


def spearman(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    ra, rb = rankdata(np.asarray(a)), rankdata(np.asarray(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if den == 0:
        raise ValueError("distances on the sampled pairs are all equal")
    return float((ra * rb).sum() / den)


def pair_distances(Q: npt.NDArray[Any], B: npt.NDArray[Any],
                   metric: str) -> npt.NDArray[np.float64]:
    Q, B = Q.astype(np.float64), B.astype(np.float64)
    d: npt.NDArray[np.float64]
    if metric == "inner_product":
        d = -np.einsum("ij,ij->i", Q, B)
    elif metric == "cosine":
        den = np.linalg.norm(Q, axis=1) * np.linalg.norm(B, axis=1)
        d = 1.0 - np.einsum("ij,ij->i", Q, B) / np.where(den > 0, den, 1.0)
    else:
        d = np.linalg.norm(Q - B, axis=1)
    return d


def recall(pred: npt.NDArray[Any], truth: npt.NDArray[Any]) -> float:
    hits = sum(len(np.intersect1d(p, t)) for p, t in zip(pred, truth))
    return hits / truth.size


def split(X: npt.NDArray[Any], n_queries: int, n_base: int, n_train: int,
          seed: int) -> tuple[F32, ...]:
    """Held-out queries Q, base B (disjoint from Q) and the training part T ⊂ B."""
    n = len(X)
    rows = sample_rows(n, n_queries, seed + 3)
    mask = np.zeros(n, dtype=bool)
    mask[np.arange(n) if rows is None else rows] = True
    q_idx, rest = np.flatnonzero(mask), np.flatnonzero(~mask)
    pick = sample_rows(len(rest), n_base, seed + 4)
    b_idx = rest if pick is None else rest[pick]      # indices: X is copied once per part
    pick = sample_rows(len(b_idx), n_train, seed + 5)
    t_idx = b_idx if pick is None else b_idx[pick]
    return tuple(np.ascontiguousarray(X[i], np.float32) for i in (q_idx, b_idx, t_idx))


def measure(setting: Setting, T: F32, B: F32, Q: F32, truth10: npt.NDArray[Any],
            truth100: npt.NDArray[Any] | None,
            pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
            exact_pairs: npt.NDArray[np.float64], metric: str) -> Row:
    """One row: bytes, recall, Spearman, timings (raises on a codec that fails)."""
    setting.fit(T)
    t0 = time.perf_counter()
    codes = setting.encode(B)
    t_enc = time.perf_counter() - t0
    once = truth100 is not None and setting.k_independent   # top 10 of the k = 100 search
    k = truth100.shape[1] if once and truth100 is not None else truth10.shape[1]
    t0 = time.perf_counter()
    pred = setting.search(Q, codes, k, metric)
    t_search = time.perf_counter() - t0
    row: Row = {"recall_at_10": recall(pred[:, :truth10.shape[1]], truth10),
                "recall_at_100": (None if truth100 is None else recall(
                    pred if once else setting.search(Q, codes, truth100.shape[1], metric),
                    truth100)),
                "encode_vectors_per_s": len(B) / max(t_enc, 1e-9),
                "search_ms_per_query": 1e3 * t_search / len(Q), "search_k": int(k)}
    qi, bi = pairs
    scores = getattr(setting, "pair_scores", lambda *a: None)(Q, codes, qi, bi, metric)
    approx: npt.NDArray[Any]
    if scores is not None:
        approx = scores
    elif isinstance(setting, Binary) and setting.rescore is None:
        bits_q, bits_b = setting.b.encode(Q[qi]), codes[0][bi]
        approx = np.unpackbits(bits_q ^ bits_b, axis=1).sum(axis=1)
    else:
        Qs, Bs = setting.approx(Q, codes, bi, metric)
        assert Qs is not None and Bs is not None    # only plain binary has none: above
        approx = pair_distances(Qs[qi], Bs, metric)
    row["spearman"] = spearman(approx, exact_pairs)
    return row


def pareto(rows: list[Row]) -> None:
    """Mark row["pareto"]: no other measured row is at most as large and at least as
    accurate, one of the two strictly."""
    measured = [r for r in rows if r.get("recall_at_10") is not None]
    for r in rows:
        r["pareto"] = r in measured and not any(
            s["bytes_per_vector"] <= r["bytes_per_vector"] and s["recall_at_10"] >=
            r["recall_at_10"] and (s["bytes_per_vector"] < r["bytes_per_vector"] or
                                   s["recall_at_10"] > r["recall_at_10"]) for s in measured)


def recommend(rows: Sequence[Row], target: float) -> dict[str, Any]:
    """The smallest frontier setting with recall@10 >= target; else the most accurate."""
    front = [r for r in rows if r.get("pareto")]
    if not front:
        return {"target": target, "met": False, "setting": None,
                "text": f"recall@10 ≥ {target:g}: nothing measured"}
    good = [r for r in front if r["recall_at_10"] >= target]
    if good:
        r = min(good, key=lambda r: (r["bytes_per_vector"], -r["recall_at_10"]))
        text = (f"recall@10 ≥ {target:g}: {r['setting']} — {r['bytes_per_vector']:g} bytes/vector"
                f", {r['compression_ratio']:.3g}× smaller than float32, recall@10 "
                f"{r['recall_at_10']:.3f}")
        return {"target": target, "met": True, "setting": r["setting"], "text": text,
                "snippet": r["snippet"]}
    r = max(front, key=lambda r: (r["recall_at_10"], -r["bytes_per_vector"]))
    miss = target - r["recall_at_10"]
    return {"target": target, "met": False, "setting": r["setting"], "miss": miss,
            "snippet": r["snippet"],
            "text": (f"recall@10 ≥ {target:g}: no setting reaches it; closest {r['setting']} "
                     f"(recall@10 {r['recall_at_10']:.3f}, misses by {miss:.3f}, "
                     f"{r['bytes_per_vector']:g} bytes/vector)")}


def notes(rows: Sequence[Row]) -> list[str]:
    """Findings a reader should not miss: what the Hadamard rotation does to int8/int4."""
    by = {r["setting"]: r for r in rows if r.get("recall_at_10") is not None}
    out: list[str] = []
    for kind in ("int4", "int8"):
        a, b = by.get(kind), by.get(kind + "+hadamard")
        if a and b and abs(b["recall_at_10"] - a["recall_at_10"]) >= 0.01:
            verb = "helps" if b["recall_at_10"] > a["recall_at_10"] else "hurts"
            out.append(f"the Hadamard rotation {verb} {kind}: recall@10 {a['recall_at_10']:.3f} "
                       f"→ {b['recall_at_10']:.3f} (it spreads large-magnitude outlier "
                       "dimensions over all coordinates)")
    return out


def compression(X: npt.NDArray[Any], *, quick: bool, seed: int, progress: Progress,
                sizes: Mapping[str, Sequence[int]], metric: str | None = None,
                codecs: Collection[str] | None = None,
                targets: Sequence[float] = TARGETS) -> dict[str, Any]:
    q = int(quick)
    n, d = X.shape
    metric, why = pick_metric(X, metric)
    if metric == "cosine":   # cosine of x is that of x/‖x‖; zero rows have none
        nonzero = row_norms(X) > 0
        X = X if nonzero.all() else X[nonzero]
        n = len(X)
    n_queries = min(sizes["queries"][q], max(1, n // 10))
    Q, B, T = split(X, n_queries, sizes["base"][q], sizes["pq_train"][q], seed)
    if metric == "cosine":   # only the sampled rows are normalised, not the whole file
        Q, B, T = (np.ascontiguousarray((A / row_norms(A)[:, None]).astype(np.float32))
                   for A in (Q, B, T))
    kk = min(10, len(B))
    k100 = 100 if (not quick and len(B) >= RECALL100_MIN_BASE) else None
    out: dict[str, Any]
    out = {"schema_version": SCHEMA_VERSION, "metric": metric, "metric_reason": why,
           "n_queries": int(len(Q)), "n_base": int(len(B)), "n_train": int(len(T)), "k": kk,
           "recall_at_100_measured": k100 is not None, "rows": [], "notes": [],
           "recommendations": []}
    with progress.step(f"exact kNN ground truth ({len(Q)} queries × {len(B)} points, {metric})"):
        try:
            found = lowdim.knn(Q, k100 or kk, Y=B, metric=metric)[1]
        except ValueError as exc:
            out["undefined"] = {"rows": f"exact kNN: {exc}"}
            out["recommendations"] = [recommend([], t) for t in targets]
            return out
    truth10, truth100 = found[:, :kk], (found if k100 else None)
    rng = np.random.default_rng(seed)
    pairs = (rng.integers(0, len(Q), N_PAIRS), rng.integers(0, len(B), N_PAIRS))
    exact_pairs = pair_distances(Q[pairs[0]], B[pairs[1]], metric)
    settings = grid(d, len(T), quick=quick, seed=seed, metric=metric, wanted=codecs)
    f32_bytes = 4.0 * d
    with progress.step(f"{len(settings)} compression settings") as bar:
        for i, s in enumerate(settings):
            bar.advance(i, len(settings))
            row: Row = {"setting": s.name, "family": s.family, "snippet": s.snippet}
            try:
                row.update(measure(s, T, B, Q, truth10, truth100, pairs, exact_pairs, metric))
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                row.update({k: None for k in ("recall_at_10", "recall_at_100", "spearman",
                                              "encode_vectors_per_s", "search_ms_per_query",
                                              "search_k")})
                row["skipped"] = (str(exc).splitlines() or [type(exc).__name__])[0]
            row["bytes_per_vector"] = float(s.bytes_per_vector) or None
            row["compression_ratio"] = (f32_bytes / row["bytes_per_vector"]
                                        if row["bytes_per_vector"] else None)
            out["rows"].append(row)
    out["rows"].sort(key=lambda r: (r["bytes_per_vector"] or 0.0, -(r["recall_at_10"] or 0)))
    pareto(out["rows"])
    out["recommendations"] = [recommend(out["rows"], t) for t in targets]
    out["notes"] = notes(out["rows"])
    return out
