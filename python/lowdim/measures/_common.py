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
from typing import Any, ContextManager

import numpy as np
import numpy.typing as npt

from .._validate import as_float_array

BLOCK_ROWS = 8192   # rows per block: 8192 × 768 float32 = 24 MiB of temporaries
# max|x| inside which no product overflows or underflows: 4th powers (kurtosis) summed over
# a block stay below float32's 2^128 and above its 2^-126; float64 has room to spare.
SAFE_EXPONENT = {np.dtype(np.float32): 24, np.dtype(np.float64): 200}


def check_matrix(X: npt.ArrayLike, name: str = "X") -> np.ndarray:
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


def prepared(X: npt.ArrayLike, name: str = "X") -> tuple[np.ndarray, float]:
    """check_matrix then rescale: the validated, safely scaled matrix and its scale."""
    return rescale(check_matrix(X, name))


def check_pair(X: npt.ArrayLike, Y: npt.ArrayLike, *, same_dims: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
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
    """ValueError when every row of x is the same (no spread: the measure is undefined).

    Rows 0 and 1 differ for almost any data, which settles it in O(d); only else are the
    rows compared block by block (no n × d temporary)."""
    if (x[1] != x[0]).any():
        return
    for s in range(0, x.shape[0], BLOCK_ROWS):
        if (x[s:s + BLOCK_ROWS] != x[0]).any():
            return
    raise ValueError(f"{name} is constant (all {x.shape[0]} rows are equal); "
                     f"{what} is undefined")


def refuse_zero_rows(x: np.ndarray, name: str, what: str) -> np.ndarray:
    """Row norms (float64); ValueError if a row is all zeros (no direction)."""
    norms: np.ndarray = np.sqrt(row_sq_norms(x))
    zero = int((norms == 0).sum())
    if zero:
        raise ValueError(f"{name} has {zero} all-zero rows; {what} needs a direction "
                         "for every row")
    return norms


def row_sq_norms(x: np.ndarray) -> np.ndarray:
    """Squared row norms as float64, summed in x's dtype (float32: ~1e-7 relative, the
    rounding of the data itself) without any temporary copy of x."""
    result: np.ndarray = np.einsum("ij,ij->i", x, x).astype(np.float64)
    return result


class _Centred:
    """Row blocks c = x[s:s+b] − m of one matrix, m = mean(x) rounded to x's dtype, written
    into one reused buffer (no per-block allocation, no upcast: float32 stays float32 for
    BLAS). `total` accumulates Σ c in float64 (column sums by BLAS gemv per block), so the
    offset δ = μ − m left by the rounding of m is removed exactly afterwards."""

    def __init__(self, x: np.ndarray):
        self.x, self.n, self.d = x, x.shape[0], x.shape[1]
        self.mean = x.mean(axis=0, dtype=np.float64)
        self.m = self.mean.astype(x.dtype)
        rows = min(self.n, BLOCK_ROWS)
        self.buf = np.empty((rows, self.d), dtype=x.dtype)
        self.ones = np.ones(rows, dtype=x.dtype)
        self.total = np.zeros(self.d)

    def block(self, s: int) -> np.ndarray:
        b = min(BLOCK_ROWS, self.n - s)
        c = self.buf[:b]
        np.subtract(self.x[s:s + b], self.m, out=c)
        self.total += self.ones[:b] @ c
        return c

    def row_sq_norms(self, c: np.ndarray) -> np.ndarray:
        """‖x_i − μ‖² of the block's rows, float64: ‖c_i‖² − 2 c_i·δ + ‖δ‖², δ = μ − m
        (‖c_i‖² summed in x's dtype over the d columns, the correction in float64)."""
        delta = self.mean - self.m
        r: np.ndarray = np.einsum("ij,ij->i", c, c).astype(np.float64)
        if delta.any():
            r -= 2.0 * (c @ delta.astype(c.dtype)) - float(delta @ delta)
        return r


def _symmetric_product(c: np.ndarray, out: np.ndarray) -> np.ndarray:
    """cᵀc into out (x's dtype). numpy hands `A.T @ A` of one buffer to BLAS syrk: half the
    multiply-adds of gemm; on this machine's OpenBLAS it took 0.6–0.7 of gemm's CPU time
    for the same product (bench_measures.py measures both)."""
    return np.matmul(c.T, c, out=out)


def scatter_and_mean(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred scatter Σ_i (x_i − μ)(x_i − μ)ᵀ (d, d) and the mean μ (d,), both float64.

    One pass over row blocks (BLOCK_ROWS rows): c = x − m in x's dtype, S += cᵀc by BLAS
    (float32 products of ≤ BLOCK_ROWS rows, summed over blocks in float64), then
    S − s sᵀ / n with s = Σ c, exact for any m. float32 input: ~1e-7 relative to ‖S‖;
    float64 input: float64 throughout.
    """
    n, d = x.shape
    cx = _Centred(x)
    S = np.zeros((d, d))
    prod = np.empty((d, d), dtype=x.dtype)
    for s in range(0, n, BLOCK_ROWS):
        S += _symmetric_product(cx.block(s), prod)
    S -= np.outer(cx.total, cx.total) / n
    return (S + S.T) / 2, cx.mean


def scatter(x: np.ndarray) -> np.ndarray:
    """Centred scatter Σ_i (x_i − μ)(x_i − μ)ᵀ (d, d) in float64 (see scatter_and_mean)."""
    return scatter_and_mean(x)[0]


class PairMoments:
    """Centred scatters of X and Y, their cross product and the row-norm sums (float64).

    Sxx = X̃ᵀX̃, Syy = ỸᵀỸ, Sxy = X̃ᵀỸ with X̃ = X − mean(X); trace_x = ‖X̃‖_F²,
    trace_y = ‖Ỹ‖_F². With row_norms (debiased CKA), rx_i = ‖x̃_i‖², ry_i = ‖ỹ_i‖² enter
    only through the sums r_sums = (Σrx, Σry) and r_dots = {"xx": Σrx², "yy": Σry²,
    "xy": Σrx·ry}, accumulated block by block (no per-row arrays are kept).
    One pass over row blocks: per block Sxx += X̃bᵀX̃b and Syy += ỸbᵀỸb (BLAS syrk, half
    the multiply-adds) and Sxy += X̃bᵀỸb (gemm), in x's dtype, summed in float64. The
    traces are the diagonals of Sxx and Syy, rounded by the same BLAS products as Sxy
    (not summed apart): for Y a signed permutation of X the rounding cancels in
    Procrustes' ν, which in float32 would otherwise put √ε ≈ 3e-4 into arccos ν.
    X and Y should be scaled (rescale) so their products stay finite; every measure
    built on these moments is invariant to scaling each of them.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, row_norms: bool = False):
        n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
        cx, cy = _Centred(x), _Centred(y)
        Sxx, Syy, Sxy = np.zeros((dx, dx)), np.zeros((dy, dy)), np.zeros((dx, dy))
        pxx, pyy = np.empty((dx, dx), x.dtype), np.empty((dy, dy), y.dtype)
        pxy = np.empty((dx, dy), x.dtype)
        sums = np.zeros(5)                  # Σrx, Σry, Σrx², Σry², Σrx·ry
        for s in range(0, n, BLOCK_ROWS):
            bx, by = cx.block(s), cy.block(s)
            Sxx += _symmetric_product(bx, pxx)
            Syy += _symmetric_product(by, pyy)
            Sxy += np.matmul(bx.T, by, out=pxy)
            if row_norms:
                rx, ry = cx.row_sq_norms(bx), cy.row_sq_norms(by)
                sums += (rx.sum(), ry.sum(), rx @ rx, ry @ ry, rx @ ry)
        tx, ty = cx.total, cy.total
        self.n = n
        self.Sxy = Sxy - np.outer(tx, ty) / n
        Sxx -= np.outer(tx, tx) / n
        Syy -= np.outer(ty, ty) / n
        self.Sxx, self.Syy = (Sxx + Sxx.T) / 2, (Syy + Syy.T) / 2
        self.trace_x, self.trace_y = float(np.trace(self.Sxx)), float(np.trace(self.Syy))
        self.r_sums = (float(sums[0]), float(sums[1])) if row_norms else None
        self.r_dots = (dict(xx=float(sums[2]), yy=float(sums[3]), xy=float(sums[4]))
                       if row_norms else None)


def eigvals_desc(S: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric PSD matrix, largest first, rounding negatives to 0.

    The d × d eigensolver runs on one BLAS thread when threadpoolctl is installed: its
    tridiagonal reduction gains little from a second thread, and with another process on
    the machine OpenBLAS's two threads wait for each other (768 × 768 measured here: 0.2 s
    on one thread, 1.6–18 s on two under load)."""
    with one_blas_thread():
        lam = np.linalg.eigvalsh(S)
    return np.clip(lam[::-1], 0.0, None)


_CONTROLLER: list[Any] = []     # threadpoolctl's ThreadpoolController, or None


def one_blas_thread() -> ContextManager[Any]:
    """threadpoolctl's limit of BLAS to one thread, or a no-op without threadpoolctl."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _CONTROLLER.append(None)
    if _CONTROLLER[0] is None:
        return contextlib.nullcontext()
    result: ContextManager[Any] = _CONTROLLER[0].limit(limits=1, user_api="blas")
    return result
