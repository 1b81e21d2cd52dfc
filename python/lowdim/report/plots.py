"""The plots of the `lowdim report --html` page, drawn with matplotlib and inlined as SVG:
the compression frontier (recall@10 vs bytes per vector, with the recall targets), the
variance spectrum (cumulative share vs principal components, with 90/95/99 % lines and the
effective rank), the PH0 scale curve (MST length E_α(n) vs n, log-log, with its fit) and
the local-ID histogram (with the median and the global ID).

matplotlib is imported only here, when a page is written (`lowdim --help` stays fast). The
SVG is deterministic: a fixed svg.hashsalt per plot, no date or creator in its metadata,
text as <text> elements. Without matplotlib the page says how to get the plots.
"""
from __future__ import annotations

import html
import importlib
import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# matplotlib is optional: its Figure class, figures and axes are Any here
Section = Mapping[str, Any]     # a section of the report dict (docs/report.md)

INSTALL = 'pip install "lowdim[report]"'
TARGET_STYLE = {"color": "#888888", "linestyle": "--", "linewidth": 0.9}
FAMILY_COLORS = {"float32": "#000000", "scalar": "#1f77b4", "scalar+hadamard": "#17becf",
                 "binary": "#7f7f7f", "pq": "#d62728", "pca": "#2ca02c", "truncate": "#ff7f0e",
                 "srht": "#9467bd", "sparse_rp": "#8c564b", "rabitq": "#e377c2",
                 "opq": "#ff9896"}


def _figure_class() -> Any:
    """matplotlib's Figure (no pyplot: no global state, no GUI backend), or None."""
    try:
        importlib.import_module("matplotlib")
        return importlib.import_module("matplotlib.figure").Figure
    except ImportError:
        return None


def _svg(fig: Any, name: str) -> str:
    import matplotlib
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"lowdim-{name}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]           # drop the XML prolog and DOCTYPE
    # the page's SVGs share one id namespace: prefix every id and reference to one
    return re.sub(r'( id="|url\(#|href="#)', rf"\g<1>{name}-", text)


def _plain(axis: Any, minor: str = "") -> None:
    """Tick labels of a log axis as plain numbers (16, 100) instead of 2^4 or 10^2; minor
    ticks are labelled when their leading digit is in `minor` ("25": 200, 500)."""
    from matplotlib.ticker import FuncFormatter
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if f"{v:e}"[0] in minor else ""))


def _axes(Figure: Any, w: float, h: float, title: str, xlabel: str,
          ylabel: str) -> tuple[Any, Any]:
    fig = Figure(figsize=(w, h), dpi=100)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", color="#dddddd", linewidth=0.7)
    ax.set_axisbelow(True)
    return fig, ax


def frontier(Figure: Any, c: Section, targets: Sequence[float]) -> str | None:
    from matplotlib.ticker import LogLocator
    pts = [r for r in c["rows"] if r.get("recall_at_10") is not None and r["bytes_per_vector"]]
    if not pts:
        return None
    fig, ax = _axes(Figure, 9, 5.4, "Compression: recall@10 vs bytes per vector "
                    "(line: Pareto frontier)", "bytes per vector (log scale)", "recall@10")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=2))
    _plain(ax.xaxis)
    for fam in [f for f in FAMILY_COLORS if any(r["family"] == f for r in pts)] + sorted(
            {r["family"] for r in pts} - set(FAMILY_COLORS)):
        mine = [r for r in pts if r["family"] == fam]
        ax.scatter([r["bytes_per_vector"] for r in mine], [r["recall_at_10"] for r in mine],
                   s=[30 if r["pareto"] else 12 for r in mine], label=fam, zorder=3,
                   color=FAMILY_COLORS.get(fam, "#bcbd22"))
    front = sorted((r["bytes_per_vector"], r["recall_at_10"], r["setting"])
                   for r in pts if r["pareto"])
    ax.plot([f[0] for f in front], [f[1] for f in front], color="#444444", linewidth=1.2,
            drawstyle="steps-post", zorder=2)
    for x, y, name in front:
        ax.annotate(name, (x, y), xytext=(4, -10), textcoords="offset points", fontsize=7)
    low = min(min(r["recall_at_10"] for r in pts), min(targets))
    ax.set_ylim(max(0.0, low - 0.05), 1.01)
    for rec in c.get("recommendations", []):
        t = rec["target"]
        ax.axhline(t, gid=f"target-{t:g}", **TARGET_STYLE)
        ax.annotate(f"target {t:g}", (1.0, t), xycoords=("axes fraction", "data"),
                    xytext=(-4, 2), textcoords="offset points", ha="right", fontsize=7,
                    color="#666666")
    ax.legend(fontsize=7, loc="lower right", title="family", title_fontsize=7)
    return _svg(fig, "frontier")


