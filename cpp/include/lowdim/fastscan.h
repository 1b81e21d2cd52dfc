// 4-bit PQ fast-scan (André, Kermarrec & Le Scouarnec, VLDB 2015 / TKDE 2019; faiss
// IndexPQFastScan): ADC with K = 16 centroids per sub-space, tables quantized to uint8 and
// looked up in registers, scores summed in uint16, then the best kprime candidates are
// re-ranked with the exact float table.
//   LUT      per query and sub-space m: lo_m = min_k T[m][k]; one shared scale
//            a = top / max_m (max_k T[m][k] − lo_m), top = min(127, 65535 / M) so a sum of
//            M entries fits uint16 and two entries fit a byte (faiss uses 255; 127 lets the
//            AVX2 kernel add two lookups before widening — the re-rank makes the lost bit
//            invisible in the distances); lut[m][k] = floor((T[m][k] − lo_m)·a + 0.5),
//            computed in double (every ISA and numpy alike). a = 0 when every span is 0.
//   score    Σ_m lut[m][code_m]: an integer, exact in uint16 (see `top`).
//   select   the kprime smallest (score, index) pairs — a total order, so the set does not
//            depend on the scan order or thread split.
//   rerank   exact ADC Σ_m T[m][code_m] in float32, in m order from 0 (bitwise pq_search's
//            sum); result: the k smallest (distance, index) pairs among the candidates.
// Packed layout (ours, close to faiss's bbs = 32): codes (n, M) are cut into blocks of 32
// vectors; block b holds ceil(M/2) groups of 32 bytes, group j byte i =
// code[32b + i][2j] | code[32b + i][2j + 1] << 4 (vectors in order, no permutation; the
// missing sub-code of an odd M and the rows past n are 0 and never reported).
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

constexpr std::size_t kFastScanBlock = 32;  // vectors per block: one 256-bit register of bytes

// Per-ISA kernel. packed: n_blocks blocks of n_pairs·32 bytes; lut: (nq, 2·n_pairs, 16)
// uint8; scores: (nq, n_blocks·32) uint16, scores[q][32b + i] = Σ_m lut[q][m][code_m];
// block_min: (nq, n_blocks), the smallest of a block's 32 scores (so the selection can skip
// a block with one compare). nq ≤ 4 (queries that share one pass over the codes).
#define LOWDIM_FASTSCAN_KERNELS                                                              \
  void fastscan_accumulate(const std::uint8_t* packed, std::size_t n_blocks,                \
                           std::size_t n_pairs, const std::uint8_t* lut, std::size_t nq,    \
                           std::uint16_t* scores, std::uint16_t* block_min);
namespace scalar {
LOWDIM_FASTSCAN_KERNELS
}  // namespace scalar
namespace avx2 {
LOWDIM_FASTSCAN_KERNELS
}  // namespace avx2
#undef LOWDIM_FASTSCAN_KERNELS

// codes (n, M) uint8 in [0, 16) -> packed (ceil(n/32), ceil(M/2), 32) uint8, layout above.
void fastscan_pack(const std::uint8_t* codes, std::size_t n, std::size_t M,
                   std::uint8_t* packed, int n_threads);

// table: (nq, M, 16) float32 ADC tables (finite); codes: (n, M) uint8 in [0, 16);
// k ≤ kprime ≤ n. out_dist / out_idx: (nq, k), ascending (distance, index).
void fastscan_search(const float* table, std::size_t nq, std::size_t M,
                     const std::uint8_t* codes, std::size_t n, std::size_t k,
                     std::size_t kprime, float* out_dist, std::int64_t* out_idx,
                     int n_threads);

}  // namespace lowdim
