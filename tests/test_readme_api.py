"""Every signature in the README's "API at a glance" table is callable as written.

The table's first column is parsed: each `name(args)` becomes a call on small inputs (the
positional names pick the inputs and must be the real names or a listed shorthand), keyword
values are those written, `a|b` choices are each called, and each written default must be
the real default. Bare names must exist.
"""
import ast
import importlib
import inspect
import pathlib
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import lowdim

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
# The table's short names for positional parameters; any other must be the real name, so a
# reader may pass it by keyword (ProductQuantizer(M=8)).
SHORTHAND = {"k": "n_components", "n": "n_samples", "B": "batch"}
STATEFUL = {"set_isa", "set_backend", "set_num_threads"}   # bound, not called: global state


def _table_cells():
    text = README.read_text(encoding="utf-8")
    section = text.split("## API at a glance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # no header
    cells = [re.split(r"(?<!\\)\|", row)[1] for row in rows]
    return [span for cell in cells for span in re.findall(r"`([^`]+)`", cell)]


def _split_top(args: str):
    parts, depth, quote, cur = [], 0, None, ""
    for ch in args:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    return [p for p in parts + [cur.strip()] if p]


def _entries():
    out = []
    for span in _table_cells():
        m = re.match(r"^([A-Za-z_][\w.]*?)(\.\*|\((.*)\))?(?: →.*)?$", span.replace("\\|", "|"))
        if m:         # `name`, `name(args)`, `name(args) → result`, `package.*`
            wildcard = m.group(2) == ".*"
            out.append((m.group(1), None if wildcard else m.group(3), span))
    return out


def _inputs(name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 8)).astype(np.float32)
    adjacency = sp.random(30, 30, density=0.2, random_state=0, format="csr")
    values = {"X": X, "k": 2, "n": 100, "M": 2, "kind": "int8", "Q": X[:4], "vectors": X,
              "candidates": np.tile(np.arange(5, dtype=np.int64), (4, 1)),
              "codebooks": rng.standard_normal((2, 4, 4)).astype(np.float32),
              "codes": rng.integers(0, 4, (64, 2)).astype(np.uint8),
              "B": rng.standard_normal((3, 10, 2)), "adjacency": adjacency + adjacency.T}
    if name == "hamming_knn":
        values["codes"] = rng.integers(0, 256, (64, 2)).astype(np.uint8)
    return values


def _resolve(dotted):
    if dotted.startswith("lowdim."):      # lowdim.dask is imported on demand
        try:
            importlib.import_module(dotted)
        except ImportError:                # a class such as lowdim.id.MLE
            pass
    obj = lowdim
    for part in dotted.split(".")[1 if dotted.startswith("lowdim.") else 0:]:
        obj = getattr(obj, part)
    return obj


ENTRIES = _entries()


def test_table_is_parsed():
    names = [name for name, _, _ in ENTRIES]
    assert {"fwht", "srht", "ProductQuantizer", "lid", "set_isa", "lowdim.id.MLE"} <= set(names)
    assert len(ENTRIES) >= 30


@pytest.mark.parametrize("name, args, span", ENTRIES, ids=[e[2] for e in ENTRIES])
def test_readme_signature_is_callable(name, args, span):
    func = _resolve(name)
    if args is None:
        assert callable(func) or inspect.ismodule(func)
        return
    params = inspect.signature(func).parameters
    real_names = list(params)
    inputs, positional, keywords = _inputs(name), [], {}
    for item in _split_top(args):
        if item in ("*", "..."):
            continue
        if "=" not in item:
            real = real_names[len(positional)]
            assert item == real or SHORTHAND.get(item) == real, f"{span}: {item} is {real}"
        if "=" in item:
            key, value = (s.strip() for s in item.split("=", 1))
            choices = [ast.literal_eval(v) for v in value.split("|")]
            assert params[key].default == choices[0], f"{span}: default of {key}"
            keywords[key] = choices
        else:
            positional.append(inputs[item] if name not in STATEFUL else None)
    calls = [dict()] if not keywords else [
        {**{k: v[0] for k, v in keywords.items()}, key: choice}
        for key, values in keywords.items() for choice in values]
    for kw in calls:
        inspect.signature(func).bind(*positional, **kw)      # TypeError if not as written
        if name in STATEFUL:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)     # advice on tiny inputs
            func(*positional, **kw)
