"""The built-in sample of `lowdim report`: generated deterministically, no file or network.

3000 points in 128 dims: 12 Gaussian clusters in an 8-dimensional latent space, mapped
into 128 dims by a fixed random linear map, plus 1e-3 isotropic noise, plus 10 exact
duplicate rows. Correct answers the report should find: intrinsic dimension ≈ 8
(TwoNN and MLE within ~15%; PH0 reads low, ≈ 6.5, as PH0 does at this n in 8 dims), exactly 10
duplicate rows, effective rank ≈ 8 to 9 (of 128).
"""
from __future__ import annotations

import numpy as np

N_POINTS, DIM, LATENT_DIM, N_CLUSTERS, N_DUPLICATES = 3000, 128, 8, 12, 10
EXPECTED = {"intrinsic_dimension": LATENT_DIM, "duplicate_rows": N_DUPLICATES}


def builtin_sample() -> np.ndarray:
    """(3000, 128) float32, the same on every machine."""
    rng = np.random.Generator(np.random.PCG64(20260101))
    centres = rng.normal(scale=3.0, size=(N_CLUSTERS, LATENT_DIM))
    labels = rng.integers(0, N_CLUSTERS, size=N_POINTS - N_DUPLICATES)
    latent = centres[labels] + rng.normal(size=(len(labels), LATENT_DIM))
    mixing = rng.normal(size=(LATENT_DIM, DIM)) / np.sqrt(LATENT_DIM)
    X = latent @ mixing + 1e-3 * rng.normal(size=(len(labels), DIM))
    X = np.vstack([X, X[:N_DUPLICATES]])                   # 10 exact duplicates
    return X.astype(np.float32)
