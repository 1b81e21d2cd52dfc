// AVX2 nearest-centroid kernels: tiles of P points × 16 centroids (two f32x8 accumulators per
// point). Distance Σ_j (c_j − x_j)² as sub + fma and score ‖c‖² + Σ_j (−2x_j)·c_j as fma, in
// j order; the scalar kernels emulate the fma exactly, so every value is bitwise the same
// and labels agree on every ISA. A running (min, index) pair per lane uses a strict < so
// the lowest index wins ties, like faiss.
#include <immintrin.h>

#include <limits>

#include "lowdim/pq.h"

namespace lowdim::avx2 {
namespace {

// Reduce the 8 lanes of (best, index) to the first minimum.
inline std::int32_t first_min(__m256 best_f32x8, __m256i idx_i32x8) {
  alignas(32) float b[8];
  alignas(32) std::int32_t ix[8];
  _mm256_store_ps(b, best_f32x8);
  _mm256_store_si256(reinterpret_cast<__m256i*>(ix), idx_i32x8);
  float bv = b[0];
  std::int32_t bi = ix[0];
  for (int l = 1; l < 8; ++l)
    if (b[l] < bv || (b[l] == bv && ix[l] < bi)) {
      bv = b[l];
      bi = ix[l];
    }
  return bi;
}

// P points starting at x, all k_pad centroids; V = 2 vectors (16 centroids) per step, with a
// last single vector when k_pad is an odd multiple of 8.
template <int P>
void tile(const float* x, std::size_t x_stride, const float* ct, std::size_t dsub,
          std::size_t k_pad, std::int32_t* labels, float* dist, std::size_t dist_stride) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 best[P];
  __m256i bidx[P];
  for (int p = 0; p < P; ++p) {
    best[p] = inf;
    bidx[p] = _mm256_setzero_si256();
  }
  auto keep = [&](int p, __m256 acc, std::size_t c0) {
    const __m256 lt = _mm256_cmp_ps(acc, best[p], _CMP_LT_OQ);
    best[p] = _mm256_blendv_ps(best[p], acc, lt);
    const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int>(c0)));
    bidx[p] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bidx[p]),
                                                   _mm256_castsi256_ps(idx), lt));
    if (dist) _mm256_storeu_ps(dist + p * dist_stride + c0, acc);
  };
  std::size_t c0 = 0;
  for (; c0 + 16 <= k_pad; c0 += 16) {
    __m256 acc0[P], acc1[P];
    for (int p = 0; p < P; ++p) acc0[p] = acc1[p] = _mm256_setzero_ps();
    for (std::size_t j = 0; j < dsub; ++j) {
      const __m256 c_a = _mm256_loadu_ps(ct + j * k_pad + c0);
      const __m256 c_b = _mm256_loadu_ps(ct + j * k_pad + c0 + 8);
      for (int p = 0; p < P; ++p) {
        const __m256 xj = _mm256_broadcast_ss(x + p * x_stride + j);
        const __m256 da = _mm256_sub_ps(c_a, xj), db = _mm256_sub_ps(c_b, xj);
        acc0[p] = _mm256_fmadd_ps(da, da, acc0[p]);
        acc1[p] = _mm256_fmadd_ps(db, db, acc1[p]);
      }
    }
    for (int p = 0; p < P; ++p) {
      keep(p, acc0[p], c0);
      keep(p, acc1[p], c0 + 8);
    }
  }
  if (c0 < k_pad) {  // one block of 8 left
    __m256 acc0[P];
    for (int p = 0; p < P; ++p) acc0[p] = _mm256_setzero_ps();
    for (std::size_t j = 0; j < dsub; ++j) {
      const __m256 c_a = _mm256_loadu_ps(ct + j * k_pad + c0);
      for (int p = 0; p < P; ++p) {
        const __m256 da = _mm256_sub_ps(c_a, _mm256_broadcast_ss(x + p * x_stride + j));
        acc0[p] = _mm256_fmadd_ps(da, da, acc0[p]);
      }
    }
    for (int p = 0; p < P; ++p) keep(p, acc0[p], c0);
  }
  for (int p = 0; p < P; ++p) labels[p] = first_min(best[p], bidx[p]);
}

