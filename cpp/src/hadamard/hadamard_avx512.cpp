// AVX-512 FWHT row kernel: the AVX2 scheme (fwht_passes.h) on 512-bit registers. The
// first four stages (h = 1, 2, 4, 8) stay inside a register: a permute brings each
// element's partner alongside, one add covers the lower elements and a masked subtract
// the upper ones. Same a+b / a−b sequence per element, so bitwise equal to the scalar kernel.
#include <immintrin.h>

#include <cstddef>

#include "fwht_passes.h"
#include "lowdim/hadamard.h"

namespace lowdim::avx512 {
namespace {

struct F32 {
  using reg = __m512;
  static constexpr std::size_t lanes = 16;
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  // Lanes set in `upper` are the b of their pair: they take partner − self = a − b.
  static reg stage(reg v, reg partner, __mmask16 upper) {
    return _mm512_mask_sub_ps(_mm512_add_ps(v, partner), upper, partner, v);
  }
  static reg in_register_stages(reg v) {                              // h = 1, 2, 4, 8
    v = stage(v, _mm512_permute_ps(v, 0xB1), 0xAAAA);                     // neighbours
    v = stage(v, _mm512_permute_ps(v, 0x4E), 0xCCCC);                     // pairs
    v = stage(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)), 0xF0F0);  // 128-bit
    return stage(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)), 0xFF00);  // 256-bit
  }
  static void in_register_pair(reg& v0, reg& v1) {
    v0 = in_register_stages(v0);
    v1 = in_register_stages(v1);
  }
};

struct F64 {
  using reg = __m512d;
  static constexpr std::size_t lanes = 8;
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, reg v) { _mm512_storeu_pd(p, v); }
  static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_pd(a, b); }
  static reg stage(reg v, reg partner, __mmask8 upper) {
    return _mm512_mask_sub_pd(_mm512_add_pd(v, partner), upper, partner, v);
  }
  static reg in_register_stages(reg v) {                              // h = 1, 2, 4
    v = stage(v, _mm512_permute_pd(v, 0x55), 0xAA);
    v = stage(v, _mm512_shuffle_f64x2(v, v, _MM_SHUFFLE(2, 3, 0, 1)), 0xCC);
    return stage(v, _mm512_shuffle_f64x2(v, v, _MM_SHUFFLE(1, 0, 3, 2)), 0xF0);
  }
  static void in_register_pair(reg& v0, reg& v1) {
    v0 = in_register_stages(v0);
    v1 = in_register_stages(v1);
  }
};

}  // namespace

void fwht_row_f32(float* x, int log2n) {
  if (log2n < 4) return avx2::fwht_row_f32(x, log2n);  // shorter than one register
  fwht_row<F32>(x, std::size_t{1} << log2n);
}

void fwht_row_f64(double* x, int log2n) {
  if (log2n < 3) return avx2::fwht_row_f64(x, log2n);
  fwht_row<F64>(x, std::size_t{1} << log2n);
}

}  // namespace lowdim::avx512
