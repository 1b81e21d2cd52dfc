// Driver of the 4-bit PQ fast-scan search (formulas and packed layout in lowdim/fastscan.h):
// pack the codes, quantize each query's table, scan the blocks with the per-ISA kernel,
// keep the kprime best (score, index) pairs, re-rank them with the float table. Threads
// split queries (or, for fewer queries than threads, the blocks, merged by the total
// order), so results are the same for every thread count. numpy twin:
// python/lowdim/_ref_fastscan.py.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "lowdim/fastscan.h"
#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {
namespace {

using AccumulateFn = void (*)(const std::uint8_t*, std::size_t, std::size_t,
                              const std::uint8_t*, std::size_t, std::uint16_t*,
                              std::uint16_t*);

// Indexed by Isa; a level this build lacks falls back to scalar (never selected anyway).
const AccumulateFn kAccumulate[] = {
    scalar::fastscan_accumulate,
#ifdef LOWDIM_HAVE_AVX2
    avx2::fastscan_accumulate,
#else
    scalar::fastscan_accumulate,
#endif
};

constexpr std::size_t kQueryGroup = 4;     // queries per pass over the codes (kernel's max)
constexpr std::size_t kChunkBlocks = 64;   // 2048 vectors: scores of a group stay in L1
constexpr int kIndexBits = 40;             // candidate key = score << 40 | index

// The kprime smallest keys seen: a max-heap, worst on top. Keys are distinct (the index
// is in them), so the kept set is the same whatever order they arrive in.
class Candidates {
 public:
  explicit Candidates(std::size_t cap) : cap_(cap) { heap_.reserve(cap); }
  void offer(std::uint64_t key) {
    if (heap_.size() < cap_) {
      heap_.push_back(key);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (key < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = key;
      std::push_heap(heap_.begin(), heap_.end());
    } else {
      return;
    }
    if (heap_.size() == cap_) worst_score_ = heap_.front() >> kIndexBits;
  }
  // Blocks of 32 scores for vectors base, base + 1, … (those ≥ n are padding). A block
  // whose minimum is above the worst kept score cannot contribute: one compare skips it.
  void offer_blocks(const std::uint16_t* scores, const std::uint16_t* block_min,
                    std::size_t n_blocks, std::size_t base, std::size_t n) {
    for (std::size_t b = 0; b < n_blocks; ++b) {
      if (block_min[b] > worst_score_) continue;
      const std::size_t first = base + b * kFastScanBlock;
      const std::size_t count = std::min(kFastScanBlock, n - first);
      const std::uint16_t* s = scores + b * kFastScanBlock;
      for (std::size_t i = 0; i < count; ++i)
        if (s[i] <= worst_score_) offer(key(s[i], first + i));
    }
  }
  const std::vector<std::uint64_t>& keys() const { return heap_; }

 private:
  static std::uint64_t key(std::uint16_t s, std::size_t i) {
    return (static_cast<std::uint64_t>(s) << kIndexBits) | static_cast<std::uint64_t>(i);
  }
  std::size_t cap_;
  std::uint64_t worst_score_ = ~std::uint64_t{0};  // every score passes until the heap is full
  std::vector<std::uint64_t> heap_;
};

// table (M, 16) float -> lut (2·n_pairs, 16) uint8 (padding sub-space all 0).
void quantize_table(const float* table, std::size_t M, std::size_t n_pairs, std::uint8_t* lut) {
  std::vector<double> lo(M);
  double span = 0.0;
  for (std::size_t m = 0; m < M; ++m) {
    const float* row = table + m * 16;
    const float mn = *std::min_element(row, row + 16), mx = *std::max_element(row, row + 16);
    lo[m] = mn;
    span = std::max(span, static_cast<double>(mx) - static_cast<double>(mn));
  }
  const double top = static_cast<double>(std::min<std::size_t>(127, 65535 / M));
  const double a = span > 0.0 ? top / span : 0.0;
  std::memset(lut, 0, 2 * n_pairs * 16);
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t c = 0; c < 16; ++c) {
      const double v = std::floor((static_cast<double>(table[m * 16 + c]) - lo[m]) * a + 0.5);
      lut[m * 16 + c] = static_cast<std::uint8_t>(std::min(v, top));
    }
}

// Exact ADC of the candidates, then the k smallest (distance, index) pairs.
void rerank(const float* table, std::size_t M, const std::uint8_t* codes,
            const std::vector<std::uint64_t>& keys, std::size_t k, float* out_dist,
            std::int64_t* out_idx) {
  std::vector<std::pair<float, std::int64_t>> best;
  best.reserve(keys.size());
  const std::uint64_t index_mask = (std::uint64_t{1} << kIndexBits) - 1;
  for (std::uint64_t key : keys) {
    const std::size_t i = static_cast<std::size_t>(key & index_mask);
    const std::uint8_t* c = codes + i * M;
    float d = 0.0f;
    for (std::size_t m = 0; m < M; ++m) d = d + table[m * 16 + c[m]];  // pq_search's order
    best.emplace_back(d, static_cast<std::int64_t>(i));
  }
  std::partial_sort(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(k), best.end());
  for (std::size_t r = 0; r < k; ++r) {
    out_dist[r] = best[r].first;
    out_idx[r] = best[r].second;
  }
}

// Queries [q0, q1) over blocks [b0, b1) into cand[0 .. q1 − q0). Code chunks outside,
// query groups inside: a chunk (98 KiB for M = 96) stays in L2 for every group, and only
// the small tables stream.
void scan(AccumulateFn acc, const std::uint8_t* packed, std::size_t n_pairs,
          const std::uint8_t* luts, std::size_t q0, std::size_t q1, std::size_t n,
          std::size_t b0, std::size_t b1, Candidates* cand) {
  std::vector<std::uint16_t> scores(kQueryGroup * kChunkBlocks * kFastScanBlock);
  std::vector<std::uint16_t> mins(kQueryGroup * kChunkBlocks);
  const std::size_t lut_bytes = n_pairs * 32;
  for (std::size_t c0 = b0; c0 < b1; c0 += kChunkBlocks) {
    const std::size_t nb = std::min(kChunkBlocks, b1 - c0);
    for (std::size_t g0 = q0; g0 < q1; g0 += kQueryGroup) {
      check_interrupt();  // per group: a few µs of work (AVX2), about 0.1 ms (scalar)
      const std::size_t cnt = std::min(kQueryGroup, q1 - g0);
      acc(packed + c0 * n_pairs * kFastScanBlock, nb, n_pairs, luts + g0 * lut_bytes, cnt,
          scores.data(), mins.data());
      for (std::size_t q = 0; q < cnt; ++q)
        cand[g0 - q0 + q].offer_blocks(scores.data() + q * nb * kFastScanBlock,
                                       mins.data() + q * nb, nb, c0 * kFastScanBlock, n);
    }
  }
}

}  // namespace

