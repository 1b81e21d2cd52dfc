// AVX2 tile kernel of the dense very sparse projection. A tile is 16 float rows (8 double
// rows), so after the in-register transpose each input column i is one 64-byte cache line;
// every nonzero (j, i) then costs one line load plus one add into two accumulators. Signs
// are applied by xor-ing the sign bit (a + (−b) == a − b), so the sums are bitwise equal
// to sparse_projection_scalar.cpp, which adds in the same pattern order.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "lowdim/sparse_projection.h"

namespace lowdim::avx2 {
namespace {

// Rows past m read as zeros (the tail tile) without touching memory beyond x.
inline __m256 row_f32x8(const float* x, std::size_t r, std::size_t m, std::size_t d,
                        std::size_t i) {
  return r < m ? _mm256_loadu_ps(x + r * d + i) : _mm256_setzero_ps();
}
inline __m256d row_f64x4(const double* x, std::size_t r, std::size_t m, std::size_t d,
                         std::size_t i) {
  return r < m ? _mm256_loadu_pd(x + r * d + i) : _mm256_setzero_pd();
}

// xt[i * 16 + r] = x[r, i] for r < 16, columns i in blocks of 8 via 8 × 8 transposes.
void transpose_f32(const float* x, std::size_t m, std::size_t d, float* xt) {
  std::size_t i0 = 0;
  for (; i0 + 8 <= d; i0 += 8)
    for (std::size_t half = 0; half < 2; ++half) {
      __m256 r[8], t[8], s[8];
      for (std::size_t q = 0; q < 8; ++q) r[q] = row_f32x8(x, half * 8 + q, m, d, i0);
      for (std::size_t q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
      }
      for (std::size_t q = 0; q < 8; q += 4) {
        s[q] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
      float* dst = xt + i0 * 16 + half * 8;
      for (std::size_t c = 0; c < 4; ++c) {
        _mm256_storeu_ps(dst + c * 16, _mm256_permute2f128_ps(s[c], s[c + 4], 0x20));
        _mm256_storeu_ps(dst + (c + 4) * 16, _mm256_permute2f128_ps(s[c], s[c + 4], 0x31));
      }
    }
  for (; i0 < d; ++i0)
    for (std::size_t r = 0; r < 16; ++r) xt[i0 * 16 + r] = r < m ? x[r * d + i0] : 0.0f;
}

// xt[i * 8 + r] = x[r, i] for r < 8, columns in blocks of 4 via 4 × 4 transposes.
void transpose_f64(const double* x, std::size_t m, std::size_t d, double* xt) {
  std::size_t i0 = 0;
  for (; i0 + 4 <= d; i0 += 4)
    for (std::size_t half = 0; half < 2; ++half) {
      __m256d r[4];
      for (std::size_t q = 0; q < 4; ++q) r[q] = row_f64x4(x, half * 4 + q, m, d, i0);
      __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
      __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
      double* dst = xt + i0 * 8 + half * 4;
      _mm256_storeu_pd(dst + 0 * 8, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(dst + 1 * 8, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(dst + 2 * 8, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(dst + 3 * 8, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  for (; i0 < d; ++i0)
    for (std::size_t r = 0; r < 8; ++r) xt[i0 * 8 + r] = r < m ? x[r * d + i0] : 0.0;
}

inline __m256i sign_mask(std::uint32_t e) {  // −0.0 bits when negative, else 0
  return _mm256_set1_epi32(static_cast<int>((e & 1u) << 31));
}

}  // namespace

void sparse_rp_tile_f32(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, float scale, float* xt,
                        float* out) {
  transpose_f32(x, m, d, xt);
  const __m256 vscale = _mm256_set1_ps(scale);
  alignas(32) float buf[16];
  for (std::size_t j = 0; j < k; ++j) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (std::size_t p = ptr[j]; p < ptr[j + 1]; ++p) {
      const float* v = xt + static_cast<std::size_t>(ent[p] >> 1) * 16;
      const __m256 s = _mm256_castsi256_ps(sign_mask(ent[p]));
      lo = _mm256_add_ps(lo, _mm256_xor_ps(_mm256_loadu_ps(v), s));
      hi = _mm256_add_ps(hi, _mm256_xor_ps(_mm256_loadu_ps(v + 8), s));
    }
    _mm256_store_ps(buf, _mm256_mul_ps(lo, vscale));
    _mm256_store_ps(buf + 8, _mm256_mul_ps(hi, vscale));
    for (std::size_t r = 0; r < m; ++r) out[r * k + j] = buf[r];
  }
}

void sparse_rp_tile_f64(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, double scale, double* xt,
                        double* out) {
  transpose_f64(x, m, d, xt);
  const __m256d vscale = _mm256_set1_pd(scale);
  alignas(32) double buf[8];
  for (std::size_t j = 0; j < k; ++j) {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (std::size_t p = ptr[j]; p < ptr[j + 1]; ++p) {
      const double* v = xt + static_cast<std::size_t>(ent[p] >> 1) * 8;
      const __m256d s = _mm256_castsi256_pd(
          _mm256_set1_epi64x(static_cast<long long>(static_cast<std::uint64_t>(ent[p] & 1u) << 63)));
      lo = _mm256_add_pd(lo, _mm256_xor_pd(_mm256_loadu_pd(v), s));
      hi = _mm256_add_pd(hi, _mm256_xor_pd(_mm256_loadu_pd(v + 4), s));
    }
    _mm256_store_pd(buf, _mm256_mul_pd(lo, vscale));
    _mm256_store_pd(buf + 4, _mm256_mul_pd(hi, vscale));
    for (std::size_t r = 0; r < m; ++r) out[r * k + j] = buf[r];
  }
}

}  // namespace lowdim::avx2
