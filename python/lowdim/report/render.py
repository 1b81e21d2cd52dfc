"""Render a report dict as terminal text or one self-contained HTML page.

The HTML draws its plots (LID histogram, recall vs bytes per vector, PH0 fit) as
inline SVG written here, so it needs no plotting library and no network to view.
Undefined measures (None) print as "undefined (reason)"; JSON holds null (never NaN,
which is not JSON).
"""
from __future__ import annotations

import html
import json
import math


def _fmt(v, digits=3):
    if v is None:
        return "undefined"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.{digits}g}"
    return str(v)


def _rows(headers, rows):
    widths = [max(len(str(h)), *(len(_fmt(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_fmt(c).rjust(w) for c, w in zip(r, widths)) for r in rows]
    return out


def _why(section: dict, key: str) -> str:
    reason = (section.get("undefined") or {}).get(key)
    return f" ({reason})" if reason and section.get(key) is None else ""


def _value(section: dict, key: str, digits=3) -> str:
    return _fmt(section.get(key), digits) + _why(section, key)


def json_text(rep: dict) -> str:
    """The report as JSON; a non-finite float (an infinite norm) becomes null."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(rep), indent=1, allow_nan=False)


def text(rep: dict, source: str) -> str:
    b, s, c = rep["basics"], rep["shape"], rep["compression"]
    out = [f"lowdim report — {source}", ""]
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
    out += [f"Note: {w}" for w in rep.get("warnings", [])]
    out += ["", f"Backend {rep['config']['backend']} ({rep['config']['isa']}), "
            f"{rep['config']['threads']} threads; total wall time {rep['wall_time_s']:.1f} s"]
    return "\n".join(out)


def _shape_lines(s: dict, d: int) -> list:
    out = [f"Shape (on {s['n_used']} points; MST/PH0 on {s['mst_n_used']}):"]
    out.append(f"  intrinsic dimension: {_value(s, 'id_calibrated')} (TwoNN calibrated on "
               f"uniform balls)   raw: TwoNN {_value(s, 'twonn')}   MLE {_value(s, 'mle')}   "
               f"PH0 {_value(s, 'ph0_dimension')}")
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


def _compression_lines(c: dict) -> list:
    out = [f"Compression ({c['n_queries']} held-out queries against {c['n_base']} points, "
           f"recall@{c['k']} vs exact kNN):"]
    for part in ("projections", "pq"):
        if (c.get("undefined") or {}).get(part):
            out.append(f"  {part}: undefined ({c['undefined'][part]})")
    ratio = lambda p, q: None if p["distance_ratio"] is None else p["distance_ratio"][q]  # noqa: E731
    if c["projections"]:
        out += ["  " + r for r in _rows(
            ["method", "k", "bytes/vec", "recall", "dist ratio p5", "p50", "p95"],
            [[p["method"], p["k"], p["bytes_per_vector"], p["recall_at_10"],
              ratio(p, "p5"), ratio(p, "p50"), ratio(p, "p95")] for p in c["projections"]])]
        out += [f"  {p['method']} k={p['k']}: undefined ({p['undefined']})"
                for p in c["projections"] if p.get("undefined")]
        out.append("")
    if c["pq"]:
        out += ["  " + r for r in _rows(
            ["PQ M", "nbits", "bytes/vec", "recall", "MSE", "MSE / mean ‖x‖²"],
            [[p["M"], p["nbits"], p["bytes_per_vector"], p["recall_at_10"], p["mse"],
              p["relative_mse"]] for p in c["pq"]])]
        out += [f"  PQ M={p['M']}: undefined ({p['undefined']})"
                for p in c["pq"] if p.get("undefined")]
    out += ["", f"Recommendation: {c['recommendation']}"]
    return out


def _histogram(h, width=40):
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

def _svg_axes(title, xlabel, ylabel, xs, ys, draw, w=460, h=300, logx=False, y_from_zero=True):
    pad = 48
    fx = (lambda v: math.log(v)) if logx else (lambda v: v)
    x0, x1 = min(map(fx, xs)), max(map(fx, xs))
    y0, y1 = (min(0.0, min(ys)) if y_from_zero else min(ys)), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    X = lambda v: pad + (fx(v) - x0) / (x1 - x0) * (w - 2 * pad)          # noqa: E731
    Y = lambda v: h - pad + (y0 - v) / (y1 - y0) * (h - 2 * pad)           # noqa: E731
    body = draw(X, Y)
    return (f'<svg width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg" '
            f'font-family="sans-serif" font-size="11">'
            f'<text x="{w / 2}" y="16" text-anchor="middle" font-weight="bold">{html.escape(title)}</text>'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#333"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#333"/>'
            f'<text x="{w / 2}" y="{h - 10}" text-anchor="middle">{html.escape(xlabel)}</text>'
            f'<text x="12" y="{h / 2}" transform="rotate(-90 12 {h / 2})" text-anchor="middle">'
            f'{html.escape(ylabel)}</text>'
            f'<text x="{pad}" y="{h - pad + 14}" text-anchor="middle">{_fmt(min(xs))}</text>'
            f'<text x="{w - pad}" y="{h - pad + 14}" text-anchor="middle">{_fmt(max(xs))}</text>'
            f'<text x="{pad - 4}" y="{pad}" text-anchor="end">{_fmt(y1)}</text>'
            f'<text x="{pad - 4}" y="{h - pad}" text-anchor="end">{_fmt(y0)}</text>'
            f'{body}</svg>')


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def _lid_plot(s):
    h = s["lid_histogram"]
    if h is None:
        return ""
    edges, counts = h["edges"], h["counts"]

    def draw(X, Y):
        return "".join(f'<rect x="{X(edges[i])}" y="{Y(c)}" width="{max(1, X(edges[i + 1]) - X(edges[i]) - 1)}" '
                       f'height="{Y(0) - Y(c)}" fill="#1f77b4"/>' for i, c in enumerate(counts))
    return _svg_axes("Local intrinsic dimension", "LID (MLE, k=20)", "points", edges,
                     [float(c) for c in counts], draw)


def _recall_plot(c):
    series = {}
    for p in c["projections"]:
        if p["recall_at_10"] is not None:
            series.setdefault(p["method"], []).append((p["bytes_per_vector"], p["recall_at_10"]))
    series["PQ"] = [(p["bytes_per_vector"], p["recall_at_10"]) for p in c["pq"]
                    if p["recall_at_10"] is not None]
    series = {name: pts for name, pts in series.items() if pts}
    if not series:
        return ""
    xs = [x for pts in series.values() for x, _ in pts]

    def draw(X, Y):
        out = []
        for i, (name, pts) in enumerate(series.items()):
            pts = sorted(pts)
            col = COLORS[i % len(COLORS)]
            out.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="'
                       + " ".join(f"{X(x)},{Y(y)}" for x, y in pts) + '"/>')
            out += [f'<circle cx="{X(x)}" cy="{Y(y)}" r="3" fill="{col}"/>' for x, y in pts]
            out.append(f'<text x="{X(min(xs)) + 10}" y="{60 + 14 * i}" fill="{col}">{html.escape(name)}</text>')
        return "".join(out)
    return _svg_axes("recall@10 vs bytes per vector", "bytes per vector (log)", "recall@10",
                     xs, [0.0, 1.0], draw, logx=True)


def _ph_plot(s):
    fit = s.get("ph0_fit")
    if not fit or s.get("ph0_dimension") is None:
        return ""
    ln = [math.log(v) for v in fit["n"]]
    le = [math.log(v) if v > 0 else 0.0 for v in fit["E"]]
    slope = (sum((a - sum(ln) / len(ln)) * (b - sum(le) / len(le)) for a, b in zip(ln, le))
             / max(1e-12, sum((a - sum(ln) / len(ln)) ** 2 for a in ln)))

    mx, my = sum(ln) / len(ln), sum(le) / len(le)

    def draw(X, Y):
        pts = "".join(f'<circle cx="{X(a)}" cy="{Y(b)}" r="3" fill="#d62728"/>' for a, b in zip(ln, le))
        line = (f'<line x1="{X(ln[0])}" y1="{Y(my + slope * (ln[0] - mx))}" x2="{X(ln[-1])}" '
                f'y2="{Y(my + slope * (ln[-1] - mx))}" stroke="#555" stroke-dasharray="4"/>')
        return pts + line + (f'<text x="60" y="40">slope {slope:.3f} → PH0 dimension '
                             f'{_fmt(s["ph0_dimension"])}</text>')
    return _svg_axes("PH0 fit: log E_α vs log n", "log n", "log E_α", ln, le, draw,
                     y_from_zero=False)


def html_page(rep: dict, source: str) -> str:
    s, c = rep["shape"], rep["compression"]
    plots = ((_lid_plot(s) + _ph_plot(s) if s else "") + (_recall_plot(c) if c else ""))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>lowdim report</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
            "pre{background:#f6f6f6;padding:1em;overflow:auto}svg{margin:.5em}</style></head><body>"
            f"<h1>lowdim report</h1><div>{plots}</div><pre>{html.escape(text(rep, source))}</pre>"
            f"<script type='application/json' id='data'>{html.escape(json_text(rep))}</script>"
            "</body></html>")
