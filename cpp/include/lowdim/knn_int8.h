// Exact kNN with an int8 candidate pass (issue 17, "past the float32 limit").
//   Every row z = x − μ (μ: the database mean) is quantized per row, z ≈ s·q. Integer dot
//   products q_x·q_y give each pair an interval [L, U] that provably holds the float32
//   tile key of lowdim::knn (knn.h) for that pair:
//     |z_x·z_y − s_x s_y q_x·q_y| ≤ ‖z_x − ẑ_x‖‖z_y‖ + ‖ẑ_x‖‖z_y − ẑ_y‖  (Cauchy–Schwarz)
//   plus the float32 path's own rounding, |fl(x·y) − x·y| ≤ γ_d ‖x‖‖y‖ (Higham, Thm 3.5).
//   Per query the cap-th smallest U (cap = k + kKnnSpare) is a threshold; every pair with
//   L ≤ threshold gets its float32 tile key from the float32 kernels, the best cap by
//   (key, index) are lowdim::knn's candidates, and knn's exact re-check finishes them.
//   So distances, indices and tie order are those of lowdim::knn bit for bit.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lowdim/knn.h"

namespace lowdim {

// Integer tile kernel: c[i * ldc + j] = Σ_p ua_i[p] · qb_j[p] (int32, exact), with A rows
// as uint8 (q + 128, q in [−127, 127]) and B rows as int8 in [−63, 63], so each pair of
// products fits int16 (vpmaddubsw never saturates: 2 · 255 · 63 < 2¹⁵).
// Packing: coordinates in groups of 4; A panel of mr rows stores, per group g, mr × 4 bytes
// (row-major within the group); B panels likewise with nr rows. d4 = groups per row.
// Interval of one tile row: query terms (a) against rows j < w of B (b), in this order
// of IEEE operations on every ISA (no FMA), so every row gives the same bits:
//   v = float(dot[j] − off[j]),  e = (a.scale · scale[j]) · v
//   wid = (β·(a.resid · norm[j] + a.norm · resid[j])) · k1 + |e| · k2 + (a.fixed + fixed[j])
//   centre = (a.alpha + alpha[j]) − β·e;   low[j] = centre − wid,  up[j] = centre + wid.
struct Int8RowTerms {
  float scale, alpha, resid, norm, fixed;
};
struct Int8ColTerms {
  const float *scale, *alpha, *resid, *norm, *fixed;
  const std::int32_t* off;
  float beta, k1, k2;
};

struct Int8Kernels {
  std::size_t mr, nr;
  void (*dot_block)(const std::uint8_t* pa, std::size_t ma, const std::int8_t* pb,
                    std::size_t nb, std::size_t d4, std::int32_t* c, std::size_t ldc);
  // Fills low/up (w <= 256) for one tile row and bit j of hits (8 words) where
  // low[j] <= thr or low[j] <= col_thr[j] (col_thr may be null); true if any bit is set.
  bool (*bounds_row)(const std::int32_t* dot, std::size_t w, const Int8RowTerms& a,
                     const Int8ColTerms& b, float thr, const float* col_thr, float* low,
                     float* up, std::uint32_t* hits);
  const char* name;
};

// Table rows, oldest to newest. The VNNI row (vpdpbusd: the same u8 × s8 → int32 sum of
// four products in one instruction, same packing) and a BF16 row (vdpbf16ps) belong in
// slots after avx2; they are not written, since this machine cannot run them.
#define LOWDIM_INT8_DECLARE                                                            \
  Int8Kernels int8_kernels();
namespace scalar {
LOWDIM_INT8_DECLARE
}  // namespace scalar
namespace avx2 {
LOWDIM_INT8_DECLARE
}  // namespace avx2
#undef LOWDIM_INT8_DECLARE

// The active ISA's row (AVX-512 machines run the AVX2 row until a VNNI row exists).
Int8Kernels int8_kernels();

// Same contract and outputs as knn<float> (knn.h). Returns the number of (query, row)
// pairs whose float32 tile key was computed (the rescored pairs; self pairs excluded).
std::uint64_t knn_int8(const float* x, std::size_t n, const float* y, std::size_t m,
                       std::size_t d, std::size_t k, KnnMetric metric, bool exclude_self,
                       float* out_dist, std::int64_t* out_idx, int n_threads);

}  // namespace lowdim
