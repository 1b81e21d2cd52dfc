// AVX2 tile kernel of the dense very sparse projection. A tile is 16 float rows (8 double
// rows), so after the in-register transpose each input column i is one 64-byte cache line;
// every nonzero (j, i) then costs one line load plus one add into two accumulators. Signs
// are applied by xor-ing the sign bit (a + (−b) == a − b), so the sums are bitwise equal
// to sparse_projection_scalar.cpp, which adds in the same pattern order. The CSR row kernel
// keeps 8 accumulators per 64-float column block in registers and prefetches rows ahead
// (the gathers of x rows are the cost); mul then add, never FMA, as the scalar kernel.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "lowdim/sparse_projection.h"

namespace lowdim::avx2 {
namespace {

// Rows past m read as zeros (the tail tile) without touching memory beyond x.
inline __m256 row_f32x8(const float* x, std::size_t r, std::size_t m, std::size_t d,
                        std::size_t i) {
  return r < m ? _mm256_loadu_ps(x + r * d + i) : _mm256_setzero_ps();
}
inline __m256d row_f64x4(const double* x, std::size_t r, std::size_t m, std::size_t d,
                         std::size_t i) {
  return r < m ? _mm256_loadu_pd(x + r * d + i) : _mm256_setzero_pd();
}

// xt[i * 16 + r] = x[r, i] for r < 16, columns i in blocks of 8 via 8 × 8 transposes.
void transpose_f32(const float* x, std::size_t m, std::size_t d, float* xt) {
  std::size_t i0 = 0;
  for (; i0 + 8 <= d; i0 += 8)
    for (std::size_t half = 0; half < 2; ++half) {
      __m256 r[8], t[8], s[8];
      for (std::size_t q = 0; q < 8; ++q) r[q] = row_f32x8(x, half * 8 + q, m, d, i0);
      for (std::size_t q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
      }
      for (std::size_t q = 0; q < 8; q += 4) {
        s[q] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(3, 2, 3, 2));
      }
      float* dst = xt + i0 * 16 + half * 8;
      for (std::size_t c = 0; c < 4; ++c) {
        _mm256_storeu_ps(dst + c * 16, _mm256_permute2f128_ps(s[c], s[c + 4], 0x20));
        _mm256_storeu_ps(dst + (c + 4) * 16, _mm256_permute2f128_ps(s[c], s[c + 4], 0x31));
      }
    }
  for (; i0 < d; ++i0)
    for (std::size_t r = 0; r < 16; ++r) xt[i0 * 16 + r] = r < m ? x[r * d + i0] : 0.0f;
}

// xt[i * 8 + r] = x[r, i] for r < 8, columns in blocks of 4 via 4 × 4 transposes.
void transpose_f64(const double* x, std::size_t m, std::size_t d, double* xt) {
  std::size_t i0 = 0;
  for (; i0 + 4 <= d; i0 += 4)
    for (std::size_t half = 0; half < 2; ++half) {
      __m256d r[4];
      for (std::size_t q = 0; q < 4; ++q) r[q] = row_f64x4(x, half * 4 + q, m, d, i0);
      __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
      __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
      double* dst = xt + i0 * 8 + half * 4;
      _mm256_storeu_pd(dst + 0 * 8, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(dst + 1 * 8, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(dst + 2 * 8, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(dst + 3 * 8, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  for (; i0 < d; ++i0)
    for (std::size_t r = 0; r < 8; ++r) xt[i0 * 8 + r] = r < m ? x[r * d + i0] : 0.0;
}

inline __m256i sign_mask(std::uint32_t e) {  // −0.0 bits when negative, else 0
  return _mm256_set1_epi32(static_cast<int>((e & 1u) << 31));
}

constexpr std::size_t kAhead = 8;   // rows of x prefetched ahead of use

inline void prefetch_block(const void* p, std::size_t bytes) {
  for (std::size_t o = 0; o < bytes; o += 64)
    _mm_prefetch(static_cast<const char*>(p) + o, _MM_HINT_T0);
}

// V: vector type ops for float (8 lanes) and double (4 lanes).
struct F32 {
  using T = float;
  using V = __m256;
  static constexpr std::size_t W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T a) { return _mm256_set1_ps(a); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V madd(V acc, V w, V x) { return _mm256_add_ps(acc, _mm256_mul_ps(w, x)); }
};
struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr std::size_t W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T a) { return _mm256_set1_pd(a); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V madd(V acc, V w, V x) { return _mm256_add_pd(acc, _mm256_mul_pd(w, x)); }
};

template <class O>
void spmm_row(const std::int64_t* idx, const typename O::T* w, std::size_t cnt,
              const typename O::T* x, std::size_t k, typename O::T* y) {
  using T = typename O::T;
  constexpr std::size_t kBlock = 8 * O::W;
  std::size_t c0 = 0;
  for (; c0 + kBlock <= k; c0 += kBlock) {
    typename O::V acc[8];
    for (auto& a : acc) a = O::zero();
    for (std::size_t p = 0; p < cnt; ++p) {
      if (p + kAhead < cnt)
        prefetch_block(x + static_cast<std::size_t>(idx[p + kAhead]) * k + c0, kBlock * sizeof(T));
      const auto wv = O::set1(w[p]);
      const T* xr = x + static_cast<std::size_t>(idx[p]) * k + c0;
      for (std::size_t q = 0; q < 8; ++q) acc[q] = O::madd(acc[q], wv, O::load(xr + q * O::W));
    }
    for (std::size_t q = 0; q < 8; ++q) O::store(y + c0 + q * O::W, acc[q]);
  }
  for (; c0 + O::W <= k; c0 += O::W) {
    auto acc = O::zero();
    for (std::size_t p = 0; p < cnt; ++p)
      acc = O::madd(acc, O::set1(w[p]), O::load(x + static_cast<std::size_t>(idx[p]) * k + c0));
    O::store(y + c0, acc);
  }
  for (; c0 < k; ++c0) {
    T acc = 0;
    for (std::size_t p = 0; p < cnt; ++p) acc += w[p] * x[static_cast<std::size_t>(idx[p]) * k + c0];
    y[c0] = acc;
  }
}

// Low 64 bits of a · m per lane: AVX2 has no 64-bit multiply, so three 32 × 32 → 64
// products (the high × high one only affects bits ≥ 64).
inline __m256i mul64_u64x4(__m256i a, std::uint64_t m) {
  const __m256i m_lo = _mm256_set1_epi64x(static_cast<long long>(m & 0xFFFFFFFFu));
  const __m256i m_hi = _mm256_set1_epi64x(static_cast<long long>(m >> 32));
  const __m256i lo = _mm256_mul_epu32(a, m_lo);
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), m_lo),
                                         _mm256_mul_epu32(a, m_hi));
  return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

// rng::mix64 on 4 lanes (SplitMix64 finaliser), bit-identical to the scalar one.
inline __m256i mix64_u64x4(__m256i z) {
  z = mul64_u64x4(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), 0xBF58476D1CE4E5B9ULL);
  z = mul64_u64x4(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), 0x94D049BB133111EBULL);
  return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

}  // namespace

void sparse_rp_block64(std::uint64_t key, std::uint64_t i0, std::uint64_t threshold,
                       std::uint64_t* nonzero, std::uint64_t* negative) {
  // Counter of lane t is key + (i0 + t + 1)·φ; stepping by 4φ keeps the exact wrap-around.
  __m256i ctr = _mm256_setr_epi64x(
      static_cast<long long>(key + (i0 + 1) * rng::kGolden),
      static_cast<long long>(key + (i0 + 2) * rng::kGolden),
      static_cast<long long>(key + (i0 + 3) * rng::kGolden),
      static_cast<long long>(key + (i0 + 4) * rng::kGolden));
  const __m256i step = _mm256_set1_epi64x(static_cast<long long>(4 * rng::kGolden));
  // (b >> 11) < 2^53 and threshold <= 2^53 fit in a signed compare.
  const __m256i thr = _mm256_set1_epi64x(static_cast<long long>(threshold));
  std::uint64_t nz = 0, neg = 0;
  for (unsigned t = 0; t < 64; t += 4) {
    const __m256i b = mix64_u64x4(ctr);
    ctr = _mm256_add_epi64(ctr, step);
    const __m256i below = _mm256_cmpgt_epi64(thr, _mm256_srli_epi64(b, 11));
    nz |= static_cast<std::uint64_t>(_mm256_movemask_pd(_mm256_castsi256_pd(below))) << t;
    neg |= static_cast<std::uint64_t>(
               _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_slli_epi64(b, 63)))) << t;
  }
  *nonzero = nz;
  *negative = neg & nz;
}

