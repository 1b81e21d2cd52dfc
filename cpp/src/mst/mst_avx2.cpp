// AVX2 + FMA Prim update (see mst.h). One block = 8 points stored dim-major, so each
// dimension is one contiguous 8-lane load, the query coordinate a broadcast, and no
// horizontal sums are needed. Several blocks run at once to hide FMA latency.
// float32: differences and FMA in f32 over chunks of 64 dims, each chunk flushed into f64
// accumulators (f32 speed, f64-grade sums). Python rejects/upcasts inputs that overflow.
#include <immintrin.h>

#include <algorithm>

#include "lowdim/mst.h"

namespace lowdim::avx2 {
namespace {

constexpr std::size_t L = kMstLanes;
constexpr std::size_t kChunk = 64;

// best/parent of one block (8 lanes = two f64x4 halves) lowered where dist < best.
inline void lower(__m256d dist_lo, __m256d dist_hi, double* best, std::int64_t* parent,
                  __m256d u_bits) {
  const __m256d b_lo = _mm256_loadu_pd(best), b_hi = _mm256_loadu_pd(best + 4);
  const __m256d lt_lo = _mm256_cmp_pd(dist_lo, b_lo, _CMP_LT_OQ);
  const __m256d lt_hi = _mm256_cmp_pd(dist_hi, b_hi, _CMP_LT_OQ);
  _mm256_storeu_pd(best, _mm256_blendv_pd(b_lo, dist_lo, lt_lo));
  _mm256_storeu_pd(best + 4, _mm256_blendv_pd(b_hi, dist_hi, lt_hi));
  // parent is int64: blend its bit pattern as doubles (blendv only looks at sign bits).
  double* pp = reinterpret_cast<double*>(parent);
  _mm256_storeu_pd(pp, _mm256_blendv_pd(_mm256_loadu_pd(pp), u_bits, lt_lo));
  _mm256_storeu_pd(pp + 4, _mm256_blendv_pd(_mm256_loadu_pd(pp + 4), u_bits, lt_hi));
}

// G blocks of f32 at once (G independent FMA chains).
template <int G>
inline void blocks_f32(const float* q, const float* blk, std::size_t d, double* best,
                       std::int64_t* parent, __m256d u_bits) {
  __m256d acc_lo[G], acc_hi[G];
  for (int g = 0; g < G; ++g) acc_lo[g] = acc_hi[g] = _mm256_setzero_pd();
  for (std::size_t k0 = 0; k0 < d; k0 += kChunk) {
    const std::size_t k1 = std::min(d, k0 + kChunk);
    __m256 part[G];
    for (int g = 0; g < G; ++g) part[g] = _mm256_setzero_ps();
    for (std::size_t k = k0; k < k1; ++k) {
      const __m256 qk = _mm256_broadcast_ss(q + k);
      for (int g = 0; g < G; ++g) {
        const __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(blk + g * d * L + k * L), qk);
        part[g] = _mm256_fmadd_ps(diff, diff, part[g]);
      }
    }
    for (int g = 0; g < G; ++g) {
      acc_lo[g] = _mm256_add_pd(acc_lo[g], _mm256_cvtps_pd(_mm256_castps256_ps128(part[g])));
      acc_hi[g] = _mm256_add_pd(acc_hi[g], _mm256_cvtps_pd(_mm256_extractf128_ps(part[g], 1)));
    }
  }
  for (int g = 0; g < G; ++g) lower(acc_lo[g], acc_hi[g], best + g * L, parent + g * L, u_bits);
}

template <int G>
inline void blocks_f64(const double* q, const double* blk, std::size_t d, double* best,
                       std::int64_t* parent, __m256d u_bits) {
  __m256d acc_lo[G], acc_hi[G];
  for (int g = 0; g < G; ++g) acc_lo[g] = acc_hi[g] = _mm256_setzero_pd();
  for (std::size_t k0 = 0; k0 < d; k0 += kChunk) {
    const std::size_t k1 = std::min(d, k0 + kChunk);
    __m256d part_lo[G], part_hi[G];
    for (int g = 0; g < G; ++g) part_lo[g] = part_hi[g] = _mm256_setzero_pd();
    for (std::size_t k = k0; k < k1; ++k) {
      const __m256d qk = _mm256_broadcast_sd(q + k);
      for (int g = 0; g < G; ++g) {
        const double* p = blk + g * d * L + k * L;
        const __m256d dlo = _mm256_sub_pd(_mm256_loadu_pd(p), qk);
        const __m256d dhi = _mm256_sub_pd(_mm256_loadu_pd(p + 4), qk);
        part_lo[g] = _mm256_fmadd_pd(dlo, dlo, part_lo[g]);
        part_hi[g] = _mm256_fmadd_pd(dhi, dhi, part_hi[g]);
      }
    }
    for (int g = 0; g < G; ++g) {
      acc_lo[g] = _mm256_add_pd(acc_lo[g], part_lo[g]);
      acc_hi[g] = _mm256_add_pd(acc_hi[g], part_hi[g]);
    }
  }
  for (int g = 0; g < G; ++g) lower(acc_lo[g], acc_hi[g], best + g * L, parent + g * L, u_bits);
}

#define LOWDIM_F16C __attribute__((target("avx2,fma,f16c")))

// Approximate squared distances of G blocks from their float16 copy (as blocks_f32<G>).
template <int G>
LOWDIM_F16C inline void half_blocks(const float* q, const std::uint16_t* blk, std::size_t d,
                                    __m256d* lo, __m256d* hi) {
  for (int g = 0; g < G; ++g) lo[g] = hi[g] = _mm256_setzero_pd();
  for (std::size_t k0 = 0; k0 < d; k0 += kChunk) {
    const std::size_t k1 = std::min(d, k0 + kChunk);
    __m256 part[G];
    for (int g = 0; g < G; ++g) part[g] = _mm256_setzero_ps();
    for (std::size_t k = k0; k < k1; ++k) {
      const __m256 qk = _mm256_broadcast_ss(q + k);
      for (int g = 0; g < G; ++g) {
        const __m128i h =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + g * d * L + k * L));
        const __m256 diff = _mm256_sub_ps(_mm256_cvtph_ps(h), qk);
        part[g] = _mm256_fmadd_ps(diff, diff, part[g]);
      }
    }
    for (int g = 0; g < G; ++g) {
      lo[g] = _mm256_add_pd(lo[g], _mm256_cvtps_pd(_mm256_castps256_ps128(part[g])));
      hi[g] = _mm256_add_pd(hi[g], _mm256_cvtps_pd(_mm256_extractf128_ps(part[g], 1)));
    }
  }
}

