"""The plots of `lowdim report --html` (matplotlib, inline SVG): present with ticks, grid
and target lines, deterministic (same bytes twice, no date), no external file; without
matplotlib the page still holds the tables and says how to get plots. The report runs
once, in-process, on 300 rows of the built-in sample (also checks that --sample applies
to it). Backend-independent: each test runs on one variant only.
"""
import contextlib
import io
import json
import re
import sys

import pytest

from lowdim import cli
from lowdim.report.render import html_page


def once(variant):
    if variant != "numpy":
        pytest.skip("the page does not depend on the backend")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots")
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["report", "--sample", "300", "--quick", "--quiet", "--codecs",
                           "int8,pca", "--json", str(out / "r.json"), "--html",
                           str(out / "r.html")])
    assert status == 0
    return json.loads((out / "r.json").read_text()), (out / "r.html").read_text()


def test_sample_applies_to_the_builtin_sample(report, variant):
    once(variant)
    rep, _ = report
    assert rep["basics"]["n"] == 300
    assert rep["source"].endswith(", 300 sampled rows")


def test_page_has_the_matplotlib_plots_with_ticks_grid_and_targets(report, variant):
    once(variant)
    pytest.importorskip("matplotlib")
    rep, page = report
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 4                          # frontier, spectrum, scale curve, LID
    frontier = svgs[0]
    for t in (0.99, 0.95, 0.9):
        assert f'id="frontier-target-{t:g}"' in frontier
        assert f'id="spectrum-target-{t:g}"' in svgs[1]
    assert 'id="spectrum-effective-rank"' in svgs[1] and 'id="scale-fit"' in svgs[2]
    assert 'id="lid-median"' in svgs[3]
    ticks = re.findall(r'<g id="frontier-(?:x|y)tick_\d+">', frontier)
    assert len(ticks) >= 6                         # more than the min and max of each axis
    assert re.search(r'<g id="frontier-line2d_\d+">', frontier)   # grid lines are Line2D
    for setting in (r["setting"] for r in rep["compression"]["rows"] if r["pareto"]):
        assert f">{setting}<" in frontier          # frontier points are named
    assert "<?xml" not in page and "<dc:date>" not in page and "xlink:href=\"data" not in page
    assert not re.search(r'(src|href)="(http|file|/)', page)     # nothing external


def test_plots_are_deterministic_with_unique_ids(report, variant):
    once(variant)
    matplotlib = pytest.importorskip("matplotlib")
    from lowdim.report import plots
    rep, page = report
    again = plots.lid_histogram(matplotlib.figure.Figure, rep["shape"])   # the cheapest one
    assert again in page and again == plots.lid_histogram(matplotlib.figure.Figure,
                                                          rep["shape"])
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))               # one page, four SVGs: no id twice
    refs = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', page))
    assert refs and refs <= set(ids)               # every reference still finds its target


def test_page_without_matplotlib_keeps_the_tables_and_says_how(report, monkeypatch, variant):
    once(variant)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # as if not installed
    rep, _ = report
    page = html_page(rep, rep["source"])
    assert "<svg" not in page
    assert 'Plots need matplotlib, which is not installed: <code>pip install ' \
           '&quot;lowdim[report]&quot;</code>' in page
    assert "recall@10" in page and "<pre>" in page
    data = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert json.loads(data.group(1))["basics"]["n"] == 300
