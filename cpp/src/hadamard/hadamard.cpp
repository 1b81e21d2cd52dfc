// Drivers for fwht / srht / fjlt: threads over rows, sign flip + zero padding into a
// per-thread buffer, the active ISA's row kernel, then scaling, sampling (SRHT) or the
// sparse product (FJLT). Formulas in hadamard.h; the numpy twin is python/lowdim/_ref.py.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

#include "lowdim/hadamard.h"
#include "lowdim/interrupt.h"
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

// dst := scale · H · src (hadamard.h): scalar, or AVX2 on AVX2 and AVX-512 machines
// (the AVX-512 row kernel gives the same bits, and this pass is memory-bound).
std::uint32_t row_kernel_to(const float* src, float* scratch, float* dst, int log2n,
                            float scale, bool stream) {
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2))
    return avx2::fwht_row_to_f32(src, scratch, dst, log2n, scale, stream);
#endif
  return scalar::fwht_row_to_f32(src, scratch, dst, log2n, scale, stream);
}
std::uint64_t row_kernel_to(const double* src, double* scratch, double* dst, int log2n,
                            double scale, bool stream) {
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2))
    return avx2::fwht_row_to_f64(src, scratch, dst, log2n, scale, stream);
#endif
  return scalar::fwht_row_to_f64(src, scratch, dst, log2n, scale, stream);
}

// The largest data cache of cpu0 (isa.h: sysfs), else sysconf's L3, else 32 MiB.
std::size_t read_llc_bytes() {
  std::size_t best = data_cache_bytes(0);
  long bytes = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (best == 0) bytes = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  if (best == 0 && bytes > 0) best = static_cast<std::size_t>(bytes);
  return best > 0 ? best : std::size_t{32} << 20;
}

std::size_t llc_bytes() {
  static const std::size_t bytes = read_llc_bytes();
  return bytes;
}

// set_fwht_stream's override: -1 none, 0 plain stores, 1 streaming stores.
std::atomic<int> g_fwht_stream{-1};

// Rows between interrupt checks: a few hundred KiB of work, well under a poll interval.
constexpr std::size_t kRowsPerCheck = 64;

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

namespace {

// fwht_checked's read-only pass: true when no row of x holds NaN/inf or overflows.
template <class T>
bool rows_pass(const T* x, std::size_t n_rows, int log2n, std::size_t stride, int n_threads) {
  const std::size_t n = std::size_t{1} << log2n;
  const Bits<T> safe = bits_of(std::numeric_limits<T>::max() / static_cast<T>(2 * n));
  std::atomic<bool> failed{false};
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> scratch;
    for (std::size_t r = begin; r < end && !failed.load(std::memory_order_relaxed); ++r) {
      if ((r - begin) % kRowsPerCheck == 0) check_interrupt();  // only reads: may stop
      const T* row = x + r * stride;
      const RowCheck c = classify<T>(max_abs_bits(row, n), safe);
      if (c == RowCheck::safe) continue;
      if (c == RowCheck::check_output) {
        scratch.assign(row, row + n);
        row_kernel(scratch.data(), log2n);
        if (classify<T>(max_abs_bits(scratch.data(), n), safe) != RowCheck::nonfinite)
          continue;
      }
      failed.store(true, std::memory_order_relaxed);
    }
  });
  return !failed.load();
}

}  // namespace

template <class T>
bool fwht_checked(T* x, std::size_t n_rows, int log2n, std::size_t stride, T scale,
                  bool untouched_on_error, int n_threads) {
  const std::size_t n = std::size_t{1} << log2n;
  if (untouched_on_error) {
    // Read-only pass first: x is written only once every row has passed. Ctrl-C may stop
    // the read, not the write that follows (x is either as it was or fully transformed).
    if (!rows_pass(x, n_rows, log2n, stride, n_threads)) return false;
    // Rows in order: running them last-first (to reuse what the check left in the L3)
    // was measured no faster, row by row or in 256 KiB blocks.
    fwht(x, n_rows, log2n, stride, scale, n_threads);
    return true;
  }
  // Private copy: each row is transformed and its output checked while it is in L1
  // (the output check alone decides, see fwht_checked_into in hadamard.h). Scanning the
  // input first instead left the row's fetch from memory exposed before every transform.
  std::atomic<bool> failed{false};
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t r = begin; r < end && !failed.load(std::memory_order_relaxed); ++r) {
      if ((r - begin) % kRowsPerCheck == 0) check_interrupt();  // a private copy: may stop
      T* row = x + r * stride;
      row_kernel(row, log2n);
      if (max_abs_bits(row, n) >= bits_of(std::numeric_limits<T>::infinity())) {
        failed.store(true, std::memory_order_relaxed);
        break;
      }
      if (scale != T(1))
        for (std::size_t j = 0; j < n; ++j) row[j] *= scale;
    }
  });
  return !failed.load();
}

void set_fwht_stream(int mode) { g_fwht_stream.store(mode < 0 ? -1 : mode > 0 ? 1 : 0); }

template <class T>
bool fwht_checked_into(const T* x, std::size_t x_stride, T* out, std::size_t out_stride,
                       std::size_t n_rows, int log2n, T scale, bool untouched_on_error,
                       int n_threads) {
  const std::size_t n = std::size_t{1} << log2n;
  if (untouched_on_error && !rows_pass(x, n_rows, log2n, x_stride, n_threads))
    return false;
  // Streaming pays once the result would not stay in the LLC anyway; it needs 16-byte
  // aligned rows (numpy's arrays are), stored in 128-bit halves where not 32-byte aligned.
  const bool aligned = reinterpret_cast<std::uintptr_t>(out) % 16 == 0 &&
                       out_stride * sizeof(T) % 16 == 0;
  const int forced = g_fwht_stream.load(std::memory_order_relaxed);
  const bool stream =
      aligned && (forced >= 0 ? forced == 1 : n_rows * n * sizeof(T) >= llc_bytes());
  const Bits<T> inf = bits_of(std::numeric_limits<T>::infinity());
  std::atomic<bool> failed{false};
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> scratch(n);
    for (std::size_t r = begin; r < end && !failed.load(std::memory_order_relaxed); ++r) {
      // The caller's out is either left as it was or fully written: no interrupt there.
      if (!untouched_on_error && (r - begin) % kRowsPerCheck == 0) check_interrupt();
      if (row_kernel_to(x + r * x_stride, scratch.data(), out + r * out_stride, log2n, scale,
                        stream) >= inf)
        failed.store(true, std::memory_order_relaxed);
    }
#ifdef LOWDIM_HAVE_AVX2
    if (stream && isa_at_least(Isa::avx2)) avx2::stream_fence();
#endif
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
  template bool fwht_checked_into<T>(const T*, std::size_t, T*, std::size_t, std::size_t, int, \
                                     T, bool, int);                                        \
  template void srht<T>(const T*, std::size_t, std::size_t, int, const T*,                 \
                        const std::int64_t*, std::size_t, T, T*, int);                     \
  template void fjlt<T>(const T*, std::size_t, std::size_t, int, const T*,                 \
                        const std::int64_t*, const std::int64_t*, const T*, std::size_t, T*, \
                        int);
LOWDIM_INSTANTIATE(float)
LOWDIM_INSTANTIATE(double)
#undef LOWDIM_INSTANTIATE

}  // namespace lowdim
