// Drivers of product quantization: k-means per sub-space, encode, decode, distance tables
// and ADC top-k search. Threads split points, sub-spaces or queries so each output has one
// writer in a fixed order: results are bitwise the same for any thread count. Formulas in
// lowdim/pq.h; the numpy twin is python/lowdim/_ref_pq.py.
#include <algorithm>
#include <limits>
#include <cstring>
#include <utility>
#include <vector>

#include "lowdim/isa.h"
#include "lowdim/parallel.h"
#include "lowdim/pq.h"

namespace lowdim {
namespace {

using NearestFn = void (*)(const float*, std::size_t, std::size_t, const float*, std::size_t,
                           std::size_t, std::size_t, std::int32_t*, float*, std::size_t);

using NearestIpFn = void (*)(const float*, std::size_t, std::size_t, const float*,
                             const float*, std::size_t, std::size_t, std::int32_t*);

struct Kernels {
  NearestFn nearest;
  NearestIpFn nearest_ip;
};

// Indexed by Isa; a level this build lacks falls back to scalar (never selected anyway).
const Kernels kKernels[] = {
    {scalar::nearest_f32, scalar::nearest_ip_f32},
#ifdef LOWDIM_HAVE_AVX2
    {avx2::nearest_f32, avx2::nearest_ip_f32},
#else
    {scalar::nearest_f32, scalar::nearest_ip_f32},
#endif
};

NearestFn nearest() { return kKernels[isa_index(Isa::avx2)].nearest; }
NearestIpFn nearest_ip() { return kKernels[isa_index(Isa::avx2)].nearest_ip; }

std::size_t pad8(std::size_t k) { return (k + 7) / 8 * 8; }

// centroids (K, dsub) -> ct (dsub, k_pad); padding columns +inf: never a strict minimum,
// whatever x is, so labels stay in [0, K).
void transpose_padded(const float* cent, std::size_t K, std::size_t dsub, float* ct) {
  const std::size_t k_pad = pad8(K);
  for (std::size_t j = 0; j < dsub; ++j) {
    for (std::size_t c = 0; c < K; ++c) ct[j * k_pad + c] = cent[c * dsub + j];
    for (std::size_t c = K; c < k_pad; ++c)
      ct[j * k_pad + c] = std::numeric_limits<float>::infinity();
  }
}

constexpr std::size_t kAssignBlock = 4096;  // points assigned between interrupt checks

// Lloyd iterations on one sub-space. xs: (n, dsub) contiguous; cent: (K, dsub) in/out.
void kmeans_one(const float* xs, std::size_t n, std::size_t K, std::size_t dsub, int n_iter,
                float* cent, int inner_threads) {
  const std::size_t k_pad = pad8(K);
  const NearestIpFn fn = nearest_ip();
  std::vector<float> ct(dsub * k_pad), cnorm(k_pad);
  std::vector<std::int32_t> labels(n);
  std::vector<double> sums(K * dsub);
  std::vector<std::int64_t> counts(K);
  constexpr float kEps = 1.0f / 1024.0f;  // faiss's split perturbation
  for (int it = 0; it < n_iter; ++it) {
    transpose_padded(cent, K, dsub, ct.data());
    for (std::size_t c = 0; c < k_pad; ++c) {  // ‖c‖² in j order; padding stays +inf
      float acc = 0.0f;
      for (std::size_t j = 0; j < dsub; ++j) acc = acc + ct[j * k_pad + c] * ct[j * k_pad + c];
      cnorm[c] = acc;
    }
    parallel_for(n, inner_threads, [&](std::size_t b, std::size_t e, int) {
      for (std::size_t i0 = b; i0 < e; i0 += kAssignBlock) {  // labels are per point
        check_interrupt();
        fn(xs + i0 * dsub, std::min(e, i0 + kAssignBlock) - i0, dsub, ct.data(), cnorm.data(),
           dsub, k_pad, labels.data() + i0);
      }
    });
    // Sums in float64 in point order: the same sequence as np.bincount(weights=...).
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = static_cast<std::size_t>(labels[i]);
      ++counts[c];
      for (std::size_t j = 0; j < dsub; ++j) sums[c * dsub + j] += xs[i * dsub + j];
    }
    for (std::size_t c = 0; c < K; ++c)
      if (counts[c] > 0)
        for (std::size_t j = 0; j < dsub; ++j)
          cent[c * dsub + j] = static_cast<float>(sums[c * dsub + j] /
                                                  static_cast<double>(counts[c]));
    // Empty cluster: copy the currently largest cluster (lowest index on ties), nudge the
    // two copies apart symmetrically and give each half its points (faiss's split).
    for (std::size_t ci = 0; ci < K; ++ci) {
      if (counts[ci] != 0) continue;
      const std::size_t cj = static_cast<std::size_t>(
          std::max_element(counts.begin(), counts.end()) - counts.begin());
      for (std::size_t j = 0; j < dsub; ++j) {
        const float v = cent[cj * dsub + j];
        const bool even = j % 2 == 0;
        cent[ci * dsub + j] = v * (even ? 1.0f + kEps : 1.0f - kEps);
        cent[cj * dsub + j] = v * (even ? 1.0f - kEps : 1.0f + kEps);
      }
      counts[ci] = counts[cj] / 2;
      counts[cj] -= counts[ci];
    }
  }
}

// All M codebooks transposed and padded: (M, dsub, k_pad).
std::vector<float> transpose_all(const float* codebooks, std::size_t M, std::size_t K,
                                 std::size_t dsub) {
  const std::size_t k_pad = pad8(K);
  std::vector<float> ct(M * dsub * k_pad);
  for (std::size_t m = 0; m < M; ++m)
    transpose_padded(codebooks + m * K * dsub, K, dsub, ct.data() + m * dsub * k_pad);
  return ct;
}

constexpr std::size_t kPointBlock = 64;  // points per sub-space pass: x block stays in L1/L2

}  // namespace

