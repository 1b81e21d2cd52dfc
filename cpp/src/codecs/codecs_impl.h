// Element-wise encode/decode of every codec kind (formulas in lowdim/codecs.h), written once
// and included by each ISA's translation unit inside its own namespace, so the compiler
// vectorises the same loops with that ISA's flags. IEEE operations only (no FMA contraction,
// no reciprocal tricks), so every ISA produces the same bits. Not a public header.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "lowdim/codecs.h"

namespace lowdim::codec_impl {

inline std::uint32_t float_bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

inline float bits_float(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// float32 -> code of a format with M mantissa bits and bias B (round to nearest even,
// saturating at max_code); nbits = 8 or 16 is the code width (sign in the top bit).
template <int M, int B, std::uint32_t kMaxCode, int kBits>
inline std::uint32_t round_bits(float x) {
  const std::uint32_t u = float_bits(x);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  const std::uint32_t efield = a >> 23;
  constexpr int kShift = 23 - M;
  std::uint32_t code;
  const int e = efield > 0 ? static_cast<int>(efield) - 127 : -126;
  if (e >= 1 - B) {
    const std::uint32_t rn = (a + ((1u << (kShift - 1)) - 1) + ((a >> kShift) & 1u)) >> kShift;
    code = rn - (static_cast<std::uint32_t>(127 - B) << M);
  } else {
    // below the smallest normal: round the full significand (no implicit 1 for float32
    // subnormals) shifted to the format's subnormal unit
    const std::uint32_t mant = efield > 0 ? ((a & 0x7FFFFFu) | 0x800000u) : a;
    int s = kShift + (1 - B) - e;
    if (s > 25) s = 25;
    code = (mant + ((1u << (s - 1)) - 1) + ((mant >> s) & 1u)) >> s;
  }
  if (code > kMaxCode) code = kMaxCode;
  return code | ((u >> 31) << (kBits - 1));
}

inline std::uint16_t to_fp16(float x) {
  return static_cast<std::uint16_t>(round_bits<10, 15, 0x7BFFu, 16>(x));
}
inline std::uint16_t to_bf16(float x) {
  return static_cast<std::uint16_t>(round_bits<7, 127, 0x7F7Fu, 16>(x));
}
inline std::uint8_t to_e4m3(float x) {
  return static_cast<std::uint8_t>(round_bits<3, 7, 0x7Eu, 8>(x));
}
inline std::uint8_t to_e5m2(float x) {
  return static_cast<std::uint8_t>(round_bits<2, 15, 0x7Bu, 8>(x));
}

inline float from_fp16(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t ef = (h >> 10) & 0x1Fu, mf = h & 0x3FFu;
  if (ef == 0) {  // zero or subnormal: exact as mf · 2^-24
    const float v = static_cast<float>(mf) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  if (ef == 31) return bits_float(sign | 0x7F800000u | (mf << 13));
  return bits_float(sign | ((ef + 112) << 23) | (mf << 13));
}

inline float from_bf16(std::uint16_t b) { return bits_float(static_cast<std::uint32_t>(b) << 16); }

// Decoded value of every fp8 code (built once; exact small powers of two).
struct Fp8Tables {
  float e4m3[256], e5m2[256];
  Fp8Tables() {
    for (int c = 0; c < 256; ++c) {
      e4m3[c] = value(c, 3, 7, true);
      e5m2[c] = value(c, 2, 15, false);
    }
  }
  static float value(int c, int M, int B, bool fn) {
    const int E = 7 - M, ef = (c >> M) & ((1 << E) - 1), mf = c & ((1 << M) - 1);
    const float sign = (c & 0x80) ? -1.0f : 1.0f;
    if (fn && (c & 0x7F) == 0x7F) return std::nanf("");
    if (!fn && ef == (1 << E) - 1) return mf ? std::nanf("") : sign * INFINITY;
    if (ef == 0) return sign * std::ldexp(static_cast<float>(mf), 1 - B - M);
    return sign * std::ldexp(1.0f + static_cast<float>(mf) / static_cast<float>(1 << M), ef - B);
  }
};

inline const Fp8Tables& fp8_tables() {
  static const Fp8Tables tables;
  return tables;
}

// Level 0..255 (uint8/int8) of one value, faiss QT_8bit.
inline std::uint8_t level8(float x, float lo, float vdiff) {
  float xi = 0.0f;
  if (vdiff != 0.0f) {
    xi = (x - lo) / vdiff;
    xi = xi < 0.0f ? 0.0f : xi;
    xi = xi > 1.0f ? 1.0f : xi;
  }
  return static_cast<std::uint8_t>(static_cast<int>(255.0f * xi));
}

// Level 0..15, faiss QT_4bit ((int)(x * 15.0) is a double product there).
inline std::uint8_t level4(float x, float lo, float vdiff) {
  float xi = 0.0f;
  if (vdiff != 0.0f) {
    xi = (x - lo) / vdiff;
    xi = xi < 0.0f ? 0.0f : xi;
    xi = xi > 1.0f ? 1.0f : xi;
  }
  return static_cast<std::uint8_t>(static_cast<int>(static_cast<double>(xi) * 15.0));
}

inline float unlevel(std::uint32_t level, float L, float lo, float vdiff) {
  const float xi = (static_cast<float>(level) + 0.5f) / L;
  return lo + xi * vdiff;
}

// One row of any kind except fp16 (which an ISA may do with its own instructions).
inline void encode_row(CodecKind kind, const float* x, std::size_t D, const float* lo,
                       const float* vdiff, std::uint8_t* out) {
  switch (kind) {
    case CodecKind::fp16: {
      auto* o = reinterpret_cast<std::uint16_t*>(out);
      for (std::size_t j = 0; j < D; ++j) o[j] = to_fp16(x[j]);
      break;
    }
    case CodecKind::bf16: {
      auto* o = reinterpret_cast<std::uint16_t*>(out);
      for (std::size_t j = 0; j < D; ++j) o[j] = to_bf16(x[j]);
      break;
    }
    case CodecKind::fp8_e4m3:
      for (std::size_t j = 0; j < D; ++j) out[j] = to_e4m3(x[j]);
      break;
    case CodecKind::fp8_e5m2:
      for (std::size_t j = 0; j < D; ++j) out[j] = to_e5m2(x[j]);
      break;
    case CodecKind::uint8:
      for (std::size_t j = 0; j < D; ++j) out[j] = level8(x[j], lo[j], vdiff[j]);
      break;
    case CodecKind::int8:
      for (std::size_t j = 0; j < D; ++j) out[j] = level8(x[j], lo[j], vdiff[j]) ^ 0x80u;
      break;
    case CodecKind::int4: {
      const std::size_t pairs = D / 2;
      for (std::size_t p = 0; p < pairs; ++p)
        out[p] = static_cast<std::uint8_t>(
            level4(x[2 * p], lo[2 * p], vdiff[2 * p]) |
            (level4(x[2 * p + 1], lo[2 * p + 1], vdiff[2 * p + 1]) << 4));
      if (D % 2) out[pairs] = level4(x[D - 1], lo[D - 1], vdiff[D - 1]);
      break;
    }
    case CodecKind::binary: {
      const std::size_t full = D / 8;
      for (std::size_t b = 0; b < full; ++b) {
        unsigned byte = 0;
        for (int i = 0; i < 8; ++i) byte |= static_cast<unsigned>(x[8 * b + i] > 0.0f) << (7 - i);
        out[b] = static_cast<std::uint8_t>(byte);
      }
      if (D % 8) {
        unsigned byte = 0;
        for (std::size_t i = 0; i < D % 8; ++i)
          byte |= static_cast<unsigned>(x[8 * full + i] > 0.0f) << (7 - i);
        out[full] = static_cast<std::uint8_t>(byte);
      }
      break;
    }
  }
}

inline void decode_row(CodecKind kind, const std::uint8_t* c, std::size_t D, const float* lo,
                       const float* vdiff, float* out) {
  switch (kind) {
    case CodecKind::fp16: {
      const auto* h = reinterpret_cast<const std::uint16_t*>(c);
      for (std::size_t j = 0; j < D; ++j) out[j] = from_fp16(h[j]);
      break;
    }
    case CodecKind::bf16: {
      const auto* h = reinterpret_cast<const std::uint16_t*>(c);
      for (std::size_t j = 0; j < D; ++j) out[j] = from_bf16(h[j]);
      break;
    }
    case CodecKind::fp8_e4m3: {
      const float* tab = fp8_tables().e4m3;
      for (std::size_t j = 0; j < D; ++j) out[j] = tab[c[j]];
      break;
    }
    case CodecKind::fp8_e5m2: {
      const float* tab = fp8_tables().e5m2;
      for (std::size_t j = 0; j < D; ++j) out[j] = tab[c[j]];
      break;
    }
    case CodecKind::uint8:
      for (std::size_t j = 0; j < D; ++j) out[j] = unlevel(c[j], 255.0f, lo[j], vdiff[j]);
      break;
    case CodecKind::int8:
      for (std::size_t j = 0; j < D; ++j)
        out[j] = unlevel(c[j] ^ 0x80u, 255.0f, lo[j], vdiff[j]);
      break;
    case CodecKind::int4:
      for (std::size_t j = 0; j < D; ++j)
        out[j] = unlevel((c[j / 2] >> ((j & 1) * 4)) & 0xFu, 15.0f, lo[j], vdiff[j]);
      break;
    case CodecKind::binary:
      for (std::size_t j = 0; j < D; ++j)
        out[j] = ((c[j / 8] >> (7 - (j % 8))) & 1u) ? 1.0f : -1.0f;
      break;
  }
}

// Scalar reference of int_dot_block for one (query, row) pair.
inline std::int32_t int_dot(CodecKind kind, const std::uint8_t* c, std::size_t row_bytes,
                            const std::int16_t* t) {
  std::int32_t acc = 0;
  if (kind == CodecKind::int4) {
    for (std::size_t i = 0; i < row_bytes; ++i) {
      const std::size_t base = (i / 16) * 32 + (i % 16);
      acc += t[base] * static_cast<std::int32_t>(c[i] & 0xF) +
             t[base + 16] * static_cast<std::int32_t>(c[i] >> 4);
    }
  } else if (kind == CodecKind::int8) {
    for (std::size_t j = 0; j < row_bytes; ++j)
      acc += t[j] * static_cast<std::int32_t>(static_cast<std::int8_t>(c[j]));
  } else {
    for (std::size_t j = 0; j < row_bytes; ++j) acc += t[j] * static_cast<std::int32_t>(c[j]);
  }
  return acc;
}

}  // namespace lowdim::codec_impl
