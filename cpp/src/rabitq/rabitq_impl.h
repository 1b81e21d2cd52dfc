// The scalar RaBitQ scan (shared by the scalar translation unit and the AVX2 tail): eight
// float32 lanes, lane = byte % 8, fixed final summation order (see lowdim/rabitq.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim::rabitq_impl {

inline float finish(const float* a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

inline float scan_row(const float* lut, const std::uint8_t* c, std::size_t nbytes) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t b = 0; b < nbytes; ++b) a[b & 7] += lut[b * 256 + c[b]];
  return finish(a);
}

}  // namespace lowdim::rabitq_impl