void pq_kmeans(const float* x, std::size_t n, std::size_t M, std::size_t K, std::size_t dsub,
               int n_iter, float* centroids, int n_threads) {
  const std::size_t d = M * dsub;
  // Enough sub-spaces: one thread per sub-space range. Otherwise threads share the points.
  const bool by_subspace = M >= static_cast<std::size_t>(std::max(1, n_threads));
  const int outer = by_subspace ? n_threads : 1, inner = by_subspace ? 1 : n_threads;
  parallel_for(M, outer, [&](std::size_t b, std::size_t e, int) {
    std::vector<float> xs(n * dsub);
    for (std::size_t m = b; m < e; ++m) {
      for (std::size_t i = 0; i < n; ++i)
        std::memcpy(xs.data() + i * dsub, x + i * d + m * dsub, dsub * sizeof(float));
      kmeans_one(xs.data(), n, K, dsub, n_iter, centroids + m * K * dsub, inner);
    }
  });
}

template <class Code>
void pq_encode(const float* x, std::size_t n, std::size_t M, std::size_t K, std::size_t dsub,
               const float* codebooks, Code* codes, int n_threads) {
  const std::size_t d = M * dsub, k_pad = pad8(K);
  const std::vector<float> ct = transpose_all(codebooks, M, K, dsub);
  const NearestFn fn = nearest();
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::int32_t labels[kPointBlock];
    for (std::size_t i0 = b; i0 < e; i0 += kPointBlock) {
      check_interrupt();
      const std::size_t cnt = std::min(kPointBlock, e - i0);
      for (std::size_t m = 0; m < M; ++m) {
        fn(x + i0 * d + m * dsub, cnt, d, ct.data() + m * dsub * k_pad, dsub, K, k_pad, labels,
           nullptr, 0);
        for (std::size_t i = 0; i < cnt; ++i)
          codes[(i0 + i) * M + m] = static_cast<Code>(labels[i]);
      }
    }
  });
}

template <class Code>
void pq_decode(const Code* codes, std::size_t n, std::size_t M, std::size_t K,
               std::size_t dsub, const float* codebooks, float* out, int n_threads) {
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t i = b; i < e; ++i)
      for (std::size_t m = 0; m < M; ++m)
        std::memcpy(out + (i * M + m) * dsub,
                    codebooks + (m * K + static_cast<std::size_t>(codes[i * M + m])) * dsub,
                    dsub * sizeof(float));
  });
}

