"""lowdim.dask.search for ScalarQuantizer and RaBitQ on the session's LocalCluster.

Oracle: the in-memory quantizer.search on the computed codes (bitwise: the keys of a pair
do not depend on the other codes, and blocks merge by (key, index) as the in-memory top-k
orders); for RaBitQ's bound-based rescore, where each block reranks against its own k-th
upper bound, the guarantee tested is the exact top k when the bounds hold (checked on the
data first) and never worse than in memory. Also: the fitted state is scattered, not in
the graph, and bad input raises the in-memory errors before any task runs. PQ search on
sub-spaces that need lowdim's power-of-two scaling is here too (the same table code).
"""
import re

import dask.array as da
import numpy as np
import pytest

import lowdim
import lowdim.dask as ldd

from helpers_shared import run



@pytest.fixture(autouse=True)
def variant():
    """Overrides conftest's per-backend fixture: the cluster's workers use the default one."""
    yield lowdim.backend()


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((700, 6)) @ rng.standard_normal((6, 40))
    return (X + 0.05 * rng.standard_normal((700, 40))).astype(np.float32)


def rows(X, chunks):
    """X as dask rows of the given row chunks (zero-row blocks allowed)."""
    return da.from_array(X, chunks=(tuple(chunks), X.shape[1]))


CODE_CHUNKS = (250, 0, 137, 313)               # uneven, with an empty block
Q_CHUNKS = (13, 20)

SQ_CASES = [("int8", None, "euclidean", False), ("uint8", None, "cosine", True),
            ("int4", "hadamard", "inner_product", False), ("fp16", None, "sqeuclidean", False),
            ("binary", "hadamard", "euclidean", False)]


def test_scalar_quantizer_search_is_bitwise_in_memory(client, data):
    Q = data[:33] + 0.01
    wants, graphs = [], []
    for kind, rotation, metric, exact in SQ_CASES:
        sq = lowdim.ScalarQuantizer(kind, rotation=rotation, random_state=5).fit(data)
        codes = sq.encode(data)
        wants.append(sq.search(Q, codes, 9, metric=metric, exact=exact))
        Qin = rows(Q, Q_CHUNKS) if kind in ("uint8", "binary") else Q    # dask or in memory
        graphs += ldd.search(sq, Qin, rows(codes, CODE_CHUNKS), 9, metric=metric, exact=exact)
    got = run(client, *graphs)
    for j, (want_d, want_i) in enumerate(wants):
        np.testing.assert_array_equal(got[2 * j + 1], want_i, err_msg=str(SQ_CASES[j]))
        np.testing.assert_array_equal(got[2 * j], want_d, err_msg=str(SQ_CASES[j]))


def test_scalar_quantizer_rescore_is_bitwise_in_memory(client, data):
    Q = data[:33] + 0.01
    sq = lowdim.ScalarQuantizer("int4").fit(data)
    fine = lowdim.ScalarQuantizer("int8").fit(data)
    codes, fine_codes = sq.encode(data), fine.encode(data)
    cases = [(data, rows(data, (300, 400)), "euclidean", rows(Q, Q_CHUNKS)),
             (data.astype(np.float64), data.astype(np.float64), "cosine", Q),
             ((fine, fine_codes), (fine, rows(fine_codes, (99, 601))), "inner_product", Q)]
    graphs = []
    for _, vectors, metric, Qin in cases:
        graphs += ldd.search(sq, Qin, rows(codes, CODE_CHUNKS), 5, metric=metric,
                             rescore=vectors, oversample=3)
    got = run(client, *graphs)
    for j, (vectors, _, metric, _) in enumerate(cases):
        want_d, want_i = sq.search(Q, codes, 5, metric=metric, rescore=vectors, oversample=3)
        np.testing.assert_array_equal(got[2 * j + 1], want_i)
        np.testing.assert_array_equal(got[2 * j], want_d)


