"""Every public function and class of lowdim has an Examples section that CI runs.

The public API: lowdim.__all__ and the __all__ of every public subpackage and module
(a name without a leading underscore on its path). Each object's docstring must hold a
numpydoc ``Examples`` section, and the module defining it must be in .ci/doctest's list,
which runs those sections as doctests. lowdim.id is checked by its own tests
(tests/test_id_*.py), so it is left out here.
"""
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import lowdim

NOT_HERE = ("lowdim.id",)        # lowdim.id's estimators and functions: tests/test_id_*.py
DOCTEST_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "doctest"
EXAMPLES = re.compile(r"^Examples\n-{8}\n", re.M)


def _public_api():
    """(qualified name, object) of every name in a public module's __all__."""
    modules = [lowdim]
    for info in pkgutil.walk_packages(lowdim.__path__, "lowdim."):
        if any(p.startswith("_") for p in info.name.split(".")) or \
                info.name.startswith(NOT_HERE):
            continue
        modules.append(importlib.import_module(info.name))
    api = {}
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            if obj.__module__.startswith(NOT_HERE):
                continue
            api[f"{module.__name__}.{name}"] = obj
    return api


def _doctest_modules():
    text = DOCTEST_SCRIPT.read_text()
    block = text[text.index("MODULES=("):]
    return set(re.findall(r"^\s+(lowdim[\w.]*)$", block[:block.index(")")], re.M))


def test_every_public_docstring_has_examples_run_in_ci(variant):
    if variant != "numpy":
        pytest.skip("docstrings do not depend on the backend")
    api = _public_api()
    assert {"lowdim.fwht", "lowdim.set_num_threads", "lowdim.measures.linear_cka",
            "lowdim.dask.knn", "lowdim.ScalarQuantizer"} <= api.keys()     # the walk works
    missing = sorted(name for name, obj in api.items()
                     if not EXAMPLES.search(inspect.getdoc(obj) or ""))
    assert not missing, f"public docstrings without an Examples section: {missing}"
    listed = _doctest_modules()
    assert "lowdim.fastrp" in listed
    unlisted = sorted({obj.__module__ for obj in api.values()} - listed)
    assert not unlisted, f"modules missing from .ci/doctest's MODULES: {unlisted}"
