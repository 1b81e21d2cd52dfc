// Dispatch for the distance kernels: the active ISA's function table (see hadamard.cpp
// for the pattern). Callers fetch the table once per call and keep it for the call.
#include "lowdim/distance.h"
#include "lowdim/isa.h"

namespace lowdim {

template <>
DistanceKernels<float> distance_kernels<float>() {
#ifdef LOWDIM_HAVE_AVX2
  if (active_isa() == Isa::avx2)
    return {avx2::dot_shape_f32(), avx2::dot_block_f32, avx2::sqdist_f32, avx2::dot_f32};
#endif
  return {scalar::dot_shape_f32(), scalar::dot_block_f32, scalar::sqdist_f32, scalar::dot_f32};
}

template <>
DistanceKernels<double> distance_kernels<double>() {
#ifdef LOWDIM_HAVE_AVX2
  if (active_isa() == Isa::avx2)
    return {avx2::dot_shape_f64(), avx2::dot_block_f64, avx2::sqdist_f64, avx2::dot_f64};
#endif
  return {scalar::dot_shape_f64(), scalar::dot_block_f64, scalar::sqdist_f64, scalar::dot_f64};
}

}  // namespace lowdim
