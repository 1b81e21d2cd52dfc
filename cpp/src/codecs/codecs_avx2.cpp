// AVX2 codec kernels. int8/uint8/int4 encode: faiss's formula 8 lanes at a time (the int4
// product in double, as faiss), packed to bytes / nibbles. fp16 through F16C (vcvtps2ph after clamping to ±65504 rounds to nearest
// even and saturates like the scalar bit formula; vcvtph2ps is exact); the other kinds are
// the codecs_impl.h loops vectorised by the compiler. Integer dot products: codes widened to
// int16 (vpmovzxbw / vpmovsxbw, int4 nibbles split first) and multiplied by int16 query
// weights with vpmaddwd, whose int32 pair sums and int32 accumulators are exact for the
// bounded weights the driver passes (no vpmaddubsw: its int16 saturation would not be).
// Hamming distances: xor + hardware popcnt on 64-bit words, four queries per row load.
#include <immintrin.h>

#include "codecs_impl.h"

namespace lowdim::avx2 {

using namespace codec_impl;

namespace {

inline std::int32_t hsum_i32x8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// 16 stored values of kind int8/uint8 starting at p, as int16.
template <bool kSigned>
inline __m256i widen16(const std::uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return kSigned ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
}

// Rows r, r+1 (R = 2) or r (R = 1) against queries i .. i+Q-1, full 16-byte chunks only.
template <bool kSigned, int R, int Q>
void dot8_tile(const std::uint8_t* c, std::size_t row_bytes, const std::int16_t* t,
               std::size_t t_stride, std::size_t chunks, std::int32_t* out, std::size_t ldo) {
  __m256i acc[Q][R];
  for (int i = 0; i < Q; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_si256();
  for (std::size_t ch = 0; ch < chunks; ++ch) {
    __m256i v[R];
    for (int r = 0; r < R; ++r) v[r] = widen16<kSigned>(c + r * row_bytes + 16 * ch);
    for (int i = 0; i < Q; ++i) {
      const __m256i w =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + i * t_stride + 16 * ch));
      for (int r = 0; r < R; ++r) acc[i][r] = _mm256_add_epi32(acc[i][r], _mm256_madd_epi16(v[r], w));
    }
  }
  for (int i = 0; i < Q; ++i)
    for (int r = 0; r < R; ++r) out[i * ldo + r] = hsum_i32x8(acc[i][r]);
}

// int4: a 16-byte chunk holds 32 dimensions; low nibbles meet t[32c .. 32c+16), high nibbles
// t[32c+16 .. 32c+32) (the layout the driver builds).
template <int R, int Q>
void dot4_tile(const std::uint8_t* c, std::size_t row_bytes, const std::int16_t* t,
               std::size_t t_stride, std::size_t chunks, std::int32_t* out, std::size_t ldo) {
  const __m128i mask = _mm_set1_epi8(0x0F);
  __m256i acc[Q][R];
  for (int i = 0; i < Q; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_si256();
  for (std::size_t ch = 0; ch < chunks; ++ch) {
    __m256i lo[R], hi[R];
    for (int r = 0; r < R; ++r) {
      const __m128i b =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + r * row_bytes + 16 * ch));
      lo[r] = _mm256_cvtepu8_epi16(_mm_and_si128(b, mask));
      hi[r] = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(b, 4), mask));
    }
    for (int i = 0; i < Q; ++i) {
      const std::int16_t* ti = t + i * t_stride + 32 * ch;
      const __m256i wl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ti));
      const __m256i wh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ti + 16));
      for (int r = 0; r < R; ++r)
        acc[i][r] = _mm256_add_epi32(acc[i][r], _mm256_add_epi32(_mm256_madd_epi16(lo[r], wl),
                                                                 _mm256_madd_epi16(hi[r], wh)));
    }
  }
  for (int i = 0; i < Q; ++i)
    for (int r = 0; r < R; ++r) out[i * ldo + r] = hsum_i32x8(acc[i][r]);
}

template <int R, int Q>
void tile(CodecKind kind, const std::uint8_t* c, std::size_t row_bytes, const std::int16_t* t,
          std::size_t t_stride, std::int32_t* out, std::size_t ldo) {
  const std::size_t chunks = row_bytes / 16;
  if (kind == CodecKind::int4)
    dot4_tile<R, Q>(c, row_bytes, t, t_stride, chunks, out, ldo);
  else if (kind == CodecKind::int8)
    dot8_tile<true, R, Q>(c, row_bytes, t, t_stride, chunks, out, ldo);
  else
    dot8_tile<false, R, Q>(c, row_bytes, t, t_stride, chunks, out, ldo);
  if (row_bytes % 16 == 0) return;
  // tail bytes: the same products, in scalar
  const std::size_t done = chunks * 16;
  for (int i = 0; i < Q; ++i)
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* cr = c + r * row_bytes;
      const std::int16_t* ti = t + i * t_stride;
      std::int32_t acc = 0;
      for (std::size_t b = done; b < row_bytes; ++b) {
        if (kind == CodecKind::int4) {
          const std::size_t base = (b / 16) * 32 + (b % 16);
          acc += ti[base] * (cr[b] & 0xF) + ti[base + 16] * (cr[b] >> 4);
        } else if (kind == CodecKind::int8) {
          acc += ti[b] * static_cast<std::int32_t>(static_cast<std::int8_t>(cr[b]));
        } else {
          acc += ti[b] * static_cast<std::int32_t>(cr[b]);
        }
      }
      out[i * ldo + r] += acc;
    }
}

