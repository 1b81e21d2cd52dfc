"""lowdim.dask with an OPQ-rotated ProductQuantizer (rotation='opq') on the session cluster.

The rotation is applied on the workers as in memory (per row, so per block), shipped with
the codebooks once per worker: encode, decode and search equal the in-memory calls bitwise,
fit(sample=True) is the in-memory fit (rotation and codebooks), and distributed Lloyd,
which cannot learn a rotation, refuses rotation='opq' before any task runs.
"""
import warnings

import dask.array as da
import numpy as np
import pytest
from distributed import wait

import lowdim
import lowdim.dask as ldd


@pytest.fixture(autouse=True)
def variant():
    """Overrides conftest's per-backend fixture: the cluster's workers use the default one."""
    yield lowdim.backend()


def test_opq_fit_encode_decode_search_equal_in_memory(dask_client):
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((600, 4)) @ rng.standard_normal((4, 24))).astype(np.float32)
    make = lambda: lowdim.ProductQuantizer(6, 4, random_state=3, rotation="opq", opq_iter=2,  # noqa
                                           max_points_per_centroid=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)         # few points per centroid
        got = ldd.fit(make(), da.from_array(X, chunks=(150, -1)), sample=True)
        want = make().fit(X)
    np.testing.assert_array_equal(got.rotation_, want.rotation_)
    np.testing.assert_array_equal(got.codebooks_, want.codebooks_)
    codes = want.encode(X)
    assert not (lowdim.pq.pq_encode(X, want.codebooks_) == codes).all()   # rotation matters
    dc = da.from_array(codes, chunks=(211, -1))
    Q = X[:20] + 0.01
    futures = dask_client.compute([ldd.encode(want, da.from_array(X, chunks=(97, -1))),
                                   ldd.decode(want, dc), *ldd.search(want, Q, dc, 5)])
    wait(futures, timeout=120)
    enc, dec, d, i = dask_client.gather(futures)
    np.testing.assert_array_equal(enc, codes)
    np.testing.assert_array_equal(dec, want.decode(codes))
    d0, i0 = want.search(Q, codes, 5, fast_scan=False)
    np.testing.assert_array_equal(i, i0)
    np.testing.assert_array_equal(d, d0)
    with pytest.raises(ValueError, match="use lowdim.dask.fit"):
        ldd.fit(make(), da.from_array(X, chunks=(150, -1)))
    with pytest.raises(ValueError, match="rotation must be None or 'opq'"):
        ldd.fit(lowdim.ProductQuantizer(6, 4, rotation="pca"), da.from_array(X))
