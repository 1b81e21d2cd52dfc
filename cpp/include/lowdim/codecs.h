// Codecs: per-dimension float, integer and binary codes of float32 vectors, and search on them.
//   float kinds  fp16 / bf16 / fp8_e4m3 (OCP E4M3FN) / fp8_e5m2: round to nearest even on the
//                float32 bits, values beyond the largest finite one saturate to it;
//   int kinds    faiss QT_8bit / QT_4bit: xi = clip((x − lo) / vdiff, 0, 1) (0 where vdiff = 0),
//                level = (int)(255.0f·xi) (int4: (int)((double)xi · 15.0)), decode
//                lo + ((level + 0.5f) / L) · vdiff, all float32; uint8 stores the level, int8
//                level − 128, int4 two levels per byte (dimension 2i in the low nibble);
//   binary       bit = x > 0, np.packbits order (first dimension in the top bit).
// Search keys (smaller is better) from ip = q·x̂ and nrm = ‖x̂‖² (float64, summed in j order):
//   sqeuclidean nrm − 2·ip, inner_product −ip, cosine −ip / √nrm (0 when nrm = 0);
//   top-k by (key, index). The numpy twin is python/lowdim/codecs/_ref_codecs.py.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

enum class CodecKind : int { fp16 = 0, bf16, fp8_e4m3, fp8_e5m2, int8, uint8, int4, binary };
enum class CodecMetric : int { sqeuclidean = 0, inner_product, cosine };

// Bytes of one code row of D dimensions.
std::size_t codec_row_bytes(CodecKind kind, std::size_t D);
// Integer query weights per query row: int4 needs its own layout (see int_dot_block).
std::size_t codec_t_stride(CodecKind kind, std::size_t D);

// Per-ISA kernels.
// encode_rows: x (n, D) -> codes (n, row_bytes); decode_rows: codes -> out (n, D) float32
//   (binary decodes to ±1). lo, vdiff: (D,) for int kinds, unused otherwise.
// int_dot_block: out[i * ldo + r] = Σ_j t_i[j] · b_r[j] exactly in int32, b the stored values
//   (uint8: level, int8: signed byte, int4: nibble). t rows have t_stride int16; for int8/uint8
//   t_i[j] is dimension j; for int4, byte p of 16-byte chunk c holds dimensions 32c + 2p (low
//   nibble, weight t[32c + p]) and 32c + 2p + 1 (high nibble, weight t[32c + 16 + p]).
//   Callers bound |t| so no sum overflows.
// hamming_block: out[i * ldo + r] = popcount(q_i XOR y_r) over nbytes.
#define LOWDIM_CODEC_KERNELS                                                                   \
  void encode_rows(CodecKind kind, const float* x, std::size_t n, std::size_t D,              \
                   const float* lo, const float* vdiff, std::uint8_t* codes);                 \
  void decode_rows(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,   \
                   const float* lo, const float* vdiff, float* out);                          \
  void int_dot_block(CodecKind kind, const std::uint8_t* codes, std::size_t n,                \
                     std::size_t row_bytes, const std::int16_t* t, std::size_t nq,            \
                     std::size_t t_stride, std::int32_t* out, std::size_t ldo);               \
  void hamming_block(const std::uint8_t* q, std::size_t nq, const std::uint8_t* y,            \
                     std::size_t n, std::size_t nbytes, std::int32_t* out, std::size_t ldo); \
  /* Peak probe: iters steps of kMaddProbeLanes independent int16 multiply-adds (the */    \
  /* int_dot_block instruction); returns a sum so the work cannot be optimised away. */   \
  std::int64_t madd_probe(std::size_t iters);
namespace scalar {
LOWDIM_CODEC_KERNELS
}  // namespace scalar
namespace avx2 {
LOWDIM_CODEC_KERNELS
}  // namespace avx2
#undef LOWDIM_CODEC_KERNELS

// int16 multiply-adds per madd_probe step: 12 accumulators × 16 lanes.
constexpr std::size_t kMaddProbeLanes = 192;
// Runs the active ISA's madd_probe on n_threads threads; returns the multiply-adds done.
double codec_madd_probe(std::size_t iters, int n_threads);

// Drivers (threads over rows or query blocks; results independent of the thread count).
void codec_encode(CodecKind kind, const float* x, std::size_t n, std::size_t D, const float* lo,
                  const float* vdiff, std::uint8_t* codes, int n_threads);
void codec_decode(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                  const float* lo, const float* vdiff, float* out, int n_threads);
// out (n,): ‖x̂_r‖² in float64, j order.
void codec_norms(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                 const float* lo, const float* vdiff, double* out, int n_threads);
// t: (nq, D) int16 natural order; ip = cst[i] + alpha[i] · Σ_j t_i[j]·b[j].
// out_key, out_idx: (nq, k), k <= n.
void codec_search_int(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                      const std::int16_t* t, std::size_t nq, const double* alpha,
                      const double* cst, const double* norms, CodecMetric metric, std::size_t k,
                      double* out_key, std::int64_t* out_idx, int n_threads);
// q: (nq, D) float32; ip = float32 dot of q with the decoded row (FMA tiles), as float64.
void codec_search_float(CodecKind kind, const std::uint8_t* codes, std::size_t n,
                        std::size_t D, const float* lo, const float* vdiff, const float* q,
                        std::size_t nq, const double* norms, CodecMetric metric, std::size_t k,
                        double* out_key, std::int64_t* out_idx, int n_threads);
// q: (nq, nbytes), y: (n, nbytes); out (nq, k) ascending (distance, index); exclude_self:
// q and y are the same rows and row i is not a neighbour of query i.
void hamming_knn(const std::uint8_t* q, std::size_t nq, const std::uint8_t* y, std::size_t n,
                 std::size_t nbytes, std::size_t k, bool exclude_self, std::int32_t* out_dist,
                 std::int64_t* out_idx, int n_threads);

}  // namespace lowdim
