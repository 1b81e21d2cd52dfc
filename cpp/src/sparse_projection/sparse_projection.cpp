// Drivers of the matrix-free very sparse projection and the CSR × dense product.
// Each call regenerates R's nonzero pattern once (k·d hashes, threads over rows of R) and
// shares it across row tiles; nothing survives the call. Every output element is summed
// by one thread in pattern/storage order, so results never depend on the thread count.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "lowdim/isa.h"
#include "lowdim/parallel.h"
#include "lowdim/sparse_projection.h"

namespace lowdim {
namespace {

using TileF32 = void (*)(const float*, std::size_t, std::size_t, const std::size_t*,
                         const std::uint32_t*, std::size_t, float, float*, float*);
using TileF64 = void (*)(const double*, std::size_t, std::size_t, const std::size_t*,
                         const std::uint32_t*, std::size_t, double, double*, double*);
struct TileKernels {
  TileF32 f32;
  TileF64 f64;
};
// Indexed by Isa; a level this build lacks falls back to scalar (never selected anyway).
const TileKernels kTileKernels[] = {
    {scalar::sparse_rp_tile_f32, scalar::sparse_rp_tile_f64},
#ifdef LOWDIM_HAVE_AVX2
    {avx2::sparse_rp_tile_f32, avx2::sparse_rp_tile_f64},
#else
    {scalar::sparse_rp_tile_f32, scalar::sparse_rp_tile_f64},
#endif
};
const TileKernels& tile_kernels() { return kTileKernels[static_cast<int>(active_isa())]; }

void run_tile(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
              const std::uint32_t* ent, std::size_t k, float scale, float* xt, float* out) {
  tile_kernels().f32(x, m, d, ptr, ent, k, scale, xt, out);
}
void run_tile(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
              const std::uint32_t* ent, std::size_t k, double scale, double* xt, double* out) {
  tile_kernels().f64(x, m, d, ptr, ent, k, scale, xt, out);
}
template <class T> constexpr std::size_t tile_rows();
template <> constexpr std::size_t tile_rows<float>() { return kSparseRpTileF32; }
template <> constexpr std::size_t tile_rows<double>() { return kSparseRpTileF64; }

// Generic "rows of a fixed order, built in parallel chunks": fn(row, push) appends entries.
template <class E, class Fn>
void build_csr(std::size_t rows, int n_threads, std::vector<std::size_t>& ptr,
               std::vector<E>& ent, Fn&& fn) {
  const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(
      static_cast<std::size_t>(std::max(1, n_threads)), rows));
  std::vector<std::vector<E>> part(workers);
  ptr.assign(rows + 1, 0);
  parallel_for(rows, static_cast<int>(workers), [&](std::size_t b, std::size_t e, int t) {
    auto& local = part[static_cast<std::size_t>(t)];
    for (std::size_t r = b; r < e; ++r) {
      const std::size_t before = local.size();
      fn(r, local);
      ptr[r + 1] = local.size() - before;
    }
  });
  for (std::size_t r = 0; r < rows; ++r) ptr[r + 1] += ptr[r];
  ent.clear();
  ent.reserve(ptr[rows]);
  for (auto& p : part) ent.insert(ent.end(), p.begin(), p.end());  // chunks are in row order
}

}  // namespace

void sparse_rp_rows(std::uint64_t seed, std::size_t k, std::size_t d, std::uint64_t threshold,
                    std::vector<std::size_t>& ptr, std::vector<std::uint64_t>& ent,
                    int n_threads) {
  build_csr(k, n_threads, ptr, ent, [&](std::size_t j, std::vector<std::uint64_t>& out) {
    const std::uint64_t key = sparse_rp_key(seed, j);
    for (std::size_t i = 0; i < d; ++i)
      if (unsigned c = sparse_rp_code(key, i, threshold)) out.push_back((std::uint64_t{i} << 1) | (c & 1u));
  });
}

