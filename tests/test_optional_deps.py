"""lowdim's only runtime dependency is numpy: every public module imports, and the report
runs on its built-in sample, with scipy, scikit-learn, dask and faiss made unimportable
(and the report's optional matplotlib, pyarrow and h5py: its HTML page says how to get plots).

A child process installs an import hook that refuses those packages, so a top-level
`from scipy... import` slipped into a new module fails here instead of on a user's machine.
"""
import subprocess
import sys

import pytest

BLOCKED = ("scipy", "sklearn", "dask", "distributed", "faiss", "skdim", "threadpoolctl",
           "pandas", "torch", "ml_dtypes", "matplotlib", "pyarrow", "h5py", "safetensors")
CHILD = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"blocked for the test: {{name}}")
sys.meta_path.insert(0, Refuse())
import pkgutil, lowdim
names = [m.name for m in pkgutil.walk_packages(lowdim.__path__, "lowdim.")
         if not m.name.startswith(("lowdim.dask", "lowdim._ref"))]
for name in names:
    __import__(name)
from lowdim import cli
import os, tempfile
page = os.path.join(tempfile.mkdtemp(), "r.html")     # the page without matplotlib
rc = cli.main(["report", "--quick", "--quiet", "--html", page])
print("page says:", "Plots need matplotlib" in open(page, encoding="utf-8").read())
sys.exit(rc)
"""


def test_numpy_is_the_only_runtime_dependency(variant):
    if variant != "numpy":
        pytest.skip("imports do not depend on the backend; checked once")
    res = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         timeout=300)      # the lowdim this suite tests (PYTHONPATH or installed)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "intrinsic dimension" in res.stdout.lower(), res.stdout[-2000:]
    assert "page says: True" in res.stdout
