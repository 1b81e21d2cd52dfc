// AVX2 FWHT row kernel. The first stages (h < vector width) run inside one register with
// lane permutes; the rest run three stages per memory pass on 8 registers (radix-8), so a
// 4096-float row takes 3 passes instead of the textbook 12. Each element still sees
// exactly the scalar sequence of a+b / a−b per stage, so results are bitwise equal to
// hadamard_scalar.cpp (FFHT does the same fusion; this is our own formulation).
#include <immintrin.h>

#include <cstddef>

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
  static void in_register_stages_x2(reg& v0, reg& v1) {
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
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_pd(a, b); }
  static reg in_register_stages(reg v) {                              // h = 1, 2
    v = lane_stage_f64x4<0xA>(v, _mm256_permute_pd(v, 0x5));
    return lane_stage_f64x4<0xC>(v, _mm256_permute2f128_pd(v, v, 0x01));
  }
  static void in_register_stages_x2(reg& v0, reg& v1) {               // see F32
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

// Three stages on 8 registers holding elements j + r·h (r = 0..7): strides h, 2h, 4h.
template <class V>
inline void radix8(typename V::reg* r) {
  for (int stride = 1; stride < 8; stride *= 2)
    for (int a = 0; a < 8; ++a)
      if (!(a & stride)) {
        auto lo = r[a], hi = r[a + stride];
        r[a] = V::add(lo, hi);
        r[a + stride] = V::sub(lo, hi);
      }
}

// First pass: on each run of 8 consecutive registers, the in-register stages and then
// stages h = lanes, 2·lanes, 4·lanes. Needs n >= 8 · lanes.
template <class V, class T>
void first_pass(T* x, std::size_t n) {
  typename V::reg r[8];
  for (std::size_t i = 0; i < n; i += 8 * V::lanes) {
    for (int a = 0; a < 8; a += 2) {
      r[a] = V::load(x + i + a * V::lanes);
      r[a + 1] = V::load(x + i + (a + 1) * V::lanes);
      V::in_register_stages_x2(r[a], r[a + 1]);
    }
    radix8<V>(r);
    for (int a = 0; a < 8; ++a) V::store(x + i + a * V::lanes, r[a]);
  }
}

// Stages h, 2h, 4h in one pass.
template <class V, class T>
void three_stages(T* x, std::size_t n, std::size_t h) {
  typename V::reg r[8];
  for (std::size_t block = 0; block < n; block += 8 * h)
    for (std::size_t j = block; j < block + h; j += V::lanes) {
      for (int a = 0; a < 8; ++a) r[a] = V::load(x + j + a * h);
      radix8<V>(r);
      for (int a = 0; a < 8; ++a) V::store(x + j + a * h, r[a]);
    }
}

// Stages h, 2h in one pass: x0..x3 at offsets 0, h, 2h, 3h.
template <class V, class T>
void two_stages(T* x, std::size_t n, std::size_t h) {
  for (std::size_t block = 0; block < n; block += 4 * h)
    for (std::size_t j = block; j < block + h; j += V::lanes) {
      auto x0 = V::load(x + j), x1 = V::load(x + j + h);
      auto x2 = V::load(x + j + 2 * h), x3 = V::load(x + j + 3 * h);
      auto y0 = V::add(x0, x1), y1 = V::sub(x0, x1);
      auto y2 = V::add(x2, x3), y3 = V::sub(x2, x3);
      V::store(x + j, V::add(y0, y2));
      V::store(x + j + 2 * h, V::sub(y0, y2));
      V::store(x + j + h, V::add(y1, y3));
      V::store(x + j + 3 * h, V::sub(y1, y3));
    }
}

template <class V, class T>
void one_stage(T* x, std::size_t n, std::size_t h) {
  for (std::size_t block = 0; block < n; block += 2 * h)
    for (std::size_t j = block; j < block + h; j += V::lanes) {
      auto a = V::load(x + j), b = V::load(x + j + h);
      V::store(x + j, V::add(a, b));
      V::store(x + j + h, V::sub(a, b));
    }
}

// Remaining stages from h upwards: radix-8 passes, then one radix-4 or radix-2 pass.
template <class V, class T>
void wide_stages(T* x, std::size_t n, std::size_t h) {
  for (; 8 * h <= n; h *= 8) three_stages<V>(x, n, h);
  if (4 * h <= n) two_stages<V>(x, n, h);
  else if (2 * h <= n) one_stage<V>(x, n, h);
}

template <class V, class T>
void fwht_row(T* x, std::size_t n) {
  if (n >= 8 * V::lanes) {
    first_pass<V>(x, n);
    wide_stages<V>(x, n, 8 * V::lanes);
  } else {
    for (std::size_t i = 0; i < n; i += V::lanes)
      V::store(x + i, V::in_register_stages(V::load(x + i)));
    wide_stages<V>(x, n, V::lanes);
  }
}

}  // namespace

void fwht_row_f32(float* x, int log2n) {
  if (log2n < 3) return scalar::fwht_row_f32(x, log2n);  // shorter than one register
  fwht_row<F32>(x, std::size_t{1} << log2n);
}

void fwht_row_f64(double* x, int log2n) {
  if (log2n < 2) return scalar::fwht_row_f64(x, log2n);
  fwht_row<F64>(x, std::size_t{1} << log2n);
}

}  // namespace lowdim::avx2
