"""Micro-benchmarks of lowdim's main kernels beside their peers (faiss, scikit-learn,
scipy) in one pytest run; a peer that is not installed is skipped, lowdim always runs.
Run: pytest bench/micro --benchmark-only --benchmark-group-by=group (bench/README.md).
Each case checks its answer once, so a broken kernel fails instead of timing garbage.
"""
import warnings

import numpy as np
import pytest

import lowdim
from conftest import group


def peer(name):
    return pytest.importorskip(name)


# FWHT: the peer is the dense Hadamard product (scipy.linalg.hadamard), O(d²) per row.
def test_fwht_lowdim(benchmark, X):
    group(benchmark, "fwht", X)
    out = benchmark(lowdim.fwht, X)
    assert out.shape == X.shape


def test_fwht_scipy_dense(benchmark, X):
    H = peer("scipy.linalg").hadamard(X.shape[1]).astype(np.float32)
    group(benchmark, "fwht", X)
    out = benchmark(np.matmul, X, H)
    np.testing.assert_allclose(out, lowdim.fwht(X), rtol=1e-4, atol=1e-3)


# Exact kNN, k = 10, the points against themselves.
def test_knn_lowdim(benchmark, X):
    group(benchmark, "knn k=10", X)
    dist, idx = benchmark(lowdim.knn, X, 10)
    assert idx.shape == (len(X), 10)


def test_knn_faiss(benchmark, X):
    faiss = peer("faiss")
    group(benchmark, "knn k=10", X)

    def run():
        index = faiss.IndexFlatL2(X.shape[1])
        index.add(X)
        return index.search(X, 10)
    _, idx = benchmark(run)
    assert idx.shape == (len(X), 10)


def test_knn_sklearn(benchmark, X):
    neighbors = peer("sklearn.neighbors")
    group(benchmark, "knn k=10", X)
    run = lambda: neighbors.NearestNeighbors(n_neighbors=10, algorithm="brute").fit(X).kneighbors(X)  # noqa: E731
    _, idx = benchmark(run)
    assert idx.shape == (len(X), 10)


# Sparse random projection to 16 dimensions (Li et al. 2006 density).
def test_sparse_rp_lowdim(benchmark, X):
    group(benchmark, "sparse_rp k=16", X)
    out = benchmark(lowdim.sparse_random_projection, X, 16)
    assert out.shape == (len(X), 16)


def test_sparse_rp_sklearn(benchmark, X):
    rp = peer("sklearn.random_projection")
    group(benchmark, "sparse_rp k=16", X)
    out = benchmark(lambda: rp.SparseRandomProjection(16, random_state=0).fit_transform(X))
    assert out.shape == (len(X), 16)


# Product quantization encode, M = 8 sub-quantizers of 4 bits (training outside the timer).
@pytest.fixture
def pq_pair(X):
    with warnings.catch_warnings():      # the smoke size has few points per centroid
        warnings.simplefilter("ignore", UserWarning)
        return lowdim.ProductQuantizer(8, nbits=4, n_iter=5, random_state=0).fit(X)


def test_pq_encode_lowdim(benchmark, X, pq_pair):
    group(benchmark, "pq_encode M=8 nbits=4", X)
    codes = benchmark(pq_pair.encode, X)
    assert len(codes) == len(X)


def test_pq_encode_faiss(benchmark, X):
    faiss = peer("faiss")
    pq = faiss.ProductQuantizer(X.shape[1], 8, 4)
    pq.cp.niter = 5
    with warnings.catch_warnings():      # faiss warns on few training points too
        warnings.simplefilter("ignore")
        pq.train(X)
    group(benchmark, "pq_encode M=8 nbits=4", X)
    codes = benchmark(pq.compute_codes, X)
    assert len(codes) == len(X)


# Euclidean MST length; scipy's minimum_spanning_tree needs the dense distance matrix.
def test_mst_lowdim(benchmark, X):
    group(benchmark, "mst_length", X)
    length = benchmark(lowdim.mst_length, X)
    assert length > 0


def test_mst_scipy(benchmark, X):
    if len(X) > 2000:
        pytest.skip("scipy needs the n × n distance matrix")
    sparse_graph = peer("scipy.sparse.csgraph")
    distance = peer("scipy.spatial.distance")
    group(benchmark, "mst_length", X)
    run = lambda: sparse_graph.minimum_spanning_tree(distance.squareform(distance.pdist(X))).sum()  # noqa: E731
    length = benchmark(run)
    assert length == pytest.approx(lowdim.mst_length(X), rel=1e-3)


# float32 -> fp16 codes; the peer is numpy's astype (same IEEE rounding).
def test_fp16_lowdim(benchmark, X):
    group(benchmark, "to_fp16", X)
    codes = benchmark(lowdim.to_fp16, X)
    assert codes.shape[0] == len(X)


def test_fp16_numpy(benchmark, X):
    group(benchmark, "to_fp16", X)
    out = benchmark(X.astype, np.float16)
    assert out.shape == X.shape