def test_rabitq_search_is_bitwise_in_memory(client, data):
    Q = data[:33] + 0.01
    quantizers = [lowdim.RaBitQ(bits=1, random_state=4).fit(data),
                  lowdim.RaBitQ(bits=3, query_bits=6, random_state=4).fit(data)]
    graphs = []
    for rq, Qin in zip(quantizers, (rows(Q, Q_CHUNKS), Q)):
        graphs += ldd.search(rq, Qin, rows(rq.encode(data), CODE_CHUNKS), 9)
    got = run(client, *graphs)
    for j, rq in enumerate(quantizers):
        d, i, r = got[3 * j:3 * j + 3]
        want_d, want_i, want_r = rq.search(Q, rq.encode(data), 9)
        np.testing.assert_array_equal(i, want_i)
        np.testing.assert_array_equal(d, want_d)
        np.testing.assert_array_equal(r, want_r)      # zeros: nothing reranked


def _exact_top_k(Q, X, k):
    diff = X[None, :, :].astype(np.float64) - Q[:, None, :].astype(np.float64)
    dist = np.einsum("ijk,ijk->ij", diff, diff)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, axis=1), order


def test_rabitq_rescore_is_the_exact_top_k(client, data):
    Q = data[:33] + 0.01
    k = 6
    # eps0=5: every bound holds on this data (checked), so in-memory and dask are exact
    rq = lowdim.RaBitQ(bits=2, eps0=5.0, random_state=4).fit(data)
    codes = rq.encode(data)
    est, bound = rq.estimate_distances(Q, codes)
    exact = _exact_top_k(Q, data, len(data))
    true = np.empty_like(est, dtype=np.float64)
    np.put_along_axis(true, exact[1], exact[0], axis=1)
    assert (np.abs(true - est) <= bound).all()
    # default eps0: some bounds fail; each block then keeps more than the global cut
    loose = lowdim.RaBitQ(bits=1, random_state=4).fit(data)
    loose_codes = loose.encode(data)
    got = run(client, *ldd.search(rq, Q, rows(codes, CODE_CHUNKS), k,
                                  rescore=rows(data, (350, 350))),
              *ldd.search(loose, Q, rows(loose_codes, CODE_CHUNKS), k, rescore=data))
    d, i, r = got[:3]
    want_d, want_i, want_r = rq.search(Q, codes, k, rescore=data)
    np.testing.assert_array_equal(i, want_i)
    np.testing.assert_array_equal(d, want_d)
    np.testing.assert_array_equal(i, exact[1][:, :k])
    np.testing.assert_allclose(d, exact[0][:, :k], rtol=1e-6)
    # reranked: summed over blocks, each against its own (weaker) k-th upper bound
    assert (r >= want_r).all() and r.sum() > want_r.sum()
    d, i, r = got[3:]
    want_d, want_i, want_r = loose.search(Q, loose_codes, k, rescore=data)
    assert (d <= want_d).all() and (r >= want_r).all()   # a superset of the candidates
    diff = data[i].astype(np.float64) - Q[:, None, :].astype(np.float64)
    np.testing.assert_array_equal(d, np.einsum("ijk,ijk->ij", diff, diff).astype(np.float32))


def test_pq_search_of_extreme_magnitudes_is_the_in_memory_search(client):
    """Sub-spaces beyond float32's safe range are searched on power-of-two scaled tables,
    as in memory (at 1e25 the unscaled distances are all inf and ties went by index)."""
    rng = np.random.default_rng(7)
    cases, graphs = [], []
    for scale in (1e25, 1e-12):
        X = (rng.standard_normal((600, 16)) * scale).astype(np.float32)
        with pytest.warns(UserWarning, match="recommended"):
            pq = lowdim.ProductQuantizer(4, 4, random_state=3).fit(X)
        codes = pq.encode(X)
        cases.append(pq.search(X[:30] * 1.01, codes, 5, fast_scan=False))
        graphs += ldd.search(pq, rows(X[:30] * 1.01, (13, 17)), rows(codes, (250, 250, 100)), 5)
    got = run(client, *graphs)
    for j, (want_d, want_i) in enumerate(cases):
        np.testing.assert_array_equal(got[2 * j + 1], want_i)
        np.testing.assert_array_equal(got[2 * j], want_d)


