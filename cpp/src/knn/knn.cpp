// kNN driver: pack the database once into micro-panels, then threads take whole query
// blocks (so every query's answer is computed by one thread in one fixed order and is
// identical for any thread count), multiply the block against each database block with
// the active ISA's dot_block, and keep a small sorted candidate list per query.
#include "lowdim/knn.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "lowdim/distance.h"
#include "lowdim/parallel.h"

namespace lowdim {
namespace {

constexpr std::size_t kQueryPanels = 32;  // query block = 32 A-panels (192 rows in AVX2 f32)
constexpr std::size_t kBasePanels = 16;   // database block = 16 B-panels (256 rows)

// Best `cap` (key, index) pairs seen so far, ascending by key; equal keys keep arrival
// order, and candidates arrive in increasing index, so ties go to the lower index.
template <class T>
struct Candidates {
  T* key;
  std::int64_t* idx;
  std::size_t cap, size = 0;

  T worst() const { return size < cap ? std::numeric_limits<T>::infinity() : key[cap - 1]; }

  void push(T k, std::int64_t i) {
    std::size_t pos = size < cap ? size : cap - 1;
    while (pos > 0 && key[pos - 1] > k) {
      key[pos] = key[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    key[pos] = k;
    idx[pos] = i;
    if (size < cap) ++size;
  }
};

}  // namespace

template <class T>
void knn(const T* x, std::size_t n, const T* y, std::size_t m, std::size_t d, std::size_t k,
         KnnMetric metric, bool exclude_self, T* out_dist, std::int64_t* out_idx,
         int n_threads) {
  if (n == 0 || k == 0) return;
  const DistanceKernels<T> kern = distance_kernels<T>();
  const std::size_t mr = kern.shape.mr, nr = kern.shape.nr;
  const std::size_t mb = kQueryPanels * mr, nb = kBasePanels * nr;
  const std::size_t available = m - (exclude_self ? 1 : 0);
  const std::size_t cap = std::min(k + kKnnSpare, available);
  const bool l2 = metric == KnnMetric::sqeuclidean;

  // Database packed once (panels are independent, so any split of them is fine).
  std::vector<T> pb(packed_size(m, d, nr));
  std::vector<T> ynorm(m, T(0));
  const std::size_t y_panels = (m + nr - 1) / nr;
  parallel_for(y_panels, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t p = begin; p < end; ++p) {
      const std::size_t r0 = p * nr, rows = std::min(nr, m - r0);
      pack_panels(y + r0 * d, rows, d, d, nr, pb.data() + r0 * d);
      if (l2)
        for (std::size_t r = r0; r < r0 + rows; ++r) ynorm[r] = kern.dot(y + r * d, y + r * d, d);
    }
  });

  const std::size_t q_blocks = (n + mb - 1) / mb;
  parallel_for(q_blocks, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> pa(packed_size(mb, d, mr)), tile(mb * nb), qnorm(mb), keys(mb * cap),
        exact(cap);
    std::vector<std::int64_t> ids(mb * cap);
    std::vector<std::pair<T, std::int64_t>> order(cap);
    for (std::size_t blk = begin; blk < end; ++blk) {
      const std::size_t q0 = blk * mb, ma = std::min(mb, n - q0);
      pack_panels(x + q0 * d, ma, d, d, mr, pa.data());
      std::vector<Candidates<T>> cand;
      cand.reserve(ma);
      for (std::size_t i = 0; i < ma; ++i) {
        qnorm[i] = l2 ? kern.dot(x + (q0 + i) * d, x + (q0 + i) * d, d) : T(0);
        cand.push_back({keys.data() + i * cap, ids.data() + i * cap, cap});
      }
      for (std::size_t j0 = 0; j0 < m; j0 += nb) {
        const std::size_t w = std::min(nb, m - j0);
        kern.dot_block(pa.data(), ma, pb.data() + j0 * d, w, d, tile.data(), nb);
        for (std::size_t i = 0; i < ma; ++i) {
          const T* row = tile.data() + i * nb;
          Candidates<T>& c = cand[i];
          const std::size_t self = exclude_self ? q0 + i : m;  // m = no row to skip
          T worst = c.worst();
          for (std::size_t j = 0; j < w; ++j) {
            const T key = l2 ? std::max(T(0), qnorm[i] + ynorm[j0 + j] - T(2) * row[j]) : -row[j];
            if ((key < worst || c.size < cap) && j0 + j != self) {
              c.push(key, static_cast<std::int64_t>(j0 + j));
              worst = c.worst();
            }
          }
        }
      }
      // Exact recomputation of the candidates, then the best k by (key, index).
      for (std::size_t i = 0; i < ma; ++i) {
        const T* xi = x + (q0 + i) * d;
        const Candidates<T>& c = cand[i];
        for (std::size_t t = 0; t < c.size; ++t) {
          const T* yj = y + static_cast<std::size_t>(c.idx[t]) * d;
          order[t] = {l2 ? kern.sqdist(xi, yj, d) : -kern.dot(xi, yj, d), c.idx[t]};
        }
        std::sort(order.begin(), order.begin() + c.size);
        T* od = out_dist + (q0 + i) * k;
        std::int64_t* oi = out_idx + (q0 + i) * k;
        for (std::size_t t = 0; t < k; ++t) {
          od[t] = l2 ? order[t].first : -order[t].first;
          oi[t] = order[t].second;
        }
      }
    }
  });
}

template void knn<float>(const float*, std::size_t, const float*, std::size_t, std::size_t,
                         std::size_t, KnnMetric, bool, float*, std::int64_t*, int);
template void knn<double>(const double*, std::size_t, const double*, std::size_t, std::size_t,
                          std::size_t, KnnMetric, bool, double*, std::int64_t*, int);

}  // namespace lowdim
