// AVX2 FWHT row kernel. The first stages (h < vector width) run inside one register with
// lane permutes; the rest run three stages per memory pass on 8 registers (radix-8), so a
// 4096-float row takes 3 passes instead of the textbook 12. Each element still sees
// exactly the scalar sequence of a+b / a−b per stage, so results are bitwise equal to
// hadamard_scalar.cpp (FFHT does the same fusion; this is our own formulation).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fwht_passes.h"
#include "lowdim/hadamard.h"

namespace lowdim::avx2 {
namespace {

// One butterfly stage inside a register: lanes whose bit is set in kMask are the upper
// element of their pair and take partner − self (= a − b); the others take self + partner.
template <int kMask>
inline __m256 lane_stage_f32x8(__m256 x, __m256 partner) {
  return _mm256_blend_ps(_mm256_add_ps(x, partner), _mm256_sub_ps(partner, x), kMask);
}
template <int kMask>
inline __m256d lane_stage_f64x4(__m256d x, __m256d partner) {
  return _mm256_blend_pd(_mm256_add_pd(x, partner), _mm256_sub_pd(partner, x), kMask);
}

// Vector-type traits so the wide stages are written once for float and double.
struct F32 {
  using reg = __m256;
  static constexpr std::size_t lanes = 8;
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, reg v) { _mm256_stream_ps(p, v); }
  static void stream16(float* p, reg v) {  // p only 16-byte aligned
    _mm_stream_ps(p, _mm256_castps256_ps128(v));
    _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
  }
  static reg set1(float v) { return _mm256_set1_ps(v); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static __m256i abs_bits(reg v) {
    return _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff));
  }
  static __m256i max_bits(__m256i a, __m256i b) { return _mm256_max_epu32(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg in_register_stages(reg v) {                              // h = 1, 2, 4
    v = lane_stage_f32x8<0xAA>(v, _mm256_permute_ps(v, 0xB1));
    v = lane_stage_f32x8<0xCC>(v, _mm256_permute_ps(v, 0x4E));
    return lane_stage_f32x8<0xF0>(v, _mm256_permute2f128_ps(v, v, 0x01));
  }
  // The same three stages on two registers at once: shuffles gather the upper and lower
  // elements of every pair into two registers, so each stage costs one add and one sub
  // for 16 values instead of two of each (the adds are the bottleneck, not the shuffles).
  static void in_register_pair(reg& v0, reg& v1) {
    reg lo = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));         // h = 1
    reg hi = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
    reg s = _mm256_add_ps(lo, hi), d = _mm256_sub_ps(lo, hi);
    v0 = _mm256_unpacklo_ps(s, d);
    v1 = _mm256_unpackhi_ps(s, d);
    lo = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(1, 0, 1, 0));             // h = 2
    hi = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 2, 3, 2));
    s = _mm256_add_ps(lo, hi), d = _mm256_sub_ps(lo, hi);
    v0 = _mm256_shuffle_ps(s, d, _MM_SHUFFLE(1, 0, 1, 0));
    v1 = _mm256_shuffle_ps(s, d, _MM_SHUFFLE(3, 2, 3, 2));
    lo = _mm256_permute2f128_ps(v0, v1, 0x20);                           // h = 4
    hi = _mm256_permute2f128_ps(v0, v1, 0x31);
    s = _mm256_add_ps(lo, hi), d = _mm256_sub_ps(lo, hi);
    v0 = _mm256_permute2f128_ps(s, d, 0x20);
    v1 = _mm256_permute2f128_ps(s, d, 0x31);
  }
};
struct F64 {
  using reg = __m256d;
  static constexpr std::size_t lanes = 4;
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, reg v) { _mm256_storeu_pd(p, v); }
  static void stream(double* p, reg v) { _mm256_stream_pd(p, v); }
  static void stream16(double* p, reg v) {
    _mm_stream_pd(p, _mm256_castpd256_pd128(v));
    _mm_stream_pd(p + 2, _mm256_extractf128_pd(v, 1));
  }
  static reg set1(double v) { return _mm256_set1_pd(v); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static __m256i abs_bits(reg v) {
    return _mm256_and_si256(_mm256_castpd_si256(v), _mm256_set1_epi64x(0x7fffffffffffffffLL));
  }
  static __m256i max_bits(__m256i a, __m256i b);
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_pd(a, b); }
  static reg in_register_stages(reg v) {                              // h = 1, 2
    v = lane_stage_f64x4<0xA>(v, _mm256_permute_pd(v, 0x5));
    return lane_stage_f64x4<0xC>(v, _mm256_permute2f128_pd(v, v, 0x01));
  }
  static void in_register_pair(reg& v0, reg& v1) {               // see F32
    reg lo = _mm256_unpacklo_pd(v0, v1), hi = _mm256_unpackhi_pd(v0, v1);  // h = 1
    reg s = _mm256_add_pd(lo, hi), d = _mm256_sub_pd(lo, hi);
    v0 = _mm256_unpacklo_pd(s, d);
    v1 = _mm256_unpackhi_pd(s, d);
    lo = _mm256_permute2f128_pd(v0, v1, 0x20);                           // h = 2
    hi = _mm256_permute2f128_pd(v0, v1, 0x31);
    s = _mm256_add_pd(lo, hi), d = _mm256_sub_pd(lo, hi);
    v0 = _mm256_permute2f128_pd(s, d, 0x20);
    v1 = _mm256_permute2f128_pd(s, d, 0x31);
  }
};

