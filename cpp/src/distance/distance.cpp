// Dispatch for the distance kernels: the active ISA's function table (see hadamard.cpp
// for the pattern). Callers fetch the table once per call and keep it for the call.
#include "lowdim/distance.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {
namespace {

#if defined(__SSE2__)
// Rows r..r+3 (stride ld) of one panel of width w: 4 × 4 transposes, so each step reads
// 4 contiguous coordinates of 4 rows and writes 4 contiguous panel entries 4 times over
// (the element-by-element copy costs ~1/6 of the AVX-512 kNN self-search otherwise).
std::size_t pack_rows_simd(const float* x, std::size_t d, std::size_t ld, std::size_t w,
                           float* panel) {
  std::size_t p = 0;
  for (; p + 4 <= d; p += 4) {
    __m128 r0 = _mm_loadu_ps(x + p), r1 = _mm_loadu_ps(x + ld + p);
    __m128 r2 = _mm_loadu_ps(x + 2 * ld + p), r3 = _mm_loadu_ps(x + 3 * ld + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(panel + p * w, r0);
    _mm_storeu_ps(panel + (p + 1) * w, r1);
    _mm_storeu_ps(panel + (p + 2) * w, r2);
    _mm_storeu_ps(panel + (p + 3) * w, r3);
  }
  return p;  // coordinates done; the caller copies the rest
}

std::size_t pack_rows_simd(const double* x, std::size_t d, std::size_t ld, std::size_t w,
                           double* panel) {
  std::size_t p = 0;
  for (; p + 2 <= d; p += 2) {
    const __m128d r0 = _mm_loadu_pd(x + p), r1 = _mm_loadu_pd(x + ld + p);
    _mm_storeu_pd(panel + p * w, _mm_unpacklo_pd(r0, r1));
    _mm_storeu_pd(panel + (p + 1) * w, _mm_unpackhi_pd(r0, r1));
  }
  return p;
}
#endif

// L1 data cache of CPU 0 in bytes, from sysfs (Linux); 32 KiB where it cannot be read.
// Sizes, not the vendor name, pick the blocking, so a new CPU needs no table entry.
// L1d from sysfs (isa.h), 32 KiB where it is unknown or implausible.
std::size_t l1d_bytes() {
  const std::size_t bytes = data_cache_bytes(1);
  return bytes >= (8 << 10) && bytes <= (4 << 20) ? bytes : 32 << 10;
}

}  // namespace

std::size_t tile_depth(std::size_t row_bytes) {
  if (const char* forced = std::getenv("LOWDIM_TILE_KC")) {
    const std::size_t kc = std::strtoull(forced, nullptr, 10);
    if (kc > 0) return kc;
  }
  static const std::size_t l1 = l1d_bytes();
  std::size_t kc = l1 / 4 * 3 / (row_bytes ? row_bytes : 1) / 8 * 8;
  return kc < 32 ? 32 : (kc > 4096 ? 4096 : kc);
}

template <class T>
void pack_panels(const T* x, std::size_t rows, std::size_t d, std::size_t ld, std::size_t w,
                 T* out) {
  for (std::size_t r0 = 0; r0 < rows; r0 += w) {
    T* panel = out + r0 * d;
    const std::size_t h = rows - r0 < w ? rows - r0 : w;
    if (h < w) std::memset(panel, 0, w * d * sizeof(T));
    std::size_t r = 0;
#if defined(__SSE2__)
    constexpr std::size_t g = std::is_same_v<T, float> ? 4 : 2;  // rows per SIMD transpose
    for (; r + g <= h; r += g) {  // g rows at r <= w - g: the stores stay inside the panel
      const T* row = x + (r0 + r) * ld;
      for (std::size_t p = pack_rows_simd(row, d, ld, w, panel + r); p < d; ++p)
        for (std::size_t i = 0; i < g; ++i) panel[p * w + r + i] = row[i * ld + p];
    }
#endif
    for (; r < h; ++r) {
      const T* row = x + (r0 + r) * ld;
      for (std::size_t p = 0; p < d; ++p) panel[p * w + r] = row[p];
    }
  }
}

template void pack_panels<float>(const float*, std::size_t, std::size_t, std::size_t,
                                 std::size_t, float*);
template void pack_panels<double>(const double*, std::size_t, std::size_t, std::size_t,
                                  std::size_t, double*);

template <>
DistanceKernels<float> distance_kernels<float>() {
#ifdef LOWDIM_HAVE_AVX512
  if (isa_at_least(Isa::avx512))
    return {avx512::dot_shape_f32(), avx512::dot_block_f32, avx512::sqdist_f32, avx512::dot_f32,
            nullptr};
#endif
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2))
    return {avx2::dot_shape_f32(), avx2::dot_block_f32, avx2::sqdist_f32, avx2::dot_f32,
            avx2::dot_block_sym_f32};
#endif
  return {scalar::dot_shape_f32(), scalar::dot_block_f32, scalar::sqdist_f32, scalar::dot_f32,
          scalar::dot_block_sym_f32};
}

template <>
DistanceKernels<double> distance_kernels<double>() {
#ifdef LOWDIM_HAVE_AVX512
  if (isa_at_least(Isa::avx512))
    return {avx512::dot_shape_f64(), avx512::dot_block_f64, avx512::sqdist_f64, avx512::dot_f64,
            nullptr};
#endif
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2))
    return {avx2::dot_shape_f64(), avx2::dot_block_f64, avx2::sqdist_f64, avx2::dot_f64,
            avx2::dot_block_sym_f64};
#endif
  return {scalar::dot_shape_f64(), scalar::dot_block_f64, scalar::sqdist_f64, scalar::dot_f64,
          scalar::dot_block_sym_f64};
}

double fma_probe(std::size_t iters, int n_threads) {
  float (*probe)(std::size_t) = scalar::fma_probe_f32;
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2)) probe = avx2::fma_probe_f32;
#endif
#ifdef LOWDIM_HAVE_AVX512
  if (isa_at_least(Isa::avx512)) probe = avx512::fma_probe_f32;
#endif
  const std::size_t workers = static_cast<std::size_t>(n_threads < 1 ? 1 : n_threads);
  std::vector<float> sink(workers);
  parallel_for(workers, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t t = begin; t < end; ++t) sink[t] = probe(iters);
  });
  volatile float keep = sink[0];  // the sums are never used otherwise
  (void)keep;
  return 2.0 * static_cast<double>(kFmaProbeLanes) * static_cast<double>(iters) *
         static_cast<double>(workers);
}

}  // namespace lowdim
