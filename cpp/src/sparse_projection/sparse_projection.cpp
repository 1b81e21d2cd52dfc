// Drivers of the matrix-free very sparse projection and the CSR × dense product.
// Each call regenerates R's nonzero pattern once (threads over rows of R) and shares it
// across row tiles; nothing survives the call. Dense input needs all k·d entries; CSR input
// only those on the distinct columns that occur (O(k·u + nnz), not O(d)). Every output element is summed
// by one thread in pattern/storage order, so results never depend on the thread count.
#include <algorithm>
#include <cmath>
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
using SpmmF32 = void (*)(const std::int64_t*, const float*, std::size_t, const float*,
                         std::size_t, float*);
using SpmmF64 = void (*)(const std::int64_t*, const double*, std::size_t, const double*,
                         std::size_t, double*);
using Block64 = void (*)(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t*,
                         std::uint64_t*);
struct Kernels {
  Block64 block64;
  TileF32 tile_f32;
  TileF64 tile_f64;
  SpmmF32 spmm_f32;
  SpmmF64 spmm_f64;
};
// Indexed by Isa; a level this build lacks falls back to scalar (never selected anyway).
#define LOWDIM_KERNELS(ns) \
  {ns::sparse_rp_block64, ns::sparse_rp_tile_f32, ns::sparse_rp_tile_f64, ns::spmm_row_f32, ns::spmm_row_f64}
const Kernels kKernels[] = {
    LOWDIM_KERNELS(scalar),
#ifdef LOWDIM_HAVE_AVX2
    LOWDIM_KERNELS(avx2),
#else
    LOWDIM_KERNELS(scalar),
#endif
};
#undef LOWDIM_KERNELS
const Kernels& kernels() { return kKernels[isa_index(Isa::avx2)]; }

void run_tile(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
              const std::uint32_t* ent, std::size_t k, float scale, float* xt, float* out) {
  kernels().tile_f32(x, m, d, ptr, ent, k, scale, xt, out);
}
void run_tile(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
              const std::uint32_t* ent, std::size_t k, double scale, double* xt, double* out) {
  kernels().tile_f64(x, m, d, ptr, ent, k, scale, xt, out);
}
void run_spmm_row(const std::int64_t* idx, const float* w, std::size_t cnt, const float* x,
                  std::size_t k, float* y) {
  kernels().spmm_f32(idx, w, cnt, x, k, y);
}
void run_spmm_row(const std::int64_t* idx, const double* w, std::size_t cnt, const double* x,
                  std::size_t k, double* y) {
  kernels().spmm_f64(idx, w, cnt, x, k, y);
}
// emit(i, negative) for every nonzero of R's row with this key, i ascending.
template <class Emit>
void row_pattern(std::uint64_t key, std::size_t d, std::uint64_t threshold, Emit&& emit) {
  const Block64 block64 = kernels().block64;
  for (std::size_t i0 = 0; i0 < d; i0 += 64) {
    std::uint64_t nz, neg;
    block64(key, i0, threshold, &nz, &neg);
    if (d - i0 < 64) nz &= (std::uint64_t{1} << (d - i0)) - 1;
    for (; nz; nz &= nz - 1) {
      const unsigned t = static_cast<unsigned>(__builtin_ctzll(nz));
      emit(i0 + t, static_cast<unsigned>((neg >> t) & 1u));
    }
  }
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
      check_interrupt();
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
    row_pattern(sparse_rp_key(seed, j), d, threshold, [&](std::size_t i, unsigned neg) {
      out.push_back((std::uint64_t{i} << 1) | neg);
    });
  });
}

template <class T>
void sparse_rp_dense(const T* x, std::size_t n, std::size_t d, std::uint64_t seed, std::size_t k,
                     std::uint64_t threshold, T scale, T* out, int n_threads) {
  if (d >= (std::size_t{1} << 31)) throw std::invalid_argument("n_features must be < 2^31");
  std::vector<std::size_t> ptr;
  std::vector<std::uint32_t> ent;
  build_csr(k, n_threads, ptr, ent, [&](std::size_t j, std::vector<std::uint32_t>& o) {
    row_pattern(sparse_rp_key(seed, j), d, threshold, [&](std::size_t i, unsigned neg) {
      o.push_back(static_cast<std::uint32_t>(i << 1) | neg);
    });
  });
  constexpr std::size_t kTile = tile_rows<T>();
  const std::size_t tiles = (n + kTile - 1) / kTile;
  parallel_for(tiles, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::vector<T> xt(kTile * d);
    for (std::size_t t = b; t < e; ++t) {
      check_interrupt();
      const std::size_t r0 = t * kTile, m = std::min(kTile, n - r0);
      run_tile(x + r0 * d, m, d, ptr.data(), ent.data(), k, scale, xt.data(), out + r0 * k);
    }
  });
}

