"""Every array kind a user has × the main entry points (issue 15, "every array a user has").

Each kind carries the same values (multiples of 1/8, exact in float16, bfloat16 and
float32; integers for the integer kind), so the oracle is the same call on the plain numpy
array of the dtype the kind computes in: float16/bfloat16/float32 → float32, float64 and
integers → float64. Results must be equal, transforms must come back in that dtype, and the
input object must be unchanged. Conversion happens before either backend sees the data, so
this module runs on the default backend only (the `variant` fixture is overridden here).
"""
import warnings

import numpy as np
import pytest

import lowdim
from lowdim import measures
from lowdim._validate import as_float_array

from helpers_shared import DLPackOnly

N, D = 48, 8
BASE = np.random.default_rng(7).integers(-16, 16, (N, D))
FLOAT = (BASE / 8.0)


@pytest.fixture(autouse=True)
def variant():
    """Overrides conftest's per-backend fixture: the conversion under test is shared."""
    yield lowdim.backend()


def _numpy(dtype):
    return lambda: (BASE if np.dtype(dtype).kind == "i" else FLOAT).astype(dtype)


def _ml_bf16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    return FLOAT.astype(ml_dtypes.bfloat16)


def _torch(dtype_name, grad=False):
    def make():
        torch = pytest.importorskip("torch")
        t = torch.tensor(FLOAT, dtype=getattr(torch, dtype_name))
        return t.requires_grad_(True) if grad else t
    return make


def _pandas(dtype):
    def make():
        pd = pytest.importorskip("pandas")
        if dtype == "float32[pyarrow]":
            pytest.importorskip("pyarrow")
        return pd.DataFrame(FLOAT.astype(np.float32)).astype(dtype)
    return make


def _polars():
    pl = pytest.importorskip("polars")
    return pl.DataFrame(FLOAT.astype(np.float32), schema=[f"c{i}" for i in range(D)])


def _arrow_table():
    pa = pytest.importorskip("pyarrow")
    return pa.table({f"c{i}": FLOAT[:, i].astype(np.float32) for i in range(D)})


def _dlpack():
    return DLPackOnly(FLOAT.astype(np.float32))


# kind -> (factory, dtype it computes in)
KINDS = {
    "numpy-float32": (_numpy(np.float32), np.float32),
    "numpy-float64": (_numpy(np.float64), np.float64),
    "numpy-float16": (_numpy(np.float16), np.float32),
    "numpy-int64": (_numpy(np.int64), np.float64),
    "numpy-bfloat16": (_ml_bf16, np.float32),
    "torch-float32": (_torch("float32"), np.float32),
    "torch-float64": (_torch("float64"), np.float64),
    "torch-bfloat16": (_torch("bfloat16"), np.float32),
    "torch-float16": (_torch("float16"), np.float32),
    "torch-requires-grad": (_torch("float32", grad=True), np.float32),
    "pandas-float32": (_pandas("float32"), np.float32),
    "pandas-float32[pyarrow]": (_pandas("float32[pyarrow]"), np.float32),
    "pandas-Float64": (_pandas("Float64"), np.float64),
    "polars-float32": (_polars, np.float32),
    "pyarrow-table": (_arrow_table, np.float32),
    "dlpack-only": (_dlpack, np.float32),
}

