// AVX2 RaBitQ scan: the eight lanes of the scalar kernel are the eight lanes of one ymm
// register; eight code bytes are widened to table offsets (b * 256 + byte) and gathered in
// one instruction. Each lane adds the same values in the same order as the scalar kernel, so
// the result is bitwise identical.
#include <immintrin.h>

#include "lowdim/rabitq.h"
#include "rabitq_impl.h"

namespace lowdim::avx2 {

void rabitq_scan_rows(const float* lut, const std::uint8_t* codes, std::size_t n,
                      std::size_t nbytes, std::size_t stride, float* out) {
  const std::size_t full = nbytes / 8 * 8;
  const __m256i lane_base = _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* c = codes + r * stride;
    __m256 acc = _mm256_setzero_ps();
    for (std::size_t b = 0; b < full; b += 8) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(c + b));
      const __m256i off = _mm256_add_epi32(_mm256_cvtepu8_epi32(bytes), lane_base);
      acc = _mm256_add_ps(acc, _mm256_i32gather_ps(lut + b * 256, off, 4));
    }
    alignas(32) float a[8];
    _mm256_store_ps(a, acc);
    for (std::size_t b = full; b < nbytes; ++b) a[b & 7] += lut[b * 256 + c[b]];
    out[r] = rabitq_impl::finish(a);
  }
}

}  // namespace lowdim::avx2