void pq_distance_table(const float* q, std::size_t nq, std::size_t M, std::size_t K,
                       std::size_t dsub, const float* codebooks, float* table, int n_threads) {
  const std::size_t d = M * dsub, k_pad = pad8(K);
  const std::vector<float> ct = transpose_all(codebooks, M, K, dsub);
  const NearestFn fn = nearest();
  parallel_for(nq, n_threads, [&](std::size_t b, std::size_t e, int) {
    // Kernels write k_pad distances per row: go through a padded buffer, keep K of them.
    std::vector<float> buf(k_pad);
    std::int32_t label;
    for (std::size_t i = b; i < e; ++i)
      for (std::size_t m = 0; m < M; ++m) {
        if (m == 0) check_interrupt();
        fn(q + i * d + m * dsub, 1, d, ct.data() + m * dsub * k_pad, dsub, K, k_pad, &label,
           buf.data(), k_pad);
        std::memcpy(table + (i * M + m) * K, buf.data(), K * sizeof(float));
      }
  });
}

namespace {

// Bounded max-heap of (distance, index) pairs: the k best seen so far, worst on top.
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }
  // Codes arrive in index order, so a tie with the worst kept entry loses (strict <).
  void offer(float dist, std::size_t i) {
    if (heap_.size() < k_) {
      heap_.emplace_back(dist, static_cast<std::int64_t>(i));
      std::push_heap(heap_.begin(), heap_.end());
    } else if (dist < heap_.front().first) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = Entry(dist, static_cast<std::int64_t>(i));
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  void clear() { heap_.clear(); }
  // Offer every entry of `other` (in any order: the kept set only depends on the order
  // of (distance, index) pairs, which is total).
  void merge(const TopK& other) {
    for (const Entry& e : other.heap_) {
      if (heap_.size() < k_) {
        heap_.push_back(e);
        std::push_heap(heap_.begin(), heap_.end());
      } else if (e < heap_.front()) {
        std::pop_heap(heap_.begin(), heap_.end());
        heap_.back() = e;
        std::push_heap(heap_.begin(), heap_.end());
      }
    }
  }
  void write(float* dist, std::int64_t* idx) {
    std::sort_heap(heap_.begin(), heap_.end());  // ascending (distance, index)
    for (std::size_t r = 0; r < k_; ++r) {
      dist[r] = heap_[r].first;
      idx[r] = heap_[r].second;
    }
  }

 private:
  using Entry = std::pair<float, std::int64_t>;
  std::size_t k_;
  std::vector<Entry> heap_;
};

// Scan codes [begin, end) for Q queries at once, blocked for L1: a block of kScanBlock
// codes is swept once per chunk of sub-spaces whose Q table slices fit in kTableBytes, so
// every lookup hits L1 (the Q full tables, 384 KiB for M=96, K=256, do not even fit L2 on
// some CPUs). Each code byte is loaded once for Q lookups. Every distance is still
// Σ_m table[m][code_m] summed in m order from 0: a chunk end only parks the running sum in
// acc and picks it up unchanged, so any chunk size gives the same bits.
constexpr std::size_t kScanBlock = 256;
constexpr std::size_t kTableBytes = 16 * 1024;

template <int Q, class Code>
void scan(const float* const* tq, std::size_t M, std::size_t K, const Code* codes,
          std::size_t begin, std::size_t end, TopK* const* top) {
  const std::size_t mc = std::max<std::size_t>(1, kTableBytes / (Q * K * sizeof(float)));
  float acc[kScanBlock * Q];
  for (std::size_t b0 = begin; b0 < end; b0 += kScanBlock) {
    const std::size_t nb = std::min(kScanBlock, end - b0);
    for (std::size_t t = 0; t < nb * Q; ++t) acc[t] = 0.0f;
    for (std::size_t m0 = 0; m0 < M; m0 += mc) {
      const std::size_t m1 = std::min(M, m0 + mc);
      for (std::size_t i = 0; i < nb; ++i) {
        const Code* c = codes + (b0 + i) * M;
        float d[Q];
        for (int q = 0; q < Q; ++q) d[q] = acc[i * Q + q];
        for (std::size_t m = m0; m < m1; ++m) {
          const std::size_t o = m * K + c[m];
          for (int q = 0; q < Q; ++q) d[q] = d[q] + tq[q][o];
        }
        for (int q = 0; q < Q; ++q) acc[i * Q + q] = d[q];
      }
    }
    for (std::size_t i = 0; i < nb; ++i)  // index order per heap, as before
      for (int q = 0; q < Q; ++q) top[q]->offer(acc[i * Q + q], b0 + i);
  }
}

