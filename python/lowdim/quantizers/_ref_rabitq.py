"""numpy twin of cpp/src/rabitq: the RaBitQ scan s = Σ_{j: b_j = 1} y_j on packed bit planes,
the 1-8-bit encoder (extended RaBitQ, Gao et al. 2025, rescaling search), and the estimator,
error bounds and top-k search (Gao & Long 2024, Theorem 3.2).

Same names, arguments and outputs as lowdim._core.rabitq_* and the same operation order
(cpp/include/lowdim/rabitq.h): float32 tables built in increasing code value, eight lanes
summed in a fixed tree; eight-lane float64 norms, sequential sums (np.cumsum) and events
sorted by (t, j) in the encoder; exact integer popcount products; the same float64 estimator
expressions and (key, index) order of the top k, so results are bitwise equal.
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


_TIGHT_START = (0.0, 0.15, 0.20, 0.52, 0.59, 0.71, 0.75, 0.77, 0.81)
_KEPS, _KNENUM = 1e-5, 10


def _lane_sum(v: np.ndarray) -> np.ndarray:
    """Row sums of v (n, m) float64 in the C++ order: eight lanes j % 8 (zero-padded to a
    multiple of 8), each summed left to right, then ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))."""
    n, m = v.shape
    pad = np.zeros((n, -(-m // 8) * 8))
    pad[:, :m] = v
    a = np.cumsum(pad.reshape(n, -1, 8), axis=1)[:, -1, :]
    return ((a[:, 0] + a[:, 1]) + (a[:, 2] + a[:, 3])) + ((a[:, 4] + a[:, 5]) + (a[:, 6] + a[:, 7]))


def _seqsum(v: np.ndarray) -> float:
    """Left-to-right float64 sum (the C++ loop order; np.sum is pairwise)."""
    return float(np.cumsum(v)[-1]) if v.size else 0.0


def _rescale_search(o: np.ndarray, ex: int) -> np.ndarray:
    """ex-bit magnitudes e (D,) int64 maximising cos(e + 1/2, o); see rabitq_encode.cpp."""
    D, max_code = o.size, (1 << ex) - 1
    t_end = float(max_code + _KNENUM) / float(o.max())
    t_start = t_end * _TIGHT_START[ex]
    e = np.minimum(max_code, (t_start * o + _KEPS).astype(np.int64))
    num0 = _seqsum((e + 0.5) * o)
    den0 = 0.25 * D + _seqsum((e * e + e).astype(np.float64))
    m = e[:, None] + 1 + np.arange(max_code)[None, :]                 # (D, max_code)
    with np.errstate(divide="ignore"):
        t = m / o[:, None]
    ok = (m <= max_code) & (t < t_end)
    js = np.broadcast_to(np.arange(D)[:, None], m.shape)[ok]
    ts, ms = t[ok], m[ok]
    order = np.lexsort((js, ts))
    js, ms = js[order], ms[order]
    num = np.cumsum(np.concatenate([[num0], o[js]]))
    den = np.cumsum(np.concatenate([[den0], 2.0 * ms]))
    keep = int(np.argmax(num / np.sqrt(den)))
    np.add.at(e, js[:keep], 1)
    return e


def rabitq_encode(r, D, bits, n_threads):
    """Codes of rotated residuals r (n, D8) float32 (zero beyond D); layout in rabitq.h."""
    r = np.ascontiguousarray(r, np.float32)
    if r.ndim != 2 or r.shape[1] % 8:
        raise ValueError("r must be 2-D with a multiple of 8 columns")
    if not 1 <= bits <= 8:
        raise ValueError("bits must be in [1, 8]")
    n, D8 = r.shape
    if not (1 <= D <= D8 and D8 - D < 8):
        raise ValueError("D must be in (D8 - 8, D8]")
    nb, ex = D8 // 8, bits - 1
    out = np.zeros((n, bits * nb + (8 if bits == 1 else 12)), np.uint8)
    x64 = r[:, :D].astype(np.float64)
    pos = r[:, :D] > 0
    out[:, :nb] = np.packbits(np.pad(pos, ((0, 0), (0, D8 - D))), axis=1)
    fac = np.zeros((n, 3), np.float32)
    r64 = r.astype(np.float64)
    norms = np.sqrt(_lane_sum(r64 * r64))                    # the C++ eight-lane order
    fac[:, 0] = norms
    if ex == 0:
        l1 = _lane_sum(np.abs(r64))
        with np.errstate(divide="ignore", invalid="ignore"):
            fac[:, 1] = np.where(norms > 0, l1 / (np.sqrt(float(D)) * norms), 1.0)
    for i in range(n if ex else 0):
        norm = float(norms[i])
        o = np.abs(x64[i]) / norm if norm > 0 else np.zeros(D)
        e = _rescale_search(o, ex) if norm > 0 else np.zeros(D, np.int64)
        num = _seqsum((e + 0.5) * o)
        den = 0.25 * D + _seqsum((e * e + e).astype(np.float64))
        fac[i, 1] = num / np.sqrt(den) if norm > 0 else 1.0
        fac[i, 2] = np.sqrt(den)
        u = np.where(pos[i], e, (1 << ex) - 1 - e)
        for k in range(1, ex + 1):
            plane = np.zeros(D8, bool)
            plane[:D] = (u >> (ex - k)) & 1
            out[i, k * nb:(k + 1) * nb] = np.packbits(plane)
    nf = 2 if ex == 0 else 3
    out[:, bits * nb:] = fac[:, :nf].astype("<f4").view(np.uint8)
    return out


def rabitq_encode_raw(x, center, signs, D, D8, bits, n_threads):
    """Codes of raw rows x (n, d): r = x − center zero-padded to D8, rotated by
    FWHT(signs ⊙ r)·(1/√D) when signs is given, then rabitq_encode (see rabitq.h)."""
    from .._ref_hadamard import fwht
    x = np.ascontiguousarray(x, np.float32)
    r = np.zeros((x.shape[0], D8), np.float32)
    r[:, :x.shape[1]] = x - center
    if signs is not None:
        work = np.ascontiguousarray(r[:, :D]) * signs
        fwht(work, 1.0 / np.sqrt(D), n_threads)
        r[:, :D] = work
    return rabitq_encode(r, D, bits, n_threads)


def _code_factors(codes, D, bits, bscale, need_usum):
    """Per code float64 n2, g2, sl, Σu (the driver's CodeFactors, same operation order)."""
    nb = codes.shape[1] - (8 if bits == 1 else 12)
    nb //= bits
    f = np.ascontiguousarray(codes[:, bits * nb:]).view("<f4").astype(np.float64)
    norm, ip = f[:, 0], f[:, 1]
    xnorm = f[:, 2] if bits > 1 else np.full(len(codes), np.sqrt(float(D)) / 2.0)
    n2 = norm * norm
    g2 = 2.0 * (norm / (ip * xnorm))
    with np.errstate(divide="ignore", invalid="ignore"):
        sl = norm * (np.sqrt(np.maximum(0.0, 1.0 - ip * ip)) / ip * bscale)
    usum = _u_values(codes, nb, bits).sum(axis=1, dtype=np.int64).astype(np.float64) \
        if need_usum else None
    return n2, g2, sl, usum


def _u_values(codes, nb, bits):
    """Unsigned code values u (n, 8·nb) int64 from the bit planes."""
    u = np.zeros((codes.shape[0], nb * 8), np.int64)
    for k in range(bits):
        u += np.unpackbits(codes[:, k * nb:(k + 1) * nb], axis=1).astype(np.int64) << (bits - 1 - k)
    return u


def _estimate_block(codes, D, bits, y, qint, qp, bscale, fac):
    """float64 (est, bound) of all queries against codes (the driver's formulas)."""
    n2, g2, sl, usum = fac
    nb = (y if y is not None else qint).shape[1] // 8
    if qint is not None:
        u = _u_values(codes, nb, bits).astype(np.float64)
        uq = qint.astype(np.float64) @ u.T           # integers < 2^53: exact
        xy = (qp[:, 1:2] * usum[None] + qp[:, 2:3] * uq) - qp[:, 3:4]
    else:
        xy = None
        for k in range(bits):
            s = rabitq_scan(np.ascontiguousarray(codes[:, k * nb:]), nb, y, 1)
            t = float(1 << (bits - 1 - k)) * s.astype(np.float64)
            xy = t if xy is None else xy + t
        xy = xy - qp[:, 3:4]
    rq2 = qp[:, 0:1]
    est = (n2[None] + rq2) - g2[None] * xy
    bound = (2.0 * np.sqrt(rq2)) * sl[None]
    return est, bound


def rabitq_estimate(codes, D, bits, y, qint, qbits, qp, bscale, n_threads):
    """(est, bound) float32 (nq, n); arguments as lowdim._core.rabitq_estimate."""
    codes = np.ascontiguousarray(codes)
    fac = _code_factors(codes, D, bits, bscale, qint is not None)
    est, bound = _estimate_block(codes, D, bits, y, qint, qp, bscale, fac)
    return est.astype(np.float32), bound.astype(np.float32)


def _exact_sq(v, q):
    """‖q − v_r‖² float64 per row: eight lanes j % 8, fixed tree (the C++ order)."""
    diff = v.astype(np.float64) - q.astype(np.float64)
    return _lane_sum(diff * diff)


def _smallest(key, ids, k):
    order = np.lexsort((ids, key))[:k]
    return key[order], ids[order]


def rabitq_search(codes, D, bits, y, qint, qbits, qp, bscale, k, vec, qraw, n_threads):
    """(dist float32 (nq, k), idx int64, n_reranked int64 (nq,)); as lowdim._core.rabitq_search."""
    codes = np.ascontiguousarray(codes)
    fac = _code_factors(codes, D, bits, bscale, qint is not None)
    nq, n = qp.shape[0], codes.shape[0]
    dist = np.empty((nq, k), np.float32)
    idx = np.empty((nq, k), np.int64)
    nr = np.zeros(nq, np.int64)
    ids = np.arange(n)
    step = max(1, (1 << 22) // n)
    for q0 in range(0, nq, step):
        sl = slice(q0, q0 + step)
        est, bound = _estimate_block(codes, D, bits, None if y is None else y[sl],
                                     None if qint is None else qint[sl], qp[sl], bscale, fac)
        for j in range(est.shape[0]):
            i = q0 + j
            if vec is None:
                kth = np.partition(est[j], k - 1)[k - 1]
                cand = np.flatnonzero(est[j] <= kth)
                dist[i], idx[i] = _smallest(est[j, cand], cand, k)
                continue
            ub = np.partition(est[j] + bound[j], k - 1)[k - 1]
            cand = ids[(est[j] - bound[j]) <= ub]
            dist[i], idx[i] = _smallest(_exact_sq(vec[cand], qraw[i]), cand, k)
            nr[i] = cand.size
    return dist, idx, nr
