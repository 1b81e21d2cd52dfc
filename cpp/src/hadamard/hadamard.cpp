// Drivers for fwht / srht / fjlt: threads over rows, sign flip + zero padding into a
// per-thread buffer, the active ISA's row kernel, then scaling, sampling (SRHT) or the
// sparse product (FJLT). Formulas in hadamard.h; the numpy twin is python/lowdim/_ref.py.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "lowdim/hadamard.h"
#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {
namespace {

using RowF32 = void (*)(float*, int);
using RowF64 = void (*)(double*, int);

struct RowKernels {
  RowF32 f32;
  RowF64 f64;
};

// Indexed by Isa; a level this build lacks falls back to scalar (never selected anyway).
const RowKernels kRowKernels[] = {
    {scalar::fwht_row_f32, scalar::fwht_row_f64},
#ifdef LOWDIM_HAVE_AVX2
    {avx2::fwht_row_f32, avx2::fwht_row_f64},
#else
    {scalar::fwht_row_f32, scalar::fwht_row_f64},
#endif
#ifdef LOWDIM_HAVE_AVX512
    {avx512::fwht_row_f32, avx512::fwht_row_f64},
#else
    {scalar::fwht_row_f32, scalar::fwht_row_f64},
#endif
};

void row_kernel(float* x, int log2n) { kRowKernels[isa_index(Isa::avx512)].f32(x, log2n); }
void row_kernel(double* x, int log2n) { kRowKernels[isa_index(Isa::avx512)].f64(x, log2n); }

// The finiteness scan: scalar, or AVX2 on AVX2 and AVX-512 machines alike.
std::uint32_t max_abs_bits(const float* x, std::size_t n) {
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2)) return avx2::max_abs_bits_f32(x, n);
#endif
  return scalar::max_abs_bits_f32(x, n);
}
std::uint64_t max_abs_bits(const double* x, std::size_t n) {
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2)) return avx2::max_abs_bits_f64(x, n);
#endif
  return scalar::max_abs_bits_f64(x, n);
}

template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

template <class T>
Bits<T> bits_of(T v) {
  Bits<T> b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// A row's verdict from its max |x| bits (hadamard.h): NaN/inf, safe, or to be checked
// on its output.
enum class RowCheck { nonfinite, safe, check_output };

template <class T>
RowCheck classify(Bits<T> max_bits, Bits<T> safe_bits) {
  if (max_bits >= bits_of(std::numeric_limits<T>::infinity())) return RowCheck::nonfinite;
  return max_bits <= safe_bits ? RowCheck::safe : RowCheck::check_output;
}

// buf := H · D · pad(x_row), length 2^log2n.
template <class T>
void signed_padded_fwht(const T* x_row, std::size_t d, const T* signs, int log2n, T* buf) {
  const std::size_t n = std::size_t{1} << log2n;
  for (std::size_t j = 0; j < d; ++j) buf[j] = x_row[j] * signs[j];
  std::memset(buf + d, 0, (n - d) * sizeof(T));
  row_kernel(buf, log2n);
}

// y_b[i] = Σ_p vals[p]·z_b[cols[p]] over row i of a CSR matrix, for the R (1 or 2) vectors
// z_b, each sum in CSR order (so results match the numpy twin bit for bit). Four rows of
// equal length run together: their independent accumulator chains hide the add latency,
// and each (val, col) pair loaded serves both vectors.
template <int R, class T>
void sparse_rows_times(const std::int64_t* indptr, const std::int64_t* cols, const T* vals,
                       std::size_t k, const T* const* z, T* const* y) {
  std::size_t i = 0;
  for (; i + 4 <= k; i += 4) {
    const std::int64_t len = indptr[i + 1] - indptr[i];
    if (indptr[i + 2] - indptr[i + 1] != len || indptr[i + 3] - indptr[i + 2] != len ||
        indptr[i + 4] - indptr[i + 3] != len)
      break;
    T acc[R][4] = {};
    for (std::int64_t t = 0; t < len; ++t)
      for (int q = 0; q < 4; ++q) {
        const std::int64_t p = indptr[i + q] + t;
        for (int b = 0; b < R; ++b) acc[b][q] += vals[p] * z[b][cols[p]];
      }
    for (int b = 0; b < R; ++b)
      for (int q = 0; q < 4; ++q) y[b][i + q] = acc[b][q];
  }
  for (; i < k; ++i)  // rows of unequal length, and the last k % 4
    for (int b = 0; b < R; ++b) {
      T acc = 0;
      for (std::int64_t p = indptr[i]; p < indptr[i + 1]; ++p) acc += vals[p] * z[b][cols[p]];
      y[b][i] = acc;
    }
}

}  // namespace

