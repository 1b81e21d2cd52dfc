// RaBitQ (Gao & Long, SIGMOD 2024) inner loop: for 1-bit codes b (sign bits of the rotated
// unit vector, np.packbits order: bit j is byte j/8, mask 0x80 >> j%8) and a rotated float
// query y, s = Σ_{j : b_j = 1} y_j. The estimator ⟨x̄, y⟩ = (2s − Σ y)/√D and the distance
// factors are applied in Python (python/lowdim/quantizers/rabitq.py); numpy twin:
// python/lowdim/quantizers/_ref_rabitq.py.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

// Per-byte lookup table of a query: lut[b * 256 + v] = Σ of y[8b + t] over the bits t of v
// (MSB first), built in increasing v as lut[v] = lut[v & (v − 1)] + y[8b + 7 − ctz(v)].
// y has nbytes * 8 entries (zero beyond D).
void rabitq_build_lut(const float* y, std::size_t nbytes, float* lut);

// out[i * n + r] = s of query i and code r; codes rows are `stride` bytes apart (the sign
// bytes come first, the factors after them). Eight float32 accumulators, lane = byte % 8,
// summed as ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)): identical on every ISA and
// thread count.
void rabitq_scan(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                 std::size_t stride, const float* y, std::size_t nq, float* out, int n_threads);

namespace scalar {
void rabitq_scan_rows(const float* lut, const std::uint8_t* codes, std::size_t n,
                      std::size_t nbytes, std::size_t stride, float* out);
}
namespace avx2 {
void rabitq_scan_rows(const float* lut, const std::uint8_t* codes, std::size_t n,
                      std::size_t nbytes, std::size_t stride, float* out);
}

}  // namespace lowdim

namespace lowdim {

// Bytes per code of `bits` planes of D8 / 8 bytes plus factors (8 bytes at 1 bit, else 12).
std::size_t rabitq_code_size(std::size_t D8, int bits);

// Codes of rotated residuals r (n, D8) float32, zero beyond D, bits in [1, 8]. Layout per
// row: plane 0 = sign bits (r_j > 0), planes 1..bits−1 = bits ex−1..0 of u_j (MSB first),
// each D8 / 8 bytes in np.packbits order, zero beyond D; then float32 ‖r‖, ⟨x̂, o⟩ and, for
// bits > 1, ‖x̄‖, where x̄_j = (sign_j 2^ex + u_j) − (2^bits − 1)/2.
void rabitq_encode(const float* r, std::size_t n, std::size_t D8, std::size_t D, int bits,
                   std::uint8_t* out, int n_threads);

}  // namespace lowdim
