// Scalar fast-scan kernel (4-bit PQ, lowdim/fastscan.h): per vector of a 32-vector block,
// the uint16 sum of its M uint8 table entries, read from the packed layout. The AVX2
// kernel computes the same integer sums with in-register lookups (vpshufb); integer sums
// do not depend on the order, so every ISA and the numpy twin agree exactly.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "lowdim/fastscan.h"

namespace lowdim::scalar {

void fastscan_accumulate(const std::uint8_t* packed, std::size_t n_blocks, std::size_t n_pairs,
                         const std::uint8_t* lut, std::size_t nq, std::uint16_t* scores,
                         std::uint16_t* block_min) {
  const std::size_t stride = n_blocks * kFastScanBlock;
  for (std::size_t b = 0; b < n_blocks; ++b) {
    const std::uint8_t* block = packed + b * n_pairs * kFastScanBlock;
    for (std::size_t q = 0; q < nq; ++q) {
      const std::uint8_t* lq = lut + q * n_pairs * 32;
      std::uint16_t acc[kFastScanBlock] = {};
      for (std::size_t j = 0; j < n_pairs; ++j) {
        const std::uint8_t* group = block + j * kFastScanBlock;
        const std::uint8_t* l0 = lq + j * 32;  // sub-space 2j: low nibbles
        const std::uint8_t* l1 = l0 + 16;      // sub-space 2j + 1: high nibbles
        for (std::size_t i = 0; i < kFastScanBlock; ++i)
          acc[i] = static_cast<std::uint16_t>(acc[i] + l0[group[i] & 15] + l1[group[i] >> 4]);
      }
      std::memcpy(scores + q * stride + b * kFastScanBlock, acc, sizeof acc);
      block_min[q * n_blocks + b] = *std::min_element(acc, acc + kFastScanBlock);
    }
  }
}

}  // namespace lowdim::scalar
