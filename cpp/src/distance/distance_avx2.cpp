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
  // Row r of A at a[p * kStep + o[r]]: kStep = 6, o[r] = r for a 6-wide panel (run);
  // kStep = 16 and offsets into 16-wide panels for the self-search (run_rows).
  template <std::size_t kStep>
  static void body(const float* a, const std::ptrdiff_t* o, const float* b, std::size_t kc,
                   float* c, std::size_t ldc, bool first) {
    __m256 acc[6][2];
    for (int r = 0; r < 6; ++r) {
      acc[r][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(c + r * ldc);
      acc[r][1] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(c + r * ldc + 8);
    }
    const std::ptrdiff_t o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5];
    for (std::size_t p = 0; p < kc; ++p, a += kStep, b += 16) {
      const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
      const __m256 a0 = _mm256_broadcast_ss(a), a1 = _mm256_broadcast_ss(a + o1);
      acc[0][0] = _mm256_fmadd_ps(a0, b0, acc[0][0]);
      acc[0][1] = _mm256_fmadd_ps(a0, b1, acc[0][1]);
      acc[1][0] = _mm256_fmadd_ps(a1, b0, acc[1][0]);
      acc[1][1] = _mm256_fmadd_ps(a1, b1, acc[1][1]);
      const __m256 a2 = _mm256_broadcast_ss(a + o2), a3 = _mm256_broadcast_ss(a + o3);
      acc[2][0] = _mm256_fmadd_ps(a2, b0, acc[2][0]);
      acc[2][1] = _mm256_fmadd_ps(a2, b1, acc[2][1]);
      acc[3][0] = _mm256_fmadd_ps(a3, b0, acc[3][0]);
      acc[3][1] = _mm256_fmadd_ps(a3, b1, acc[3][1]);
      const __m256 a4 = _mm256_broadcast_ss(a + o4), a5 = _mm256_broadcast_ss(a + o5);
      acc[4][0] = _mm256_fmadd_ps(a4, b0, acc[4][0]);
      acc[4][1] = _mm256_fmadd_ps(a4, b1, acc[4][1]);
      acc[5][0] = _mm256_fmadd_ps(a5, b0, acc[5][0]);
      acc[5][1] = _mm256_fmadd_ps(a5, b1, acc[5][1]);
    }
    for (int r = 0; r < 6; ++r) {
      _mm256_storeu_ps(c + r * ldc, acc[r][0]);
      _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
    }
  }
  static void run(const float* a, const float* b, std::size_t kc, float* c, std::size_t ldc,
                  bool first) {
    static constexpr std::ptrdiff_t kRows[6] = {0, 1, 2, 3, 4, 5};
    body<6>(a, kRows, b, kc, c, ldc, first);
  }
  static void run_rows(const float* a, const std::ptrdiff_t* off, const float* b,
                       std::size_t kc, float* c, std::size_t ldc, bool first) {
    body<16>(a, off, b, kc, c, ldc, first);
  }
};

struct Micro6x8F64 {
  template <std::size_t kStep>
  static void body(const double* a, const std::ptrdiff_t* o, const double* b, std::size_t kc,
                   double* c, std::size_t ldc, bool first) {
    __m256d acc[6][2];
    for (int r = 0; r < 6; ++r) {
      acc[r][0] = first ? _mm256_setzero_pd() : _mm256_loadu_pd(c + r * ldc);
      acc[r][1] = first ? _mm256_setzero_pd() : _mm256_loadu_pd(c + r * ldc + 4);
    }
    std::ptrdiff_t oo[6];
    for (int r = 0; r < 6; ++r) oo[r] = o[r];
    for (std::size_t p = 0; p < kc; ++p, a += kStep, b += 8) {
      const __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
#pragma GCC unroll 6
      for (int r = 0; r < 6; ++r) {
        const __m256d ar = _mm256_broadcast_sd(a + oo[r]);
        acc[r][0] = _mm256_fmadd_pd(ar, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_pd(ar, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < 6; ++r) {
      _mm256_storeu_pd(c + r * ldc, acc[r][0]);
      _mm256_storeu_pd(c + r * ldc + 4, acc[r][1]);
    }
  }
  static void run(const double* a, const double* b, std::size_t kc, double* c, std::size_t ldc,
                  bool first) {
    static constexpr std::ptrdiff_t kRows[6] = {0, 1, 2, 3, 4, 5};
    body<6>(a, kRows, b, kc, c, ldc, first);
  }
  static void run_rows(const double* a, const std::ptrdiff_t* off, const double* b,
                       std::size_t kc, double* c, std::size_t ldc, bool first) {
    body<8>(a, off, b, kc, c, ldc, first);
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
void dot_block_sym_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb,
                       std::size_t d, float* c, std::size_t ldc) {
  dot_block_sym_impl<float, 6, 16, Micro6x16F32>(pa, ma, pb, nb, d, c, ldc);
}
void dot_block_sym_f64(const double* pa, std::size_t ma, const double* pb, std::size_t nb,
                       std::size_t d, double* c, std::size_t ldc) {
  dot_block_sym_impl<double, 6, 8, Micro6x8F64>(pa, ma, pb, nb, d, c, ldc);
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
