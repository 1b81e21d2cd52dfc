// Portable distance kernels: a 4 × 8 register-tile dot product (plain loops the compiler
// may vectorise; no FMA, see -ffp-contract=off) and sequential exact distances.
// The reference the AVX2 variant is tested against; formulas in lowdim/distance.h.
#include <cstddef>

#include "lowdim/distance.h"

namespace lowdim::scalar {
namespace {
#include "dot_block_impl.h"

template <class T>
struct Micro4x8 {
  // Row r of A at a[p * step + o[r]] (run: a 4-wide panel; run_rows: 8-wide panels).
  static void body(const T* a, std::size_t step, const std::ptrdiff_t* o, const T* b,
                   std::size_t kc, T* c, std::size_t ldc, bool first) {
    T acc[4][8];
    for (int r = 0; r < 4; ++r)
      for (int s = 0; s < 8; ++s) acc[r][s] = first ? T(0) : c[r * ldc + s];
    for (std::size_t p = 0; p < kc; ++p, a += step, b += 8)
      for (int r = 0; r < 4; ++r)
        for (int s = 0; s < 8; ++s) acc[r][s] += a[o[r]] * b[s];
    for (int r = 0; r < 4; ++r)
      for (int s = 0; s < 8; ++s) c[r * ldc + s] = acc[r][s];
  }
  static void run(const T* a, const T* b, std::size_t kc, T* c, std::size_t ldc, bool first) {
    static constexpr std::ptrdiff_t kRows[4] = {0, 1, 2, 3};
    body(a, 4, kRows, b, kc, c, ldc, first);
  }
  static void run_rows(const T* a, const std::ptrdiff_t* off, const T* b, std::size_t kc, T* c,
                       std::size_t ldc, bool first) {
    body(a, 8, off, b, kc, c, ldc, first);
  }
};

// float pairs accumulate in double: these few exact recomputations are not the hot loop.
template <class T>
T sqdist_impl(const T* a, const T* b, std::size_t d) {
  double acc = 0;
  for (std::size_t p = 0; p < d; ++p) {
    const double t = static_cast<double>(a[p]) - static_cast<double>(b[p]);
    acc += t * t;
  }
  return static_cast<T>(acc);
}

template <class T>
T dot_impl(const T* a, const T* b, std::size_t d) {
  double acc = 0;
  for (std::size_t p = 0; p < d; ++p) acc += static_cast<double>(a[p]) * static_cast<double>(b[p]);
  return static_cast<T>(acc);
}

}  // namespace

PanelShape dot_shape_f32() { return {4, 8}; }
PanelShape dot_shape_f64() { return {4, 8}; }
void dot_block_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb,
                   std::size_t d, float* c, std::size_t ldc) {
  dot_block_impl<float, 4, 8, Micro4x8<float>>(pa, ma, pb, nb, d, c, ldc);
}
void dot_block_f64(const double* pa, std::size_t ma, const double* pb, std::size_t nb,
                   std::size_t d, double* c, std::size_t ldc) {
  dot_block_impl<double, 4, 8, Micro4x8<double>>(pa, ma, pb, nb, d, c, ldc);
}
void dot_block_sym_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb,
                       std::size_t d, float* c, std::size_t ldc) {
  dot_block_sym_impl<float, 4, 8, Micro4x8<float>>(pa, ma, pb, nb, d, c, ldc);
}
void dot_block_sym_f64(const double* pa, std::size_t ma, const double* pb, std::size_t nb,
                       std::size_t d, double* c, std::size_t ldc) {
  dot_block_sym_impl<double, 4, 8, Micro4x8<double>>(pa, ma, pb, nb, d, c, ldc);
}
float sqdist_f32(const float* a, const float* b, std::size_t d) { return sqdist_impl(a, b, d); }
double sqdist_f64(const double* a, const double* b, std::size_t d) { return sqdist_impl(a, b, d); }
float dot_f32(const float* a, const float* b, std::size_t d) { return dot_impl(a, b, d); }
double dot_f64(const double* a, const double* b, std::size_t d) { return dot_impl(a, b, d); }

float fma_probe_f32(std::size_t iters) {
  float acc[kFmaProbeLanes];
  for (std::size_t r = 0; r < kFmaProbeLanes; ++r) acc[r] = 0.001f * r;
  for (std::size_t i = 0; i < iters; ++i)
    for (std::size_t r = 0; r < kFmaProbeLanes; ++r) acc[r] = acc[r] * 0.999f + 0.0001f;
  float s = 0;
  for (std::size_t r = 0; r < kFmaProbeLanes; ++r) s += acc[r];
  return s;
}

}  // namespace lowdim::scalar
