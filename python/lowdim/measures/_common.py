"""Shared pieces of lowdim.measures: input checks with fixed messages, and blocked moments.

Moments are accumulated over row blocks so memory stays O(block·d + d²): a float32 matrix
is centred and multiplied block by block in float32 (BLAS), the d × d products summed in
float64; float64 input stays float64 throughout. No n × n matrix is ever formed. Input
whose magnitude would overflow (or underflow) those products is first scaled by an exact
power of two (`rescale`); scale-invariant measures need nothing else.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from .._validate import as_float_array

BLOCK_ROWS = 8192   # rows per block: 8192 × 768 float32 = 24 MiB of temporaries
# max|x| inside which no product overflows or underflows: 4th powers (kurtosis) summed over
# a block stay below float32's 2^128 and above its 2^-126; float64 has room to spare.
SAFE_EXPONENT = {np.dtype(np.float32): 24, np.dtype(np.float64): 200}


def check_matrix(X, name: str = "X") -> np.ndarray:
    """Validated (n, d) float32/float64 array with n >= 2 (NaN/inf refused)."""
    arr = as_float_array(X, name=name)
    if arr.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows, got shape {arr.shape}")
    return arr


def rescale(x: np.ndarray) -> tuple[np.ndarray, float]:
    """(x / s, s) with s a power of two bringing max|x| into [1, 2) when max|x| is outside
    [2^-e, 2^e] (e = SAFE_EXPONENT), else (x, 1.0) without a copy.

    A power of two scales every finite float exactly (subnormals gain bits, none are lost
    unless a value falls 2^126 below the largest), so scale-invariant measures of x / s are
    those of x bit for bit where no scaling was needed, and exact limits where it was.
    """
    top = float(max(x.max(), -x.min())) if x.size else 0.0
    e = SAFE_EXPONENT[x.dtype]
    if top == 0.0 or 2.0**-e <= top <= 2.0**e:
        return x, 1.0
    shift = math.frexp(top)[1] - 1            # top = m · 2^(shift + 1), m in [0.5, 1)
    return np.ldexp(x, -shift).astype(x.dtype, copy=False), math.ldexp(1.0, shift)


def prepared(X, name: str = "X") -> tuple[np.ndarray, float]:
    """check_matrix then rescale: the validated, safely scaled matrix and its scale."""
    return rescale(check_matrix(X, name))


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
    All three come from one BLAS syrk per block of the side-by-side block [X̃ Ỹ]: the
    same multiply-adds as three products, in one call that runs closer to the BLAS peak.
    X and Y should be scaled (rescale) so their products stay finite; every measure
    built on these moments is invariant to scaling each of them.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, row_norms: bool = False):
        n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
        S, tot = np.zeros((dx + dy, dx + dy)), np.zeros(dx + dy)
        mx = x.mean(axis=0, dtype=np.float64).astype(x.dtype)
        my = y.mean(axis=0, dtype=np.float64).astype(y.dtype)
        z = np.empty((min(n, BLOCK_ROWS), dx + dy), dtype=x.dtype)
        for s in range(0, n, BLOCK_ROWS):
            b = min(BLOCK_ROWS, n - s)
            np.subtract(x[s:s + b], mx, out=z[:b, :dx])
            np.subtract(y[s:s + b], my, out=z[:b, dx:])
            zb = z[:b]
            S += zb.T @ zb                  # syrk: the upper and lower halves mirror
            tot += zb.sum(axis=0, dtype=np.float64)
        S -= np.outer(tot, tot) / n
        S = (S + S.T) / 2
        self.n = n
        self.Sxx, self.Syy, self.Sxy = S[:dx, :dx], S[dx:, dx:], S[:dx, dx:]
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
    """Eigenvalues of a symmetric PSD matrix, largest first, rounding negatives to 0.

    The d × d eigensolver runs on one BLAS thread when threadpoolctl is installed: its
    tridiagonal reduction gains little from a second thread, and with another process on
    the machine OpenBLAS's two threads wait for each other (768 × 768 measured here: 0.2 s
    on one thread, 1.6–18 s on two under load)."""
    with one_blas_thread():
        lam = np.linalg.eigvalsh(S)
    return np.clip(lam[::-1], 0.0, None)


_CONTROLLER = []


def one_blas_thread():
    """threadpoolctl's limit of BLAS to one thread, or a no-op without threadpoolctl."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _CONTROLLER.append(None)
    if _CONTROLLER[0] is None:
        return contextlib.nullcontext()
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
