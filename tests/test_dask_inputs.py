"""In-memory inputs to lowdim.dask go through lowdim's one conversion path (issue 15).

A DLPack-only producer and bfloat16 arrays (in memory and as dask blocks) are accepted by
lowdim.dask wherever the in-memory API accepts them, with the in-memory results; the
oracle is the in-memory call on the same input.
"""
import dask.array as da
import numpy as np
import pytest
from distributed import wait

import lowdim
import lowdim.dask as ldd

from helpers_shared import DLPackOnly


@pytest.fixture(autouse=True)
def variant():
    """Overrides conftest's per-backend fixture: the cluster's workers use the default one."""
    yield lowdim.backend()


def test_dlpack_and_bfloat16_inputs_equal_in_memory(dask_client):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    X = (np.random.default_rng(3).integers(-16, 16, (300, 24)) / 8).astype(np.float32)
    bf16 = X.astype(ml_dtypes.bfloat16)         # multiples of 1/8: exact in bfloat16
    sq = lowdim.ScalarQuantizer("int8").fit(X)
    codes = sq.encode(X)
    graphs = [ldd.srht(DLPackOnly(X), 16, seed=2), ldd.srht(bf16, 16, seed=2),
              ldd.srht(da.from_array(bf16, chunks=(100, -1)), 16, seed=2),
              ldd.knn(DLPackOnly(X[:10]), 3, Y=DLPackOnly(X))[1],
              ldd.encode(sq, DLPackOnly(X)),
              ldd.search(sq, DLPackOnly(X[:10]), DLPackOnly(codes), 3)[1],
              ldd.lid(None, 3, knn=(DLPackOnly(np.sort(X[:, :4] ** 2 + 1, axis=1)),
                                    DLPackOnly(np.zeros((300, 4), np.int64))))]
    futures = dask_client.compute(graphs)
    wait(futures, timeout=120)
    proj, proj_bf, proj_dbf, idx, got_codes, hits, local = dask_client.gather(futures)
    want = lowdim.srht(X, 16, seed=2)
    for got in (proj, proj_bf, proj_dbf):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(idx, lowdim.knn(X[:10], 3, Y=X)[1])
    np.testing.assert_array_equal(got_codes, codes)
    np.testing.assert_array_equal(hits, sq.search(X[:10], codes, 3)[1])
    dist = np.sort(X[:, :4] ** 2 + 1, axis=1)
    np.testing.assert_array_equal(local, lowdim.lid(None, 3, knn=(dist, np.zeros((300, 4),
                                                                                 np.int64))))
