// Scalar FWHT row kernel: the textbook in-place butterfly, stage by stage (h = 1, 2, 4, …).
// It is both the portable fallback and the order of operations every other variant
// must reproduce bit for bit.
#include <cstddef>

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

}  // namespace

void fwht_row_f32(float* x, int log2n) { fwht_row(x, log2n); }
void fwht_row_f64(double* x, int log2n) { fwht_row(x, log2n); }

}  // namespace lowdim::scalar
