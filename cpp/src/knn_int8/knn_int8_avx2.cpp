// AVX2 int8 tile kernel for the kNN candidate pass (knn_int8.h): a 4 × 16 int32 register
// tile. VNNI's vpdpbusd (u8 × s8, four products summed into int32) is emulated by
// vpmaddubsw (u8 × s8 → pairs summed into int16) then vpmaddwd by ones (pairs → int32).
// vpmaddubsw saturates at int16; B holds 7-bit values (|q| ≤ 63) so 2 · 255 · 63 < 2¹⁵
// and it never does: the sums are exact, equal to the scalar row's.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "bound_entry.h"
#include "lowdim/knn_int8.h"

namespace lowdim::avx2 {
namespace {

constexpr std::size_t kMr = 4, kNr = 16;

// c (4 × 16, row stride ldc) = A-panel · B-panelᵀ over d4 groups of 4 coordinates.
void micro(const std::uint8_t* a, const std::int8_t* b, std::size_t d4, std::int32_t* c,
           std::size_t ldc) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[kMr][2];
  for (std::size_t r = 0; r < kMr; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (std::size_t g = 0; g < d4; ++g, a += kMr * 4, b += kNr * 4) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
#pragma GCC unroll 4
    for (std::size_t r = 0; r < kMr; ++r) {
      std::int32_t word;
      std::memcpy(&word, a + r * 4, 4);  // row r's 4 bytes of this group, to every lane
      const __m256i ar = _mm256_set1_epi32(word);
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(ar, b0), ones);
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(ar, b1), ones);
      acc[r][0] = _mm256_add_epi32(acc[r][0], p0);
      acc[r][1] = _mm256_add_epi32(acc[r][1], p1);
    }
  }
  for (std::size_t r = 0; r < kMr; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), acc[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), acc[r][1]);
  }
}

void dot_block(const std::uint8_t* pa, std::size_t ma, const std::int8_t* pb, std::size_t nb,
               std::size_t d4, std::int32_t* c, std::size_t ldc) {
  std::int32_t tmp[kMr * kNr];
  // B micro-panel outer (stays in L1, kNr · 4 · d4 bytes), A micro-panels stream past it.
  for (std::size_t j0 = 0; j0 < nb; j0 += kNr) {
    const std::int8_t* b = pb + j0 * d4 * 4;
    const std::size_t w = nb - j0 < kNr ? nb - j0 : kNr;
    for (std::size_t i0 = 0; i0 < ma; i0 += kMr) {
      const std::uint8_t* a = pa + i0 * d4 * 4;
      const std::size_t h = ma - i0 < kMr ? ma - i0 : kMr;
      if (h == kMr && w == kNr) {
        micro(a, b, d4, c + i0 * ldc + j0, ldc);
        continue;
      }
      micro(a, b, d4, tmp, kNr);  // tail: panels are padded, keep the valid part
      for (std::size_t r = 0; r < h; ++r)
        for (std::size_t s = 0; s < w; ++s) c[(i0 + r) * ldc + j0 + s] = tmp[r * kNr + s];
    }
  }
}

// The scalar row's operations in its order, 8 lanes at a time (no FMA: same bits).
bool bounds_row(const std::int32_t* dot, std::size_t w, const Int8RowTerms& a,
                const Int8ColTerms& b, float thr, const float* col_thr, float* low, float* up,
                std::uint32_t* hits) {
  for (std::size_t t = 0; t < 8; ++t) hits[t] = 0;
  const __m256 sa = _mm256_set1_ps(a.scale), ra = _mm256_set1_ps(a.resid);
  const __m256 na = _mm256_set1_ps(a.norm), fa = _mm256_set1_ps(a.fixed);
  const __m256 aa = _mm256_set1_ps(a.alpha), beta = _mm256_set1_ps(b.beta);
  const __m256 k1 = _mm256_set1_ps(b.k1), k2 = _mm256_set1_ps(b.k2);
  const __m256 t = _mm256_set1_ps(thr);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  std::size_t j = 0;
  for (; j + 8 <= w; j += 8) {
    const __m256i di = _mm256_sub_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dot + j)),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.off + j)));
    const __m256 v = _mm256_cvtepi32_ps(di);
    const __m256 e = _mm256_mul_ps(_mm256_mul_ps(sa, _mm256_loadu_ps(b.scale + j)), v);
    const __m256 bq = _mm256_mul_ps(
        beta, _mm256_add_ps(_mm256_mul_ps(ra, _mm256_loadu_ps(b.norm + j)),
                            _mm256_mul_ps(na, _mm256_loadu_ps(b.resid + j))));
    const __m256 wid = _mm256_add_ps(
        _mm256_add_ps(_mm256_mul_ps(bq, k1), _mm256_mul_ps(_mm256_and_ps(e, abs_mask), k2)),
        _mm256_add_ps(fa, _mm256_loadu_ps(b.fixed + j)));
    const __m256 centre = _mm256_sub_ps(_mm256_add_ps(aa, _mm256_loadu_ps(b.alpha + j)),
                                        _mm256_mul_ps(beta, e));
    const __m256 lo = _mm256_sub_ps(centre, wid);
    _mm256_storeu_ps(low + j, lo);
    _mm256_storeu_ps(up + j, _mm256_add_ps(centre, wid));
    __m256 in = _mm256_cmp_ps(lo, t, _CMP_LE_OQ);
    if (col_thr)
      in = _mm256_or_ps(in, _mm256_cmp_ps(lo, _mm256_loadu_ps(col_thr + j), _CMP_LE_OQ));
    hits[j / 32] |= static_cast<std::uint32_t>(_mm256_movemask_ps(in)) << (j % 32);
  }
  bool any = false;
  for (std::size_t g = 0; g < 8; ++g) any |= hits[g] != 0;
  for (; j < w; ++j) {
    any |= int8_bound_entry(dot, j, a, b, thr, col_thr, low, up, hits);
  }
  return any;
}

}  // namespace

Int8Kernels int8_kernels() { return {kMr, kNr, dot_block, bounds_row, "avx2"}; }

}  // namespace lowdim::avx2