constexpr std::size_t kQueryGroup = 4;  // 4 tables of M·K floats: 384 KiB for M=96, K=256
constexpr std::size_t kCodeSpan = std::size_t{1} << 16;  // codes between interrupt checks

// Queries [q0, q0 + cnt), cnt ≤ kQueryGroup, over codes [begin, end) into heaps[0..cnt).
template <class Code>
void scan_group(const float* table, std::size_t q0, std::size_t cnt, std::size_t M,
                std::size_t K, const Code* codes, std::size_t begin, std::size_t end,
                TopK* heaps) {
  const float* tq[kQueryGroup];
  TopK* top[kQueryGroup];
  for (std::size_t q = 0; q < cnt; ++q) {
    tq[q] = table + (q0 + q) * M * K;
    top[q] = &heaps[q];
  }
  switch (cnt) {
    case 4: scan<4>(tq, M, K, codes, begin, end, top); break;
    case 3: scan<3>(tq, M, K, codes, begin, end, top); break;
    case 2: scan<2>(tq, M, K, codes, begin, end, top); break;
    default: scan<1>(tq, M, K, codes, begin, end, top); break;
  }
}

}  // namespace

template <class Code>
void pq_search(const float* table, std::size_t nq, std::size_t M, std::size_t K,
               const Code* codes, std::size_t n, std::size_t k, float* out_dist,
               std::int64_t* out_idx, int n_threads) {
  const std::size_t threads = static_cast<std::size_t>(std::max(1, n_threads));
  if (nq >= threads) {
    // Threads take contiguous query ranges, scanned in groups: each query is scanned by
    // one thread, in index order.
    parallel_for(nq, n_threads, [&](std::size_t b, std::size_t e, int) {
      std::vector<TopK> heaps(kQueryGroup, TopK(k));
      for (std::size_t q0 = b; q0 < e; q0 += kQueryGroup) {
        const std::size_t cnt = std::min(kQueryGroup, e - q0);
        for (auto& h : heaps) h.clear();
        for (std::size_t j0 = 0; j0 < n; j0 += kCodeSpan) {
          check_interrupt();  // same heaps, codes in the same order: same top k
          scan_group(table, q0, cnt, M, K, codes, j0, std::min(n, j0 + kCodeSpan),
                     heaps.data());
        }
        for (std::size_t q = 0; q < cnt; ++q)
          heaps[q].write(out_dist + (q0 + q) * k, out_idx + (q0 + q) * k);
      }
    });
    return;
  }
  // Fewer queries than threads: threads split the codes, each keeps its own top k, and the
  // merge takes the k smallest (distance, index) pairs — the same set for any split,
  // because that order is total and the distances do not depend on the split.
  std::vector<std::vector<TopK>> part(threads, std::vector<TopK>(nq, TopK(k)));
  parallel_for(n, n_threads, [&](std::size_t b, std::size_t e, int t) {
    for (std::size_t j0 = b; j0 < e; j0 += kCodeSpan) {
      check_interrupt();
      for (std::size_t q0 = 0; q0 < nq; q0 += kQueryGroup)
        scan_group(table, q0, std::min(kQueryGroup, nq - q0), M, K, codes, j0,
                   std::min(e, j0 + kCodeSpan), part[t].data() + q0);
    }
  });
  for (std::size_t q = 0; q < nq; ++q) {
    TopK& all = part[0][q];
    for (std::size_t t = 1; t < threads; ++t) all.merge(part[t][q]);
    all.write(out_dist + q * k, out_idx + q * k);
  }
}

#define LOWDIM_INSTANTIATE(Code)                                                              \
  template void pq_encode<Code>(const float*, std::size_t, std::size_t, std::size_t,          \
                                std::size_t, const float*, Code*, int);                       \
  template void pq_decode<Code>(const Code*, std::size_t, std::size_t, std::size_t,           \
                                std::size_t, const float*, float*, int);                      \
  template void pq_search<Code>(const float*, std::size_t, std::size_t, std::size_t,          \
                                const Code*, std::size_t, std::size_t, float*, std::int64_t*, \
                                int);
LOWDIM_INSTANTIATE(std::uint8_t)
LOWDIM_INSTANTIATE(std::uint16_t)
#undef LOWDIM_INSTANTIATE

}  // namespace lowdim
