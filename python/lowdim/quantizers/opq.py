"""Non-parametric OPQ (Ge, He, Ke & Sun, "Optimized Product Quantization", CVPR 2013, Alg. 1),
the schedule of faiss's OPQMatrix: a random orthogonal start, then opq_iter rounds of
(k-means on the rotated data, warm-started; encode/decode; orthogonal Procrustes by SVD).

The rotation A (d, d) acts as y = x Aᵀ (faiss's OPQMatrix.A layout); Procrustes minimises
‖X Aᵀ − X̂‖_F over orthogonal A: with Xᵀ X̂ = U Σ Vᵀ, Aᵀ = U Vᵀ. Products and SVD are float64.
"""
from __future__ import annotations

import numpy as np

from .. import _config, _rng

FIRST_KMEANS_ITER = 40      # faiss OPQMatrix.niter_pq_0
KMEANS_ITER = 4             # faiss OPQMatrix.niter_pq (warm-started rounds)


def random_rotation(seed: int, d: int) -> np.ndarray:
    """Orthogonal (d, d) float64 from the QR of a seeded Gaussian matrix (signs of R's
    diagonal folded into Q, so the result is Haar-distributed and unique)."""
    b = _rng.random_bits(seed, _rng.STREAM_OPQ_INIT, 0, 2 * d * d)
    g = _rng.normal(b[:d * d], b[d * d:]).reshape(d, d)
    q, r = np.linalg.qr(g)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def rotate(x: np.ndarray, A: np.ndarray) -> np.ndarray:
    """x Aᵀ in float64, rounded to float32 (numpy only: the same on every lowdim backend)."""
    return np.ascontiguousarray(x.astype(np.float64) @ A.T, np.float32)


def train_rotation(x: np.ndarray, init: np.ndarray, n_iter: int, seed: int,
                   n_threads: int) -> np.ndarray:
    """The OPQ rotation (d, d) float32 for training data x (n, d) float32 and initial
    centroids `init` (M, K, dsub) (rows of the data; re-used in the rotated space)."""
    kern = _config.kernels()
    M, K, dsub = init.shape
    A = random_rotation(seed, x.shape[1])
    x64 = x.astype(np.float64)
    first = np.ascontiguousarray(init.transpose(1, 0, 2).reshape(K, M * dsub))
    cb = None
    for it in range(n_iter):
        xr = rotate(x, A)
        if cb is None:
            start = rotate(first, A).reshape(K, M, dsub).transpose(1, 0, 2)
            cb = kern.pq_kmeans(xr, np.ascontiguousarray(start), FIRST_KMEANS_ITER, n_threads)
        else:
            cb = kern.pq_kmeans(xr, cb, KMEANS_ITER, n_threads)
        xhat = kern.pq_decode(kern.pq_encode(xr, cb, n_threads), cb, n_threads)
        u, _, vt = np.linalg.svd(x64.T @ xhat.astype(np.float64))
        A = (u @ vt).T
    return A.astype(np.float32)