def spectrum(Figure: Any, s: Section) -> str | None:
    import numpy as np
    sp = s.get("spectrum")
    if not sp or not sp["variance_share"]:
        return None
    cum = np.cumsum(sp["variance_share"])
    k = np.arange(1, len(cum) + 1)
    fig, ax = _axes(Figure, 6.4, 3.8, f"Variance spectrum ({sp['components']} components)",
                    "principal components (log scale)", "cumulative variance share")
    ax.set_xscale("log")
    _plain(ax.xaxis)
    ax.plot(k, cum, color="#1f77b4", marker="." if len(k) <= 64 else None)
    ax.set_ylim(0, 1.01)
    for t in (0.90, 0.95, 0.99):
        ax.axhline(t, gid=f"target-{t:g}", **TARGET_STYLE)
        need = int(np.searchsorted(cum, t - 1e-12)) + 1
        if need <= len(cum):
            ax.annotate(f"{t:.0%}: {need}", (need, t), xytext=(3, -10),
                        textcoords="offset points", fontsize=7)
    if s.get("effective_rank") is not None:
        ax.axvline(s["effective_rank"], color="#d62728", linewidth=0.9,
                   gid="effective-rank",
                   label=f"effective rank {s['effective_rank']:.3g}")
        ax.legend(fontsize=7, loc="lower right")
    return _svg(fig, "spectrum")


def scale_curve(Figure: Any, s: Section) -> str | None:
    fit = s.get("ph0_fit")
    if not fit or s.get("ph0_dimension") is None:
        return None
    pairs = [(n, e) for n, e in zip(fit["n"], fit["E"]) if n > 0 and e > 0]
    if len(pairs) < 2:
        return None
    ln, le = [math.log(n) for n, _ in pairs], [math.log(e) for _, e in pairs]
    mx, my = sum(ln) / len(ln), sum(le) / len(le)
    slope = (sum((a - mx) * (b - my) for a, b in zip(ln, le))
             / max(1e-300, sum((a - mx) ** 2 for a in ln)))
    fig, ax = _axes(Figure, 6.4, 3.8, "PH0 scale curve: MST length E_α(n) vs points n",
                    "points n (log scale)", "E_α(n) (log scale)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain(ax.xaxis, minor="25")
    _plain(ax.yaxis, minor="23456789" if max(le) - min(le) < math.log(10) else "25")
    ax.grid(True, which="minor", color="#f0f0f0", linewidth=0.5)
    ax.plot([n for n, _ in pairs], [e for _, e in pairs], "o", color="#d62728",
            label="mean over reruns")
    ends = [pairs[0][0], pairs[-1][0]]
    ax.plot(ends, [math.exp(my + slope * (math.log(n) - mx)) for n in ends], "--",
            color="#555555", gid="fit",
            label=f"fit: slope {slope:.3f} → PH0 dimension {s['ph0_dimension']:.3g}")
    ax.legend(fontsize=7, loc="upper left")
    return _svg(fig, "scale")


def lid_histogram(Figure: Any, s: Section) -> str | None:
    h = s.get("lid_histogram")
    if not h:
        return None
    edges, counts = h["edges"], h["counts"]
    fig, ax = _axes(Figure, 6.4, 3.8, "Local intrinsic dimension (MLE, k = 20)",
                    "local ID", "points")
    ax.bar(edges[:-1], counts, width=[b - a for a, b in zip(edges, edges[1:])], align="edge",
           color="#1f77b4", edgecolor="white", linewidth=0.4)
    q = s.get("lid_quantiles") or {}
    if q.get("p50") is not None:
        ax.axvline(q["p50"], color="#444444", linewidth=0.9, gid="median",
                   label=f"median {q['p50']:.3g}")
    if s.get("id_calibrated") is not None:
        ax.axvline(s["id_calibrated"], color="#d62728", linewidth=0.9, linestyle="--",
                   gid="global-id", label=f"intrinsic dimension {s['id_calibrated']:.3g}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return _svg(fig, "lid")


def plots_html(rep: Mapping[str, Any]) -> str:
    """Every plot the report has data for, each as an inline <svg> in a <figure>; or, without
    matplotlib, one paragraph saying how to get them."""
    Figure = _figure_class()
    if Figure is None:
        return (f"<p class='noplots'>Plots need matplotlib, which is not installed: "
                f"<code>{html.escape(INSTALL)}</code> (or <code>pip install matplotlib</code>)"
                " and write the page again. Every number is in the tables below.</p>")
    s, c = rep.get("shape"), rep.get("compression")
    targets = [r["target"] for r in (c or {}).get("recommendations", [])] or [0.9]
    svgs = [frontier(Figure, c, targets) if c else None]
    if s:
        svgs += [spectrum(Figure, s), scale_curve(Figure, s), lid_histogram(Figure, s)]
    return "".join(f"<figure>{svg}</figure>" for svg in svgs if svg)
