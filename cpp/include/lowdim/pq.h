// Product quantization (Jégou, Douze & Schmid 2011) in faiss's layout: d = M·dsub, each
// sub-space m has K = 2^nbits centroids, codebooks (M, K, dsub) row-major float32.
//   distance  ‖x_m − c_{m,k}‖² = Σ_j (c_j − x_j)² summed in j order, sub/mul/add, no FMA,
//             so every ISA and the numpy twin round identically (codes bitwise equal);
//   assign    argmin_k with ties to the lowest k (faiss's rule);
//   k-means   Lloyd: assign, float64 sums in point order, c = float32(sum / count),
//             empty clusters split from the largest one (faiss's ±1/1024 perturbation);
//   ADC       dist(q, code) = Σ_m table[m][code_m] in m order, top-k ties to lowest index.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

// Per-ISA kernel. x: (n, dsub) rows with stride `x_stride` floats; ct: centroids
// transposed and padded, (dsub, k_pad) with k_pad = k rounded up to 8 and padding
// columns = +inf (their distance is +inf or NaN, never a strict minimum). Writes labels (n,) in [0, k); when
// `dist` is not null also writes all distances (n, k_pad) with row stride `dist_stride`
// (each row needs k_pad writable floats; the padding entries are +inf).
namespace scalar {
void nearest_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,
                 std::size_t dsub, std::size_t k, std::size_t k_pad, std::int32_t* labels,
                 float* dist, std::size_t dist_stride);
}  // namespace scalar
namespace avx2 {
void nearest_f32(const float* x, std::size_t n, std::size_t x_stride, const float* ct,
                 std::size_t dsub, std::size_t k, std::size_t k_pad, std::int32_t* labels,
                 float* dist, std::size_t dist_stride);
}  // namespace avx2

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
