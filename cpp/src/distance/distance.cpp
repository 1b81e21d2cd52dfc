// Dispatch for the distance kernels: the active ISA's function table (see hadamard.cpp
// for the pattern). Callers fetch the table once per call and keep it for the call.
#include "lowdim/distance.h"

#include <vector>

#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {

template <>
DistanceKernels<float> distance_kernels<float>() {
#ifdef LOWDIM_HAVE_AVX512
  if (isa_at_least(Isa::avx512))
    return {avx512::dot_shape_f32(), avx512::dot_block_f32, avx512::sqdist_f32, avx512::dot_f32};
#endif
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2))
    return {avx2::dot_shape_f32(), avx2::dot_block_f32, avx2::sqdist_f32, avx2::dot_f32};
#endif
  return {scalar::dot_shape_f32(), scalar::dot_block_f32, scalar::sqdist_f32, scalar::dot_f32};
}

template <>
DistanceKernels<double> distance_kernels<double>() {
#ifdef LOWDIM_HAVE_AVX512
  if (isa_at_least(Isa::avx512))
    return {avx512::dot_shape_f64(), avx512::dot_block_f64, avx512::sqdist_f64, avx512::dot_f64};
#endif
#ifdef LOWDIM_HAVE_AVX2
  if (isa_at_least(Isa::avx2))
    return {avx2::dot_shape_f64(), avx2::dot_block_f64, avx2::sqdist_f64, avx2::dot_f64};
#endif
  return {scalar::dot_shape_f64(), scalar::dot_block_f64, scalar::sqdist_f64, scalar::dot_f64};
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
