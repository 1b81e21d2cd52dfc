"""Progress lines of `lowdim report`: on a terminal a live line with a bar and the elapsed
time, redrawn while a step runs and replaced by the step's result; in a log one line per
step, no carriage return. A fake stream stands for the terminal. One variant only.
"""
import io
import re
import time

import pytest

from lowdim.report.progress import Progress, Step, live_line


class Terminal(io.StringIO):
    def isatty(self):
        return True


def once(variant):
    if variant != "numpy":
        pytest.skip("progress output does not depend on the backend")


def test_terminal_gets_a_live_bar_then_the_result(variant):
    once(variant)
    term = Terminal()
    progress = Progress(term, interval=0.01)
    with progress.step("4 compression settings") as bar:
        for i in range(4):
            bar.advance(i, 4)
            time.sleep(0.05)
    out = term.getvalue()
    frames = out.split("\r\x1b[K")[1:]
    assert len(frames) >= 4                        # redrawn while the step ran
    assert re.fullmatch(r"  … 4 compression settings  \d+\.\d s", frames[0])   # no total yet
    assert any(re.fullmatch(r"  … 4 compression settings \[#{10}·{10}\] 2/4  \d+\.\d s", f)
               for f in frames)
    assert re.fullmatch(r"  ✓ 4 compression settings \(0\.\d s\)\n", frames[-1])
    assert progress.timings["4 compression settings"] >= 0.2


def test_log_gets_one_line_per_step(variant):
    once(variant)
    log = io.StringIO()
    progress = Progress(log, interval=0.01)
    for name in ("basics", "kNN"):
        with progress.step(name) as bar:
            bar.advance(1, 2)
            time.sleep(0.03)
    assert re.fullmatch(r"  ✓ basics \(0\.\d s\)\n  ✓ kNN \(0\.\d s\)\n", log.getvalue())


def test_live_line_fits_the_terminal(variant):
    once(variant)
    step = Step()
    step.advance(3, 38)
    line = live_line("exact kNN ground truth (200 queries × 25000 points, cosine)", step,
                     12.34, 60)
    assert len(line) <= 59 and line.endswith(" [##" + "·" * 18 + "] 3/38  12.3 s")
    assert "…" in line[4:]                         # the name was cut, not the bar
