// Scalar nearest-centroid kernels of product quantization: Σ_j (c_j − x_j)² (sub, mul, add)
// or ‖c‖² + Σ_j (−2x_j)·c_j (mul, add) per centroid in j order (-ffp-contract=off keeps
// the operations separate), then the first minimum.
// The AVX2 kernel and python/lowdim/_ref_pq.py follow the same operation order exactly.
#include <limits>
#include <vector>

#include "lowdim/pq.h"

namespace lowdim::scalar {

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
        acc[c] = acc[c] + diff * diff;
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
      for (std::size_t c = 0; c < k_pad; ++c) acc[c] = acc[c] + m2x * row[c];
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