CODEBOOKS = np.random.default_rng(3).standard_normal((2, 4, D // 2)).astype(np.float32)



def _small_pq():
    pq = lowdim.ProductQuantizer(2, nbits=2, n_iter=3, random_state=0)
    pq.fit = _quiet(pq.fit)          # 48 points are fewer than faiss recommends: a warning
    return pq


def _quiet(method):
    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return method(*args)
    return call


# name -> (call, is a transform whose dtype follows the rule)
CALLS = {
    "sparse_random_projection": (lambda X: lowdim.sparse_random_projection(X, 4, seed=1), True),
    "gaussian_random_projection": (lambda X: lowdim.gaussian_random_projection(X, 4, seed=1),
                                   True),
    "SparseRandomProjection": (lambda X: lowdim.SparseRandomProjection(
        4, random_state=1, dense_output=True).fit_transform(X), True),
    "fwht": (lambda X: lowdim.fwht(X), True),
    "srht": (lambda X: lowdim.srht(X, 4, seed=1), True),
    "SRHT": (lambda X: lowdim.SRHT(4, random_state=1).fit_transform(X), True),
    "fjlt": (lambda X: lowdim.fjlt(X, 4, seed=1), True),
    "knn": (lambda X: lowdim.knn(X, 3), False),
    "lid": (lambda X: lowdim.lid(X, 5), False),
    "twonn": (lambda X: lowdim.twonn(X), False),
    "intrinsic_dim": (lambda X: lowdim.intrinsic_dim(X, "mle", k=5), False),
    "mst_length": (lambda X: lowdim.mst_length(X), False),
    "pq_encode": (lambda X: lowdim.pq_encode(X, CODEBOOKS), False),
    "ProductQuantizer": (lambda X: _small_pq().fit(X).encode(X), False),
    "ScalarQuantizer": (lambda X: lowdim.ScalarQuantizer("int8").fit(X).encode(X), False),
    "to_bf16": (lambda X: lowdim.to_bf16(X), False),
    "binarize": (lambda X: lowdim.binarize(X), False),
    "isoscore": (lambda X: measures.isoscore(X), False),
    "effective_rank": (lambda X: measures.effective_rank(X), False),
    "hubness": (lambda X: measures.hubness(X, 3).skewness, False),
    "linear_cka": (lambda X: measures.linear_cka(X, X), False),
}


def _snapshot(X):
    """A deep copy of X's values, compared after the call (inputs are never modified)."""
    if isinstance(X, DLPackOnly):
        return X._arr.copy()
    if hasattr(X, "detach"):
        return X.detach().clone()
    if hasattr(X, "to_pandas") and not hasattr(X, "columns"):
        return X
    if hasattr(X, "copy"):
        return X.copy()
    return X


def _unchanged(X, before) -> bool:
    if isinstance(X, DLPackOnly):
        return np.array_equal(X._arr, before)
    if hasattr(X, "detach"):
        import torch
        return bool(torch.equal(X.detach(), before))
    if hasattr(X, "equals"):
        return bool(X.equals(before))
    return np.array_equal(np.asarray(X), np.asarray(before))


def _equal(a, b) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return a == b or (np.isnan(a) and np.isnan(b))


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_array_kind(kind, call):
    make, dtype = KINDS[kind]
    func, follows_rule = CALLS[call]
    X = make()
    before = _snapshot(X)
    reference = func((BASE if kind == "numpy-int64" else FLOAT).astype(dtype))
    got = func(X)
    assert _equal(got, reference), f"{call} on {kind}"
    if follows_rule:
        assert got.dtype == dtype
    assert _unchanged(X, before)


@pytest.mark.parametrize("kind", ["numpy-float32", "torch-float32", "torch-requires-grad",
                                  "dlpack-only"])
def test_no_needless_copy(kind):
    """Contiguous float32 memory reaches the kernels as is (a view, never a copy). pandas
    and polars frames are stored by column, so row-major kernels need the one copy."""
    X = KINDS[kind][0]()
    arr = as_float_array(X)
    owner = {"torch-float32": lambda: X.numpy(), "torch-requires-grad": lambda: X.detach().numpy(),
             "dlpack-only": lambda: X._arr}.get(
        kind, lambda: X)()
    assert np.shares_memory(arr, owner)


def test_torch_on_another_device_is_refused_clearly():
    torch = pytest.importorskip("torch")
    t = torch.zeros((4, 4), device="meta")
    with pytest.raises(TypeError, match=r"torch tensor on meta.*X\.cpu\(\)"):
        lowdim.knn(t, 1)


def test_pandas_missing_values_are_nan():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": pd.array([1.0, None, 2.0], dtype="Float32"),
                       "b": pd.array([1.0, 2.0, 3.0], dtype="Float32")})
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        lowdim.knn(df, 1)


def test_string_columns_are_refused_with_their_dtype():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]})
    with pytest.raises(TypeError, match="real numeric array"):
        lowdim.knn(df, 1)