def _graph_bytes(*collections):
    import cloudpickle
    graph = {}
    for c in collections:
        graph.update(dict(c.__dask_graph__()))
    return len(cloudpickle.dumps(graph))


def test_codec_state_is_scattered_not_in_the_graph(client):
    X = np.random.default_rng(0).standard_normal((8, 16384)).astype(np.float32)
    Q = da.zeros((2, 16384), dtype=np.float32)         # in memory, Q would be in the graph
    sq = lowdim.ScalarQuantizer("int8").fit(X)                     # ranges: 128 KiB
    rq = lowdim.RaBitQ().fit(X)                                    # centre: 64 KiB
    for q, state in [(sq, sq.ranges_.nbytes), (rq, rq.center_.nbytes)]:
        width = q.code_size
        codes = da.zeros((10_000, width), chunks=(200, width), dtype=np.uint8 if q is rq
                         else np.int8)                              # 50 blocks
        assert _graph_bytes(*ldd.search(q, Q, codes, 3)) < state
        assert _graph_bytes(ldd.decode(q, codes)) < state
        X = da.zeros((10_000, 16384), chunks=(200, 16384), dtype=np.float32)
        assert _graph_bytes(ldd.encode(q, X)) < state


def _in_memory_error(fn):
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    return info.type, str(info.value)


def test_search_bad_input_raises_the_in_memory_errors_up_front(client, data):
    sq = lowdim.ScalarQuantizer("int8").fit(data)
    rq = lowdim.RaBitQ(random_state=1).fit(data)
    Q = data[:5]
    for q in (sq, rq):
        codes = q.encode(data)
        dc = rows(codes, (300, 400))
        bad_q = Q.copy()
        bad_q[2, 1] = np.inf
        for mem, ours in [
                ((Q, codes.astype(np.float32), 3), (Q, dc.astype(np.float32), 3)),   # dtype
                ((Q, codes[:, :-1], 3), (Q, dc[:, :-1], 3)),                          # width
                ((Q[:, :7], codes, 3), (Q[:, :7], dc, 3)),                            # features
                ((Q, codes, 701), (Q, dc, 701)),                                      # k > n
                ((bad_q, codes, 3), (bad_q, dc, 3))]:                                 # inf in Q
            kind, msg = _in_memory_error(lambda: q.search(*mem))
            with pytest.raises(kind, match=re.escape(msg.replace("numpy array", "dask array"))):
                ldd.search(q, *ours)
        with pytest.raises(ValueError, match="codes has unknown chunk sizes"):
            ldd.search(q, Q, dc[dc[:, 0] > 0], 3)
    codes = rq.encode(data)
    for vectors in (data[:-1], data > 0):          # rows differ from the codes; bool vectors
        kind, msg = _in_memory_error(lambda: rq.search(Q, codes, 3, rescore=vectors))
        with pytest.raises(kind, match=re.escape(msg)):
            ldd.search(rq, Q, rows(codes, (700,)), 3,
                       rescore=da.from_array(vectors, chunks=(350, -1)))
    codes = sq.encode(data)
    for options in [dict(metric="hamming"), dict(oversample=0), dict(exact=1),
                    dict(rescore=data[:, :7]), dict(rescore=(lowdim.SRHT(4), codes))]:
        kind, msg = _in_memory_error(lambda: sq.search(Q, codes, 3, **options))
        with pytest.raises(kind, match=re.escape(msg)):
            ldd.search(sq, Q, rows(codes, (700,)), 3, **options)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ldd.search(rq, Q, rows(rq.encode(data), (700,)), 3, metric="cosine")
    # NaN in a dask block: found by the in-memory check inside that block
    nan_q = data[:30].copy()
    nan_q[17, 3] = np.nan
    kind, msg = _in_memory_error(lambda: sq.search(nan_q, codes, 3))
    with pytest.raises(kind, match=re.escape(msg)):
        run(client, ldd.search(sq, rows(nan_q, (15, 15)), rows(codes, (700,)), 3)[1])
