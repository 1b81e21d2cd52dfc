// RaBitQ (Gao & Long, SIGMOD 2024) inner loop: for 1-bit codes b (sign bits of the rotated
// unit vector, np.packbits order: bit j is byte j/8, mask 0x80 >> j%8) and a rotated float
// query y, s = Σ_{j : b_j = 1} y_j; the popcount inner product with quantized queries; the
// encoder (rotation included), and the estimator, bounds and top-k search built on them
// (rabitq_search.cpp). numpy twin: python/lowdim/quantizers/_ref_rabitq.py.
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

// Bit-plane inner product of integer codes and a quantized query (Gao & Long 2024, Sec. 3.3):
// out[r] = Σ_k 2^(bits−1−k) Σ_b 2^b popcount(plane_k(code r) & qplane_b), i.e. ⟨u, q⟩ for the
// unsigned code values u and query integers q. qplanes: qbits planes of nbytes bytes, plane b
// = bit b of q, same bit order as the code planes. Integer, so every ISA agrees exactly.
namespace scalar {
void rabitq_scan_rows(const float* lut, const std::uint8_t* codes, std::size_t n,
                      std::size_t nbytes, std::size_t stride, float* out);
void rabitq_popdot_rows(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                        std::size_t stride, int bits, const std::uint8_t* qplanes, int qbits,
                        std::uint64_t* out);
}
namespace avx2 {
void rabitq_scan_rows(const float* lut, const std::uint8_t* codes, std::size_t n,
                      std::size_t nbytes, std::size_t stride, float* out);
void rabitq_popdot_rows(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                        std::size_t stride, int bits, const std::uint8_t* qplanes, int qbits,
                        std::uint64_t* out);
}
// Single-threaded, ISA-dispatched row kernels (the drivers' blocks).
void rabitq_scan_block(const float* lut, const std::uint8_t* codes, std::size_t n,
                       std::size_t nbytes, std::size_t stride, float* out);
void rabitq_popdot(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                   std::size_t stride, int bits, const std::uint8_t* qplanes, int qbits,
                   std::uint64_t* out);

// 1-bit codes, quantized queries, in-register tables (AVX2 only; the scalar level uses
// rabitq_popdot, whose result is the same integer). tcodes: codes transposed in blocks of 32,
// byte b of code 32·blk + i at tcodes[(blk·nbytes + b)·32 + i]; luts: ndigits × 2·nbytes
// tables of 32 bytes (16 entries twice, one copy per 128-bit lane), table p entry v = Σ_{t<4, bit 3−t of v} digit_g(q[4p + t]) with
// digit_g(q) = (q >> 4g) & 15; out[32·blk + i] = ⟨u, q⟩ = Σ_g 16^g Σ_p table_p(nibble p).
namespace avx2 {
void rabitq_fs_rows(const std::uint8_t* tcodes, std::size_t nblocks, std::size_t nbytes,
                    const std::uint8_t* luts, int ndigits, std::uint64_t* out);
}
using FsFn = decltype(&avx2::rabitq_fs_rows);
// The active level's table kernel, or nullptr when it has none (scalar).
FsFn rabitq_fs_kernel();

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

namespace lowdim {

// Encode raw rows x (n, d) float32 in one pass per row: r = x − center, zero-padded to D8;
// with signs (D,) (D = 2^log2D): r ← FWHT(signs ⊙ r) · (1/√D in float32), the rotation of
// RaBitQ.rotation = 'hadamard'; then rabitq_encode's row code. signs = nullptr: no rotation.
void rabitq_encode_raw(const float* x, std::size_t n, std::size_t d, const float* center,
                       const float* signs, std::size_t D8, std::size_t D, int bits,
                       std::uint8_t* out, int n_threads);

// Estimator inputs. Per query i (qp[4i..4i+3]): ‖y‖², lo, step, qc. Float queries y (nq, D8):
// xy = Σ_k 2^(bits−1−k)·s_k − qc with s_k the float32 scan of plane k (qc = half·Σy).
// Quantized queries qint (nq, D8) integers in [0, 2^qbits): xy = (lo·Σu + step·⟨u,q⟩) − qc
// (qc = half·(D·lo + step·Σq)). Per code: n2 = ‖r‖², g2 = 2·(‖r‖ / (⟨x̂,o⟩·‖x̄‖)),
// sl = ‖r‖·(√max(0, 1 − ⟨x̂,o⟩²)/⟨x̂,o⟩ · bscale); est = (n2 + ‖y‖²) − g2·xy and
// bound = (2·√‖y‖²)·sl, all float64 in this order (the numpy twin repeats it).
struct RabitqQuery {
  const float* y;             // (nq, D8) or nullptr
  const std::uint8_t* qint;   // (nq, D8) or nullptr
  int qbits;
  const double* qp;           // (nq, 4)
  std::size_t nq;
};

// est, bound: (nq, n) float32 (the float64 values rounded).
void rabitq_estimate(const std::uint8_t* codes, std::size_t n, std::size_t D8, std::size_t D,
                     int bits, const RabitqQuery& q, double bscale, float* est, float* bound,
                     int n_threads);

// k smallest estimates per query, ties by lower index: dist (nq, k) float32, idx (nq, k).
// With vec (n, d) and qraw (nq, d): candidates whose est − bound ≤ the k-th smallest
// est + bound are reranked by the exact ‖q − x‖² (float64, eight lanes j % 8 summed
// ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))), top k by (exact, index); nr[i] = candidates
// reranked (0 without vec).
void rabitq_search(const std::uint8_t* codes, std::size_t n, std::size_t D8, std::size_t D,
                   int bits, const RabitqQuery& q, double bscale, std::size_t k,
                   const float* vec, const float* qraw, std::size_t d, float* dist,
                   std::int64_t* idx, std::int64_t* nr, int n_threads);

}  // namespace lowdim
