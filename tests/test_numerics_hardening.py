"""Misaligned input never reaches the kernels, on every public entry point (issue 10).

A C-contiguous but misaligned array (np.frombuffer(..., offset=1)) handed to C++ as a typed
pointer is undefined behaviour (UBSan: misaligned load). The kernel module is wrapped so
every array argument is checked for alignment; results must equal those of aligned input.
"""
import numpy as np
import pytest

import lowdim
from lowdim import _config
from lowdim import id as lid_id

sp = pytest.importorskip("scipy.sparse")


def misaligned(a):
    """A copy of `a` whose data pointer is one byte off its dtype's alignment."""
    a = np.ascontiguousarray(a)
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned and out.flags.c_contiguous
    return out


class _AlignmentChecker:
    def __init__(self, inner):
        self._inner, self.calls = inner, 0

    def __getattr__(self, name):
        fn = getattr(self._inner, name)
        if not callable(fn):
            return fn

        def checked(*args, **kwargs):
            self.calls += 1
            for a in list(args) + list(kwargs.values()):
                if isinstance(a, np.ndarray):
                    assert a.flags.aligned, f"misaligned array passed to {name}"
            return fn(*args, **kwargs)
        return checked


@pytest.fixture
def checker(monkeypatch):
    inner = _config.kernels
    box = {}

    def kernels():
        box.setdefault(inner(), _AlignmentChecker(inner()))
        return box[inner()]
    monkeypatch.setattr(_config, "kernels", kernels)
    return box


rng = np.random.default_rng(8)
X32 = rng.standard_normal((80, 8)).astype(np.float32)
X64 = X32.astype(np.float64)
S = sp.random(30, 50, density=0.2, random_state=2, format="csr", dtype=np.float64)
A = sp.random(20, 20, density=0.3, random_state=3, format="csr", dtype=np.float64)
CB = rng.standard_normal((2, 16, 4)).astype(np.float32)
CODES = rng.integers(0, 16, size=(9, 2)).astype(np.uint8)
CB16 = rng.standard_normal((1, 300, 8)).astype(np.float32)
CODES16 = rng.integers(0, 300, size=(9, 1)).astype(np.uint16)


def _csr_misaligned(M):
    return sp.csr_matrix((misaligned(M.data), misaligned(M.indices), misaligned(M.indptr)),
                         shape=M.shape)


