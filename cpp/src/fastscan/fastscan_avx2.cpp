// AVX2 fast-scan kernel (4-bit PQ, lowdim/fastscan.h; the trick of André et al. and faiss's
// pq4_fast_scan): one 32-byte group holds two sub-codes of 32 vectors; vpshufb looks each
// nibble up in its sub-space's 16-entry uint8 table (broadcast to both 128-bit lanes).
// The two lookups of a group are added as bytes (entries ≤ 127, so no overflow), then
// summed in uint16 without widening: the 32 bytes are added as 16 uint16 lanes (acc_lo
// gets low byte + 256·high byte, mod 2^16) and their high bytes separately (acc_hi,
// exact); the low-byte sums are then acc_lo − (acc_hi << 8), exact because every sum fits
// uint16 (faiss's "bias" correction). Same integers as the scalar kernel.
#include <immintrin.h>

#include <cstdint>

#include "lowdim/fastscan.h"

namespace lowdim::avx2 {
namespace {

// NQ queries share each code load: the codes stream once per NQ queries.
template <int NQ>
void accumulate_group(const std::uint8_t* packed, std::size_t n_blocks, std::size_t n_pairs,
                      const std::uint8_t* lut, std::uint16_t* scores,
                      std::uint16_t* block_min) {
  const std::size_t stride = n_blocks * kFastScanBlock;
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  for (std::size_t b = 0; b < n_blocks; ++b) {
    const std::uint8_t* block = packed + b * n_pairs * kFastScanBlock;
    __m256i acc_lo[NQ], acc_hi[NQ];
    for (int q = 0; q < NQ; ++q) acc_lo[q] = acc_hi[q] = _mm256_setzero_si256();
    for (std::size_t j = 0; j < n_pairs; ++j) {
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + j * 32));
      const __m256i lo = _mm256_and_si256(c, nibble);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), nibble);
      for (int q = 0; q < NQ; ++q) {
        const std::uint8_t* l = lut + (static_cast<std::size_t>(q) * n_pairs + j) * 32;
        const __m256i t0 = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(l)));
        const __m256i t1 = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(l + 16)));
        const __m256i r0 = _mm256_shuffle_epi8(t0, lo);
        const __m256i r1 = _mm256_shuffle_epi8(t1, hi);
        const __m256i r = _mm256_add_epi8(r0, r1);  // ≤ 2·127: no byte overflow
        acc_lo[q] = _mm256_add_epi16(acc_lo[q], r);
        acc_hi[q] = _mm256_add_epi16(acc_hi[q], _mm256_srli_epi16(r, 8));
      }
    }
    for (int q = 0; q < NQ; ++q) {
      // uint16 lane l: even = vector 2l, odd = vector 2l + 1.
      const __m256i even = _mm256_sub_epi16(acc_lo[q], _mm256_slli_epi16(acc_hi[q], 8));
      const __m256i odd = acc_hi[q];
      // unpack interleaves within 128-bit halves: lo_pairs = vectors 0-7 | 16-23,
      // hi_pairs = 8-15 | 24-31; the lane permutes put them in vector order.
      const __m256i lo_pairs = _mm256_unpacklo_epi16(even, odd);
      const __m256i hi_pairs = _mm256_unpackhi_epi16(even, odd);
      std::uint16_t* out = scores + static_cast<std::size_t>(q) * stride + b * kFastScanBlock;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                          _mm256_permute2x128_si256(lo_pairs, hi_pairs, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16),
                          _mm256_permute2x128_si256(lo_pairs, hi_pairs, 0x31));
      // phminposuw: the minimum of 8 uint16 lanes in one instruction.
      const __m256i m16 = _mm256_min_epu16(even, odd);
      const __m128i m8 = _mm_min_epu16(_mm256_castsi256_si128(m16),
                                       _mm256_extracti128_si256(m16, 1));
      block_min[static_cast<std::size_t>(q) * n_blocks + b] =
          static_cast<std::uint16_t>(_mm_cvtsi128_si32(_mm_minpos_epu16(m8)));
    }
  }
}

}  // namespace

void fastscan_accumulate(const std::uint8_t* packed, std::size_t n_blocks, std::size_t n_pairs,
                         const std::uint8_t* lut, std::size_t nq, std::uint16_t* scores,
                         std::uint16_t* block_min) {
  switch (nq) {
    case 4: accumulate_group<4>(packed, n_blocks, n_pairs, lut, scores, block_min); break;
    case 3: accumulate_group<3>(packed, n_blocks, n_pairs, lut, scores, block_min); break;
    case 2: accumulate_group<2>(packed, n_blocks, n_pairs, lut, scores, block_min); break;
    case 1: accumulate_group<1>(packed, n_blocks, n_pairs, lut, scores, block_min); break;
    default: break;
  }
}

}  // namespace lowdim::avx2
