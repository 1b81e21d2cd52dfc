// AVX2 + FMA distance kernels. dot_block: 6 × 16 (float) / 6 × 8 (double) register tile,
// 12 ymm accumulators fed by 2 loads of B and 6 broadcasts of A per depth step — the
// largest tile that leaves registers for the operands (BLIS Haswell shape).
// sqdist / dot: 2 independent accumulators to hide FMA latency; float pairs are widened
// to double so the exact recomputation is as accurate as the scalar variant.
#include <immintrin.h>

#include <cstddef>

#include "lowdim/distance.h"

namespace lowdim::avx2 {
namespace {
#include "dot_block_impl.h"

struct Micro6x16F32 {
  static void run(const float* a, const float* b, std::size_t kc, float* c, std::size_t ldc,
                  bool first) {
    __m256 acc[6][2];
    for (int r = 0; r < 6; ++r) {
      acc[r][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(c + r * ldc);
      acc[r][1] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(c + r * ldc + 8);
    }
    for (std::size_t p = 0; p < kc; ++p, a += 6, b += 16) {
      const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
      for (int r = 0; r < 6; ++r) {
        const __m256 ar = _mm256_broadcast_ss(a + r);
        acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < 6; ++r) {
      _mm256_storeu_ps(c + r * ldc, acc[r][0]);
      _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
    }
  }
};

struct Micro6x8F64 {
  static void run(const double* a, const double* b, std::size_t kc, double* c, std::size_t ldc,
                  bool first) {
    __m256d acc[6][2];
    for (int r = 0; r < 6; ++r) {
      acc[r][0] = first ? _mm256_setzero_pd() : _mm256_loadu_pd(c + r * ldc);
      acc[r][1] = first ? _mm256_setzero_pd() : _mm256_loadu_pd(c + r * ldc + 4);
    }
    for (std::size_t p = 0; p < kc; ++p, a += 6, b += 8) {
      const __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
#pragma GCC unroll 6
      for (int r = 0; r < 6; ++r) {
        const __m256d ar = _mm256_broadcast_sd(a + r);
        acc[r][0] = _mm256_fmadd_pd(ar, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_pd(ar, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < 6; ++r) {
      _mm256_storeu_pd(c + r * ldc, acc[r][0]);
      _mm256_storeu_pd(c + r * ldc + 4, acc[r][1]);
    }
  }
};

inline double hsum_f64x4(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Kind 0: Σ (a−b)², kind 1: Σ a·b; float widened 4 lanes at a time to double.
template <int kKind>
double reduce_f32(const float* a, const float* b, std::size_t d) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  std::size_t p = 0;
  for (; p + 8 <= d; p += 8) {
    const __m256d a0 = _mm256_cvtps_pd(_mm_loadu_ps(a + p)), a1 = _mm256_cvtps_pd(_mm_loadu_ps(a + p + 4));
    const __m256d b0 = _mm256_cvtps_pd(_mm_loadu_ps(b + p)), b1 = _mm256_cvtps_pd(_mm_loadu_ps(b + p + 4));
    if (kKind == 0) {
      const __m256d t0 = _mm256_sub_pd(a0, b0), t1 = _mm256_sub_pd(a1, b1);
      acc0 = _mm256_fmadd_pd(t0, t0, acc0);
      acc1 = _mm256_fmadd_pd(t1, t1, acc1);
    } else {
      acc0 = _mm256_fmadd_pd(a0, b0, acc0);
      acc1 = _mm256_fmadd_pd(a1, b1, acc1);
    }
  }
  double s = hsum_f64x4(_mm256_add_pd(acc0, acc1));
  for (; p < d; ++p) {  // tail of fewer than 8 coordinates
    const double x = a[p], y = b[p];
    s += kKind == 0 ? (x - y) * (x - y) : x * y;
  }
  return s;
}

template <int kKind>
double reduce_f64(const double* a, const double* b, std::size_t d) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  std::size_t p = 0;
  for (; p + 8 <= d; p += 8) {
    const __m256d a0 = _mm256_loadu_pd(a + p), a1 = _mm256_loadu_pd(a + p + 4);
    const __m256d b0 = _mm256_loadu_pd(b + p), b1 = _mm256_loadu_pd(b + p + 4);
    if (kKind == 0) {
      const __m256d t0 = _mm256_sub_pd(a0, b0), t1 = _mm256_sub_pd(a1, b1);
      acc0 = _mm256_fmadd_pd(t0, t0, acc0);
      acc1 = _mm256_fmadd_pd(t1, t1, acc1);
    } else {
      acc0 = _mm256_fmadd_pd(a0, b0, acc0);
      acc1 = _mm256_fmadd_pd(a1, b1, acc1);
    }
  }
  double s = hsum_f64x4(_mm256_add_pd(acc0, acc1));
  for (; p < d; ++p) s += kKind == 0 ? (a[p] - b[p]) * (a[p] - b[p]) : a[p] * b[p];
  return s;
}

}  // namespace

PanelShape dot_shape_f32() { return {6, 16}; }
PanelShape dot_shape_f64() { return {6, 8}; }
void dot_block_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb,
                   std::size_t d, float* c, std::size_t ldc) {
  dot_block_impl<float, 6, 16, Micro6x16F32>(pa, ma, pb, nb, d, c, ldc);
}
void dot_block_f64(const double* pa, std::size_t ma, const double* pb, std::size_t nb,
                   std::size_t d, double* c, std::size_t ldc) {
  dot_block_impl<double, 6, 8, Micro6x8F64>(pa, ma, pb, nb, d, c, ldc);
}
float sqdist_f32(const float* a, const float* b, std::size_t d) {
  return static_cast<float>(reduce_f32<0>(a, b, d));
}
double sqdist_f64(const double* a, const double* b, std::size_t d) { return reduce_f64<0>(a, b, d); }
float dot_f32(const float* a, const float* b, std::size_t d) {
  return static_cast<float>(reduce_f32<1>(a, b, d));
}
double dot_f64(const double* a, const double* b, std::size_t d) { return reduce_f64<1>(a, b, d); }

float fma_probe_f32(std::size_t iters) {
  // 12 independent chains: enough to cover FMA latency (4) × 2 ports with room to spare.
  __m256 acc[12];
  for (int r = 0; r < 12; ++r) acc[r] = _mm256_set1_ps(0.001f * r);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.0001f);
  for (std::size_t i = 0; i < iters; ++i)
#pragma GCC unroll 12
    for (int r = 0; r < 12; ++r) acc[r] = _mm256_fmadd_ps(acc[r], a, b);
  __m256 s = acc[0];
  for (int r = 1; r < 12; ++r) s = _mm256_add_ps(s, acc[r]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

}  // namespace lowdim::avx2
