// The memory passes of the SIMD FWHT row kernels, written once over a vector-traits type V
// (reg, lanes, load/store/add/sub, in_register_stages, in_register_pair). Included by each
// ISA's translation unit and compiled with its flags; the anonymous namespace gives every
// TU its own copy, so no ISA's code can stand in for another's at link time.
#pragma once
#include <cstddef>

namespace lowdim {
namespace {

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
      V::in_register_pair(r[a], r[a + 1]);
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
}  // namespace lowdim
