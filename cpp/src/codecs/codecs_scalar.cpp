// Scalar codec kernels: the element-wise loops of codecs_impl.h, one integer dot product and
// one byte-wise popcount per (query, row) pair. The fallback of every other ISA and the
// bitwise reference the AVX2 kernels are tested against.
#include "codecs_impl.h"

namespace lowdim::scalar {

using namespace codec_impl;

void encode_rows(CodecKind kind, const float* x, std::size_t n, std::size_t D, const float* lo,
                 const float* vdiff, std::uint8_t* codes) {
  const std::size_t rb = codec_row_bytes(kind, D);
  for (std::size_t r = 0; r < n; ++r) encode_row(kind, x + r * D, D, lo, vdiff, codes + r * rb);
}

void decode_rows(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                 const float* lo, const float* vdiff, float* out) {
  const std::size_t rb = codec_row_bytes(kind, D);
  for (std::size_t r = 0; r < n; ++r) decode_row(kind, codes + r * rb, D, lo, vdiff, out + r * D);
}

void int_dot_block(CodecKind kind, const std::uint8_t* codes, std::size_t n,
                   std::size_t row_bytes, const std::int16_t* t, std::size_t nq,
                   std::size_t t_stride, std::int32_t* out, std::size_t ldo) {
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t r = 0; r < n; ++r)
      out[i * ldo + r] = int_dot(kind, codes + r * row_bytes, row_bytes, t + i * t_stride);
}

void hamming_block(const std::uint8_t* q, std::size_t nq, const std::uint8_t* y, std::size_t n,
                   std::size_t nbytes, std::int32_t* out, std::size_t ldo) {
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t r = 0; r < n; ++r) {
      std::int32_t acc = 0;
      for (std::size_t b = 0; b < nbytes; ++b)
        acc += __builtin_popcount(static_cast<unsigned>(q[i * nbytes + b] ^ y[r * nbytes + b]));
      out[i * ldo + r] = acc;
    }
}

std::int64_t madd_probe(std::size_t iters) {
  std::int32_t acc[kMaddProbeLanes] = {};
  for (std::size_t it = 0; it < iters; ++it)
    for (std::size_t l = 0; l < kMaddProbeLanes; ++l)
      acc[l] += static_cast<std::int32_t>((it + l) & 0xFF) * 3;
  std::int64_t sum = 0;
  for (std::int32_t a : acc) sum += a;
  return sum;
}

}  // namespace lowdim::scalar
