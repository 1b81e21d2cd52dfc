"""What `lowdim` writes, run as a user runs it (a subprocess of the `lowdim` script entry):
--help/--version without numpy, the numpy-backend notice, strict JSON (also inside the
HTML page), a closed stdout pipe, warnings as one-line notes, progress lines in a log.
Backend-independent: each test runs on one variant only, on a 60-row --sample.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lowdim import _config
from lowdim.report.render import _script_json, json_text

import lowdim

# The directory holding the lowdim under test (python/ in a checkout, site-packages when
# installed): the child must run that build, native module included, not the bare source.
PYTHON_DIR = str(Path(lowdim.__file__).resolve().parents[1])
STEP_LINE = re.compile(r"^  ✓ .+ \(\d+\.\d s\)$")


def once(variant):
    if variant != "numpy":
        pytest.skip("the CLI's output does not depend on the backend")


def cli(*args, env=None, stdin=None, code=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [PYTHON_DIR, os.environ.get("PYTHONPATH", "")]), **(env or {})}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "_lowdim_cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    path = tmp_path_factory.mktemp("out") / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((400, 16)).astype(np.float32))
    return path


def test_help_and_version_do_not_import_numpy(variant):
    once(variant)
    res = cli(code="import sys, _lowdim_cli\n"
                   "for argv in (['--help'], ['report', '--help'], ['--version']):\n"
                   "    try:\n        _lowdim_cli.main(argv)\n    except SystemExit:\n        pass\n"
                   "print('loaded', 'numpy' in sys.modules, 'lowdim' in sys.modules)")
    assert res.returncode == 0, res.stderr
    assert "usage: lowdim report" in res.stdout
    assert re.search(r"^lowdim \S+$", res.stdout, re.M)
    assert res.stdout.rstrip().endswith("loaded False False")


def test_numpy_backend_install_says_why_and_the_fix_once(matrix, variant):
    once(variant)
    res = cli(code="import sys; sys.modules['lowdim._core'] = None\n"   # as if never built
                   "import _lowdim_cli\n"
                   f"rc = _lowdim_cli.main(['report', {str(matrix)!r}, '--sample', '60', "
                   "'--quick', '--quiet', '--codecs', 'int8'])\n"
                   "import lowdim; lowdim.show_config(); sys.exit(rc)")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("native (C++) build is missing") == 1
    assert "lowdim._core was not built" in res.stderr
    assert "pip install --force-reinstall --no-cache-dir ." in res.stderr
    assert "slower" in res.stderr
    assert "native (C++) build is missing" in res.stdout     # show_config
    assert "backend: numpy" in res.stdout


def test_json_is_strict_and_the_html_page_holds_the_same_json(matrix, tmp_path, variant):
    once(variant)
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    res = cli("report", str(matrix), "--sample", "60", "--quick", "--json", str(out),
              "--html", str(page))
    assert res.returncode == 0, res.stderr

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")
    data = json.loads(out.read_text(), parse_constant=refuse)
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>',
                      page.read_text(), re.S)
    assert found is not None
    assert json.loads(found.group(1), parse_constant=refuse) == data
    # stderr is a pipe here: one clean line per step, no carriage returns, no repeats
    lines = res.stderr.splitlines()
    assert "\r" not in res.stderr
    assert lines and all(STEP_LINE.match(line) for line in lines), lines
    assert len(set(lines)) == len(lines)


def test_nonfinite_values_become_null_with_a_reason(variant):
    once(variant)
    data = json.loads(json_text({"basics": {"norm": {"max": float("inf"), "min": 1.0}},
                                 "x": [float("nan")]}))
    assert data["basics"]["norm"] == {"max": None, "min": 1.0}
    assert data["x"] == [None]
    assert set(data["nonfinite"]) == {"basics.norm.max", "x[0]"}
    assert "inf" in data["nonfinite"]["basics.norm.max"]
    in_page = _script_json({"s": "</script><!--"})
    assert "<" not in in_page and json.loads(in_page) == {"s": "</script><!--"}
    assert "nonfinite" not in json.loads(json_text({"a": 1.0}))


def test_closed_stdout_pipe_exits_cleanly(matrix, variant):
    once(variant)
    env = {**os.environ, "PYTHONPATH": PYTHON_DIR}
    proc = subprocess.Popen([sys.executable, "-m", "_lowdim_cli", "report", str(matrix),
                             "--sample", "60", "--quick", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()       # `| head -1`
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert first.startswith(b"lowdim report")
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_warnings_become_one_line_notes(matrix, variant):
    once(variant)
    # PQ on 36 training points warns inside the analysis; a bad LOWDIM_ISA warns at import
    res = cli("report", str(matrix), "--sample", "40", "--quick", "--quiet",
              env={"LOWDIM_ISA": "no-such-isa", "PYTHONWARNINGS": "default"})
    assert res.returncode == 0, res.stderr
    assert "Note: UserWarning: training 2 centroids per sub-space" in res.stdout
    if _config._core is not None:          # only the native backend reads LOWDIM_ISA
        assert "Note: RuntimeWarning: LOWDIM_ISA='no-such-isa'" in res.stdout
    assert "warnings.warn" not in res.stderr + res.stdout
    assert ".py:" not in res.stderr + res.stdout      # no internal source locations