void fastscan_pack(const std::uint8_t* codes, std::size_t n, std::size_t M,
                   std::uint8_t* packed, int n_threads) {
  const std::size_t n_blocks = (n + kFastScanBlock - 1) / kFastScanBlock;
  const std::size_t n_pairs = (M + 1) / 2;
  parallel_for(n_blocks, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t blk = b; blk < e; ++blk) {
      std::uint8_t* out = packed + blk * n_pairs * kFastScanBlock;
      const std::size_t rows = std::min(kFastScanBlock, n - blk * kFastScanBlock);
      if (rows < kFastScanBlock) std::memset(out, 0, n_pairs * kFastScanBlock);
      for (std::size_t i = 0; i < rows; ++i) {  // one pass over each code row, no read-back
        const std::uint8_t* c = codes + (blk * kFastScanBlock + i) * M;
        for (std::size_t j = 0; j < M / 2; ++j)
          out[j * kFastScanBlock + i] = static_cast<std::uint8_t>(c[2 * j] | (c[2 * j + 1] << 4));
        if (M % 2) out[(M / 2) * kFastScanBlock + i] = c[M - 1];
      }
    }
  });
}

void fastscan_search(const float* table, std::size_t nq, std::size_t M,
                     const std::uint8_t* codes, std::size_t n, std::size_t k,
                     std::size_t kprime, float* out_dist, std::int64_t* out_idx,
                     int n_threads) {
  const AccumulateFn acc = kAccumulate[isa_index(Isa::avx2)];
  const std::size_t n_blocks = (n + kFastScanBlock - 1) / kFastScanBlock;
  const std::size_t n_pairs = (M + 1) / 2, lut_bytes = n_pairs * 32;
  std::vector<std::uint8_t> packed(n_blocks * n_pairs * kFastScanBlock);
  fastscan_pack(codes, n, M, packed.data(), n_threads);
  std::vector<std::uint8_t> luts(nq * lut_bytes);
  parallel_for(nq, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t q = b; q < e; ++q)
      quantize_table(table + q * M * 16, M, n_pairs, luts.data() + q * lut_bytes);
  });
  const std::size_t threads = static_cast<std::size_t>(std::max(1, n_threads));
  if (nq >= threads) {  // threads take query ranges; each query is scanned by one thread
    parallel_for(nq, n_threads, [&](std::size_t b, std::size_t e, int) {
      std::vector<Candidates> cand(e - b, Candidates(kprime));
      scan(acc, packed.data(), n_pairs, luts.data(), b, e, n, 0, n_blocks, cand.data());
      for (std::size_t q = b; q < e; ++q)
        rerank(table + q * M * 16, M, codes, cand[q - b].keys(), k, out_dist + q * k,
               out_idx + q * k);
    });
    return;
  }
  // Fewer queries than threads: threads split the blocks; the merged set is the kprime
  // smallest keys overall, the same for any split.
  std::vector<std::vector<Candidates>> part(threads,
                                            std::vector<Candidates>(nq, Candidates(kprime)));
  parallel_for(n_blocks, n_threads, [&](std::size_t b, std::size_t e, int t) {
    scan(acc, packed.data(), n_pairs, luts.data(), 0, nq, n, b, e, part[t].data());
  });
  for (std::size_t q = 0; q < nq; ++q) {
    Candidates& all = part[0][q];
    for (std::size_t t = 1; t < threads; ++t)
      for (std::uint64_t key : part[t][q].keys()) all.offer(key);
    rerank(table + q * M * 16, M, codes, all.keys(), k, out_dist + q * k, out_idx + q * k);
  }
}

}  // namespace lowdim