// Horizontal max of 8 / 4 unsigned lanes (the scans below keep 4 vector maxima so the
// loop is bound by loads, not by the latency of one max chain).
inline std::uint32_t hmax_u32(__m256i v) {
  alignas(32) std::uint32_t lane[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lane), v);
  std::uint32_t m = 0;
  for (std::uint32_t b : lane) m = b > m ? b : m;
  return m;
}
inline std::uint64_t hmax_u64(__m256i v) {
  alignas(32) std::uint64_t lane[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lane), v);
  std::uint64_t m = 0;
  for (std::uint64_t b : lane) m = b > m ? b : m;
  return m;
}
// |x| bits of 4 doubles are below 2^63, so the signed 64-bit compare orders them.
inline __m256i max_u63(__m256i a, __m256i b) {
  return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(b, a));
}
inline __m256i F64::max_bits(__m256i a, __m256i b) { return max_u63(a, b); }

// The last pass's put for an out-of-place row (fwht_passes.h): keeps the max of the
// unscaled values' |x| bits, then stores value · scale (kScaled) or the value itself, as
// the in-place path does. kStream: non-temporal stores, so a result larger than the LLC
// goes to memory without a read for ownership and without evicting the input: 1 for a
// 32-byte aligned dst, 2 (two 16-byte halves) for one only 16-byte aligned, as numpy's
// own arrays are (the caller checks); 0 plain stores.
template <class V, int kStream, bool kScaled>
struct ScaleStoreMax {
  typename V::reg scale;
  __m256i max_bits = _mm256_setzero_si256();
  template <class T>
  void operator()(T* p, typename V::reg v) {
    max_bits = V::max_bits(max_bits, V::abs_bits(v));
    if (kScaled) v = V::mul(v, scale);
    if (kStream == 1) V::stream(p, v);
    else if (kStream == 2) V::stream16(p, v);
    else V::store(p, v);
  }
};

template <class V, int kStream, bool kScaled, class T>
__m256i last_pass_into(const T* src, T* scratch, T* dst, std::size_t n, T scale) {
  ScaleStoreMax<V, kStream, kScaled> put{V::set1(scale)};
  fwht_row_into<V>(src, scratch, dst, n, put);
  return put.max_bits;
}

}  // namespace

std::uint32_t max_abs_bits_f32(const float* x, std::size_t n) {
  const __m256i abs = _mm256_set1_epi32(0x7fffffff);
  __m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
  std::size_t i = 0;
  auto at = [&](std::size_t j) {
    return _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j)), abs);
  };
  for (; i + 32 <= n; i += 32) {
    m0 = _mm256_max_epu32(m0, at(i));
    m1 = _mm256_max_epu32(m1, at(i + 8));
    m2 = _mm256_max_epu32(m2, at(i + 16));
    m3 = _mm256_max_epu32(m3, at(i + 24));
  }
  for (; i + 8 <= n; i += 8) m0 = _mm256_max_epu32(m0, at(i));
  const std::uint32_t m = hmax_u32(_mm256_max_epu32(_mm256_max_epu32(m0, m1),
                                                    _mm256_max_epu32(m2, m3)));
  const std::uint32_t rest = scalar::max_abs_bits_f32(x + i, n - i);
  return rest > m ? rest : m;
}

