// AVX2 RaBitQ scan: the eight lanes of the scalar kernel are the eight lanes of one ymm
// register; eight code bytes are widened to table offsets (b * 256 + byte) and gathered in
// one instruction. Each lane adds the same values in the same order as the scalar kernel, so
// the result is bitwise identical. Below it: the popcount and in-register-table kernels of
// ⟨u, q⟩ for quantized queries (integer, so equal to the scalar popcount exactly).
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

// 1-bit codes and quantized queries, in-register tables (the fast-scan idea of André et al.
// applied to RaBitQ as in Gao & Long's code): codes transposed in blocks of 32 (byte b of the
// 32 codes contiguous), one 16-entry table per code nibble holding Σ q over the nibble's set
// bits for one 4-bit digit of q (≤ 60, so two nibbles of two bytes add in a byte), widened
// to uint16 per byte pair and to uint32 every 64 bytes. Integer sums: out equals the popcount
// kernel's ⟨u, q⟩ exactly.
namespace lowdim::avx2 {
namespace {

// Byte sums of one code byte of 32 codes: table t[0..31] for the high nibble, t[32..63] for
// the low one (each 16 entries stored twice, once per 128-bit lane of vpshufb).
inline __m256i lookup(const std::uint8_t* codes32, const std::uint8_t* t) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes32));
  const __m256i th = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t));
  const __m256i tl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + 32));
  return _mm256_add_epi8(_mm256_shuffle_epi8(th, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)),
                         _mm256_shuffle_epi8(tl, _mm256_and_si256(v, low)));
}

}  // namespace

void rabitq_fs_rows(const std::uint8_t* tcodes, std::size_t nblocks, std::size_t nbytes,
                    const std::uint8_t* luts, int ndigits, std::uint64_t* out) {
  const __m256i zero = _mm256_setzero_si256();
  for (std::size_t blk = 0; blk < nblocks; ++blk) {
    const std::uint8_t* cb = tcodes + blk * 32 * nbytes;
    std::uint64_t res[32] = {};
    for (int g = 0; g < ndigits; ++g) {
      const std::uint8_t* L = luts + static_cast<std::size_t>(g) * 2 * nbytes * 32;
      __m256i acc[4] = {zero, zero, zero, zero};
      for (std::size_t b0 = 0; b0 < nbytes; b0 += 64) {
        const std::size_t b1 = b0 + 64 < nbytes ? b0 + 64 : nbytes;
        __m256i lo16 = zero, hi16 = zero;
        for (std::size_t b = b0; b < b1; b += 2) {
          __m256i s8 = lookup(cb + b * 32, L + 2 * b * 32);
          if (b + 1 < b1) s8 = _mm256_add_epi8(s8, lookup(cb + (b + 1) * 32, L + (2 * b + 2) * 32));
          lo16 = _mm256_add_epi16(lo16, _mm256_unpacklo_epi8(s8, zero));   // codes 0-7 | 16-23
          hi16 = _mm256_add_epi16(hi16, _mm256_unpackhi_epi8(s8, zero));   // codes 8-15 | 24-31
        }
        acc[0] = _mm256_add_epi32(acc[0], _mm256_unpacklo_epi16(lo16, zero));  // 0-3 | 16-19
        acc[1] = _mm256_add_epi32(acc[1], _mm256_unpackhi_epi16(lo16, zero));  // 4-7 | 20-23
        acc[2] = _mm256_add_epi32(acc[2], _mm256_unpacklo_epi16(hi16, zero));  // 8-11 | 24-27
        acc[3] = _mm256_add_epi32(acc[3], _mm256_unpackhi_epi16(hi16, zero));  // 12-15 | 28-31
      }
      alignas(32) std::uint32_t t[4][8];
      for (int a = 0; a < 4; ++a) _mm256_store_si256(reinterpret_cast<__m256i*>(t[a]), acc[a]);
      for (int c = 0; c < 32; ++c) {
        const int a = (c & 15) >> 2, pos = (c & 3) + (c >= 16 ? 4 : 0);
        res[c] += static_cast<std::uint64_t>(t[a][pos]) << (4 * g);
      }
    }
    for (int c = 0; c < 32; ++c) out[blk * 32 + c] = res[c];
  }
}

}  // namespace lowdim::avx2
