// kNN driver. Database and queries are packed once into micro-panels; the active ISA's
// dot_block multiplies one block of queries by one block of database rows into a tile;
// every query keeps its best `cap` (key, index) pairs in a small sorted list.
//   Y given: threads take whole query blocks and sweep the database.
//   self-search (exclude_self): the tile of blocks (I, J) equals the transpose of (J, I),
//   so only I <= J is computed (half the flops) and used for the rows of I and the
//   columns of J, scheduled by for_each_block_pair (lowdim/block_pairs.h) so no two
//   threads touch one query's list.
// Lists order candidates by (key, index), a total order, so the kept set does not depend
// on arrival order; results are identical for any thread count.
#include "lowdim/knn.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "lowdim/block_pairs.h"
#include "lowdim/distance.h"
#include "lowdim/parallel.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lowdim {
namespace {

constexpr std::size_t kQueryPanels = 32;  // query block = 32 A-panels (192 rows in AVX2 f32)
constexpr std::size_t kBasePanels = 16;   // database block = 16 B-panels (256 rows)
constexpr std::size_t kSymBlock = 192;    // self-search block: a multiple of every mr and nr

// Best `cap` (key, index) pairs per query, ascending; storage for all n queries.
template <class T>
struct Lists {
  std::size_t cap;
  std::vector<T> key;
  std::vector<std::int64_t> idx;
  std::vector<std::size_t> size;

  Lists(std::size_t n, std::size_t c) : cap(c), key(n * c), idx(n * c), size(n, 0) {}

  // Would (k, i) enter query q's list?
  bool admits(std::size_t q, T k, std::int64_t i) const {
    if (size[q] < cap) return true;
    const T wk = key[q * cap + cap - 1];
    return k < wk || (k == wk && i < idx[q * cap + cap - 1]);
  }

  void push(std::size_t q, T k, std::int64_t i) {
    T* kq = key.data() + q * cap;
    std::int64_t* iq = idx.data() + q * cap;
    std::size_t pos = size[q] < cap ? size[q] : cap - 1;
    while (pos > 0 && (kq[pos - 1] > k || (kq[pos - 1] == k && iq[pos - 1] > i))) {
      kq[pos] = kq[pos - 1];
      iq[pos] = iq[pos - 1];
      --pos;
    }
    kq[pos] = k;
    iq[pos] = i;
    if (size[q] < cap) ++size[q];
  }

