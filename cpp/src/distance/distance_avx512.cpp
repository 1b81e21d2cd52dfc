// AVX-512 (F/DQ) distance kernels. dot_block: 12 × 32 (float) / 12 × 16 (double) register
// tile, 24 zmm accumulators fed by 2 loads of B and 12 broadcasts of A per depth step
// (broadcasts fold into the FMA as {1toN} memory operands), the BLIS SkylakeX shape:
// 24 independent chains cover FMA latency × 2 ports and 32 zmm leave room for B.
// sqdist / dot: float pairs widened to double 8 lanes at a time, as in the AVX2 variant.
// Everything here lives in lowdim::avx512 or an anonymous namespace (no weak symbols).
#include <immintrin.h>

#include <cstddef>

#include "lowdim/distance.h"

namespace lowdim::avx512 {
namespace {
#include "dot_block_impl.h"

constexpr int kMr = 12;

struct Micro12x32F32 {
  static void run(const float* a, const float* b, std::size_t kc, float* c, std::size_t ldc,
                  bool first) {
    __m512 acc[kMr][2];
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      acc[r][0] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc);
      acc[r][1] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc + 16);
    }
    for (std::size_t p = 0; p < kc; ++p, a += kMr, b += 32) {
      const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
      for (int r = 0; r < kMr; ++r) {
        const __m512 ar = _mm512_set1_ps(a[r]);
        acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
      }
    }
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      _mm512_storeu_ps(c + r * ldc, acc[r][0]);
      _mm512_storeu_ps(c + r * ldc + 16, acc[r][1]);
    }
  }
};

struct Micro12x16F64 {
  static void run(const double* a, const double* b, std::size_t kc, double* c, std::size_t ldc,
                  bool first) {
    __m512d acc[kMr][2];
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      acc[r][0] = first ? _mm512_setzero_pd() : _mm512_loadu_pd(c + r * ldc);
      acc[r][1] = first ? _mm512_setzero_pd() : _mm512_loadu_pd(c + r * ldc + 8);
    }
    for (std::size_t p = 0; p < kc; ++p, a += kMr, b += 16) {
      const __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);
#pragma GCC unroll 12
      for (int r = 0; r < kMr; ++r) {
        const __m512d ar = _mm512_set1_pd(a[r]);
        acc[r][0] = _mm512_fmadd_pd(ar, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_pd(ar, b1, acc[r][1]);
      }
    }
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      _mm512_storeu_pd(c + r * ldc, acc[r][0]);
      _mm512_storeu_pd(c + r * ldc + 8, acc[r][1]);
    }
  }
};

// Kind 0: Σ (a−b)², kind 1: Σ a·b; float widened 8 lanes at a time to double.
template <int kKind>
double reduce_f32(const float* a, const float* b, std::size_t d) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  std::size_t p = 0;
  for (; p + 16 <= d; p += 16) {
    const __m512d a0 = _mm512_cvtps_pd(_mm256_loadu_ps(a + p));
    const __m512d a1 = _mm512_cvtps_pd(_mm256_loadu_ps(a + p + 8));
    const __m512d b0 = _mm512_cvtps_pd(_mm256_loadu_ps(b + p));
    const __m512d b1 = _mm512_cvtps_pd(_mm256_loadu_ps(b + p + 8));
    if (kKind == 0) {
      const __m512d t0 = _mm512_sub_pd(a0, b0), t1 = _mm512_sub_pd(a1, b1);
      acc0 = _mm512_fmadd_pd(t0, t0, acc0);
      acc1 = _mm512_fmadd_pd(t1, t1, acc1);
    } else {
      acc0 = _mm512_fmadd_pd(a0, b0, acc0);
      acc1 = _mm512_fmadd_pd(a1, b1, acc1);
    }
  }
  // Tail of fewer than 16 coordinates: masked loads read zeros past the end.
  for (; p < d; p += 8) {
    const __mmask8 m = d - p >= 8 ? __mmask8(0xff) : __mmask8((1u << (d - p)) - 1);
    const __m512d a0 = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, a + p));
    const __m512d b0 = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, b + p));
    if (kKind == 0) {
      const __m512d t0 = _mm512_sub_pd(a0, b0);
      acc0 = _mm512_fmadd_pd(t0, t0, acc0);
    } else {
      acc0 = _mm512_fmadd_pd(a0, b0, acc0);
    }
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

template <int kKind>
double reduce_f64(const double* a, const double* b, std::size_t d) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  std::size_t p = 0;
  for (; p + 16 <= d; p += 16) {
    const __m512d a0 = _mm512_loadu_pd(a + p), a1 = _mm512_loadu_pd(a + p + 8);
    const __m512d b0 = _mm512_loadu_pd(b + p), b1 = _mm512_loadu_pd(b + p + 8);
    if (kKind == 0) {
      const __m512d t0 = _mm512_sub_pd(a0, b0), t1 = _mm512_sub_pd(a1, b1);
      acc0 = _mm512_fmadd_pd(t0, t0, acc0);
      acc1 = _mm512_fmadd_pd(t1, t1, acc1);
    } else {
      acc0 = _mm512_fmadd_pd(a0, b0, acc0);
      acc1 = _mm512_fmadd_pd(a1, b1, acc1);
    }
  }
  for (; p < d; p += 8) {
    const __mmask8 m = d - p >= 8 ? __mmask8(0xff) : __mmask8((1u << (d - p)) - 1);
    const __m512d a0 = _mm512_maskz_loadu_pd(m, a + p), b0 = _mm512_maskz_loadu_pd(m, b + p);
    if (kKind == 0) {
      const __m512d t0 = _mm512_sub_pd(a0, b0);
      acc0 = _mm512_fmadd_pd(t0, t0, acc0);
    } else {
      acc0 = _mm512_fmadd_pd(a0, b0, acc0);
    }
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

}  // namespace

PanelShape dot_shape_f32() { return {kMr, 32}; }
PanelShape dot_shape_f64() { return {kMr, 16}; }
void dot_block_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb,
                   std::size_t d, float* c, std::size_t ldc) {
  dot_block_impl<float, kMr, 32, Micro12x32F32>(pa, ma, pb, nb, d, c, ldc);
}
void dot_block_f64(const double* pa, std::size_t ma, const double* pb, std::size_t nb,
                   std::size_t d, double* c, std::size_t ldc) {
  dot_block_impl<double, kMr, 16, Micro12x16F64>(pa, ma, pb, nb, d, c, ldc);
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
  // kFmaProbeLanes (96) = 6 zmm per step; 6 chains cannot cover FMA latency × 2 ports,
  // so run 12 chains for iters / 2 steps (same multiply-add count) plus one half step.
  __m512 acc[12];
  for (int r = 0; r < 12; ++r) acc[r] = _mm512_set1_ps(0.001f * r);
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.0001f);
  for (std::size_t i = 0; i < iters / 2; ++i)
#pragma GCC unroll 12
    for (int r = 0; r < 12; ++r) acc[r] = _mm512_fmadd_ps(acc[r], a, b);
  if (iters % 2)
    for (int r = 0; r < 6; ++r) acc[r] = _mm512_fmadd_ps(acc[r], a, b);
  __m512 s = acc[0];
  for (int r = 1; r < 12; ++r) s = _mm512_add_ps(s, acc[r]);
  return _mm512_reduce_add_ps(s);
}

}  // namespace lowdim::avx512