// Lanes whose lower bound cannot rule out an update: (sqrt(a)(1-1e-5) - err)² < best(1+1e-5)
// or the bound is not positive. 1e-5 covers f32 rounding of both the approximate and the
// exact sums (each < 5e-6 relative), so skipping never changes what the exact path does.
inline int maybe_lower(__m256d a, const double* err, const double* best) {
  const __m256d lb = _mm256_sub_pd(_mm256_mul_pd(_mm256_sqrt_pd(a), _mm256_set1_pd(1 - 1e-5)),
                                   _mm256_loadu_pd(err));
  const __m256d ok = _mm256_and_pd(
      _mm256_cmp_pd(lb, _mm256_setzero_pd(), _CMP_GT_OQ),
      _mm256_cmp_pd(_mm256_mul_pd(lb, lb),
                    _mm256_mul_pd(_mm256_loadu_pd(best), _mm256_set1_pd(1 + 1e-5)), _CMP_GE_OQ));
  return _mm256_movemask_pd(ok) ^ 0xF;
}

}  // namespace

bool prim_half_supported() { return __builtin_cpu_supports("f16c"); }

LOWDIM_F16C void prim_prepare_half(const float* y, std::size_t d, std::size_t blocks,
                                   std::uint16_t* yh, double* err) {
  for (std::size_t b = 0; b < blocks; ++b) {
    __m256d e_lo = _mm256_setzero_pd(), e_hi = _mm256_setzero_pd();
    for (std::size_t k = 0; k < d; ++k) {
      const std::size_t at = (b * d + k) * L;
      const __m256 v = _mm256_loadu_ps(y + at);
      const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(yh + at), h);
      const __m256 r = _mm256_sub_ps(v, _mm256_cvtph_ps(h));  // exact: r fits in f32
      const __m256d r_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(r));
      const __m256d r_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));
      e_lo = _mm256_fmadd_pd(r_lo, r_lo, e_lo);
      e_hi = _mm256_fmadd_pd(r_hi, r_hi, e_hi);
    }
    // Inflate by 1e-6 for the rounding of this f64 sum and sqrt.
    const __m256d grow = _mm256_set1_pd(1 + 1e-6);
    _mm256_storeu_pd(err + b * L, _mm256_mul_pd(_mm256_sqrt_pd(e_lo), grow));
    _mm256_storeu_pd(err + b * L + 4, _mm256_mul_pd(_mm256_sqrt_pd(e_hi), grow));
  }
}

LOWDIM_F16C void prim_update_half_f32(const float* q, const std::uint16_t* yh, const float* y,
                                      const double* err, std::size_t d, std::size_t b0,
                                      std::size_t b1, double* best, std::int64_t* parent,
                                      std::int64_t u) {
  const __m256d u_bits = _mm256_castsi256_pd(_mm256_set1_epi64x(u));
  constexpr int G = 4;
  for (std::size_t b = b0; b < b1; b += G) {
    const int g_end = static_cast<int>(std::min<std::size_t>(G, b1 - b));
    __m256d lo[G], hi[G];
    if (g_end == G) {
      half_blocks<G>(q, yh + b * d * L, d, lo, hi);
    } else {
      for (int g = 0; g < g_end; ++g) half_blocks<1>(q, yh + (b + g) * d * L, d, lo + g, hi + g);
    }
    for (int g = 0; g < g_end; ++g) {
      const std::size_t at = (b + g) * L;
      if (maybe_lower(lo[g], err + at, best + at) | maybe_lower(hi[g], err + at + 4, best + at + 4))
        blocks_f32<1>(q, y + (b + g) * d * L, d, best + at, parent + at, u_bits);
    }
  }
}

void prim_update_f32(const float* q, const float* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u) {
  const __m256d u_bits = _mm256_castsi256_pd(_mm256_set1_epi64x(u));
  std::size_t b = b0;
  for (; b + 4 <= b1; b += 4) blocks_f32<4>(q, y + b * d * L, d, best + b * L, parent + b * L, u_bits);
  for (; b < b1; ++b) blocks_f32<1>(q, y + b * d * L, d, best + b * L, parent + b * L, u_bits);
}

void prim_update_f64(const double* q, const double* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u) {
  const __m256d u_bits = _mm256_castsi256_pd(_mm256_set1_epi64x(u));
  std::size_t b = b0;
  for (; b + 2 <= b1; b += 2) blocks_f64<2>(q, y + b * d * L, d, best + b * L, parent + b * L, u_bits);
  for (; b < b1; ++b) blocks_f64<1>(q, y + b * d * L, d, best + b * L, parent + b * L, u_bits);
}

}  // namespace lowdim::avx2