void spmm_row_f32(const std::int64_t* idx, const float* w, std::size_t cnt, const float* x,
                  std::size_t k, float* y) {
  spmm_row<F32>(idx, w, cnt, x, k, y);
}
void spmm_row_f64(const std::int64_t* idx, const double* w, std::size_t cnt, const double* x,
                  std::size_t k, double* y) {
  spmm_row<F64>(idx, w, cnt, x, k, y);
}

void sparse_rp_tile_f32(const float* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, float scale, float* xt,
                        float* out) {
  transpose_f32(x, m, d, xt);
  const __m256 vscale = _mm256_set1_ps(scale);
  alignas(32) float buf[16];
  for (std::size_t j = 0; j < k; ++j) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (std::size_t p = ptr[j]; p < ptr[j + 1]; ++p) {
      const float* v = xt + static_cast<std::size_t>(ent[p] >> 1) * 16;
      const __m256 s = _mm256_castsi256_ps(sign_mask(ent[p]));
      lo = _mm256_add_ps(lo, _mm256_xor_ps(_mm256_loadu_ps(v), s));
      hi = _mm256_add_ps(hi, _mm256_xor_ps(_mm256_loadu_ps(v + 8), s));
    }
    _mm256_store_ps(buf, _mm256_mul_ps(lo, vscale));
    _mm256_store_ps(buf + 8, _mm256_mul_ps(hi, vscale));
    for (std::size_t r = 0; r < m; ++r) out[r * k + j] = buf[r];
  }
}

void sparse_rp_tile_f64(const double* x, std::size_t m, std::size_t d, const std::size_t* ptr,
                        const std::uint32_t* ent, std::size_t k, double scale, double* xt,
                        double* out) {
  transpose_f64(x, m, d, xt);
  const __m256d vscale = _mm256_set1_pd(scale);
  alignas(32) double buf[8];
  for (std::size_t j = 0; j < k; ++j) {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (std::size_t p = ptr[j]; p < ptr[j + 1]; ++p) {
      const double* v = xt + static_cast<std::size_t>(ent[p] >> 1) * 8;
      const __m256d s = _mm256_castsi256_pd(
          _mm256_set1_epi64x(static_cast<long long>(static_cast<std::uint64_t>(ent[p] & 1u) << 63)));
      lo = _mm256_add_pd(lo, _mm256_xor_pd(_mm256_loadu_pd(v), s));
      hi = _mm256_add_pd(hi, _mm256_xor_pd(_mm256_loadu_pd(v + 4), s));
    }
    _mm256_store_pd(buf, _mm256_mul_pd(lo, vscale));
    _mm256_store_pd(buf + 4, _mm256_mul_pd(hi, vscale));
    for (std::size_t r = 0; r < m; ++r) out[r * k + j] = buf[r];
  }
}

}  // namespace lowdim::avx2
