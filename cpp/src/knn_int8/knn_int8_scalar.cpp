// Portable int8 tile kernel for the kNN candidate pass (knn_int8.h): plain integer loops,
// exact, so every ISA row gives the same int32 dot products. The reference the AVX2 row
// is tested against (through identical rescored-pair counts, tests/test_knn_int8.py).
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "bound_entry.h"
#include "lowdim/knn_int8.h"

namespace lowdim::scalar {
namespace {

constexpr std::size_t kMr = 4, kNr = 16;

void dot_block(const std::uint8_t* pa, std::size_t ma, const std::int8_t* pb, std::size_t nb,
               std::size_t d4, std::int32_t* c, std::size_t ldc) {
  for (std::size_t i = 0; i < ma; ++i) {
    const std::uint8_t* a = pa + i / kMr * kMr * d4 * 4 + i % kMr * 4;
    for (std::size_t j = 0; j < nb; ++j) {
      const std::int8_t* b = pb + j / kNr * kNr * d4 * 4 + j % kNr * 4;
      std::int32_t acc = 0;
      for (std::size_t g = 0; g < d4; ++g)
        for (std::size_t t = 0; t < 4; ++t)
          acc += static_cast<std::int32_t>(a[g * kMr * 4 + t]) * b[g * kNr * 4 + t];
      c[i * ldc + j] = acc;
    }
  }
}

bool bounds_row(const std::int32_t* dot, std::size_t w, const Int8RowTerms& a,
                const Int8ColTerms& b, float thr, const float* col_thr, float* low, float* up,
                std::uint32_t* hits) {
  for (std::size_t t = 0; t < 8; ++t) hits[t] = 0;
  bool hit = false;
  for (std::size_t j = 0; j < w; ++j) {
    hit |= int8_bound_entry(dot, j, a, b, thr, col_thr, low, up, hits);
  }
  return hit;
}

}  // namespace

Int8Kernels int8_kernels() { return {kMr, kNr, dot_block, bounds_row, "scalar"}; }

}  // namespace lowdim::scalar