template <class T>
void fwht(T* x, std::size_t n_rows, int log2n, std::size_t stride, T scale, int n_threads) {
  const std::size_t n = std::size_t{1} << log2n;
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t r = begin; r < end; ++r) {
      T* row = x + r * stride;
      row_kernel(row, log2n);
      if (scale != T(1))
        for (std::size_t j = 0; j < n; ++j) row[j] *= scale;
    }
  });
}

template <class T>
bool fwht_checked(T* x, std::size_t n_rows, int log2n, std::size_t stride, T scale,
                  bool untouched_on_error, int n_threads) {
  const std::size_t n = std::size_t{1} << log2n;
  const Bits<T> safe = bits_of(std::numeric_limits<T>::max() / static_cast<T>(2 * n));
  std::atomic<bool> failed{false};
  auto overflows = [&](T* row) {  // row transformed unscaled: any NaN/inf left?
    return classify<T>(max_abs_bits(row, n), safe) == RowCheck::nonfinite;
  };
  auto scale_row = [&](T* row) {
    if (scale != T(1))
      for (std::size_t j = 0; j < n; ++j) row[j] *= scale;
  };
  if (untouched_on_error) {
    // Read-only pass first: x is written only once every row has passed.
    parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
      std::vector<T> scratch;
      for (std::size_t r = begin; r < end && !failed.load(std::memory_order_relaxed); ++r) {
        const T* row = x + r * stride;
        const RowCheck c = classify<T>(max_abs_bits(row, n), safe);
        if (c == RowCheck::safe) continue;
        if (c == RowCheck::check_output) {
          scratch.assign(row, row + n);
          row_kernel(scratch.data(), log2n);
          if (!overflows(scratch.data())) continue;
        }
        failed.store(true, std::memory_order_relaxed);
      }
    });
    if (failed.load()) return false;
    // Rows in order: running them last-first (to reuse what the check left in the L3)
    // was measured no faster, row by row or in 256 KiB blocks.
    fwht(x, n_rows, log2n, stride, scale, n_threads);
    return true;
  }
  // Private copy: each row is scanned while it sits in L1, then transformed in place.
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t r = begin; r < end && !failed.load(std::memory_order_relaxed); ++r) {
      T* row = x + r * stride;
      const RowCheck c = classify<T>(max_abs_bits(row, n), safe);
      if (c == RowCheck::nonfinite) {
        failed.store(true, std::memory_order_relaxed);
        break;
      }
      row_kernel(row, log2n);
      if (c == RowCheck::check_output && overflows(row)) {
        failed.store(true, std::memory_order_relaxed);
        break;
      }
      scale_row(row);
    }
  });
  return !failed.load();
}

template <class T>
void srht(const T* x, std::size_t n_rows, std::size_t d, int log2n, const T* signs,
          const std::int64_t* idx, std::size_t k, T scale, T* out, int n_threads) {
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> buf(std::size_t{1} << log2n);
    for (std::size_t r = begin; r < end; ++r) {
      signed_padded_fwht(x + r * d, d, signs, log2n, buf.data());
      T* y = out + r * k;
      for (std::size_t i = 0; i < k; ++i) y[i] = buf[idx[i]] * scale;
    }
  });
}

template <class T>
void fjlt(const T* x, std::size_t n_rows, std::size_t d, int log2n, const T* signs,
          const std::int64_t* indptr, const std::int64_t* cols, const T* vals, std::size_t k,
          T* out, int n_threads) {
  const std::size_t n = std::size_t{1} << log2n;
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> buf(2 * n);
    const T* z[2] = {buf.data(), buf.data() + n};
    std::size_t r = begin;
    for (; r + 2 <= end; r += 2) {  // two rows share every (val, col) load of P
      signed_padded_fwht(x + r * d, d, signs, log2n, buf.data());
      signed_padded_fwht(x + (r + 1) * d, d, signs, log2n, buf.data() + n);
      T* y[2] = {out + r * k, out + (r + 1) * k};
      sparse_rows_times<2>(indptr, cols, vals, k, z, y);
    }
    if (r < end) {
      signed_padded_fwht(x + r * d, d, signs, log2n, buf.data());
      T* y[1] = {out + r * k};
      sparse_rows_times<1>(indptr, cols, vals, k, z, y);
    }
  });
}

#define LOWDIM_INSTANTIATE(T)                                                                \
  template void fwht<T>(T*, std::size_t, int, std::size_t, T, int);                        \
  template bool fwht_checked<T>(T*, std::size_t, int, std::size_t, T, bool, int);           \
  template void srht<T>(const T*, std::size_t, std::size_t, int, const T*,                 \
                        const std::int64_t*, std::size_t, T, T*, int);                     \
  template void fjlt<T>(const T*, std::size_t, std::size_t, int, const T*,                 \
                        const std::int64_t*, const std::int64_t*, const T*, std::size_t, T*, \
                        int);
LOWDIM_INSTANTIATE(float)
LOWDIM_INSTANTIATE(double)
#undef LOWDIM_INSTANTIATE

}  // namespace lowdim
