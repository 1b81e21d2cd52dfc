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
// max_abs_bits: the largest |x[i]| over n values as the bit pattern of |x[i]| (sign bit
// cleared). For IEEE floats these integers sort as |x| does, with infinity above every
// finite value and NaN above infinity, so one integer max tells finite, inf or NaN.
// fwht_row_to: dst := scale · (H · src) for a dst apart from src, through a scratch row of
// n values (src is read once, the inner passes stay in L1, the last one writes dst);
// returns max_abs_bits of the unscaled H · src. stream asks for non-temporal stores (AVX2,
// dst at least 16-byte aligned; the values are the same either way).
// Scalar and AVX2 only (AVX-512 machines use the AVX2 ones: these are memory-bound).
namespace scalar {
void fwht_row_f32(float* x, int log2n);
void fwht_row_f64(double* x, int log2n);
std::uint32_t max_abs_bits_f32(const float* x, std::size_t n);
std::uint64_t max_abs_bits_f64(const double* x, std::size_t n);
std::uint32_t fwht_row_to_f32(const float* src, float* scratch, float* dst, int log2n,
                              float scale, bool stream);
std::uint64_t fwht_row_to_f64(const double* src, double* scratch, double* dst, int log2n,
                              double scale, bool stream);
}  // namespace scalar
namespace avx2 {
void fwht_row_f32(float* x, int log2n);
void fwht_row_f64(double* x, int log2n);
std::uint32_t max_abs_bits_f32(const float* x, std::size_t n);
std::uint64_t max_abs_bits_f64(const double* x, std::size_t n);
std::uint32_t fwht_row_to_f32(const float* src, float* scratch, float* dst, int log2n,
                              float scale, bool stream);
std::uint64_t fwht_row_to_f64(const double* src, double* scratch, double* dst, int log2n,
                              double scale, bool stream);
void stream_fence();  // orders the streamed stores before the thread's later stores
}  // namespace avx2
namespace avx512 {
void fwht_row_f32(float* x, int log2n);
void fwht_row_f64(double* x, int log2n);
}  // namespace avx512

// x: (n_rows, 2^log2n) with row stride `stride` elements; transformed in place, then
// multiplied by `scale` unless scale == 1.
template <class T>
void fwht(T* x, std::size_t n_rows, int log2n, std::size_t stride, T scale, int n_threads);

// fwht that refuses NaN / infinity in x and overflow inside the butterflies: returns false
// for such input, true after transforming. A row whose max |x| is at most
// max_finite / (2n) cannot overflow (every value of every stage is a ± sum of at most n
// inputs, and rounding grows it by less than (1 + 2^-24)^log2n < 2), so only rows above
// that bound have their unscaled output checked as well.
//   untouched_on_error = true (x is the caller's memory): a read-only pass checks every
//   row first (a row above the bound is transformed in a scratch row to see if it
//   overflows) and x is transformed only when all rows pass, so false leaves x as it was.
//   false (x is a private copy): one pass, each row's unscaled output checked in cache
//   right after its transform (enough on its own, see fwht_checked_into); on false, x is
//   partly transformed and must be discarded.
template <class T>
bool fwht_checked(T* x, std::size_t n_rows, int log2n, std::size_t stride, T scale,
                  bool untouched_on_error, int n_threads);

// x: (n_rows, d), signs: (2^log2n,), idx: (k,) in [0, 2^log2n), out: (n_rows, k).
// Out-of-place fwht_checked: out := fwht(x) · scale, with the same refusals and the same
// bits as fwht_checked on a copy of x. x: (n_rows, 2^log2n), row stride x_stride, only
// read; out: same shape, row stride out_stride, not overlapping x. Each row is read once,
// transformed in a per-thread scratch row while it is in L1/L2, its output checked, scaled
// and stored to out (non-temporal stores when out is larger than the LLC). The output
// check alone decides: a NaN or infinity anywhere in a row reaches every output of the
// row (each butterfly output depends on both of its inputs), and finite input gives a
// non-finite output only by overflow.
//   untouched_on_error = true (out is the caller's memory): fwht_checked's read-only pass
//   over x first, so false leaves out as it was. false (out is private): one pass; on
//   false, out is partly written and must be discarded.
// Interruptible (lowdim/interrupt.h) while out is private or not yet written.
template <class T>
bool fwht_checked_into(const T* x, std::size_t x_stride, T* out, std::size_t out_stride,
                       std::size_t n_rows, int log2n, T scale, bool untouched_on_error,
                       int n_threads);

// Test hook: 1 forces the streaming stores of fwht_checked_into on (where out is aligned),
// 0 off, -1 back to the size rule. Changes no result bit.
void set_fwht_stream(int mode);

template <class T>
void srht(const T* x, std::size_t n_rows, std::size_t d, int log2n, const T* signs,
          const std::int64_t* idx, std::size_t k, T scale, T* out, int n_threads);

// x: (n_rows, d), signs: (2^log2n,), P in CSR: indptr (k+1,), cols/vals (nnz,), out: (n_rows, k).
template <class T>
void fjlt(const T* x, std::size_t n_rows, std::size_t d, int log2n, const T* signs,
          const std::int64_t* indptr, const std::int64_t* cols, const T* vals, std::size_t k,
          T* out, int n_threads);

}  // namespace lowdim