// Score variant: acc starts at ‖c‖² and adds (−2x_j)·c_j; 4 points × 16 centroids.
template <int P>
void tile_ip(const float* x, std::size_t x_stride, const float* ct, const float* cnorm,
             std::size_t dsub, std::size_t k_pad, std::int32_t* labels) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  constexpr std::size_t kMaxDsub = 64;
  // −2x once per tile (exact), so the centroid loop only broadcasts.
  alignas(32) float m2x[P][kMaxDsub];
  __m256 best[P];
  __m256i bidx[P];
  for (int p = 0; p < P; ++p) {
    best[p] = inf;
    bidx[p] = _mm256_setzero_si256();
  }
  auto keep = [&](int p, __m256 acc, std::size_t c0) {
    const __m256 lt = _mm256_cmp_ps(acc, best[p], _CMP_LT_OQ);
    best[p] = _mm256_blendv_ps(best[p], acc, lt);
    const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int>(c0)));
    bidx[p] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bidx[p]),
                                                   _mm256_castsi256_ps(idx), lt));
  };
  const bool small = dsub <= kMaxDsub;
  if (small)
    for (int p = 0; p < P; ++p)
      for (std::size_t j = 0; j < dsub; ++j) m2x[p][j] = -2.0f * x[p * x_stride + j];
  auto bx = [&](int p, std::size_t j) {
    return small ? _mm256_broadcast_ss(&m2x[p][j])
                 : _mm256_set1_ps(-2.0f * x[p * x_stride + j]);
  };
  std::size_t c0 = 0;
  for (; c0 + 16 <= k_pad; c0 += 16) {
    __m256 acc0[P], acc1[P];
    const __m256 n_a = _mm256_loadu_ps(cnorm + c0), n_b = _mm256_loadu_ps(cnorm + c0 + 8);
    for (int p = 0; p < P; ++p) {
      acc0[p] = n_a;
      acc1[p] = n_b;
    }
    for (std::size_t j = 0; j < dsub; ++j) {
      const __m256 c_a = _mm256_loadu_ps(ct + j * k_pad + c0);
      const __m256 c_b = _mm256_loadu_ps(ct + j * k_pad + c0 + 8);
      for (int p = 0; p < P; ++p) {
        const __m256 xj = bx(p, j);
        acc0[p] = _mm256_fmadd_ps(xj, c_a, acc0[p]);
        acc1[p] = _mm256_fmadd_ps(xj, c_b, acc1[p]);
      }
    }
    for (int p = 0; p < P; ++p) {
      keep(p, acc0[p], c0);
      keep(p, acc1[p], c0 + 8);
    }
  }
  if (c0 < k_pad) {
    __m256 acc0[P];
    const __m256 n_a = _mm256_loadu_ps(cnorm + c0);
    for (int p = 0; p < P; ++p) acc0[p] = n_a;
    for (std::size_t j = 0; j < dsub; ++j) {
      const __m256 c_a = _mm256_loadu_ps(ct + j * k_pad + c0);
      for (int p = 0; p < P; ++p) acc0[p] = _mm256_fmadd_ps(bx(p, j), c_a, acc0[p]);
    }
    for (int p = 0; p < P; ++p) keep(p, acc0[p], c0);
  }
  for (int p = 0; p < P; ++p) labels[p] = first_min(best[p], bidx[p]);
}

}  // namespace

void nearest_ip_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,
                    const float* cnorm, std::size_t dsub, std::size_t k_pad,
                    std::int32_t* labels) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    tile_ip<4>(x + i * x_stride, x_stride, ct, cnorm, dsub, k_pad, labels + i);
  for (; i < n; ++i) tile_ip<1>(x + i * x_stride, x_stride, ct, cnorm, dsub, k_pad, labels + i);
}

void nearest_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,
                 std::size_t dsub, std::size_t k, std::size_t k_pad, std::int32_t* labels,
                 float* dist, std::size_t dist_stride) {
  // Padding columns hold +inf: their distance is +inf (or NaN) and never a strict minimum.
  (void)k;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    tile<4>(x + i * x_stride, x_stride, ct, dsub, k_pad, labels + i,
            dist ? dist + i * dist_stride : nullptr, dist_stride);
  for (; i < n; ++i)
    tile<1>(x + i * x_stride, x_stride, ct, dsub, k_pad, labels + i,
            dist ? dist + i * dist_stride : nullptr, dist_stride);
}

}  // namespace lowdim::avx2
