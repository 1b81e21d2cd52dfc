"""numpy twin of cpp/src/codecs: encode/decode of every codec kind and search on codes.

Same names, arguments and outputs as the codec functions of lowdim._core (formulas in
cpp/include/lowdim/codecs.h): float formats by round-to-nearest-even on the float32 bits
(saturating), faiss's QT_8bit/QT_4bit formulas for int8/uint8/int4, np.packbits order for
binary; integer dot products in int64, keys in float64 in the same operation order as C++.
"""
from __future__ import annotations

import numpy as np

# kind -> (mantissa bits M, exponent bias B, largest finite code, code bits)
FLOAT_FORMATS = {
    "fp16": (10, 15, 0x7BFF, 16),
    "bf16": (7, 127, 0x7F7F, 16),
    "fp8_e4m3": (3, 7, 0x7E, 8),
    "fp8_e5m2": (2, 15, 0x7B, 8),
}
INT_LEVELS = {"int8": 255, "uint8": 255, "int4": 15}
KINDS = ("fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "uint8", "int4", "binary")
METRIC_KEYS = ("sqeuclidean", "inner_product", "cosine")
_ROWS = 4096                  # rows per block: bounds the temporaries of decode and search


def code_dtype(kind: str):
    return {"fp16": np.uint16, "bf16": np.uint16, "int8": np.int8}.get(kind, np.uint8)


def code_width(kind: str, D: int) -> int:
    """Code elements per row for D dimensions."""
    if kind == "int4":
        return (D + 1) // 2
    if kind == "binary":
        return (D + 7) // 8
    return D


# ---- float formats ----------------------------------------------------------------------

def round_float_bits(x: np.ndarray, kind: str) -> np.ndarray:
    """float32 -> codes of `kind` (round to nearest even; beyond the max finite: max)."""
    M, B, max_code, nbits = FLOAT_FORMATS[kind]
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    a = u & np.uint32(0x7FFFFFFF)
    efield = a >> np.uint32(23)
    normal32 = efield > 0
    # float32 subnormals have no implicit 1 and exponent -126
    mant = np.where(normal32, (a & np.uint32(0x7FFFFF)) | np.uint32(0x800000), a)
    e = np.where(normal32, efield.astype(np.int64) - 127, -126)
    shift = 23 - M
    lsb = (a >> np.uint32(shift)) & np.uint32(1)
    rn = (a + np.uint32((1 << (shift - 1)) - 1) + lsb) >> np.uint32(shift)
    is_normal = e >= 1 - B
    normal = np.where(is_normal, rn, np.uint32((127 - B) << M)) - np.uint32((127 - B) << M)
    s = np.minimum(shift + (1 - B) - e, 25)          # >= 25: everything rounds to 0
    s = np.where(is_normal, 1, s).astype(np.uint32)
    lsb_s = (mant >> s) & np.uint32(1)
    sub = (mant + ((np.uint32(1) << (s - np.uint32(1))) - np.uint32(1)) + lsb_s) >> s
    code = np.minimum(np.where(is_normal, normal, sub), np.uint32(max_code))
    code = code | ((u >> np.uint32(31)) << np.uint32(nbits - 1))
    return code.astype(np.uint16 if nbits == 16 else np.uint8)


def float_table(kind: str) -> np.ndarray:
    """Decoded value of every 8-bit code (fp8) as float32; NaN/inf codes as ml_dtypes."""
    M, B, _, _ = FLOAT_FORMATS[kind]
    c = np.arange(256, dtype=np.int64)
    sign = np.where(c & 0x80, -1.0, 1.0)
    E = 7 - M
    ef = (c >> M) & ((1 << E) - 1)
    mf = c & ((1 << M) - 1)
    val = np.where(ef == 0, mf * 2.0 ** (1 - B - M), (1.0 + mf / 2.0 ** M) * 2.0 ** (ef - B))
    val = sign * val
    if kind == "fp8_e4m3":
        val[(c & 0x7F) == 0x7F] = np.nan
    else:
        top = ef == (1 << E) - 1
        val[top & (mf == 0)] = sign[top & (mf == 0)] * np.inf
        val[top & (mf != 0)] = np.nan
    return val.astype(np.float32)


def decode_float_codes(codes: np.ndarray, kind: str) -> np.ndarray:
    if kind == "fp16":
        return codes.view(np.float16).astype(np.float32)
    if kind == "bf16":
        return (codes.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return float_table(kind)[codes]


# ---- scalar quantization (faiss's formulas, float32) ----------------------------------

def sq_levels(x: np.ndarray, lo: np.ndarray, vdiff: np.ndarray, kind: str) -> np.ndarray:
    """Integer code values 0..L (uint8): faiss QT_8bit / QT_4bit."""
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = (x - lo) / vdiff
    xi = np.where(vdiff != 0, xi, np.float32(0))
    xi = np.clip(xi, np.float32(0), np.float32(1))
    if kind == "int4":                      # faiss: (int)(x * 15.0), a double product
        return (xi.astype(np.float64) * 15.0).astype(np.uint8)
    return (np.float32(255) * xi).astype(np.uint8)


def pack_nibbles(levels: np.ndarray) -> np.ndarray:
    """(n, D) values < 16 -> (n, ceil(D/2)): dimension 2i in the low nibble of byte i."""
    n, D = levels.shape
    if D % 2:
        levels = np.concatenate([levels, np.zeros((n, 1), np.uint8)], axis=1)
    return levels[:, 0::2] | (levels[:, 1::2] << np.uint8(4))


def unpack_nibbles(codes: np.ndarray, D: int) -> np.ndarray:
    out = np.empty((codes.shape[0], 2 * codes.shape[1]), np.uint8)
    out[:, 0::2] = codes & np.uint8(0x0F)
    out[:, 1::2] = codes >> np.uint8(4)
    return out[:, :D]


def code_levels(codes: np.ndarray, kind: str, D: int) -> np.ndarray:
    """Integer code values 0..L of int8/uint8/int4 codes, (n, D) uint8."""
    if kind == "int4":
        return unpack_nibbles(codes, D)
    if kind == "int8":
        return codes.view(np.uint8) ^ np.uint8(0x80)
    return codes


def codec_encode(x, kind, lo, vdiff, n_threads):
    """x: (n, D) float32 -> codes (n, code_width) of code_dtype(kind)."""
    if kind in FLOAT_FORMATS:
        return round_float_bits(x, kind)
    if kind == "binary":
        return np.packbits(x > 0, axis=1)
    lev = sq_levels(x, lo, vdiff, kind)
    if kind == "int4":
        return pack_nibbles(lev)
    if kind == "int8":
        return (lev ^ np.uint8(0x80)).view(np.int8)
    return lev


def codec_decode(codes, kind, lo, vdiff, D, n_threads):
    """codes (n, code_width) -> (n, D) float32. binary decodes to ±1."""
    if kind in FLOAT_FORMATS:
        return decode_float_codes(codes, kind)
    if kind == "binary":
        bits = np.unpackbits(codes, axis=1, count=D)
        return np.where(bits != 0, np.float32(1), np.float32(-1))
    L = np.float32(INT_LEVELS[kind])
    xi = (code_levels(codes, kind, D).astype(np.float32) + np.float32(0.5)) / L
    return lo + xi * vdiff


def codec_norms(codes, kind, lo, vdiff, D, n_threads):
    """Σ_j x̂_j² per row in float64, summed in j order (as the C++ driver)."""
    n = codes.shape[0]
    out = np.empty(n, np.float64)
    for r0 in range(0, n, _ROWS):
        xh = codec_decode(codes[r0:r0 + _ROWS], kind, lo, vdiff, D, 1).astype(np.float64)
        acc = np.zeros(xh.shape[0])
        for j in range(D):
            acc += xh[:, j] * xh[:, j]
        out[r0:r0 + _ROWS] = acc
    return out


# ---- search -----------------------------------------------------------------------------

def _keys(ip: np.ndarray, norms: np.ndarray, metric: str) -> np.ndarray:
    """Smaller is better: ‖x̂‖² − 2 q·x̂, −q·x̂, or −q·x̂ / ‖x̂‖ (0 for x̂ = 0)."""
    if metric == "sqeuclidean":
        return norms[None, :] - 2.0 * ip
    if metric == "inner_product":
        return -ip
    root = np.sqrt(norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(root[None, :] > 0, -ip / root[None, :], 0.0)


def _top_k(keys: np.ndarray, offset: int, k: int, best):
    """Merge a block of keys (nq, b) for rows offset.. into best = (keys, idx)."""
    idx = np.broadcast_to(np.arange(offset, offset + keys.shape[1]), keys.shape)
    if best is not None:
        keys = np.concatenate([best[0], keys], axis=1)
        idx = np.concatenate([best[1], idx], axis=1)
    order = np.lexsort((idx, keys), axis=1)[:, :k]
    return np.take_along_axis(keys, order, 1), np.take_along_axis(idx, order, 1)


def codec_search_int(codes, kind, t, alpha, cst, norms, metric, k, n_threads):
    """Integer dot products Σ_j t_j·b_j (b = stored code values: int8 signed, uint8/int4
    0..L) in int64; ip = cst + alpha·dot; best k keys per query (ties: lower index)."""
    n = codes.shape[0]
    D = t.shape[1]
    tq = t.astype(np.int64)
    best = None
    for r0 in range(0, n, _ROWS):
        block = codes[r0:r0 + _ROWS]
        if kind == "int4":
            vals = unpack_nibbles(block, D)
        else:
            vals = block
        dots = tq @ vals.astype(np.int64).T
        ip = cst[:, None] + alpha[:, None] * dots.astype(np.float64)
        best = _top_k(_keys(ip, norms[r0:r0 + _ROWS], metric), r0, k, best)
    return best


def codec_search_float(codes, kind, lo, vdiff, q, norms, metric, k, n_threads):
    """q·x̂ on decoded blocks (float64 products of the float32 values)."""
    n = codes.shape[0]
    D = q.shape[1]
    q64 = q.astype(np.float64)
    best = None
    for r0 in range(0, n, _ROWS):
        xh = codec_decode(codes[r0:r0 + _ROWS], kind, lo, vdiff, D, 1).astype(np.float64)
        best = _top_k(_keys(q64 @ xh.T, norms[r0:r0 + _ROWS], metric), r0, k, best)
    return best


_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def hamming_knn(q, y, k, exclude_self, n_threads):
    """q: (nq, B), y: (n, B) uint8 -> (dist int32 (nq, k), idx int64 (nq, k))."""
    n = y.shape[0]
    best = None
    for r0 in range(0, n, _ROWS):
        block = y[r0:r0 + _ROWS]
        dist = np.zeros((q.shape[0], block.shape[0]), np.int64)
        for b in range(q.shape[1]):
            dist += _POP8[q[:, b, None] ^ block[None, :, b]]
        if exclude_self:
            rows = np.arange(q.shape[0])
            inside = (rows >= r0) & (rows < r0 + block.shape[0])
            dist[rows[inside], rows[inside] - r0] = np.iinfo(np.int64).max
        best = _top_k(dist, r0, k, best)
    return best[0].astype(np.int32), best[1].astype(np.int64)
