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

// Every pass loads from `in` and hands each finished register to put(p, v) for the
// address p in `out`. In place, in == out and put is a plain store (StoreTo); the last
// pass of an out-of-place row reads the scratch row and puts into the destination row
// (the ISA's put can scale, stream and watch the max there).
template <class V>
struct StoreTo {
  template <class T>
  void operator()(T* p, typename V::reg v) const { V::store(p, v); }
};

// First pass: on each run of 8 consecutive registers, the in-register stages and then
// stages h = lanes, 2·lanes, 4·lanes. Needs n >= 8 · lanes.
template <class V, class T, class Put>
void first_pass(const T* in, T* out, std::size_t n, Put& put) {
  typename V::reg r[8];
  for (std::size_t i = 0; i < n; i += 8 * V::lanes) {
    for (int a = 0; a < 8; a += 2) {
      r[a] = V::load(in + i + a * V::lanes);
      r[a + 1] = V::load(in + i + (a + 1) * V::lanes);
      V::in_register_pair(r[a], r[a + 1]);
    }
    radix8<V>(r);
    for (int a = 0; a < 8; ++a) put(out + i + a * V::lanes, r[a]);
  }
}

// Stages h, 2h, 4h in one pass.
template <class V, class T, class Put>
void three_stages(const T* in, T* out, std::size_t n, std::size_t h, Put& put) {
  typename V::reg r[8];
  for (std::size_t block = 0; block < n; block += 8 * h)
    for (std::size_t j = block; j < block + h; j += V::lanes) {
      for (int a = 0; a < 8; ++a) r[a] = V::load(in + j + a * h);
      radix8<V>(r);
      for (int a = 0; a < 8; ++a) put(out + j + a * h, r[a]);
    }
}

// Stages h, 2h in one pass: x0..x3 at offsets 0, h, 2h, 3h.
template <class V, class T, class Put>
void two_stages(const T* in, T* out, std::size_t n, std::size_t h, Put& put) {
  for (std::size_t block = 0; block < n; block += 4 * h)
    for (std::size_t j = block; j < block + h; j += V::lanes) {
      auto x0 = V::load(in + j), x1 = V::load(in + j + h);
      auto x2 = V::load(in + j + 2 * h), x3 = V::load(in + j + 3 * h);
      auto y0 = V::add(x0, x1), y1 = V::sub(x0, x1);
      auto y2 = V::add(x2, x3), y3 = V::sub(x2, x3);
      put(out + j, V::add(y0, y2));
      put(out + j + 2 * h, V::sub(y0, y2));
      put(out + j + h, V::add(y1, y3));
      put(out + j + 3 * h, V::sub(y1, y3));
    }
}

template <class V, class T, class Put>
void one_stage(const T* in, T* out, std::size_t n, std::size_t h, Put& put) {
  for (std::size_t block = 0; block < n; block += 2 * h)
    for (std::size_t j = block; j < block + h; j += V::lanes) {
      auto a = V::load(in + j), b = V::load(in + j + h);
      put(out + j, V::add(a, b));
      put(out + j + h, V::sub(a, b));
    }
}

// Remaining stages of x from h upwards: radix-8 passes, then one radix-4 or radix-2 pass.
// The last pass writes `last` through last_put; every earlier one works in x.
template <class V, class T, class Put>
void wide_stages(T* x, std::size_t n, std::size_t h, T* last, Put& last_put) {
  StoreTo<V> store;
  for (; 8 * h <= n; h *= 8) {
    if (8 * h == n) return three_stages<V>(x, last, n, h, last_put);
    three_stages<V>(x, x, n, h, store);
  }
  if (4 * h <= n) two_stages<V>(x, last, n, h, last_put);
  else if (2 * h <= n) one_stage<V>(x, last, n, h, last_put);
}

// The in-place row kernel: x := H · x.
template <class V, class T>
void fwht_row(T* x, std::size_t n) {
  StoreTo<V> store;
  if (n >= 8 * V::lanes) {
    if (n == 8 * V::lanes) return first_pass<V>(x, x, n, store);
    first_pass<V>(x, x, n, store);
    wide_stages<V>(x, n, 8 * V::lanes, x, store);
  } else {
    for (std::size_t i = 0; i < n; i += V::lanes)
      V::store(x + i, V::in_register_stages(V::load(x + i)));
    wide_stages<V>(x, n, V::lanes, x, store);
  }
}

// Out of place, n >= 16 · lanes (so the first pass is not the last): the first pass
// reads src into the scratch row, the middle ones work there, the last one puts into dst.
template <class V, class T, class Put>
void fwht_row_into(const T* src, T* scratch, T* dst, std::size_t n, Put& put) {
  StoreTo<V> store;
  first_pass<V>(src, scratch, n, store);
  wide_stages<V>(scratch, n, 8 * V::lanes, dst, put);
}

}  // namespace
}  // namespace lowdim
