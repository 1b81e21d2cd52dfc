// Fast Walsh–Hadamard transform and the two fast JL transforms built on it.
//   FWHT (unnormalised, H·H = n·I) of rows of length n = 2^log2n, butterflies in stage
//   order h = 1, 2, 4, …, n/2, so every ISA and the numpy twin round identically.
//   SRHT (Tropp 2011):        y = scale · (H · D · pad(x))[idx]
//   FJLT (Ailon–Chazelle 09): y = P · H · D · pad(x),   P sparse CSR (k rows, n cols)
// D = random signs (given), pad = zero-padding from d to n. Shapes in each comment;
// all arrays row-major and caller-allocated.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

// Per-ISA row kernel: in-place unnormalised FWHT of one contiguous row of 2^log2n values.
namespace scalar {
void fwht_row_f32(float* x, int log2n);
void fwht_row_f64(double* x, int log2n);
}  // namespace scalar
namespace avx2 {
void fwht_row_f32(float* x, int log2n);
void fwht_row_f64(double* x, int log2n);
}  // namespace avx2
namespace avx512 {
void fwht_row_f32(float* x, int log2n);
void fwht_row_f64(double* x, int log2n);
}  // namespace avx512

// x: (n_rows, 2^log2n) with row stride `stride` elements; transformed in place, then
// multiplied by `scale` unless scale == 1.
template <class T>
void fwht(T* x, std::size_t n_rows, int log2n, std::size_t stride, T scale, int n_threads);

// x: (n_rows, d), signs: (2^log2n,), idx: (k,) in [0, 2^log2n), out: (n_rows, k).
template <class T>
void srht(const T* x, std::size_t n_rows, std::size_t d, int log2n, const T* signs,
          const std::int64_t* idx, std::size_t k, T scale, T* out, int n_threads);

// x: (n_rows, d), signs: (2^log2n,), P in CSR: indptr (k+1,), cols/vals (nnz,), out: (n_rows, k).
template <class T>
void fjlt(const T* x, std::size_t n_rows, std::size_t d, int log2n, const T* signs,
          const std::int64_t* indptr, const std::int64_t* cols, const T* vals, std::size_t k,
          T* out, int n_threads);

}  // namespace lowdim