template <class T>
void sparse_rp_dense(const T* x, std::size_t n, std::size_t d, std::uint64_t seed, std::size_t k,
                     std::uint64_t threshold, T scale, T* out, int n_threads) {
  if (d >= (std::size_t{1} << 31)) throw std::invalid_argument("n_features must be < 2^31");
  std::vector<std::size_t> ptr;
  std::vector<std::uint32_t> ent;
  build_csr(k, n_threads, ptr, ent, [&](std::size_t j, std::vector<std::uint32_t>& o) {
    const std::uint64_t key = sparse_rp_key(seed, j);
    for (std::size_t i = 0; i < d; ++i)
      if (unsigned c = sparse_rp_code(key, i, threshold))
        o.push_back(static_cast<std::uint32_t>(i << 1) | (c & 1u));
  });
  constexpr std::size_t kTile = tile_rows<T>();
  const std::size_t tiles = (n + kTile - 1) / kTile;
  parallel_for(tiles, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::vector<T> xt(kTile * d);
    for (std::size_t t = b; t < e; ++t) {
      const std::size_t r0 = t * kTile, m = std::min(kTile, n - r0);
      run_tile(x + r0 * d, m, d, ptr.data(), ent.data(), k, scale, xt.data(), out + r0 * k);
    }
  });
}

template <class T>
void sparse_rp_csr(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
                   std::size_t n, std::size_t d, std::uint64_t seed, std::size_t k,
                   std::uint64_t threshold, T scale, T* out, int n_threads) {
  if (k >= (std::size_t{1} << 31)) throw std::invalid_argument("n_components must be < 2^31");
  // R by input column: for column i, entries (j << 1) | negative, j ascending.
  std::vector<std::uint64_t> keys(k);
  for (std::size_t j = 0; j < k; ++j) keys[j] = sparse_rp_key(seed, j);
  std::vector<std::size_t> ptr;
  std::vector<std::uint32_t> ent;
  build_csr(d, n_threads, ptr, ent, [&](std::size_t i, std::vector<std::uint32_t>& o) {
    for (std::size_t j = 0; j < k; ++j)
      if (unsigned c = sparse_rp_code(keys[j], i, threshold))
        o.push_back(static_cast<std::uint32_t>(j << 1) | (c & 1u));
  });
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) {
      T* y = out + r * k;
      std::fill(y, y + k, T(0));
      for (std::int64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
        const T v = data[p];
        const std::size_t i = static_cast<std::size_t>(indices[p]);
        for (std::size_t q = ptr[i]; q < ptr[i + 1]; ++q) {
          const std::uint32_t c = ent[q];
          if (c & 1u) y[c >> 1] -= v; else y[c >> 1] += v;
        }
      }
      for (std::size_t j = 0; j < k; ++j) y[j] *= scale;
    }
  });
}

template <class T>
void csr_spmm(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
              std::size_t n, const T* x, std::size_t k, T* out, int n_threads) {
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) {
      T* y = out + r * k;
      std::fill(y, y + k, T(0));
      for (std::int64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
        const T w = data[p];
        const T* xr = x + static_cast<std::size_t>(indices[p]) * k;
        for (std::size_t c = 0; c < k; ++c) y[c] += w * xr[c];  // -ffp-contract=off: no FMA
      }
    }
  });
}

#define LOWDIM_INSTANTIATE(T)                                                                 \
  template void sparse_rp_dense<T>(const T*, std::size_t, std::size_t, std::uint64_t,         \
                                   std::size_t, std::uint64_t, T, T*, int);                   \
  template void sparse_rp_csr<T>(const std::int64_t*, const std::int64_t*, const T*,          \
                                 std::size_t, std::size_t, std::uint64_t, std::size_t,        \
                                 std::uint64_t, T, T*, int);                                  \
  template void csr_spmm<T>(const std::int64_t*, const std::int64_t*, const T*, std::size_t, \
                            const T*, std::size_t, T*, int);
LOWDIM_INSTANTIATE(float)
LOWDIM_INSTANTIATE(double)
#undef LOWDIM_INSTANTIATE

}  // namespace lowdim