  // Cheap first test for the hot loop: keys above the current worst never enter.
  T bound(std::size_t q) const {
    return size[q] < cap ? std::numeric_limits<T>::infinity() : key[q * cap + cap - 1];
  }
};

// Keys of 8 tile entries in place (‖q‖² + ‖y‖² − 2·q·y clamped at 0, or −q·y); true if
// any of them may enter the row's list (key <= rb) or, with cb, its column's list.
template <class T>
bool keys8(T* row, const T* yn, T qn, bool l2, T rb, const T* cb) {
  bool hit = false;
  for (std::size_t j = 0; j < 8; ++j) {
    row[j] = l2 ? std::max(T(0), qn + yn[j] - T(2) * row[j]) : -row[j];
    hit |= row[j] <= rb || (cb && row[j] <= cb[j]);
  }
  return hit;
}

#if defined(__SSE2__)
// The same operations in the same order, 4 lanes at a time (maxps(x, 0) is std::max(0, x)
// for every x, NaN and −0 included; x + x is 2·x exactly), so the keys keep their bits.
template <>
bool keys8<float>(float* row, const float* yn, float qn, bool l2, float rb, const float* cb) {
  __m128 k0 = _mm_loadu_ps(row), k1 = _mm_loadu_ps(row + 4);
  if (l2) {
    const __m128 q = _mm_set1_ps(qn), zero = _mm_setzero_ps();
    k0 = _mm_max_ps(_mm_sub_ps(_mm_add_ps(q, _mm_loadu_ps(yn)), _mm_add_ps(k0, k0)), zero);
    k1 = _mm_max_ps(_mm_sub_ps(_mm_add_ps(q, _mm_loadu_ps(yn + 4)), _mm_add_ps(k1, k1)), zero);
  } else {
    const __m128 sign = _mm_set1_ps(-0.0f);
    k0 = _mm_xor_ps(k0, sign);
    k1 = _mm_xor_ps(k1, sign);
  }
  _mm_storeu_ps(row, k0);
  _mm_storeu_ps(row + 4, k1);
  const __m128 b = _mm_set1_ps(rb);
  __m128 m = _mm_or_ps(_mm_cmple_ps(k0, b), _mm_cmple_ps(k1, b));
  if (cb)
    m = _mm_or_ps(m, _mm_or_ps(_mm_cmple_ps(k0, _mm_loadu_ps(cb)),
                               _mm_cmple_ps(k1, _mm_loadu_ps(cb + 4))));
  return _mm_movemask_ps(m) != 0;
}
#endif

// Rows [r0, r0+h) of the tile against columns [c0, c0+w): dot products become keys in
// place, 8 at a time with a branch-free test that skips the (most) groups holding no
// candidate; row queries r0+i take column candidates c0+j and, with `columns`, column
// queries c0+j take row candidates r0+i.
template <class T>
void select_tile(Lists<T>& lists, T* tile, std::size_t ldt, std::size_t r0, std::size_t h,
                 std::size_t c0, std::size_t w, const T* qnorm, const T* ynorm, bool l2,
                 bool exclude_self, bool columns) {
  std::vector<T> col_bound;
  if (columns) {
    col_bound.resize(w);
    for (std::size_t j = 0; j < w; ++j) col_bound[j] = lists.bound(c0 + j);
  }
  T* cb = columns ? col_bound.data() : nullptr;
  for (std::size_t i = 0; i < h; ++i) {
    const std::size_t q = r0 + i;
    T* row = tile + i * ldt;
    const T qn = l2 ? qnorm[q] : T(0);
    T row_bound = lists.bound(q);
    for (std::size_t j0 = 0; j0 < w; j0 += 8) {
      const std::size_t j1 = std::min(w, j0 + 8);
      if (j1 - j0 == 8) {
        if (!keys8(row + j0, ynorm + c0 + j0, qn, l2, row_bound, cb ? cb + j0 : nullptr))
          continue;
      } else {
        for (std::size_t j = j0; j < j1; ++j)
          row[j] = l2 ? std::max(T(0), qn + ynorm[c0 + j] - T(2) * row[j]) : -row[j];
      }
      for (std::size_t j = j0; j < j1; ++j) {
        const T key = row[j];
        if (key <= row_bound && !(exclude_self && c0 + j == q) &&
            lists.admits(q, key, static_cast<std::int64_t>(c0 + j))) {
          lists.push(q, key, static_cast<std::int64_t>(c0 + j));
          row_bound = lists.bound(q);
        }
        if (columns && key <= cb[j] &&
            lists.admits(c0 + j, key, static_cast<std::int64_t>(q))) {
          lists.push(c0 + j, key, static_cast<std::int64_t>(q));
          cb[j] = lists.bound(c0 + j);
        }
      }
    }
  }
}

template <class T>
void prefetch_row(const T* p, std::size_t d) {
#if defined(__GNUC__)
  const char* c = reinterpret_cast<const char*>(p);
  for (std::size_t b = 0; b < d * sizeof(T); b += 64) __builtin_prefetch(c + b);
#else
  (void)p;
  (void)d;
#endif
}

// Exact keys for every kept candidate, best k by (key, index) into the outputs.
template <class T>
void finish(const Lists<T>& lists, const DistanceKernels<T>& kern, const T* x, const T* y,
            std::size_t n, std::size_t d, std::size_t k, bool l2, T* out_dist,
            std::int64_t* out_idx, int n_threads) {
  parallel_for(n, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<std::pair<T, std::int64_t>> order(lists.cap);
    for (std::size_t q = begin; q < end; ++q) {
      if (q % 256 == 0) check_interrupt();
      const T* xq = x + q * d;
      const std::size_t s = lists.size[q];
      for (std::size_t t = 0; t < s; ++t) {
        const std::int64_t j = lists.idx[q * lists.cap + t];
        const T* yj = y + static_cast<std::size_t>(j) * d;
        // Candidates are scattered rows, mostly outside the caches: fetch the next one
        // while this one is summed (the sum itself, and so every bit, is unchanged).
        if (t + 1 < s) {
          const auto next = static_cast<std::size_t>(lists.idx[q * lists.cap + t + 1]);
          prefetch_row(y + next * d, d);
        }
        order[t] = {l2 ? kern.sqdist(xq, yj, d) : -kern.dot(xq, yj, d), j};
      }
      std::sort(order.begin(), order.begin() + s);
      for (std::size_t t = 0; t < k; ++t) {
        // t >= s only if NaN keys were refused (input the Python layer never passes).
        out_dist[q * k + t] = t >= s ? std::numeric_limits<T>::quiet_NaN()
                                     : (l2 ? order[t].first : -order[t].first);
        out_idx[q * k + t] = t >= s ? -1 : order[t].second;
      }
    }
  });
}

template <class T>
std::vector<T> squared_norms(const DistanceKernels<T>& kern, const T* x, std::size_t n,
                             std::size_t d, int n_threads) {
  std::vector<T> out(n);
  parallel_for(n, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t r = begin; r < end; ++r) out[r] = kern.dot(x + r * d, x + r * d, d);
  });
  return out;
}

// x: (rows, d) -> panels of w rows (see distance.h), in parallel over panels.
template <class T>
std::vector<T> pack_all(const T* x, std::size_t rows, std::size_t d, std::size_t w,
                        int n_threads) {
  std::vector<T> out(packed_size(rows, d, w));
  parallel_for((rows + w - 1) / w, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t p = begin; p < end; ++p) {
      const std::size_t r0 = p * w;
      pack_panels(x + r0 * d, std::min(w, rows - r0), d, d, w, out.data() + r0 * d);
    }
  });
  return out;
}

