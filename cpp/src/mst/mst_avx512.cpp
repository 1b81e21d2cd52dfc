// AVX-512 Prim update (see mst.h). float64: one 8-point block is exactly one zmm per
// dimension; float32: one ymm per dimension (AVX-512VL), as in the AVX2 kernel.
// 8 blocks run at once (8 independent FMA chains cover latency 4 × 2 FMA ports, where
// the AVX2 kernel's 4 chains leave half the FMA throughput idle), and best/parent are
// lowered with one mask compare + two masked stores per block.
// Same arithmetic per lane as the AVX2 kernel (f32 chunks of 64 dims flushed into f64).
#include <immintrin.h>

#include "lowdim/mst.h"

namespace lowdim::avx512 {
namespace {

constexpr std::size_t L = kMstLanes;
constexpr std::size_t kChunk = 64;

inline void lower(__m512d dist, double* best, std::int64_t* parent, __m512i u) {
  const __mmask8 lt = _mm512_cmp_pd_mask(dist, _mm512_loadu_pd(best), _CMP_LT_OQ);
  _mm512_mask_storeu_pd(best, lt, dist);
  _mm512_mask_storeu_epi64(parent, lt, u);
}

// G blocks of f32 at once (G independent FMA chains).
template <int G>
inline void blocks_f32(const float* q, const float* blk, std::size_t d, double* best,
                       std::int64_t* parent, __m512i u) {
  __m512d acc[G];
  for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_pd();
  for (std::size_t k0 = 0; k0 < d; k0 += kChunk) {
    const std::size_t k1 = d - k0 < kChunk ? d : k0 + kChunk;  // not std::min: no weak symbols
    __m256 part[G];
    for (int g = 0; g < G; ++g) part[g] = _mm256_setzero_ps();
    for (std::size_t k = k0; k < k1; ++k) {
      const __m256 qk = _mm256_broadcast_ss(q + k);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(blk + g * d * L + k * L), qk);
        part[g] = _mm256_fmadd_ps(diff, diff, part[g]);
      }
    }
    for (int g = 0; g < G; ++g) acc[g] = _mm512_add_pd(acc[g], _mm512_cvtps_pd(part[g]));
  }
  for (int g = 0; g < G; ++g) lower(acc[g], best + g * L, parent + g * L, u);
}

template <int G>
inline void blocks_f64(const double* q, const double* blk, std::size_t d, double* best,
                       std::int64_t* parent, __m512i u) {
  __m512d acc[G];
  for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_pd();
  for (std::size_t k0 = 0; k0 < d; k0 += kChunk) {
    const std::size_t k1 = d - k0 < kChunk ? d : k0 + kChunk;  // not std::min: no weak symbols
    __m512d part[G];
    for (int g = 0; g < G; ++g) part[g] = _mm512_setzero_pd();
    for (std::size_t k = k0; k < k1; ++k) {
      const __m512d qk = _mm512_set1_pd(q[k]);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512d diff = _mm512_sub_pd(_mm512_loadu_pd(blk + g * d * L + k * L), qk);
        part[g] = _mm512_fmadd_pd(diff, diff, part[g]);
      }
    }
    for (int g = 0; g < G; ++g) acc[g] = _mm512_add_pd(acc[g], part[g]);
  }
  for (int g = 0; g < G; ++g) lower(acc[g], best + g * L, parent + g * L, u);
}

}  // namespace

void prim_update_f32(const float* q, const float* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u) {
  const __m512i uv = _mm512_set1_epi64(u);
  std::size_t b = b0;
  for (; b + 8 <= b1; b += 8) blocks_f32<8>(q, y + b * d * L, d, best + b * L, parent + b * L, uv);
  for (; b + 4 <= b1; b += 4) blocks_f32<4>(q, y + b * d * L, d, best + b * L, parent + b * L, uv);
  for (; b < b1; ++b) blocks_f32<1>(q, y + b * d * L, d, best + b * L, parent + b * L, uv);
}

void prim_update_f64(const double* q, const double* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u) {
  const __m512i uv = _mm512_set1_epi64(u);
  std::size_t b = b0;
  for (; b + 8 <= b1; b += 8) blocks_f64<8>(q, y + b * d * L, d, best + b * L, parent + b * L, uv);
  for (; b + 4 <= b1; b += 4) blocks_f64<4>(q, y + b * d * L, d, best + b * L, parent + b * L, uv);
  for (; b < b1; ++b) blocks_f64<1>(q, y + b * d * L, d, best + b * L, parent + b * L, uv);
}

}  // namespace lowdim::avx512
