// Product quantization (Jégou, Douze & Schmid 2011) in faiss's layout: d = M·dsub, each
// sub-space m has K = 2^nbits centroids, codebooks (M, K, dsub) row-major float32.
//   distance  ‖x_m − c_{m,k}‖² = Σ_j (c_j − x_j)²: d = c_j − x_j, acc = fma(d, d, acc) in
//             j order (one rounding per term; the scalar ISA and numpy emulate the fma
//             exactly), so every ISA and the numpy twin agree bitwise; used by encode and
//             distance tables: it is faiss's formula for dsub < 16.
//   score     ‖c‖² − 2 x·c = ‖c‖² + Σ_j (−2x_j)·c_j, acc = fma(−2x_j, c_j, acc) in j order:
//             the same ranking as the distance up to rounding, one op per term; used by
//             k-means assignment (faiss trains with this expansion too, via BLAS).
//   assign    argmin_k with ties to the lowest k (faiss's rule);
//   k-means   Lloyd: assign, float64 sums in point order, c = float32(sum / count),
//             empty clusters split from the largest one (faiss's ±1/1024 perturbation);
//   ADC       dist(q, code) = Σ_m table[m][code_m] in m order, top-k ties to lowest index.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

// Per-ISA kernels. x: (n, dsub) rows with stride `x_stride` floats; ct: centroids
// transposed and padded, (dsub, k_pad) with k_pad = k rounded up to 8 and padding columns
// = +inf (their value is +inf or NaN, never a strict minimum). Write labels (n,) in [0, k).
// nearest_f32 ranks by distance; when `dist` is not null it also writes all distances
// (n, k_pad) with row stride `dist_stride` (rows need k_pad writable floats).
// nearest_ip_f32 ranks by score; cnorm: (k_pad,) = Σ_j c_j² in j order, +inf in padding.
#define LOWDIM_PQ_KERNELS                                                                     \
  void nearest_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,     \
                   std::size_t dsub, std::size_t k, std::size_t k_pad, std::int32_t* labels, \
                   float* dist, std::size_t dist_stride);                                    \
  void nearest_ip_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,  \
                      const float* cnorm, std::size_t dsub, std::size_t k_pad,               \
                      std::int32_t* labels);
namespace scalar {
LOWDIM_PQ_KERNELS
}  // namespace scalar
namespace avx2 {
LOWDIM_PQ_KERNELS
}  // namespace avx2
#undef LOWDIM_PQ_KERNELS

// x: (n, M·dsub); centroids: (M, K, dsub), updated in place by n_iter Lloyd iterations.
void pq_kmeans(const float* x, std::size_t n, std::size_t M, std::size_t K, std::size_t dsub,
               int n_iter, float* centroids, int n_threads);

// x: (n, M·dsub), codebooks: (M, K, dsub), codes: (n, M) of Code (uint8 if K ≤ 256).
template <class Code>
void pq_encode(const float* x, std::size_t n, std::size_t M, std::size_t K, std::size_t dsub,
               const float* codebooks, Code* codes, int n_threads);

// codes: (n, M), out: (n, M·dsub).
template <class Code>
void pq_decode(const Code* codes, std::size_t n, std::size_t M, std::size_t K,
               std::size_t dsub, const float* codebooks, float* out, int n_threads);

// q: (nq, M·dsub), table: (nq, M, K).
void pq_distance_table(const float* q, std::size_t nq, std::size_t M, std::size_t K,
                       std::size_t dsub, const float* codebooks, float* table, int n_threads);

// table: (nq, M, K), codes: (n, M); out_dist / out_idx: (nq, k), k ≤ n, ascending
// (distance, index).
template <class Code>
void pq_search(const float* table, std::size_t nq, std::size_t M, std::size_t K,
               const Code* codes, std::size_t n, std::size_t k, float* out_dist,
               std::int64_t* out_idx, int n_threads);

}  // namespace lowdim