std::uint64_t max_abs_bits_f64(const double* x, std::size_t n) {
  const __m256i abs = _mm256_set1_epi64x(0x7fffffffffffffffLL);
  __m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
  std::size_t i = 0;
  auto at = [&](std::size_t j) {
    return _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j)), abs);
  };
  for (; i + 16 <= n; i += 16) {
    m0 = max_u63(m0, at(i));
    m1 = max_u63(m1, at(i + 4));
    m2 = max_u63(m2, at(i + 8));
    m3 = max_u63(m3, at(i + 12));
  }
  for (; i + 4 <= n; i += 4) m0 = max_u63(m0, at(i));
  const std::uint64_t m = hmax_u64(max_u63(max_u63(m0, m1), max_u63(m2, m3)));
  const std::uint64_t rest = scalar::max_abs_bits_f64(x + i, n - i);
  return rest > m ? rest : m;
}

void fwht_row_f32(float* x, int log2n) {
  if (log2n < 3) return scalar::fwht_row_f32(x, log2n);  // shorter than one register
  fwht_row<F32>(x, std::size_t{1} << log2n);
}

void fwht_row_f64(double* x, int log2n) {
  if (log2n < 2) return scalar::fwht_row_f64(x, log2n);
  fwht_row<F64>(x, std::size_t{1} << log2n);
}


// Once per thread after its streamed rows, not per row: an sfence waits for the
// write-combining buffers to drain.
void stream_fence() { _mm_sfence(); }

namespace {

// dst := scale · H · src via scratch; returns the max |x| bits of H · src (hadamard.h).
template <class V, class T, class U>
U fwht_row_to(const T* src, T* scratch, T* dst, std::size_t n, T scale, bool stream,
              U (*hmax)(__m256i), U (*max_abs)(const T*, std::size_t)) {
  if (n < 16 * V::lanes) {  // one or two passes: transform in scratch, then copy out
    std::memcpy(scratch, src, n * sizeof(T));
    fwht_row<V>(scratch, n);
    for (std::size_t i = 0; i < n; ++i) dst[i] = scale == T(1) ? scratch[i] : scratch[i] * scale;
    return max_abs(scratch, n);
  }
  const bool scaled = scale != T(1);
  const int mode = !stream ? 0 : reinterpret_cast<std::uintptr_t>(dst) % 32 == 0 ? 1 : 2;
  __m256i m;
  if (mode == 1)
    m = scaled ? last_pass_into<V, 1, true>(src, scratch, dst, n, scale)
               : last_pass_into<V, 1, false>(src, scratch, dst, n, scale);
  else if (mode == 2)
    m = scaled ? last_pass_into<V, 2, true>(src, scratch, dst, n, scale)
               : last_pass_into<V, 2, false>(src, scratch, dst, n, scale);
  else
    m = scaled ? last_pass_into<V, 0, true>(src, scratch, dst, n, scale)
               : last_pass_into<V, 0, false>(src, scratch, dst, n, scale);
  return hmax(m);
}

}  // namespace

std::uint32_t fwht_row_to_f32(const float* src, float* scratch, float* dst, int log2n,
                              float scale, bool stream) {
  if (log2n < 3) return scalar::fwht_row_to_f32(src, scratch, dst, log2n, scale, stream);
  return fwht_row_to<F32, float, std::uint32_t>(src, scratch, dst, std::size_t{1} << log2n,
                                                scale, stream, hmax_u32, max_abs_bits_f32);
}

std::uint64_t fwht_row_to_f64(const double* src, double* scratch, double* dst, int log2n,
                              double scale, bool stream) {
  if (log2n < 2) return scalar::fwht_row_to_f64(src, scratch, dst, log2n, scale, stream);
  return fwht_row_to<F64, double, std::uint64_t>(src, scratch, dst, std::size_t{1} << log2n,
                                                 scale, stream, hmax_u64, max_abs_bits_f64);
}

}  // namespace lowdim::avx2
