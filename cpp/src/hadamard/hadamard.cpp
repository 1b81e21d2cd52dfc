// Drivers for fwht / srht / fjlt: threads over rows, sign flip + zero padding into a
// per-thread buffer, the active ISA's row kernel, then scaling, sampling (SRHT) or the
// sparse product (FJLT). Formulas in hadamard.h; the numpy twin is python/lowdim/_ref.py.
#include <cstring>
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

// buf := H · D · pad(x_row), length 2^log2n.
template <class T>
void signed_padded_fwht(const T* x_row, std::size_t d, const T* signs, int log2n, T* buf) {
  const std::size_t n = std::size_t{1} << log2n;
  for (std::size_t j = 0; j < d; ++j) buf[j] = x_row[j] * signs[j];
  std::memset(buf + d, 0, (n - d) * sizeof(T));
  row_kernel(buf, log2n);
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
  parallel_for(n_rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> buf(std::size_t{1} << log2n);
    for (std::size_t r = begin; r < end; ++r) {
      signed_padded_fwht(x + r * d, d, signs, log2n, buf.data());
      T* y = out + r * k;
      for (std::size_t i = 0; i < k; ++i) {
        T acc = 0;  // sequential sum in CSR order: identical for every thread count
        for (std::int64_t p = indptr[i]; p < indptr[i + 1]; ++p) acc += vals[p] * buf[cols[p]];
        y[i] = acc;
      }
    }
  });
}

#define LOWDIM_INSTANTIATE(T)                                                                \
  template void fwht<T>(T*, std::size_t, int, std::size_t, T, int);                        \
  template void srht<T>(const T*, std::size_t, std::size_t, int, const T*,                 \
                        const std::int64_t*, std::size_t, T, T*, int);                     \
  template void fjlt<T>(const T*, std::size_t, std::size_t, int, const T*,                 \
                        const std::int64_t*, const std::int64_t*, const T*, std::size_t, T*, \
                        int);
LOWDIM_INSTANTIATE(float)
LOWDIM_INSTANTIATE(double)
#undef LOWDIM_INSTANTIATE

}  // namespace lowdim
