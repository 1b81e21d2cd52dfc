"""Render a report dict as terminal text or one self-contained HTML page.

The HTML page is self-contained: its plots (plots.py, matplotlib) are inline SVG and its
data the report's JSON, so it needs no network to view.
Undefined measures (None) print as "undefined (reason)"; JSON holds null (never NaN,
which is not JSON).
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

Report = dict[str, Any]     # the report dict of analysis.analyse (docs/report.md)


def _fmt(v: object, digits: int = 3) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.{digits}g}"
    return str(v)


def _rows(headers: Sequence[object], rows: Sequence[Sequence[object]]) -> list[str]:
    widths = [max(len(str(h)), *(len(_fmt(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_fmt(c).rjust(w) for c, w in zip(r, widths)) for r in rows]
    return out


def _why(section: Mapping[str, Any], key: str) -> str:
    reason = (section.get("undefined") or {}).get(key)
    return f" ({reason})" if reason and section.get(key) is None else ""


def _value(section: Mapping[str, Any], key: str, digits: int = 3) -> str:
    return _fmt(section.get(key), digits) + _why(section, key)


def json_text(rep: Report) -> str:
    """The report as strict JSON: a non-finite float (an infinite norm) becomes null and
    "nonfinite" maps its path (e.g. "basics.norm.max") to the reason ("inf", "nan")."""
    reasons: dict[str, str] = {}

    def clean(v: Any, path: str) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            reasons[path] = f"{v} is not a JSON number" if math.isnan(v) else \
                f"{v} (overflow) is not a JSON number"
            return None
        if isinstance(v, dict):
            return {k: clean(x, f"{path}.{k}" if path else str(k)) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x, f"{path}[{i}]") for i, x in enumerate(v)]
        return v
    out = clean(rep, "")
    if reasons:
        out["nonfinite"] = reasons
    return json.dumps(out, indent=1, allow_nan=False)


def _script_json(rep: Report) -> str:
    """json_text for a <script> element: the page holds the JSON verbatim (JSON.parse of
    its textContent works; html.escape would turn quotes into &quot;), and every "<" is
    written as the JSON escape \\u003c so no string can close the element ("</script>")."""
    return json_text(rep).replace("<", "\\u003c")


def text(rep: Report, source: str) -> str:
    b, s, c = rep["basics"], rep["shape"], rep["compression"]
    out = [f"lowdim report — {source}"] + [f"Input: {n}" for n in rep.get("input_notes", [])]
    out.append("")
    out.append(f"Basics: n={b['n']}  d={b['d']}  dtype={b['dtype']}  duplicate rows="
               f"{b['duplicate_rows']}  rows with NaN/inf={b['nonfinite_rows']} (excluded)  "
               f"zero rows={b['zero_rows']}")
    if b["norm"]:
        out.append("Norms: " + "  ".join(f"{k}={_fmt(v)}" for k, v in b["norm"].items()))
    out.append("")
    if s is None:
        out.append(f"Shape: undefined ({rep['undefined']['shape']})")
    else:
        out += _shape_lines(s, b["d"])
    out.append("")
    if c is None:
        out.append(f"Compression: undefined ({rep['undefined']['compression']})")
    else:
        out += _compression_lines(c)
    from .geometry import text_lines     # issue 19: geometry / --compare sections
    out += text_lines(rep)
    out += [f"Note: {w}" for w in rep.get("warnings", [])]
    out += ["", f"Backend {rep['config']['backend']} ({rep['config']['isa']}), "
            f"{rep['config']['threads']} threads; total wall time {rep['wall_time_s']:.1f} s"]
    return "\n".join(out)


def _shape_lines(s: Mapping[str, Any], d: int) -> list[str]:
    out = [f"Shape (on {s['n_used']} points; MST/PH0 on {s['mst_n_used']}):"]
    out.append(f"  intrinsic dimension: {_value(s, 'id_calibrated')} (TwoNN-MLE calibrated on "
               f"uniform balls and cubes)   raw: TwoNN {_value(s, 'twonn')}   "
               f"MLE {_value(s, 'mle')}   PH0 {_value(s, 'ph0_dimension')}")
    out.append(f"    ({MEANS['id']})")
    out.append(f"  effective rank (RankMe): {_value(s, 'effective_rank')} of {d}")
    out.append(f"  MST length: {_value(s, 'mst_length', 6)}")
    if s["lid_quantiles"] is None:
        out.append(f"  local ID: undefined{_why(s, 'lid_quantiles')}")
    else:
        out.append("  local ID quantiles: " + "  ".join(
            f"{k}={_fmt(v)}" for k, v in s["lid_quantiles"].items()))
    if s["lid_histogram"] is not None:
        out += ["  local ID histogram:"] + _histogram(s["lid_histogram"])
    return out


MEANS = {
    "recall": "recall@10 = share of the 10 true nearest neighbours (exact search on the float "
              "data) that the compressed search also returns; 1.0 = the same results.",
    "bytes": "bytes/vector = storage of one compressed row, per-row extras included (shared "
             "tables such as PQ codebooks or a PCA matrix are not); float32 takes 4 × d.",
    "id": "intrinsic dimension = how many coordinates the data really uses locally; far below "
          "d means strong reduction (PCA, fewer bits) can keep neighbours.",
}


def _compression_lines(c: Mapping[str, Any]) -> list[str]:
    out = [f"Compression ({c['n_queries']} held-out queries against {c['n_base']} sampled points, "
           f"codecs trained on {c['n_train']} of them, "
           f"metric {c['metric']} ({c['metric_reason']}); * = Pareto frontier:"]
    if (c.get("undefined") or {}).get("rows"):
        out.append(f"  undefined ({c['undefined']['rows']})")
    rows = [r for r in c["rows"] if not r.get("skipped")]
    r100 = c.get("recall_at_100_measured")
    headers = ["", "setting", "bytes/vec", "ratio", "recall@10"] + (["recall@100"] if r100
                                                                    else []) + [
        "spearman", "encode vec/s", "search ms/q"]
    table: list[list[Any]] = []
    for r in rows:
        table.append(["*" if r["pareto"] else "", r["setting"], r["bytes_per_vector"],
                      r["compression_ratio"], r["recall_at_10"]] +
                     ([r["recall_at_100"]] if r100 else []) +
                     [r["spearman"], _fmt(r["encode_vectors_per_s"], 2),
                      r["search_ms_per_query"]])
    if table:
        out += ["  " + line for line in _rows(headers, table)]
    out += [f"  skipped {r['setting']}: {r['skipped']}" for r in c["rows"] if r.get("skipped")]
    out += ["", f"  What this means: {MEANS['recall']}", f"  {MEANS['bytes']}", ""]
    out += [f"Finding: {n}" for n in c.get("notes", [])]
    for rec in c["recommendations"]:
        out.append(f"Recommendation: {rec['text']}")
        if rec.get("snippet"):
            out.append(f"    {rec['snippet']}")
    return out


def _histogram(h: Mapping[str, list[Any]], width: int = 40) -> list[str]:
    counts, edges = h["counts"], h["edges"]
    top = max(counts) or 1
    step = max(1, len(counts) // 10)
    lines = []
    for i in range(0, len(counts), step):
        c = sum(counts[i:i + step])
        lines.append(f"    {edges[i]:6.2f}–{edges[min(i + step, len(edges) - 1)]:6.2f} "
                     f"{'█' * round(width * c / (top * step))} {c}")
    return lines


# ---- HTML -------------------------------------------------------------------------------

def _geometry_notes(rep: Report) -> list[str]:
    from .geometry import html_notes
    return html_notes(rep)


def html_page(rep: Report, source: str) -> str:
    from .plots import plots_html     # matplotlib only here, when a page is written
    plots = plots_html(rep)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>lowdim report</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
            "pre{background:#f6f6f6;padding:1em;overflow:auto}figure{margin:1em 0}"
            "svg{max-width:100%;height:auto}</style></head><body>"
            f"<h1>lowdim report</h1><div>{plots}</div>"
            + "".join(f"<p><small>{html.escape(m)}</small></p>" for m in [*MEANS.values(),
                                                                          *_geometry_notes(rep)])
            + f"<pre>{html.escape(text(rep, source))}</pre>"
            f'<script type="application/json" id="data">{_script_json(rep)}</script>'
            "</body></html>")
