"""numpy twin of cpp/src/rabitq: the RaBitQ scan s = Σ_{j: b_j = 1} y_j on packed sign bits.

Same names, arguments and outputs as lowdim._core.rabitq_scan / rabitq_lut and the same
float32 operation order (cpp/include/lowdim/rabitq.h): a per-byte table built in increasing
code value, eight lanes (lane = byte % 8) summed in a fixed tree, so results are bitwise equal.
"""
from __future__ import annotations

import numpy as np

_V = np.arange(256)
_PARENT = _V & (_V - 1)                                   # v without its lowest set bit
_LOW = np.array([0] + [7 - ((v & -v).bit_length() - 1) for v in range(1, 256)])
_LEVELS = [np.flatnonzero(np.array([bin(v).count("1") for v in range(256)]) == p)
           for p in range(1, 9)]
_ELEMS = 1 << 24                                          # float32 temporaries per block


def _luts(y: np.ndarray) -> np.ndarray:
    """(nq, nbytes * 8) float32 -> (nq, nbytes, 256) tables; entries of equal popcount at once
    (their parents are all one popcount lower, so the C++ recurrence order is kept)."""
    nq, D8 = y.shape
    yb = y.reshape(nq, D8 // 8, 8)
    lut = np.zeros((nq, D8 // 8, 256), np.float32)
    for vs in _LEVELS:
        lut[:, :, vs] = lut[:, :, _PARENT[vs]] + yb[:, :, _LOW[vs]]
    return lut


def rabitq_lut(y):
    """Table of one query y (nbytes * 8,) float32: (nbytes, 256)."""
    y = np.ascontiguousarray(y, np.float32)
    if y.ndim != 1 or y.shape[0] % 8 or y.shape[0] < 8:
        raise ValueError("y must be 1-D with a multiple of 8 entries")
    return _luts(y[None])[0]


def rabitq_scan(codes, nbytes, y, n_threads):
    """s[i, r] = Σ of y[i, j] over the set bits j of codes[r, :nbytes]; float32 (nq, n)."""
    codes = np.ascontiguousarray(codes)
    y = np.ascontiguousarray(y, np.float32)
    if codes.ndim != 2 or y.ndim != 2:
        raise ValueError("codes and y must be 2-D")
    if not 1 <= nbytes <= codes.shape[1]:
        raise ValueError("nbytes must be in [1, bytes per code]")
    if y.shape[1] != nbytes * 8:
        raise ValueError("y must have 8 * nbytes columns")
    n, nq = codes.shape[0], y.shape[0]
    lanes = -(-nbytes // 8) * 8
    bytes_ = np.zeros((n, lanes), np.int64)
    bytes_[:, :nbytes] = codes[:, :nbytes]
    out = np.empty((nq, n), np.float32)
    rows = max(1, _ELEMS // max(1, lanes))
    for i in range(nq):
        lut = np.zeros((lanes, 256), np.float32)
        lut[:nbytes] = _luts(y[i:i + 1])[0]
        for r0 in range(0, n, rows):
            vals = lut[np.arange(lanes), bytes_[r0:r0 + rows]]      # (rows, lanes)
            acc = np.zeros((vals.shape[0], 8), np.float32)
            for b in range(0, lanes, 8):                          # lane order of the C++ loop
                acc += vals[:, b:b + 8]
            out[i, r0:r0 + rows] = ((acc[:, 0] + acc[:, 1]) + (acc[:, 2] + acc[:, 3])) + (
                (acc[:, 4] + acc[:, 5]) + (acc[:, 6] + acc[:, 7]))
    return out