// xi = clip((x − lo) / vdiff, 0, 1), 0 where vdiff = 0: the scalar level8/level4 steps
// (division, not a reciprocal, so the bits agree).
inline __m256 unit8(const float* x, const float* lo, const float* vdiff) {
  const __m256 zero = _mm256_setzero_ps(), v = _mm256_loadu_ps(vdiff);
  __m256 xi = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(lo)), v);
  xi = _mm256_and_ps(xi, _mm256_cmp_ps(v, zero, _CMP_NEQ_OQ));
  return _mm256_min_ps(_mm256_max_ps(xi, zero), _mm256_set1_ps(1.0f));
}

// Levels of 8 values as int32: (int)(255.0f · xi), or (int)((double)xi · 15.0) for int4.
template <bool kFour>
inline __m256i levels8(const float* x, const float* lo, const float* vdiff) {
  const __m256 xi = unit8(x, lo, vdiff);
  if (!kFour) return _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_set1_ps(255.0f), xi));
  const __m256d f = _mm256_set1_pd(15.0);
  const __m128i a = _mm256_cvttpd_epi32(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xi)), f));
  const __m128i b = _mm256_cvttpd_epi32(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xi, 1)), f));
  return _mm256_setr_m128i(a, b);
}

// 32 levels (dimensions j .. j+32) as 32 bytes in order.
template <bool kFour>
inline __m256i levels32(const float* x, const float* lo, const float* vdiff) {
  const __m256i a = levels8<kFour>(x, lo, vdiff), b = levels8<kFour>(x + 8, lo + 8, vdiff + 8);
  const __m256i c = levels8<kFour>(x + 16, lo + 16, vdiff + 16);
  const __m256i d = levels8<kFour>(x + 24, lo + 24, vdiff + 24);
  // the packs work per 128-bit lane; the permute puts the 4-byte groups back in order
  const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d));
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void encode_int_row(CodecKind kind, const float* x, std::size_t D, const float* lo,
                    const float* vdiff, std::uint8_t* out) {
  std::size_t j = 0;
  if (kind == CodecKind::int4) {
    const __m256i lo4 = _mm256_set1_epi16(0x000F), hi4 = _mm256_set1_epi16(0x00F0);
    for (; j + 32 <= D; j += 32) {
      const __m256i v = levels32<true>(x + j, lo + j, vdiff + j);
      // 16-bit lane p holds levels 2p (low byte) and 2p+1 (high byte): fold into one byte
      const __m256i w = _mm256_or_si256(_mm256_and_si256(v, lo4),
                                        _mm256_and_si256(_mm256_srli_epi16(v, 4), hi4));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j / 2),
                       _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
    }
    for (; j + 1 < D; j += 2)
      out[j / 2] = static_cast<std::uint8_t>(level4(x[j], lo[j], vdiff[j]) |
                                             (level4(x[j + 1], lo[j + 1], vdiff[j + 1]) << 4));
    if (j < D) out[j / 2] = level4(x[j], lo[j], vdiff[j]);
    return;
  }
  const __m256i flip = _mm256_set1_epi8(kind == CodecKind::int8 ? static_cast<char>(0x80) : 0);
  for (; j + 32 <= D; j += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j),
                        _mm256_xor_si256(levels32<false>(x + j, lo + j, vdiff + j), flip));
  const std::uint8_t f = kind == CodecKind::int8 ? 0x80 : 0;
  for (; j < D; ++j) out[j] = level8(x[j], lo[j], vdiff[j]) ^ f;
}

}  // namespace

void encode_rows(CodecKind kind, const float* x, std::size_t n, std::size_t D, const float* lo,
                 const float* vdiff, std::uint8_t* codes) {
  const std::size_t rb = codec_row_bytes(kind, D);
  if (kind == CodecKind::int8 || kind == CodecKind::uint8 || kind == CodecKind::int4) {
    for (std::size_t r = 0; r < n; ++r)
      encode_int_row(kind, x + r * D, D, lo, vdiff, codes + r * rb);
    return;
  }
  if (kind != CodecKind::fp16) {
    for (std::size_t r = 0; r < n; ++r) encode_row(kind, x + r * D, D, lo, vdiff, codes + r * rb);
    return;
  }
  const __m256 hi = _mm256_set1_ps(65504.0f), nhi = _mm256_set1_ps(-65504.0f);
  for (std::size_t r = 0; r < n; ++r) {
    const float* xr = x + r * D;
    auto* o = reinterpret_cast<std::uint16_t*>(codes + r * rb);
    std::size_t j = 0;
    for (; j + 8 <= D; j += 8) {
      const __m256 v = _mm256_max_ps(_mm256_min_ps(_mm256_loadu_ps(xr + j), hi), nhi);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + j),
                       _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; j < D; ++j) o[j] = to_fp16(xr[j]);
  }
}