// The distinct columns that occur in indices[0, nnz), ascending, and each nonzero's rank
// among them. Memory and time O(nnz) (+ d/8 bytes when d is at most a few times nnz, where a
// bitmap beats sorting), never O(d) alone: R is only ever generated on these columns.
template <class I>
void distinct_columns(const I* indices, std::size_t nnz, std::size_t d,
                      std::vector<std::uint64_t>& cols, std::vector<std::uint32_t>& rank) {
  cols.clear();
  if (d <= 4 * nnz + 4096) {
    std::vector<std::uint64_t> seen((d + 63) / 64, 0);
    for (std::size_t p = 0; p < nnz; ++p) {
      const std::uint64_t i = static_cast<std::uint64_t>(indices[p]);
      seen[i >> 6] |= std::uint64_t{1} << (i & 63);
    }
    std::vector<std::uint32_t> before(seen.size());  // distinct columns in earlier words
    for (std::size_t w = 0; w < seen.size(); ++w) {
      before[w] = static_cast<std::uint32_t>(cols.size());
      for (std::uint64_t b = seen[w]; b; b &= b - 1)
        cols.push_back((std::uint64_t{w} << 6) + static_cast<unsigned>(__builtin_ctzll(b)));
    }
    rank.resize(nnz);
    for (std::size_t p = 0; p < nnz; ++p) {
      const std::uint64_t i = static_cast<std::uint64_t>(indices[p]);
      const std::uint64_t below = seen[i >> 6] & ((std::uint64_t{1} << (i & 63)) - 1);
      rank[p] = before[i >> 6] + static_cast<std::uint32_t>(__builtin_popcountll(below));
    }
    return;
  }
  cols.assign(indices, indices + nnz);
  std::sort(cols.begin(), cols.end());
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
  rank.resize(nnz);
  for (std::size_t p = 0; p < nnz; ++p)
    rank[p] = static_cast<std::uint32_t>(
        std::lower_bound(cols.begin(), cols.end(), static_cast<std::uint64_t>(indices[p])) -
        cols.begin());
}

// emit(c, negative) for every c with R[key's row, cols[c]] != 0, c ascending. Runs of 64
// consecutive columns use the ISA's block hash; other columns are hashed one by one (the
// same pure function of (key, column), so the pattern does not depend on the route).
template <class Emit>
void pattern_on_columns(std::uint64_t key, const std::vector<std::uint64_t>& cols,
                        std::uint64_t threshold, Emit&& emit) {
  const Block64 block64 = kernels().block64;
  const std::size_t u = cols.size();
  std::size_t c = 0;
  while (c < u) {
    if (c + 64 <= u && cols[c + 63] - cols[c] == 63) {
      std::uint64_t nz, neg;
      block64(key, cols[c], threshold, &nz, &neg);
      for (; nz; nz &= nz - 1) {
        const unsigned t = static_cast<unsigned>(__builtin_ctzll(nz));
        emit(c + t, static_cast<unsigned>((neg >> t) & 1u));
      }
      c += 64;
    } else {
      const unsigned code = sparse_rp_code(key, cols[c], threshold);
      if (code) emit(c, code & 1u);
      ++c;
    }
  }
}

