// Scalar RaBitQ scan (one table lookup per code byte into eight lanes) and bit-plane popcount
// product: the fallback of every other ISA and the bitwise reference of the AVX2 kernels.
#include "lowdim/rabitq.h"
#include "rabitq_impl.h"

namespace lowdim::scalar {

void rabitq_scan_rows(const float* lut, const std::uint8_t* codes, std::size_t n,
                      std::size_t nbytes, std::size_t stride, float* out) {
  for (std::size_t r = 0; r < n; ++r) out[r] = rabitq_impl::scan_row(lut, codes + r * stride, nbytes);
}

}  // namespace lowdim::scalar

namespace lowdim::scalar {

void rabitq_popdot_rows(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                        std::size_t stride, int bits, const std::uint8_t* qplanes, int qbits,
                        std::uint64_t* out) {
  for (std::size_t r = 0; r < n; ++r)
    out[r] = rabitq_impl::popdot_row(codes + r * stride, nbytes, 0, bits, qplanes, qbits);
}

}  // namespace lowdim::scalar