void decode_rows(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                 const float* lo, const float* vdiff, float* out) {
  const std::size_t rb = codec_row_bytes(kind, D);
  if (kind != CodecKind::fp16) {
    for (std::size_t r = 0; r < n; ++r)
      decode_row(kind, codes + r * rb, D, lo, vdiff, out + r * D);
    return;
  }
  for (std::size_t r = 0; r < n; ++r) {
    const auto* h = reinterpret_cast<const std::uint16_t*>(codes + r * rb);
    float* o = out + r * D;
    std::size_t j = 0;
    for (; j + 8 <= D; j += 8)
      _mm256_storeu_ps(o + j, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i*>(h + j))));
    for (; j < D; ++j) o[j] = from_fp16(h[j]);
  }
}

void int_dot_block(CodecKind kind, const std::uint8_t* codes, std::size_t n,
                   std::size_t row_bytes, const std::int16_t* t, std::size_t nq,
                   std::size_t t_stride, std::int32_t* out, std::size_t ldo) {
  std::size_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    std::size_t r = 0;
    for (; r + 2 <= n; r += 2)
      tile<2, 4>(kind, codes + r * row_bytes, row_bytes, t + i * t_stride, t_stride,
                 out + i * ldo + r, ldo);
    for (; r < n; ++r)
      tile<1, 4>(kind, codes + r * row_bytes, row_bytes, t + i * t_stride, t_stride,
                 out + i * ldo + r, ldo);
  }
  for (; i < nq; ++i)
    for (std::size_t r = 0; r < n; ++r)
      tile<1, 1>(kind, codes + r * row_bytes, row_bytes, t + i * t_stride, t_stride,
                 out + i * ldo + r, ldo);
}

void hamming_block(const std::uint8_t* q, std::size_t nq, const std::uint8_t* y, std::size_t n,
                   std::size_t nbytes, std::int32_t* out, std::size_t ldo) {
  const std::size_t words = nbytes / 8, tail = nbytes % 8;
  auto word = [](const std::uint8_t* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto tail_count = [&](const std::uint8_t* a, const std::uint8_t* b) {
    std::int32_t acc = 0;
    for (std::size_t j = words * 8; j < nbytes; ++j)
      acc += _mm_popcnt_u32(static_cast<unsigned>(a[j] ^ b[j]));
    return acc;
  };
  std::size_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    const std::uint8_t* q0 = q + i * nbytes;
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint8_t* yr = y + r * nbytes;
      std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (std::size_t w = 0; w < words; ++w) {
        const std::uint64_t v = word(yr + 8 * w);
        a0 += _mm_popcnt_u64(v ^ word(q0 + 8 * w));
        a1 += _mm_popcnt_u64(v ^ word(q0 + nbytes + 8 * w));
        a2 += _mm_popcnt_u64(v ^ word(q0 + 2 * nbytes + 8 * w));
        a3 += _mm_popcnt_u64(v ^ word(q0 + 3 * nbytes + 8 * w));
      }
      std::int32_t* o = out + i * ldo + r;
      o[0] = static_cast<std::int32_t>(a0);
      o[ldo] = static_cast<std::int32_t>(a1);
      o[2 * ldo] = static_cast<std::int32_t>(a2);
      o[3 * ldo] = static_cast<std::int32_t>(a3);
      if (tail)
        for (int s = 0; s < 4; ++s) o[s * ldo] += tail_count(q0 + s * nbytes, yr);
    }
  }
  for (; i < nq; ++i)
    for (std::size_t r = 0; r < n; ++r) {
      std::uint64_t a = 0;
      for (std::size_t w = 0; w < words; ++w)
        a += _mm_popcnt_u64(word(y + r * nbytes + 8 * w) ^ word(q + i * nbytes + 8 * w));
      out[i * ldo + r] = static_cast<std::int32_t>(a) + tail_count(q + i * nbytes, y + r * nbytes);
    }
}

std::int64_t madd_probe(std::size_t iters) {
  constexpr int kAcc = kMaddProbeLanes / 16;
  __m256i acc[kAcc];
  for (int a = 0; a < kAcc; ++a) acc[a] = _mm256_set1_epi32(a);
  __m256i x = _mm256_set1_epi16(3), w = _mm256_set1_epi16(5);
  for (std::size_t it = 0; it < iters; ++it) {
    // the asm barrier keeps the compiler from folding the constant products
    __asm__ volatile("" : "+x"(x), "+x"(w));
    for (int a = 0; a < kAcc; ++a) acc[a] = _mm256_add_epi32(acc[a], _mm256_madd_epi16(x, w));
  }
  std::int64_t sum = 0;
  for (int a = 0; a < kAcc; ++a) sum += hsum_i32x8(acc[a]);
  return sum;
}

}  // namespace lowdim::avx2