CALLS = {
    "knn": lambda X: lowdim.knn(X, 3),
    "knn_Y": lambda X: lowdim.knn(X32, 3, Y=X),
    "knn_cosine": lambda X: lowdim.knn(X, 3, metric="cosine"),
    "remove_duplicates": lambda X: lowdim.remove_duplicates(X),
    "fwht": lambda X: lowdim.fwht(X),
    "srht": lambda X: lowdim.srht(X, 4),
    "fjlt": lambda X: lowdim.fjlt(X, 4),
    "sparse_rp": lambda X: lowdim.sparse_random_projection(X, 5),
    "gaussian_rp": lambda X: lowdim.gaussian_random_projection(X, 5),
    "mst": lambda X: lowdim.mst(X),
    "mst_length": lambda X: lowdim.mst_length(X, return_grad=True),
    "mst_length_batch": lambda X: lowdim.mst_length_batch(X.reshape(4, 20, 8)),
    "lid": lambda X: lowdim.lid(X, 5),
    "twonn": lambda X: lowdim.twonn(X),
    "pq_encode": lambda X: lowdim.pq_encode(X, CB),
    "pq_encode_cb": lambda X: lowdim.pq_encode(X32, misaligned(CB)),
    "pq_fit": lambda X: lowdim.ProductQuantizer(2, 1, n_iter=3, random_state=0).fit(X).codebooks_,
    "MLE": lambda X: lid_id.MLE(K=5).fit(X, smooth=True).dimension_pw_smooth_,
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_misaligned_dense_input_is_copied_before_the_kernels(name, dtype, checker):
    X = X32 if dtype == np.float32 else X64
    want = CALLS[name](X)
    got = CALLS[name](misaligned(X))
    for w, g in zip(want if isinstance(want, tuple) else (want,),
                    got if isinstance(got, tuple) else (got,)):
        np.testing.assert_array_equal(g, w)
    if name not in ("gaussian_rp", "remove_duplicates"):   # BLAS / numpy only
        assert sum(c.calls for c in checker.values()) > 0  # the kernels were reached


def test_misaligned_codes_sparse_and_adjacency_are_copied(checker):
    np.testing.assert_array_equal(lowdim.pq_decode(misaligned(CODES16), CB16),
                                  lowdim.pq_decode(CODES16, CB16))
    np.testing.assert_array_equal(lowdim.pq_decode(CODES, misaligned(CB)),
                                  lowdim.pq_decode(CODES, CB))
    pq = lowdim.ProductQuantizer._from_codebooks(
        np.random.default_rng(0).standard_normal((1, 512, 8)).astype(np.float32))
    codes = pq.encode(X32)
    assert codes.dtype == np.uint16
    np.testing.assert_array_equal(pq.search(misaligned(X32[:3]), misaligned(codes), 2)[1],
                                  pq.search(X32[:3], codes, 2)[1])
    for fn in (lambda M: lowdim.sparse_random_projection(M, 6, seed=1),
               lambda M: lowdim.gaussian_random_projection(M, 6, seed=1)):
        np.testing.assert_array_equal(fn(_csr_misaligned(S)), fn(S))
    np.testing.assert_array_equal(lowdim.fastrp(_csr_misaligned(A), 8),
                                  lowdim.fastrp(A, 8))
    est = lowdim.SparseRandomProjection(n_components=4, dense_output=True, random_state=0)
    est.fit(S)
    np.testing.assert_array_equal(est.transform(_csr_misaligned(S)), est.transform(S))
    dense = lowdim.SparseRandomProjection(n_components=4, random_state=0).fit(X64)
    np.testing.assert_array_equal(dense.transform(misaligned(X64)), dense.transform(X64))


# ---- estimators say the same with and without scikit-learn ---------------------------------

_MESSAGES_SCRIPT = r'''
import json, os, sys, warnings
if os.environ.get("BLOCK_SKLEARN"):
    class _NoSklearn:
        def find_spec(self, name, path=None, target=None):
            if name == "sklearn" or name.startswith("sklearn."):
                raise ImportError("scikit-learn blocked for this test")
    sys.meta_path.insert(0, _NoSklearn())
import numpy as np
import scipy.sparse as sp
import lowdim
from lowdim import id as lid
try:
    import sklearn  # noqa: F401
    have = True
except ImportError:
    have = False
X = np.random.default_rng(0).standard_normal((12, 6))
obj = X.astype(object)
obj[0, 0] = {"foo": "bar"}
bad = {
    "nan": np.where(X > 1, np.nan, X), "inf": np.where(X > 1, np.inf, X),
    "1d": X[0], "3d": X[None], "no rows": X[:0], "no features": X[:, :0],
    "complex": X.astype(complex), "object-dict": obj, "strings": X.astype(str),
    "bool": X > 0, "sparse-nan": sp.csr_matrix(np.where(X > 1, np.nan, X)),
    "ragged": [[1.0, 2.0], [3.0]], "objects-numeric": X.astype(object),
}
try:
    import pandas as pd
    bad["frame"] = pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])
    bad["frame-int-names"] = pd.DataFrame(X)
except ImportError:
    pd = None
estimators = {
    "SparseRP": lambda **kw: lowdim.SparseRandomProjection(**{"n_components": 3, **kw}),
    "GaussianRP": lambda **kw: lowdim.GaussianRandomProjection(**{"n_components": 3, **kw}),
    "SRHT": lambda **kw: lowdim.SRHT(**{"n_components": 3, **kw}),
    "FastJLT": lambda **kw: lowdim.FastJLT(**{"n_components": 3, **kw}),
    "PQ": lambda **kw: lowdim.ProductQuantizer(**{"n_subquantizers": 2, "nbits": 1, "random_state": 0, **kw}),
    "MLE": lambda **kw: lid.MLE(**{"K": 3, **kw}),
    "TwoNN": lambda **kw: lid.TwoNN(**kw),
}
def outcome(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = fn()
            res = ["ok", type(r).__name__]
        except Exception as e:
            res = [type(e).__name__, str(e)]
    return res + sorted({f"{x.category.__name__}: {x.message}" for x in w})
out = {"have_sklearn": have}
for ename, make in estimators.items():
    for bname, b in bad.items():
        out[f"{ename}.fit({bname})"] = outcome(lambda: make().fit(b))
    fitted = make().fit(X)
    out[f"{ename}.repr"] = [repr(make(random_state=3) if "RP" in ename else make())]
    out[f"{ename}.set_params"] = outcome(lambda: make().set_params(bogus=1))
    if hasattr(fitted, "transform") and ename not in ("MLE", "TwoNN"):
        for bname, b in {**bad, "wrong-width": X[:, :5], "wider": np.ones((2, 7))}.items():
            out[f"{ename}.transform({bname})"] = outcome(lambda: fitted.transform(b))
        out[f"{ename}.unfitted"] = outcome(lambda: make().transform(X))
        if pd is not None:
            named = make().fit(bad["frame"])
            renamed = pd.DataFrame(X, columns=[f"d{i}" for i in range(6)])
            out[f"{ename}.names-differ"] = outcome(lambda: named.transform(renamed))
            out[f"{ename}.names-missing"] = outcome(lambda: named.transform(X))
            out[f"{ename}.names-unexpected"] = outcome(lambda: fitted.transform(bad["frame"]))
out["SparseRP.more-components"] = outcome(
    lambda: lowdim.SparseRandomProjection(n_components=9).fit(X))
out["SparseRP.bad-density"] = outcome(
    lambda: lowdim.SparseRandomProjection(n_components=2, density=2.0).fit(X))
out["SparseRP.auto-eps"] = outcome(lambda: lowdim.SparseRandomProjection(eps=0.1).fit(X))
print(json.dumps(out))
'''


def _messages(variant, block):
    import json
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(os.path.dirname(lowdim.__file__), os.pardir)]
        + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    env.pop("BLOCK_SKLEARN", None)
    if block:
        env["BLOCK_SKLEARN"] = "1"
    env["LOWDIM_BACKEND"] = "numpy" if variant == "numpy" else "native"
    if variant != "numpy":
        env["LOWDIM_ISA"] = variant.split("-", 1)[1]
    run = subprocess.run([sys.executable, "-c", _MESSAGES_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def test_estimator_checks_and_messages_do_not_depend_on_sklearn(variant):
    pytest.importorskip("sklearn")
    if variant == "native-scalar":   # Python checks these; numpy and the best ISA suffice
        pytest.skip("input checks live in Python: checked on numpy and the fastest ISA")
    with_sk, without = _messages(variant, False), _messages(variant, True)
    assert with_sk.pop("have_sklearn") and not without.pop("have_sklearn")
    differ = {key: (with_sk[key], without.get(key)) for key in with_sk
              if with_sk[key] != without.get(key)}
    assert not differ
    assert len(with_sk) > 150
