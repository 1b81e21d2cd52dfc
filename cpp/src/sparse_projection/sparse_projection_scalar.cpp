// Scalar tile kernel of the dense very sparse projection: transpose a tile of rows so each
// input column i is one contiguous run of `tile` values, then add or subtract that run into
// output j for every nonzero (j, i) in pattern order. This order is the contract the AVX2
// kernel reproduces bit for bit (a − b == a + (−b) in IEEE arithmetic). Also the CSR row
// kernel of csr_spmm: y[c] = 0 + w0·x0[c] + w1·x1[c] + … in storage order.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "lowdim/sparse_projection.h"

namespace lowdim::scalar {
namespace {

template <class T, std::size_t kTile>
void tile(const T* x, std::size_t m, std::size_t d, const std::size_t* ptr,
          const std::uint32_t* ent, std::size_t k, T scale, T* xt, T* out) {
  for (std::size_t r = 0; r < kTile; ++r)
    for (std::size_t i = 0; i < d; ++i) xt[i * kTile + r] = r < m ? x[r * d + i] : T(0);
  for (std::size_t j = 0; j < k; ++j) {
    T acc[kTile] = {};
    for (std::size_t p = ptr[j]; p < ptr[j + 1]; ++p) {
      const T* v = xt + static_cast<std::size_t>(ent[p] >> 1) * kTile;
      if (ent[p] & 1)
        for (std::size_t r = 0; r < kTile; ++r) acc[r] -= v[r];
      else
        for (std::size_t r = 0; r < kTile; ++r) acc[r] += v[r];
    }
    for (std::size_t r = 0; r < m; ++r) out[r * k + j] = acc[r] * scale;
  }
}

template <class T>
void spmm_row(const std::int64_t* idx, const T* w, std::size_t cnt, const T* x, std::size_t k,
              T* __restrict y) {
  std::fill(y, y + k, T(0));
  for (std::size_t p = 0; p < cnt; ++p) {
    const T wp = w[p];
    const T* __restrict xr = x + static_cast<std::size_t>(idx[p]) * k;
    for (std::size_t c = 0; c < k; ++c) y[c] += wp * xr[c];
  }
}

}  // namespace

void sparse_rp_block64(std::uint64_t key, std::uint64_t i0, std::uint64_t threshold,
                       std::uint64_t* nonzero, std::uint64_t* negative) {
  std::uint64_t nz = 0, neg = 0;
  for (unsigned t = 0; t < 64; ++t) {
    const unsigned c = sparse_rp_code(key, i0 + t, threshold);
    nz |= std::uint64_t{c >> 1} << t;
    neg |= std::uint64_t{c & 1u} << t;
  }
  *nonzero = nz;
  *negative = neg;
}

void spmm_row_f32(const std::int64_t* idx, const float* w, std::size_t cnt, const float* x,
                  std::size_t k, float* y) {
  spmm_row(idx, w, cnt, x, k, y);
}
void spmm_row_f64(const std::int64_t* idx, const double* w, std::size_t cnt, const double* x,
                  std::size_t k, double* y) {
  spmm_row(idx, w, cnt, x, k, y);
}

void sparse_rp_tile_f32(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, float scale, float* xt,
                        float* out) {
  tile<float, kSparseRpTileF32>(x, m, d, ptr, ent, k, scale, xt, out);
}
void sparse_rp_tile_f64(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, double scale, double* xt,
                        double* out) {
  tile<double, kSparseRpTileF64>(x, m, d, ptr, ent, k, scale, xt, out);
}

}  // namespace lowdim::scalar
