"""The built-in sample of `lowdim report`: generated deterministically, no file or network.

3000 unit-norm rows in 128 dims that look like sentence embeddings: 12 Gaussian clusters in
an 8-dimensional latent space with a power-law spectrum (scale i^-0.3), mapped into 128 dims
by a fixed orthonormal map, 3 outlier coordinates of 6× the magnitude of the rest, a shared
mean direction (mean cosine between rows ≈ 0.57, as in anisotropic sentence encoders), 1e-3
isotropic noise, rows normalised, plus 10 exact duplicate rows. Correct answers: intrinsic
dimension 8 (TwoNN ≈ 7.4 and MLE ≈ 6.9 read a little low on the anisotropic spectrum;
PH0 lower still), exactly 10 duplicate rows, metric cosine (unit-norm rows). Compression:
the data live in 8 (+1 mean) dimensions, so PCA-16 int8 keeps recall@10 ≈ 0.97 at 16
bytes/vector (32×) and PCA-16 fp16 ≈ 0.998 at 32 bytes — the report recommends those for the
0.95/0.90 and 0.99 targets; the outlier coordinates make the Hadamard rotation help int4.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

N_POINTS, DIM, LATENT_DIM, N_CLUSTERS, N_DUPLICATES = 3000, 128, 8, 12, 10
N_OUTLIER_DIMS, OUTLIER_SCALE = 3, 6.0
EXPECTED = {"intrinsic_dimension": LATENT_DIM, "duplicate_rows": N_DUPLICATES,
            "metric": "cosine", "recommend_0.95": "PCA-16 int8", "recommend_0.99": "PCA-16 fp16"}


def builtin_sample() -> npt.NDArray[np.float32]:
    """(3000, 128) float32 with unit-norm rows, the same on every machine.

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim import report
    >>> X = report.builtin_sample()
    >>> X.shape, X.dtype, bool(np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-6))
    ((3000, 128), dtype('float32'), True)
    """
    rng = np.random.Generator(np.random.PCG64(20260101))
    centres = rng.normal(scale=3.0, size=(N_CLUSTERS, LATENT_DIM))
    labels = rng.integers(0, N_CLUSTERS, size=N_POINTS - N_DUPLICATES)
    latent = centres[labels] + rng.normal(size=(len(labels), LATENT_DIM))
    latent *= np.arange(1, LATENT_DIM + 1) ** -0.3          # power-law spectrum
    mixing = np.linalg.qr(rng.normal(size=(DIM, LATENT_DIM)))[0].T
    X = latent @ mixing
    X[:, :N_OUTLIER_DIMS] *= OUTLIER_SCALE                    # large-magnitude coordinates
    mean = rng.normal(size=DIM)                               # shared direction: anisotropy
    X += mean * (np.linalg.norm(X, axis=1).mean() / np.linalg.norm(mean))
    X += 1e-3 * rng.normal(size=X.shape)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X = np.vstack([X, X[:N_DUPLICATES]])                      # 10 exact duplicates
    return X.astype(np.float32)
