// Exact Euclidean minimum spanning tree by Prim's algorithm on the implicit complete graph.
//   O(n) extra memory besides one permuted copy of the points; never an n × n matrix.
//   Each step adds the outside point u closest to the tree and lowers best[j] (squared
//   distance from the tree to j) by ||x_u - x_j||², computed from direct differences.
// The points still outside the tree live in a compacted copy in blocks of 8 ("AoSoA":
// block b holds dims 0..d-1 of 8 points, dim-major), so the update streams memory.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

constexpr std::size_t kMstLanes = 8;  // points per block of the compacted copy

// Per-ISA update over blocks [b0, b1) of the compacted copy y (blocks of d·8 values):
//   dist = ||q - y_p||² (float64; float32 input: f32 differences, f32 FMA over chunks
//   of 64 dims, flushed into f64), then for every position p in those blocks
//   if dist < best[p]: best[p] = dist, parent[p] = u.
// best/parent have 8·(number of blocks) entries; lanes past the live points are
// updated too and must be ignored by the caller. q: (d,).
namespace scalar {
void prim_update_f32(const float* q, const float* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u);
void prim_update_f64(const double* q, const double* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u);
}  // namespace scalar
namespace avx2 {
void prim_update_f32(const float* q, const float* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u);
void prim_update_f64(const double* q, const double* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u);

// Memory-bound regime (float32, large m·d): a float16 copy yh of the AoSoA blocks halves
// the bytes streamed per step. err[p] >= ||y_p - half(y_p)||, so by the triangle inequality
// ||q - y_p|| >= ||q - half(y_p)|| - err[p]; a block is recomputed exactly from y only when
// that bound (with rounding margins) cannot rule out dist < best. Same tree as the plain
// update. Needs F16C besides AVX2 (prim_half_supported()).
bool prim_half_supported();
// y: AoSoA f32 blocks [0, blocks); writes yh (same layout) and err (blocks·8,).
void prim_prepare_half(const float* y, std::size_t d, std::size_t blocks, std::uint16_t* yh,
                       double* err);
void prim_update_half_f32(const float* q, const std::uint16_t* yh, const float* y,
                          const double* err, std::size_t d, std::size_t b0, std::size_t b1,
                          double* best, std::int64_t* parent, std::int64_t u);
}  // namespace avx2
namespace avx512 {
void prim_update_f32(const float* q, const float* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u);
void prim_update_f64(const double* q, const double* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u);
}  // namespace avx512

// x: (n, d) row-major, n >= 2. edges: (n-1, 2) with edges[e][0] < edges[e][1],
// lengths: (n-1,) Euclidean lengths; sorted by (length, i, j). Prim starts at point 0 and
// breaks ties by the lowest point index, so the tree is the same for any thread count.
template <class T>
void mst(const T* x, std::size_t n, std::size_t d, std::int64_t* edges, double* lengths,
         int n_threads);

// x: (batch, n, d); out[b] = Σ_e length_e^alpha over the MST of cloud b (edges summed in
// the sorted order of mst()). Threads split the clouds; each cloud runs single-threaded.
template <class T>
void mst_length_batch(const T* x, std::size_t batch, std::size_t n, std::size_t d, double alpha,
                      double* out, int n_threads);

}  // namespace lowdim
