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

// Bit-plane popcount inner product (Gao & Long 2024, Sec. 3.3) on 32-byte chunks: per code
// plane and group of up to four query planes, the byte popcounts (vpshufb nibble table) are
// combined by Horner's rule in bytes (≤ 8·15 = 120, no overflow), then vpsadbw widens them to
// four 64-bit sums. Integer arithmetic, so the result equals the scalar kernel exactly.
namespace lowdim::avx2 {
namespace {

inline __m256i popcnt_bytes(__m256i v) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

inline std::uint64_t hsum64(__m256i v) {
  alignas(32) std::uint64_t a[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(a), v);
  return (a[0] + a[1]) + (a[2] + a[3]);
}

template <int QB>
void popdot_rows(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                 std::size_t stride, int bits, const std::uint8_t* qplanes, std::uint64_t* out) {
  constexpr int kGroups = (QB + 3) / 4;
  const std::size_t full = nbytes / 32 * 32;
  const __m256i zero = _mm256_setzero_si256();
  for (std::size_t r = 0; r < n; ++r) {
    const std::uint8_t* c = codes + r * stride;
    std::uint64_t total = 0;
    for (int k = 0; k < bits; ++k) {
      const std::uint8_t* ck = c + k * nbytes;
      __m256i acc[kGroups];
      for (int g = 0; g < kGroups; ++g) acc[g] = zero;
      for (std::size_t w = 0; w < full; w += 32) {
        const __m256i cv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ck + w));
        for (int g = 0; g < kGroups; ++g) {
          const int top = (4 * g + 3 < QB ? 4 * g + 3 : QB - 1);
          __m256i h = zero;
          for (int b = top; b >= 4 * g; --b) {
            const __m256i qv =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qplanes + b * nbytes + w));
            h = _mm256_add_epi8(_mm256_add_epi8(h, h), popcnt_bytes(_mm256_and_si256(cv, qv)));
          }
          acc[g] = _mm256_add_epi64(acc[g], _mm256_sad_epu8(h, zero));
        }
      }
      std::uint64_t t = 0;
      for (int g = 0; g < kGroups; ++g) t += hsum64(acc[g]) << (4 * g);
      total += t << (bits - 1 - k);
    }
    if (full < nbytes) total += rabitq_impl::popdot_row(c, nbytes, full, bits, qplanes, QB);
    out[r] = total;
  }
}

}  // namespace

void rabitq_popdot_rows(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                        std::size_t stride, int bits, const std::uint8_t* qplanes, int qbits,
                        std::uint64_t* out) {
  switch (qbits) {
    case 4: return popdot_rows<4>(codes, n, nbytes, stride, bits, qplanes, out);
    case 5: return popdot_rows<5>(codes, n, nbytes, stride, bits, qplanes, out);
    case 6: return popdot_rows<6>(codes, n, nbytes, stride, bits, qplanes, out);
    case 7: return popdot_rows<7>(codes, n, nbytes, stride, bits, qplanes, out);
    case 8: return popdot_rows<8>(codes, n, nbytes, stride, bits, qplanes, out);
    default:
      for (std::size_t r = 0; r < n; ++r)
        out[r] = rabitq_impl::popdot_row(codes + r * stride, nbytes, 0, bits, qplanes, qbits);
  }
}

}  // namespace lowdim::avx2