template <class T, class I>
void sparse_rp_csr(const I* indptr, const I* indices, const T* data,
                   std::size_t n, std::size_t d, std::uint64_t seed, std::size_t k,
                   std::uint64_t threshold, T scale, T* out, int n_threads) {
  if (k + 2 >= (std::size_t{1} << 31)) throw std::invalid_argument("n_components must be < 2^31 - 2");
  const std::size_t nnz = static_cast<std::size_t>(indptr[n]);
  if (nnz >= (std::size_t{1} << 32)) throw std::invalid_argument("X has 2^32 or more nonzeros");
  std::vector<std::uint64_t> cols;
  std::vector<std::uint32_t> rank;
  distinct_columns(indices, nnz, d, cols, rank);
  const std::size_t u = cols.size();
  // R on the occurring columns, by input column (rank), entries (j << 1) | negative with j
  // ascending (rows generated, then a counting-sort transpose). A column holds
  // k·density ≈ 1 entries on average, so a loop over them would mispredict its exit on
  // nearly every input nonzero: the first two entries of each column sit in fixed slots
  // instead (padded with writes to two scratch outputs k, k+1), and only the rare longer
  // columns loop over an overflow list.
  std::vector<std::size_t> rptr;
  std::vector<std::uint64_t> rent;
  build_csr(k, n_threads, rptr, rent, [&](std::size_t j, std::vector<std::uint64_t>& o) {
    pattern_on_columns(sparse_rp_key(seed, j), cols, threshold, [&](std::size_t c, unsigned neg) {
      o.push_back((std::uint64_t{c} << 1) | neg);
    });
  });
  std::vector<std::uint32_t> count(u, 0);
  for (std::uint64_t e : rent) ++count[e >> 1];
  std::vector<std::uint32_t> first(2 * u);
  for (std::size_t i = 0; i < u; ++i) {
    first[2 * i] = static_cast<std::uint32_t>(k << 1);
    first[2 * i + 1] = static_cast<std::uint32_t>((k + 1) << 1);
  }
  std::vector<std::size_t> xptr(u + 1, 0);
  for (std::size_t i = 0; i < u; ++i) xptr[i + 1] = xptr[i] + (count[i] > 2 ? count[i] - 2 : 0);
  std::vector<std::uint32_t> extra(xptr[u]);
  std::fill(count.begin(), count.end(), 0);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t p = rptr[j]; p < rptr[j + 1]; ++p) {
      const std::size_t i = rent[p] >> 1;
      const std::uint32_t e = static_cast<std::uint32_t>(j << 1) | (rent[p] & 1u);
      const std::uint32_t c = count[i]++;
      if (c < 2) first[2 * i + c] = e; else extra[xptr[i] + c - 2] = e;
    }
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::vector<T> acc(k + 2);
    T* y = acc.data();
    for (std::size_t r = b; r < e; ++r) {
      if (r % 64 == 0) check_interrupt();
      std::fill(acc.begin(), acc.end(), T(0));
      for (I p = indptr[r]; p < indptr[r + 1]; ++p) {
        const T signed_v[2] = {data[p], -data[p]};  // random signs: a branch would mispredict
        const std::size_t i = rank[static_cast<std::size_t>(p)];
        const std::uint32_t e0 = first[2 * i], e1 = first[2 * i + 1];
        y[e0 >> 1] += signed_v[e0 & 1u];
        y[e1 >> 1] += signed_v[e1 & 1u];
        for (std::size_t q = xptr[i]; q < xptr[i + 1]; ++q) y[extra[q] >> 1] += signed_v[extra[q] & 1u];
      }
      T* o = out + r * k;
      for (std::size_t j = 0; j < k; ++j) o[j] = y[j] * scale;
    }
  });
}

template <class T>
void csr_spmm(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
              std::size_t n, const T* x, std::size_t k, T* out, T* acc, T weight,
              bool normalize, int n_threads) {
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t r = b; r < e; ++r) {
      if (r % 64 == 0) check_interrupt();
      T* y = out + r * k;
      run_spmm_row(indices + indptr[r], data + indptr[r],
                   static_cast<std::size_t>(indptr[r + 1] - indptr[r]), x, k, y);
      if (acc == nullptr) continue;
      // Fused while the row is in cache: acc[r] += weight / ‖y‖ · y (FastRP's merge).
      T row_w = weight;
      if (normalize) {
        // 8 partial sums in a fixed order (same result on every ISA; one chain would be
        // k dependent adds), combined pairwise.
        double part[8] = {};
        for (std::size_t c = 0; c < k; ++c) part[c % 8] += static_cast<double>(y[c]) * y[c];
        const double sq = ((part[0] + part[1]) + (part[2] + part[3])) +
                          ((part[4] + part[5]) + (part[6] + part[7]));
        row_w = sq > 0 ? static_cast<T>(weight / std::sqrt(sq)) : T(0);
      }
      T* a = acc + r * k;
      for (std::size_t c = 0; c < k; ++c) a[c] += row_w * y[c];
    }
  });
}

#define LOWDIM_INSTANTIATE(T)                                                                 \
  template void sparse_rp_dense<T>(const T*, std::size_t, std::size_t, std::uint64_t,         \
                                   std::size_t, std::uint64_t, T, T*, int);                   \
  template void sparse_rp_csr<T, std::int32_t>(const std::int32_t*, const std::int32_t*,      \
                                              const T*, std::size_t, std::size_t,             \
                                              std::uint64_t, std::size_t, std::uint64_t, T,   \
                                              T*, int);                                       \
  template void sparse_rp_csr<T, std::int64_t>(const std::int64_t*, const std::int64_t*,      \
                                              const T*, std::size_t, std::size_t,             \
                                              std::uint64_t, std::size_t, std::uint64_t, T,   \
                                              T*, int);                                       \
  template void csr_spmm<T>(const std::int64_t*, const std::int64_t*, const T*, std::size_t, \
                            const T*, std::size_t, T*, T*, T, bool, int);
LOWDIM_INSTANTIATE(float)
LOWDIM_INSTANTIATE(double)
#undef LOWDIM_INSTANTIATE

}  // namespace lowdim
