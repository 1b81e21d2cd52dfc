// Scalar FWHT row kernel: the textbook in-place butterfly, stage by stage (h = 1, 2, 4, …).
// It is both the portable fallback and the order of operations every other variant
// must reproduce bit for bit.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lowdim/hadamard.h"

namespace lowdim::scalar {
namespace {

template <class T>
void fwht_row(T* x, int log2n) {
  const std::size_t n = std::size_t{1} << log2n;
  for (std::size_t h = 1; h < n; h <<= 1)
    for (std::size_t block = 0; block < n; block += 2 * h)
      for (std::size_t j = block; j < block + h; ++j) {
        T a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
}

// See hadamard.h: the max of |x| as sign-cleared bit patterns.
template <class T, class U>
U max_abs_bits(const T* x, std::size_t n) {
  constexpr U kAbs = ~(U{1} << (8 * sizeof(U) - 1));
  U m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    U b;
    std::memcpy(&b, x + i, sizeof b);
    b &= kAbs;
    m = b > m ? b : m;
  }
  return m;
}

// dst := scale · H · src through the scratch row; the max |x| bits of H · src.
template <class T, class U>
U fwht_row_to(const T* src, T* scratch, T* dst, int log2n, T scale) {
  const std::size_t n = std::size_t{1} << log2n;
  std::memcpy(scratch, src, n * sizeof(T));
  fwht_row(scratch, log2n);
  for (std::size_t i = 0; i < n; ++i) dst[i] = scale == T(1) ? scratch[i] : scratch[i] * scale;
  return max_abs_bits<T, U>(scratch, n);
}

}  // namespace

std::uint32_t max_abs_bits_f32(const float* x, std::size_t n) {
  return max_abs_bits<float, std::uint32_t>(x, n);
}
std::uint64_t max_abs_bits_f64(const double* x, std::size_t n) {
  return max_abs_bits<double, std::uint64_t>(x, n);
}
void fwht_row_f32(float* x, int log2n) { fwht_row(x, log2n); }
void fwht_row_f64(double* x, int log2n) { fwht_row(x, log2n); }
std::uint32_t fwht_row_to_f32(const float* src, float* scratch, float* dst, int log2n,
                              float scale, bool) {
  return fwht_row_to<float, std::uint32_t>(src, scratch, dst, log2n, scale);
}
std::uint64_t fwht_row_to_f64(const double* src, double* scratch, double* dst, int log2n,
                              double scale, bool) {
  return fwht_row_to<double, std::uint64_t>(src, scratch, dst, log2n, scale);
}

}  // namespace lowdim::scalar
