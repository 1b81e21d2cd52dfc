"""Shared pieces of lowdim.measures: input checks with fixed messages, and blocked moments.

Moments are accumulated over row blocks so memory stays O(block·d + d²): a float32 matrix
is centred and multiplied block by block in float32 (BLAS), the d × d products summed in
float64; float64 input stays float64 throughout. No n × n matrix is ever formed.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array

BLOCK_ROWS = 8192   # rows per block: 8192 × 768 float32 = 24 MiB of temporaries


def check_matrix(X, name: str = "X") -> np.ndarray:
    """Validated (n, d) float32/float64 array with n >= 2 (NaN/inf refused)."""
    arr = as_float_array(X, name=name)
    if arr.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows, got shape {arr.shape}")
    return arr


def check_pair(X, Y, *, same_dims: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validated X (n, d1), Y (n, d2) in one dtype (float64 if either is float64)."""
    x, y = check_matrix(X, "X"), check_matrix(Y, "Y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"X and Y must hold the same items in the same order: X has "
                         f"{x.shape[0]} rows but Y has {y.shape[0]}")
    if same_dims and x.shape[1] != y.shape[1]:
        raise ValueError(f"X has {x.shape[1]} columns but Y has {y.shape[1]}; this measure "
                         "compares vectors of one space")
    if x.dtype != y.dtype:
        x, y = x.astype(np.float64), y.astype(np.float64)
    return x, y


def refuse_constant(x: np.ndarray, name: str, what: str) -> None:
    """ValueError when every row of x is the same (no spread: the measure is undefined)."""
    if not (x != x[0]).any():
        raise ValueError(f"{name} is constant (all {x.shape[0]} rows are equal); "
                         f"{what} is undefined")


def refuse_zero_rows(x: np.ndarray, name: str, what: str) -> np.ndarray:
    """Row norms (float64); ValueError if a row is all zeros (no direction)."""
    norms = np.sqrt(row_sq_norms(x))
    zero = int((norms == 0).sum())
    if zero:
        raise ValueError(f"{name} has {zero} all-zero rows; {what} needs a direction "
                         "for every row")
    return norms


def row_sq_norms(x: np.ndarray) -> np.ndarray:
    """Squared row norms as float64, summed in x's dtype (float32: ~1e-7 relative, the
    rounding of the data itself) without any temporary copy of x."""
    return np.einsum("ij,ij->i", x, x).astype(np.float64)


def _blocks(x: np.ndarray):
    """Row blocks of x − m, m = mean(x) rounded to x's dtype (the float32 subtraction keeps
    the BLAS products in float32; the remaining offset is removed exactly afterwards)."""
    m = x.mean(axis=0, dtype=np.float64).astype(x.dtype)
    for s in range(0, x.shape[0], BLOCK_ROWS):
        yield s, x[s:s + BLOCK_ROWS] - m


def scatter(x: np.ndarray) -> np.ndarray:
    """Centred scatter Σ_i (x_i − μ)(x_i − μ)ᵀ (d, d) in float64.

    With c_i = x_i − m (m ≈ μ) and s = Σ c_i: scatter = Σ c_i c_iᵀ − s sᵀ / n exactly.
    """
    n, d = x.shape
    S, tot = np.zeros((d, d)), np.zeros(d)
    for _, c in _blocks(x):
        S += c.T @ c                     # A.T @ A of one buffer: numpy calls BLAS syrk
        tot += c.sum(axis=0, dtype=np.float64)
    S -= np.outer(tot, tot) / n
    return (S + S.T) / 2


class PairMoments:
    """Centred scatters of X and Y, their cross product and centred row norms (float64).

    Sxx = X̃ᵀX̃, Syy = ỸᵀỸ, Sxy = X̃ᵀỸ with X̃ = X − mean(X); rx_i = ‖x̃_i‖², ry_i = ‖ỹ_i‖².
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, row_norms: bool = False):
        n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
        Sxx, Syy, Sxy = np.zeros((dx, dx)), np.zeros((dy, dy)), np.zeros((dx, dy))
        tx, ty = np.zeros(dx), np.zeros(dy)
        for (_, cx), (_, cy) in zip(_blocks(x), _blocks(y)):
            Sxx += cx.T @ cx
            Syy += cy.T @ cy
            Sxy += cx.T @ cy
            tx += cx.sum(axis=0, dtype=np.float64)
            ty += cy.sum(axis=0, dtype=np.float64)
        self.n = n
        self.Sxx = Sxx - np.outer(tx, tx) / n
        self.Syy = Syy - np.outer(ty, ty) / n
        self.Sxy = Sxy - np.outer(tx, ty) / n
        self.Sxx, self.Syy = (self.Sxx + self.Sxx.T) / 2, (self.Syy + self.Syy.T) / 2
        self.rx = centred_row_sq_norms(x) if row_norms else None
        self.ry = centred_row_sq_norms(y) if row_norms else None


def centred_row_sq_norms(x: np.ndarray) -> np.ndarray:
    """‖x_i − μ‖² per row, float64, block by block."""
    mean = x.mean(axis=0, dtype=np.float64)
    out = np.empty(x.shape[0])
    for s in range(0, x.shape[0], BLOCK_ROWS):
        b = x[s:s + BLOCK_ROWS].astype(np.float64) - mean
        out[s:s + BLOCK_ROWS] = np.einsum("ij,ij->i", b, b)
    return out


def eigvals_desc(S: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric PSD matrix, largest first, rounding negatives to 0."""
    return np.clip(np.linalg.eigvalsh(S)[::-1], 0.0, None)
