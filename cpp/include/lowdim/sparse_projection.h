// Very sparse random projection (Li, Hastie & Church 2006; Achlioptas 2003) without a stored
// matrix, and the sparse × dense product FastRP (Chen et al. 2019) iterates with.
//   R is k × d. Entry (j, i): b = rng::bits(rng::stream_key(seed, kStreamSparseRP + j), i);
//   nonzero iff (b >> 11) < threshold (threshold = ceil(density · 2^53), so P = density);
//   its sign is − iff b & 1; its value ±scale with scale = √(1/density) / √k (sklearn).
// python/lowdim/_ref_sparse_projection.py is the numpy twin; all arrays row-major.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lowdim/rng.h"

namespace lowdim {

constexpr std::uint64_t kStreamSparseRP = 0x53505250ULL << 32;  // "SPRP" · 2^32 + row j

inline std::uint64_t sparse_rp_key(std::uint64_t seed, std::uint64_t j) {
  return rng::stream_key(seed, kStreamSparseRP + j);
}
// 0 when R[j, i] == 0, else 2 | (1 if negative): one hash per entry.
inline unsigned sparse_rp_code(std::uint64_t key, std::uint64_t i, std::uint64_t threshold) {
  const std::uint64_t b = rng::bits(key, i);
  return (b >> 11) < threshold ? 2u | static_cast<unsigned>(b & 1) : 0u;
}

// Per-ISA pattern generator: bit t of *nonzero / *negative describes R[j, i0 + t], t < 64,
// for key = sparse_rp_key(seed, j). Columns past d are harmless (pure function); callers mask.
namespace scalar {
void sparse_rp_block64(std::uint64_t key, std::uint64_t i0, std::uint64_t threshold,
                       std::uint64_t* nonzero, std::uint64_t* negative);
}  // namespace scalar
namespace avx2 {
void sparse_rp_block64(std::uint64_t key, std::uint64_t i0, std::uint64_t threshold,
                       std::uint64_t* nonzero, std::uint64_t* negative);
}  // namespace avx2

// Pattern of R in CSR by output row: ptr (k+1,), ent (nnz,) = (i << 1) | negative,
// i ascending within a row. Threads over rows j.
void sparse_rp_rows(std::uint64_t seed, std::size_t k, std::size_t d, std::uint64_t threshold,
                    std::vector<std::size_t>& ptr, std::vector<std::uint64_t>& ent,
                    int n_threads);

// Per-ISA tile kernel. x: (m, d) rows with stride d, m <= tile rows (16 for f32, 8 for f64);
// ptr/ent: R's pattern (k rows) with ent = (i << 1) | negative; xt: scratch of tile·d;
// out: (m, k) with row stride k; out = scale · (x · sign(R)^T), summed in ent order.
namespace scalar {
void sparse_rp_tile_f32(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, float scale, float* xt,
                        float* out);
void sparse_rp_tile_f64(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, double scale, double* xt,
                        double* out);
}  // namespace scalar
namespace avx2 {
void sparse_rp_tile_f32(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, float scale, float* xt,
                        float* out);
void sparse_rp_tile_f64(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, double scale, double* xt,
                        double* out);
}  // namespace avx2
constexpr std::size_t kSparseRpTileF32 = 16, kSparseRpTileF64 = 8;  // one cache line per i

// Per-ISA CSR row kernel: y (k,) = Σ_p w[p] · x[idx[p], :] for p < cnt, x rows of length k;
// each y[c] is 0 + w0·x0 + w1·x1 + … in p order, products rounded before adding (no FMA).
namespace scalar {
void spmm_row_f32(const std::int64_t* idx, const float* w, std::size_t cnt, const float* x,
                  std::size_t k, float* y);
void spmm_row_f64(const std::int64_t* idx, const double* w, std::size_t cnt, const double* x,
                  std::size_t k, double* y);
}  // namespace scalar
namespace avx2 {
void spmm_row_f32(const std::int64_t* idx, const float* w, std::size_t cnt, const float* x,
                  std::size_t k, float* y);
void spmm_row_f64(const std::int64_t* idx, const double* w, std::size_t cnt, const double* x,
                  std::size_t k, double* y);
}  // namespace avx2

// Dense input. x: (n, d), d < 2^31; out: (n, k) = x · R^T.
template <class T>
void sparse_rp_dense(const T* x, std::size_t n, std::size_t d, std::uint64_t seed, std::size_t k,
                     std::uint64_t threshold, T scale, T* out, int n_threads);

// CSR input (n rows, d columns): indptr (n+1,), indices/data (nnz,); out: (n, k) = x · R^T,
// each output row summed in the row's storage order. I = int32_t or int64_t (scipy's).
// R is generated only on the u distinct columns present: O(k·u + nnz) time and memory.
template <class T, class I>
void sparse_rp_csr(const I* indptr, const I* indices, const T* data,
                   std::size_t n, std::size_t d, std::uint64_t seed, std::size_t k,
                   std::uint64_t threshold, T scale, T* out, int n_threads);

// out (n, k) = A · x for A in CSR (n rows): indptr (n+1,), indices/data (nnz,), x: (m, k).
// Each output row is summed in storage order by one thread (no FMA): thread-count invariant.
// With acc (n, k) non-null, also acc[r] += w_r · out[r], w_r = weight / ‖out[r]‖₂ when
// normalize (0 for a zero row; squares summed in double into 8 partial sums by c % 8,
// combined pairwise), else weight (FastRP's merge).
template <class T>
void csr_spmm(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
              std::size_t n, const T* x, std::size_t k, T* out, T* acc, T weight,
              bool normalize, int n_threads);

}  // namespace lowdim
