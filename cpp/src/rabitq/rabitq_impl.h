// The scalar RaBitQ row kernels shared by the scalar translation unit and the AVX2 tails: the
// float32 table scan (eight lanes, lane = byte % 8, fixed final summation order) and the
// bit-plane popcount inner product ⟨u, q⟩ (see lowdim/rabitq.h).
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

namespace lowdim::rabitq_impl {

inline std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

// ⟨u, q⟩ of one code from byte `from` on (the scalar kernel and the AVX2 tail).
inline std::uint64_t popdot_row(const std::uint8_t* c, std::size_t nbytes, std::size_t from,
                                int bits, const std::uint8_t* qplanes, int qbits) {
  const std::size_t words_end = from + (nbytes - from) / 8 * 8;
  std::uint64_t total = 0;
  for (int k = 0; k < bits; ++k) {
    const std::uint8_t* ck = c + k * nbytes;
    std::uint64_t t = 0;
    for (int b = 0; b < qbits; ++b) {
      const std::uint8_t* qb = qplanes + b * nbytes;
      std::uint64_t cnt = 0;
      for (std::size_t w = from; w < words_end; w += 8)
        cnt += static_cast<std::uint64_t>(__builtin_popcountll(load64(ck + w) & load64(qb + w)));
      for (std::size_t w = words_end; w < nbytes; ++w)
        cnt += static_cast<std::uint64_t>(__builtin_popcount(ck[w] & qb[w]));
      t += cnt << b;
    }
    total += t << (bits - 1 - k);
  }
  return total;
}

}  // namespace lowdim::rabitq_impl
