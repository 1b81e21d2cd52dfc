// Scalar nearest-centroid kernels of product quantization: Σ_j (c_j − x_j)² (sub, then
// fma(d, d, acc)) or ‖c‖² + Σ_j (−2x_j)·c_j (fma) per centroid in j order, then the first
// minimum. The fma is emulated exactly (no FMA unit in the baseline ISA).
// The AVX2 kernel and python/lowdim/_ref_pq.py follow the same operation order exactly.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "lowdim/pq.h"

namespace lowdim::scalar {
namespace {

// fma(a, b, c) correctly rounded to float without an FMA unit: a·b is exact in double, so
// s = a·b + c has one double rounding, and rounding s to float is already correct unless s
// sits exactly on a float midpoint (or in float's subnormal range). Only there the exact
// error (TwoSum) decides: an inexact even s steps one ulp towards the true value (round to
// odd), which makes the float rounding correct since 53 ≥ 2·24 + 2 (Boldo & Melquiond,
// IEEE Trans. Computers 2008). Bitwise vfmadd…ps; python/lowdim/_ref_pq.fma32 is the twin.
inline float fma_f32(float a, float b, float c) {
  const double p = static_cast<double>(a) * static_cast<double>(b);
  const double cd = static_cast<double>(c);
  const double s = p + cd;
  std::uint64_t bits;
  std::memcpy(&bits, &s, sizeof bits);
  const bool midpoint = (bits & 0x1FFFFFFFu) == 0x10000000u;
  if ((!midpoint && std::fabs(s) >= 0x1p-125) ||
      !(std::fabs(s) <= std::numeric_limits<double>::max()))
    return static_cast<float>(s);
  const double bp = s - p;
  const double e = (p - (s - bp)) + (cd - bp);
  if (e == 0.0 || (bits & 1) != 0) return static_cast<float>(s);
  bits = ((e > 0) == (s > 0)) ? bits + 1 : bits - 1;
  double odd;
  std::memcpy(&odd, &bits, sizeof odd);
  return static_cast<float>(odd);
}

}  // namespace

void nearest_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,
                 std::size_t dsub, std::size_t k, std::size_t k_pad, std::int32_t* labels,
                 float* dist, std::size_t dist_stride) {
  std::vector<float> buf(k_pad);
  for (std::size_t i = 0; i < n; ++i) {
    const float* xi = x + i * x_stride;
    float* acc = dist ? dist + i * dist_stride : buf.data();
    // j outer, centroids inner: contiguous rows of ct, and each acc[c] still sums in j order.
    for (std::size_t c = 0; c < k; ++c) acc[c] = 0.0f;
    for (std::size_t j = 0; j < dsub; ++j) {
      const float* row = ct + j * k_pad;
      const float xj = xi[j];
      for (std::size_t c = 0; c < k; ++c) {
        const float diff = row[c] - xj;
        acc[c] = fma_f32(diff, diff, acc[c]);
      }
    }
    float best = std::numeric_limits<float>::infinity();
    std::int32_t arg = 0;
    for (std::size_t c = 0; c < k; ++c)
      if (acc[c] < best) {  // strict: ties keep the lowest index
        best = acc[c];
        arg = static_cast<std::int32_t>(c);
      }
    labels[i] = arg;
  }
}

void nearest_ip_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,
                    const float* cnorm, std::size_t dsub, std::size_t k_pad,
                    std::int32_t* labels) {
  std::vector<float> acc(k_pad);
  for (std::size_t i = 0; i < n; ++i) {
    const float* xi = x + i * x_stride;
    for (std::size_t c = 0; c < k_pad; ++c) acc[c] = cnorm[c];
    for (std::size_t j = 0; j < dsub; ++j) {
      const float* row = ct + j * k_pad;
      const float m2x = -2.0f * xi[j];  // exact: scaling by a power of two
      for (std::size_t c = 0; c < k_pad; ++c) acc[c] = fma_f32(m2x, row[c], acc[c]);
    }
    float best = std::numeric_limits<float>::infinity();
    std::int32_t arg = 0;
    for (std::size_t c = 0; c < k_pad; ++c)
      if (acc[c] < best) {  // padding is +inf or NaN: never taken
        best = acc[c];
        arg = static_cast<std::int32_t>(c);
      }
    labels[i] = arg;
  }
}

}  // namespace lowdim::scalar