template <class T>
void sweep_database(Lists<T>& lists, const DistanceKernels<T>& kern, const T* x, std::size_t n,
                    const T* y, std::size_t m, std::size_t d, bool l2, bool exclude_self,
                    int n_threads) {
  const std::size_t mr = kern.shape.mr, nr = kern.shape.nr;
  const std::size_t mb = kQueryPanels * mr, nb = kBasePanels * nr;
  const std::vector<T> pb = pack_all(y, m, d, nr, n_threads);
  const std::vector<T> ynorm = l2 ? squared_norms(kern, y, m, d, n_threads) : std::vector<T>(m);
  const std::vector<T> qnorm = l2 ? squared_norms(kern, x, n, d, n_threads) : std::vector<T>(n);
  parallel_for((n + mb - 1) / mb, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<T> pa(packed_size(mb, d, mr)), tile(mb * nb);
    for (std::size_t blk = begin; blk < end; ++blk) {
      const std::size_t q0 = blk * mb, ma = std::min(mb, n - q0);
      pack_panels(x + q0 * d, ma, d, d, mr, pa.data());
      for (std::size_t j0 = 0; j0 < m; j0 += nb) {
        check_interrupt();
        const std::size_t w = std::min(nb, m - j0);
        kern.dot_block(pa.data(), ma, pb.data() + j0 * d, w, d, tile.data(), nb);
        select_tile(lists, tile.data(), nb, q0, ma, j0, w, qnorm.data(), ynorm.data(), l2,
                    exclude_self, false);
      }
    }
  });
}

template <class T>
void sweep_self(Lists<T>& lists, const DistanceKernels<T>& kern, const T* x, std::size_t n,
                std::size_t d, bool l2, int n_threads) {
  const std::size_t mr = kern.shape.mr, nr = kern.shape.nr, bs = kSymBlock;
  // One packed copy of X. With dot_block_sym both operands come from it; otherwise each
  // pair packs its A block (bs × d copies per bs² · d multiply-adds).
  const std::vector<T> pb = pack_all(x, n, d, nr, n_threads);
  const std::vector<T> norm = l2 ? squared_norms(kern, x, n, d, n_threads) : std::vector<T>(n);
  const std::size_t blocks = (n + bs - 1) / bs;
  auto rows_of = [&](std::size_t b) { return std::min(bs, n - b * bs); };
  struct Scratch {
    std::vector<T> pa, tile;
  };
  // One scratch per thread for the whole call: allocating it per row costs page faults.
  const std::size_t workers = static_cast<std::size_t>(std::max(1, n_threads));
  std::vector<Scratch> scratch(workers);
  auto scratch_of = [&](int t) -> Scratch& {
    Scratch& s = scratch[static_cast<std::size_t>(t) % workers];
    if (s.tile.empty()) {
      if (!kern.dot_block_sym) s.pa.resize(packed_size(bs, d, mr));
      s.tile.resize(bs * bs);
    }
    return s;
  };
  auto run_pair = [&](std::size_t lo, std::size_t hi, Scratch& s) {
    check_interrupt();
    if (kern.dot_block_sym) {
      kern.dot_block_sym(pb.data() + lo * bs * d, rows_of(lo), pb.data() + hi * bs * d,
                         rows_of(hi), d, s.tile.data(), bs);
    } else {
      pack_panels(x + lo * bs * d, rows_of(lo), d, d, mr, s.pa.data());
      kern.dot_block(s.pa.data(), rows_of(lo), pb.data() + hi * bs * d, rows_of(hi), d,
                     s.tile.data(), bs);
    }
    select_tile(lists, s.tile.data(), bs, lo * bs, rows_of(lo), hi * bs, rows_of(hi),
                norm.data(), norm.data(), l2, true, lo != hi);
  };
  for_each_block_pair(blocks, n_threads, [&](std::size_t lo, std::size_t hi, int t) {
    run_pair(lo, hi, scratch_of(t));
  });
}

}  // namespace

template <class T>
void knn(const T* x, std::size_t n, const T* y, std::size_t m, std::size_t d, std::size_t k,
         KnnMetric metric, bool exclude_self, T* out_dist, std::int64_t* out_idx,
         int n_threads) {
  if (n == 0 || k == 0) return;
  const DistanceKernels<T> kern = distance_kernels<T>();
  const bool l2 = metric == KnnMetric::sqeuclidean;
  const std::size_t cap = std::min(k + kKnnSpare, m - (exclude_self ? 1 : 0));
  Lists<T> lists(n, cap);
  const bool symmetric = exclude_self && y == x && kSymBlock % kern.shape.mr == 0 &&
                         kSymBlock % kern.shape.nr == 0;
  if (symmetric)
    sweep_self(lists, kern, x, n, d, l2, n_threads);
  else
    sweep_database(lists, kern, x, n, y, m, d, l2, exclude_self, n_threads);
  finish(lists, kern, x, y, n, d, k, l2, out_dist, out_idx, n_threads);
}

template void knn<float>(const float*, std::size_t, const float*, std::size_t, std::size_t,
                         std::size_t, KnnMetric, bool, float*, std::int64_t*, int);
template void knn<double>(const double*, std::size_t, const double*, std::size_t, std::size_t,
                          std::size_t, KnnMetric, bool, double*, std::int64_t*, int);

}  // namespace lowdim
