// Blocked dot-product tiles (GEMM-style) and exact direct distances, shared by every
// kernel that needs many pairwise distances (kNN, intrinsic dimension, later the MST).
//   ‖x − y‖² = ‖x‖² + ‖y‖² − 2·x·y: the x·y for a block of rows of A against a block of
//   rows of B come from dot_block (packed panels, register-blocked FMA micro-kernel);
//   sqdist / dot recompute a single pair exactly where cancellation matters.
// Packing: rows are grouped into panels of `w` rows stored column-interleaved,
//   panel[p * w + r] = row r, coordinate p (rows past the end are zero), so the
//   micro-kernel reads both operands with unit stride. All arrays row-major.
#pragma once
#include <cstddef>

namespace lowdim {

// Rows per panel of the two operands of one ISA's micro-kernel.
struct PanelShape {
  std::size_t mr;  // rows of A per micro-tile
  std::size_t nr;  // rows of B per micro-tile
};

// Per-ISA kernels. pa: ceil(ma/mr) A-panels of (d, mr); pb: ceil(nb/nr) B-panels of (d, nr).
// dot_block writes c[i * ldc + j] = A_i · B_j for i < ma, j < nb.
#define LOWDIM_DISTANCE_DECLARE                                                           \
  PanelShape dot_shape_f32();                                                             \
  PanelShape dot_shape_f64();                                                             \
  void dot_block_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb,    \
                     std::size_t d, float* c, std::size_t ldc);                           \
  void dot_block_f64(const double* pa, std::size_t ma, const double* pb, std::size_t nb,  \
                     std::size_t d, double* c, std::size_t ldc);                          \
  float sqdist_f32(const float* a, const float* b, std::size_t d);                        \
  double sqdist_f64(const double* a, const double* b, std::size_t d);                     \
  float dot_f32(const float* a, const float* b, std::size_t d);                           \
  double dot_f64(const double* a, const double* b, std::size_t d);                       \
  /* Peak probe: `iters` steps of kFmaProbeLanes independent float FMAs; returns a sum */ \
  /* so the work cannot be optimised away. Benchmarks divide flops by its wall time. */  \
  float fma_probe_f32(std::size_t iters);
namespace scalar {
LOWDIM_DISTANCE_DECLARE
}  // namespace scalar
namespace avx2 {
LOWDIM_DISTANCE_DECLARE
}  // namespace avx2
namespace avx512 {
LOWDIM_DISTANCE_DECLARE
}  // namespace avx512
#undef LOWDIM_DISTANCE_DECLARE

// dot_block with pa also in panels of nr rows (the B layout): the self-search multiplies
// the one packed copy of X by itself instead of repacking an A block per tile. Same bits
// as dot_block. Scalar and AVX2 only; the AVX-512 level keeps dot_block (sym = nullptr).
#define LOWDIM_DISTANCE_SYM_DECLARE                                                        \
  void dot_block_sym_f32(const float* pa, std::size_t ma, const float* pb, std::size_t nb, \
                         std::size_t d, float* c, std::size_t ldc);                       \
  void dot_block_sym_f64(const double* pa, std::size_t ma, const double* pb,              \
                         std::size_t nb, std::size_t d, double* c, std::size_t ldc);
namespace scalar {
LOWDIM_DISTANCE_SYM_DECLARE
}  // namespace scalar
namespace avx2 {
LOWDIM_DISTANCE_SYM_DECLARE
}  // namespace avx2
#undef LOWDIM_DISTANCE_SYM_DECLARE

// Float multiply-adds done by one fma_probe_f32 step (AVX2: 12 accumulators × 8 lanes).
constexpr std::size_t kFmaProbeLanes = 96;

// Runs the active ISA's fma_probe_f32 on n_threads threads; returns the flops done (2 per FMA).
double fma_probe(std::size_t iters, int n_threads);

// Depth (coordinates) of one cache-blocking chunk of dot_block for B micro-panel rows of
// `row_bytes` bytes (nr · sizeof(T)): the panel fills 3/4 of L1d (size from sysfs, 32 KiB
// if unknown; the A stream passes through the rest), a multiple of 8 in [32, 4096] — on a
// 32 KiB L1d, 384 for 16 floats, 3-4% faster than half (EPYC, AVX2). LOWDIM_TILE_KC=<n>
// forces n (test hook).
// Bit-neutral: see dot_block_impl.h.
std::size_t tile_depth(std::size_t row_bytes);

// The active ISA's kernels for element type T (float or double), chosen at call time.
template <class T>
struct DistanceKernels {
  PanelShape shape;
  void (*dot_block)(const T*, std::size_t, const T*, std::size_t, std::size_t, T*, std::size_t);
  T (*sqdist)(const T*, const T*, std::size_t);
  T (*dot)(const T*, const T*, std::size_t);
  // Both operands in nr-panels (see dot_block_sym_f32); nullptr: pack A and use dot_block.
  void (*dot_block_sym)(const T*, std::size_t, const T*, std::size_t, std::size_t, T*,
                        std::size_t);
};
template <class T>
DistanceKernels<T> distance_kernels();

// Size of the packed buffer for `rows` rows of length d in panels of w.
inline std::size_t packed_size(std::size_t rows, std::size_t d, std::size_t w) {
  return (rows + w - 1) / w * w * d;
}

// x: (rows, d) with row stride ld  ->  out: packed_size(rows, d, w) values.
// Defined in distance.cpp for float and double (4 × 4 / 2 × 2 SSE2 transposes).
template <class T>
void pack_panels(const T* x, std::size_t rows, std::size_t d, std::size_t ld, std::size_t w,
                 T* out);

}  // namespace lowdim
