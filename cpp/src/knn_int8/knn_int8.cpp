// Driver of the exact kNN with an int8 candidate pass (contract and bound: knn_int8.h).
//   1. z = x − μ per row, quantized: queries (A role) to 8 bits, database rows (B role) to
//      7 bits; per row the scale, ‖z‖, ‖ẑ‖, ‖z − ẑ‖ and the float32 path's error budget.
//   2. Threads take blocks of queries and sweep the database with the int8 tile kernel
//      (self-search: block pairs I <= J only, as knn.cpp); each pair gets [L, U]; per
//      query the cap-th smallest U is the threshold, and pairs with L ≤ threshold are
//      kept (pruned as the threshold falls).
//   3. The kept rows of mr queries (grouped so that queries sharing candidates go
//      together) are gathered and multiplied by the float32 dot_block: the same tile
//      keys, bit for bit, as lowdim::knn computes for them (a key depends only on its
//      two rows, never on the tile it sits in: dot_block_impl.h).
//   4. knn's selection (best cap by (key, index)) and exact re-check, the same code path.
#include "lowdim/knn_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "lowdim/distance.h"
#include "lowdim/interrupt.h"
#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {

Int8Kernels int8_kernels() {
  // One row per Isa up to the newest int8 row. Slot for the next row (Isa::avx512 with
  // AVX512_VNNI: vpdpbusd does vpmaddubsw + vpmaddwd + vpaddd in one instruction, same
  // packing and bits; AVX512_BF16 vdpbf16ps would need its own interval): not written,
  // since no CPU here can run it. Until then isa_index(Isa::avx2) gives AVX-512 machines
  // the AVX2 row.
  static constexpr Int8Kernels (*kRows[])() = {
      scalar::int8_kernels,
#ifdef LOWDIM_HAVE_AVX2
      avx2::int8_kernels,
#else
      scalar::int8_kernels,
#endif
  };
  return kRows[isa_index(Isa::avx2)]();
}

namespace {

constexpr std::size_t kQueryBlock = 128;  // queries per int8 block: a multiple of every mr
constexpr std::size_t kBaseBlock = 256;   // database rows per int8 tile: a multiple of nr
constexpr std::size_t kChunk = 256;       // gathered rows per float32 rescoring tile
// The interval is computed in float: each of its dozen operations errs by at most
// u = 2^-24 of the magnitudes involved, together below 2^-20 of them; kSlack covers that
// 16 times over and costs nothing next to the quantization term (~1e-2).
constexpr float kSlack = 1.0f / 65536;    // relative margin for the bound's own rounding
constexpr float kTiny = 7.8886091e-31f;   // 2^-100: absolute margin (underflow)
constexpr std::size_t kMaxDepth = 130000; // 255 · 63 · d must stay below 2^31

// Per-row quantities of one role. A role: q in [−127, 127] stored as q + 128 (uint8);
// B role: q in [−63, 63] (int8).
struct Quantized {
  std::vector<std::uint8_t> packed;  // panels (see Int8Kernels); B's bytes are int8
  std::vector<float> scale, alpha, fixed;
  std::vector<float> resid, norm;    // A: ‖z − ẑ‖, ‖ẑ‖;  B: ‖z − ẑ‖, ‖z‖
  std::vector<std::int32_t> off;     // B: 128 · Σ q (undoes A's +128 offset)
};

// key_real(x, y) = α_x + α_y − β·(z_x·z_y) with β = 2 (sqeuclidean: α = ‖z‖²) or 1
// (inner product: −x·y, α = −(z·μ + ‖μ‖²/2)). fixed: this row's part of the width that
// does not depend on the pair: the float32 path's rounding share (γ_d + 5u)·fl(‖x‖²) and
// kSlack of the row's magnitudes (|α|, ‖z‖², ‖z‖‖μ‖, ‖μ‖²) for this pass's own rounding.
Quantized quantize(const float* x, std::size_t rows, std::size_t d, const float* mu,
                   const float* sqnorm, bool l2, bool role_a, std::size_t w, int n_threads) {
  Quantized q;
  const std::size_t d4 = (d + 3) / 4, panels = (rows + w - 1) / w;
  q.packed.assign(panels * w * d4 * 4, role_a ? 128 : 0);
  for (auto* v : {&q.scale, &q.alpha, &q.fixed, &q.resid, &q.norm}) v->resize(rows);
  if (!role_a) q.off.resize(rows);
  const double u = std::ldexp(1.0, -24), du = static_cast<double>(d) * u;
  const double gamma = du / (1 - du);
  double mu2 = 0;
  for (std::size_t p = 0; p < d; ++p) mu2 += static_cast<double>(mu[p]) * mu[p];
  const double top = role_a ? 127 : 63;
  parallel_for(rows, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<double> z(d);
    for (std::size_t r = begin; r < end; ++r) {
      const float* xr = x + r * d;
      double big = 0, zz = 0, zmu = 0;
      for (std::size_t p = 0; p < d; ++p) {
        z[p] = static_cast<double>(xr[p]) - mu[p];
        big = std::max(big, std::fabs(z[p]));
        zz += z[p] * z[p];
        zmu += z[p] * mu[p];
      }
      // The scale is rounded to float first: the same s then enters ẑ = s·q here and
      // the float estimate s_x·s_y·(q_x·q_y) of the candidate pass.
      const double s = static_cast<float>(big / top);
      double rr = 0, hh = 0;
      std::int32_t qs = 0;
      std::uint8_t* panel = q.packed.data() + r / w * w * d4 * 4 + r % w * 4;
      for (std::size_t p = 0; p < d; ++p) {
        const double qv = s > 0 ? std::min(top, std::max(-top, std::nearbyint(z[p] / s))) : 0;
        const double e = z[p] - s * qv;
        rr += e * e;
        hh += qv * qv;
        qs += static_cast<std::int32_t>(qv);
        const int stored = role_a ? static_cast<int>(qv) + 128 : static_cast<int>(qv);
        panel[p / 4 * w * 4 + p % 4] = static_cast<std::uint8_t>(stored);
      }
      const double alpha = l2 ? zz : -(zmu + mu2 / 2);
      q.scale[r] = static_cast<float>(s);
      q.alpha[r] = static_cast<float>(alpha);
      const double mag = std::fabs(alpha) + zz + std::sqrt(zz * mu2) + mu2;
      const double budget = (gamma + 5 * u) * sqnorm[r] * (1 + 1.0 / 1024);
      q.fixed[r] = static_cast<float>((mag * kSlack + budget + kTiny) * (1 + kSlack));
      q.resid[r] = static_cast<float>(std::sqrt(rr) * (1 + u));
      q.norm[r] = static_cast<float>((role_a ? s * std::sqrt(hh) : std::sqrt(zz)) * (1 + u));
      if (!role_a) q.off[r] = 128 * qs;
    }
  });
  return q;
}

// The cap smallest values seen, ascending: the threshold is the last once full.
struct SmallestU {
  std::vector<float> v;
  std::size_t cap = 0;
  float threshold() const {
    return v.size() < cap ? std::numeric_limits<float>::infinity() : v.back();
  }
  void offer(float x) {
    if (v.size() == cap && !(x < v.back())) return;
    if (v.size() == cap) v.pop_back();
    v.insert(std::upper_bound(v.begin(), v.end(), x), x);
  }
};

// Best cap (key, index) pairs, ascending: lowdim::knn's candidate list for one query.
struct Best {
  std::vector<std::pair<float, std::int64_t>> v;
  std::size_t cap = 0;
  void offer(float key, std::int64_t i) {
    const std::pair<float, std::int64_t> e{key, i};
    if (v.size() == cap && !(e < v.back())) return;
    if (v.size() == cap) v.pop_back();
    v.insert(std::upper_bound(v.begin(), v.end(), e), e);
  }
};

// One query's state in the candidate pass: the cap smallest U, and the kept (L, row)
// pairs; `dense` once it would keep too many (then every row is rescored).
struct QueryState {
  SmallestU best;
  std::vector<std::pair<float, std::uint32_t>> pairs;
  std::size_t pruned_size = 0;
  bool dense = false;

  void reset(std::size_t cap) {
    best.cap = cap;
    best.v.clear();
    pairs.clear();
    pruned_size = 0;
    dense = false;
  }
  void prune() {
    const float thr = best.threshold();
    pairs.erase(std::remove_if(pairs.begin(), pairs.end(),
                               [thr](const auto& p) { return !(p.first <= thr); }),
                pairs.end());
    pruned_size = pairs.size();
  }
  // Bounded memory: prune as the threshold falls, give up on keeping past `limit`.
  void maybe_prune(std::size_t limit) {
    if (dense || pairs.size() <= 2 * pruned_size + 64) return;
    prune();
    if (pairs.size() > limit) {
      dense = true;
      pairs.clear();
      pairs.shrink_to_fit();
    }
  }
  // Final threshold applied, rows ascending (the self-search collects out of order).
  void finish() {
    if (dense) return;
    prune();
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& u, const auto& v) { return u.second < v.second; });
  }
};

struct Context {
  const float *x, *y;
  std::size_t n, m, d, k, cap;
  bool l2, exclude_self;
  Int8Kernels ik;
  DistanceKernels<float> fk;
  Quantized qa, qb;
  std::vector<float> xnorm, ynorm_store;
  const float* ynorm;
  std::size_t keep_limit;
};

// Step 2 on one int32 tile: A rows [r0, r0 + h) against B rows [c0, c0 + w). Row queries
// r0 + i (state rows[i]) take column candidates; with `cols`, column queries c0 + j
// (state cols[j]) take row candidates: the interval of a pair bounds the key of both
// (q, y) and (y, q), since the float32 tile key is symmetric (knn.cpp).
void tile_bounds(const Context& c, const std::int32_t* tile, std::size_t ldt, std::size_t r0,
                 std::size_t h, std::size_t c0, std::size_t w, QueryState* rows,
                 QueryState* cols, std::vector<float>& low, std::vector<float>& up,
                 std::vector<float>& col_thr) {
  const float beta = c.l2 ? 2.0f : 1.0f;
  const Int8ColTerms b{c.qb.scale.data() + c0, c.qb.alpha.data() + c0, c.qb.resid.data() + c0,
                       c.qb.norm.data() + c0,  c.qb.fixed.data() + c0, c.qb.off.data() + c0,
                       beta, (1 + kSlack) * (1 + kSlack), beta * kSlack * (1 + kSlack)};
  if (cols)
    for (std::size_t j = 0; j < w; ++j) col_thr[j] = cols[j].best.threshold();
  for (std::size_t i = 0; i < h; ++i) {
    const std::size_t q = r0 + i;
    const Int8RowTerms a{c.qa.scale[q], c.qa.alpha[q], c.qa.resid[q], c.qa.norm[q],
                         c.qa.fixed[q]};
    // Both bounds in the ISA's row kernel; the scan below runs only for rows with some
    // lower bound under a threshold.
    std::uint32_t hits[8];
    if (!c.ik.bounds_row(tile + i * ldt, w, a, b, rows[i].best.threshold(),
                         cols ? col_thr.data() : nullptr, low.data(), up.data(), hits))
      continue;
    QueryState& st = rows[i];
    float thr = st.best.threshold();
    // Thresholds only fall, so the hit bits (from the thresholds before the scan) cover
    // every pair that can still be kept.
    for (std::size_t word = 0; word < 8; ++word) {
      for (std::uint32_t bits = hits[word]; bits; bits &= bits - 1) {
        const std::size_t j = word * 32 + static_cast<std::size_t>(__builtin_ctz(bits));
        if (c.exclude_self && c0 + j == q) continue;
        if (low[j] <= thr) {
          st.best.offer(up[j]);
          thr = st.best.threshold();
          if (!st.dense) st.pairs.emplace_back(low[j], static_cast<std::uint32_t>(c0 + j));
        }
        if (cols && low[j] <= col_thr[j]) {
          QueryState& sc = cols[j];
          sc.best.offer(up[j]);
          col_thr[j] = sc.best.threshold();
          if (!sc.dense) sc.pairs.emplace_back(low[j], static_cast<std::uint32_t>(q));
        }
      }
    }
    st.maybe_prune(c.keep_limit);
  }
  if (cols)
    for (std::size_t j = 0; j < w; ++j) cols[j].maybe_prune(c.keep_limit);
}

// Per-thread scratch of the candidate pass.
struct PassScratch {
  std::vector<std::int32_t> tile;
  std::vector<float> low, up, col_thr;
  PassScratch() : tile(kQueryBlock * kBaseBlock), low(kBaseBlock), up(kBaseBlock),
                  col_thr(kBaseBlock) {}
};

const std::int8_t* b_panels(const Context& c, std::size_t j0) {
  return reinterpret_cast<const std::int8_t*>(c.qb.packed.data()) + j0 * ((c.d + 3) / 4) * 4;
}

// Step 2 for queries [q0, q0 + h) against the whole database.
void candidate_pass(const Context& c, std::size_t q0, std::size_t h, QueryState* st,
                    PassScratch& s) {
  const std::size_t d4 = (c.d + 3) / 4;
  const std::uint8_t* pa = c.qa.packed.data() + q0 * d4 * 4;
  for (std::size_t j0 = 0; j0 < c.m; j0 += kBaseBlock) {
    check_interrupt();
    const std::size_t w = std::min(kBaseBlock, c.m - j0);
    c.ik.dot_block(pa, h, b_panels(c, j0), w, d4, s.tile.data(), kBaseBlock);
    tile_bounds(c, s.tile.data(), kBaseBlock, q0, h, j0, w, st, nullptr, s.low, s.up,
                s.col_thr);
  }
}

// Step 2 of the self-search: only block pairs I <= J (half the integer products), each
// tile serving the rows of I and the columns of J; the pairs run in knn.cpp's round-robin
// rounds (circle method), so no two threads touch one query's state at once.
void candidate_pass_self(const Context& c, std::vector<QueryState>& st, int n_threads) {
  const std::size_t bs = kQueryBlock, d4 = (c.d + 3) / 4, n = c.n;
  static_assert(kQueryBlock <= kBaseBlock && kBaseBlock <= 256,
                "a tile holds bs x bs; hit bits are 8 words");
  const std::size_t blocks = (n + bs - 1) / bs;
  auto rows_of = [&](std::size_t b) { return std::min(bs, n - b * bs); };
  const std::size_t workers = static_cast<std::size_t>(std::max(1, n_threads));
  std::vector<PassScratch> scratch(std::min(workers, blocks));
  auto run_pair = [&](std::size_t lo, std::size_t hi, PassScratch& s) {
    check_interrupt();
    c.ik.dot_block(c.qa.packed.data() + lo * bs * d4 * 4, rows_of(lo), b_panels(c, hi * bs),
                   rows_of(hi), d4, s.tile.data(), kBaseBlock);
    tile_bounds(c, s.tile.data(), kBaseBlock, lo * bs, rows_of(lo), hi * bs, rows_of(hi),
                st.data() + lo * bs, lo == hi ? nullptr : st.data() + hi * bs, s.low, s.up,
                s.col_thr);
  };
  parallel_for(blocks, n_threads, [&](std::size_t begin, std::size_t end, int t) {
    for (std::size_t b = begin; b < end; ++b) run_pair(b, b, scratch[t]);
  });
  const std::size_t slots = blocks + (blocks & 1), ring = slots - 1;
  for (std::size_t r = 0; r + 1 < slots; ++r) {
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    pairs.emplace_back(r, slots - 1);
    for (std::size_t t = 1; t < slots / 2; ++t)
      pairs.emplace_back((r + t) % ring, (r + ring - t) % ring);
    parallel_for(pairs.size(), n_threads, [&](std::size_t begin, std::size_t end, int t) {
      for (std::size_t p = begin; p < end; ++p) {
        const std::size_t a = std::min(pairs[p].first, pairs[p].second);
        const std::size_t b = std::max(pairs[p].first, pairs[p].second);
        if (b < blocks) run_pair(a, b, scratch[t]);  // b == blocks is the dummy slot
      }
    });
  }
}

// Queries in the order they are rescored: those sharing their lowest kept row side by side
// (neighbours share most candidates, so a group's union of rows shrinks), dense ones first.
std::vector<std::uint32_t> rescore_order(const QueryState* st, std::size_t q0, std::size_t h) {
  std::vector<std::pair<std::int64_t, std::uint32_t>> key(h);
  for (std::size_t i = 0; i < h; ++i) {
    const QueryState& s = st[i];
    const std::int64_t first = s.dense ? -1 : (s.pairs.empty() ? 0 : s.pairs[0].second);
    key[i] = {first, static_cast<std::uint32_t>(q0 + i)};
  }
  std::sort(key.begin(), key.end());
  std::vector<std::uint32_t> ids(h);
  for (std::size_t i = 0; i < h; ++i) ids[i] = key[i].second;
  return ids;
}

// Steps 3-4 for queries ids[0, h) (query q's state at st[q − q0]); returns pairs rescored.
// Per-thread scratch of the rescoring (allocated once per thread: fresh pages cost faults).
struct RescoreScratch {
  std::vector<float> pa, qrows, rows, pb, tile;
  std::vector<std::uint32_t> uni, chunk_rows;
  std::vector<Best> best;
  std::vector<std::pair<float, std::int64_t>> order;
  explicit RescoreScratch(const Context& c) {
    const std::size_t d = c.d, mr = c.fk.shape.mr, nr = c.fk.shape.nr;
    pa.resize(packed_size(mr, d, mr));
    qrows.resize(mr * d);
    rows.resize(kChunk * d);
    pb.resize(packed_size(kChunk, d, nr));
    tile.resize(mr * kChunk);
    best.resize(mr);
    order.resize(c.cap);
  }
};

std::uint64_t rescore(const Context& c, const std::uint32_t* ids, std::size_t h,
                      const QueryState* st, std::size_t q0, float* out_dist,
                      std::int64_t* out_idx, RescoreScratch& s) {
  const std::size_t d = c.d, mr = c.fk.shape.mr, nr = c.fk.shape.nr;
  auto& [pa, qrows, rows, pb, tile, uni, chunk_rows, best, order] = s;
  std::uint64_t rescored = 0;
  for (std::size_t g0 = 0; g0 < h; g0 += mr) {
    check_interrupt();
    const std::size_t g = std::min(mr, h - g0);
    bool any_dense = false;
    uni.clear();
    for (std::size_t r = 0; r < g; ++r) {
      const QueryState& kq = st[ids[g0 + r] - q0];
      any_dense |= kq.dense;
      rescored += kq.dense ? c.m - (c.exclude_self ? 1 : 0) : kq.pairs.size();
      if (!any_dense)
        for (const auto& p : kq.pairs) uni.push_back(p.second);
    }
    if (!any_dense) {
      std::sort(uni.begin(), uni.end());
      uni.erase(std::unique(uni.begin(), uni.end()), uni.end());
    }
    const std::size_t total = any_dense ? c.m : uni.size();
    for (std::size_t r = 0; r < g; ++r)
      std::memcpy(qrows.data() + r * d, c.x + std::size_t{ids[g0 + r]} * d, d * sizeof(float));
    pack_panels(qrows.data(), g, d, d, mr, pa.data());
    std::vector<std::size_t> cursor(g, 0);
    for (std::size_t r = 0; r < g; ++r) {
      best[r].cap = c.cap;
      best[r].v.clear();
    }
    for (std::size_t u0 = 0; u0 < total; u0 += kChunk) {
      const std::size_t w = std::min(kChunk, total - u0);
      chunk_rows.resize(w);
      for (std::size_t t = 0; t < w; ++t)
        chunk_rows[t] = any_dense ? static_cast<std::uint32_t>(u0 + t) : uni[u0 + t];
      for (std::size_t t = 0; t < w; ++t)
        std::memcpy(rows.data() + t * d, c.y + static_cast<std::size_t>(chunk_rows[t]) * d,
                    d * sizeof(float));
      pack_panels(rows.data(), w, d, d, nr, pb.data());
      c.fk.dot_block(pa.data(), g, pb.data(), w, d, tile.data(), kChunk);
      for (std::size_t r = 0; r < g; ++r) {
        const std::size_t q = ids[g0 + r];
        const QueryState& kq = st[q - q0];
        const float qn = c.l2 ? c.xnorm[q] : 0.0f;
        // The rows of this chunk that this query kept: a merge of two ascending lists.
        for (std::size_t t = 0; t < w; ++t) {
          const std::uint32_t j = chunk_rows[t];
          if (!kq.dense) {
            std::size_t& cur = cursor[r];
            while (cur < kq.pairs.size() && kq.pairs[cur].second < j) ++cur;
            if (cur == kq.pairs.size() || kq.pairs[cur].second != j) continue;
          } else if (c.exclude_self && j == q) {
            continue;
          }
          const float dot = tile[r * kChunk + t];
          // knn.cpp's keys8: max(0, (‖q‖² + ‖y‖²) − 2·q·y), or −q·y.
          const float key = c.l2 ? std::max(0.0f, qn + c.ynorm[j] - 2.0f * dot) : -dot;
          best[r].offer(key, static_cast<std::int64_t>(j));
        }
      }
    }
    // knn.cpp's finish: exact keys of the cap candidates, best k by (key, index).
    for (std::size_t r = 0; r < g; ++r) {
      const std::size_t q = ids[g0 + r];
      const float* xq = c.x + q * d;
      const std::size_t s = best[r].v.size();
      for (std::size_t t = 0; t < s; ++t) {
        const std::int64_t j = best[r].v[t].second;
        const float* yj = c.y + static_cast<std::size_t>(j) * d;
        order[t] = {c.l2 ? c.fk.sqdist(xq, yj, d) : -c.fk.dot(xq, yj, d), j};
      }
      std::sort(order.begin(), order.begin() + s);
      for (std::size_t t = 0; t < c.k; ++t) {
        out_dist[q * c.k + t] = t >= s ? std::numeric_limits<float>::quiet_NaN()
                                       : (c.l2 ? order[t].first : -order[t].first);
        out_idx[q * c.k + t] = t >= s ? -1 : order[t].second;
      }
    }
  }
  return rescored;
}

std::vector<float> sq_norms(const DistanceKernels<float>& fk, const float* x, std::size_t n,
                            std::size_t d, int n_threads) {
  std::vector<float> out(n);
  parallel_for(n, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t r = begin; r < end; ++r) out[r] = fk.dot(x + r * d, x + r * d, d);
  });
  return out;
}

}  // namespace

std::uint64_t knn_int8(const float* x, std::size_t n, const float* y, std::size_t m,
                       std::size_t d, std::size_t k, KnnMetric metric, bool exclude_self,
                       float* out_dist, std::int64_t* out_idx, int n_threads) {
  if (n == 0 || k == 0) return 0;
  const std::uint64_t all = static_cast<std::uint64_t>(n) * (m - (exclude_self ? 1 : 0));
  if (d > kMaxDepth || m > std::numeric_limits<std::uint32_t>::max()) {
    knn<float>(x, n, y, m, d, k, metric, exclude_self, out_dist, out_idx, n_threads);
    return all;
  }
  Context c;
  c.x = x;
  c.y = y;
  c.n = n;
  c.m = m;
  c.d = d;
  c.k = k;
  c.cap = std::min(k + kKnnSpare, m - (exclude_self ? 1 : 0));
  c.l2 = metric == KnnMetric::sqeuclidean;
  c.exclude_self = exclude_self;
  c.ik = int8_kernels();
  c.fk = distance_kernels<float>();
  // μ: the database mean rounded to float (any fixed vector keeps the bound valid; the
  // mean makes z small where the data sits off the origin).
  std::vector<double> acc(d, 0.0);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t p = 0; p < d; ++p) acc[p] += y[r * d + p];
  std::vector<float> mu(d);
  for (std::size_t p = 0; p < d; ++p) mu[p] = static_cast<float>(acc[p] / static_cast<double>(m));
  c.xnorm = sq_norms(c.fk, x, n, d, n_threads);
  if (y == x && n == m) {  // self-search (queries may also be a prefix view of y)
    c.ynorm = c.xnorm.data();
  } else {
    c.ynorm_store = sq_norms(c.fk, y, m, d, n_threads);
    c.ynorm = c.ynorm_store.data();
  }
  // The interval is computed in float: norms near the top of the range (possible with
  // inner products) could overflow it, so such data goes the float32 way throughout.
  const float top_norm = std::max(*std::max_element(c.xnorm.begin(), c.xnorm.end()),
                                  *std::max_element(c.ynorm, c.ynorm + m));
  if (!(top_norm < std::numeric_limits<float>::max() / 256)) {
    knn<float>(x, n, y, m, d, k, metric, exclude_self, out_dist, out_idx, n_threads);
    return all;
  }
  c.qa = quantize(x, n, d, mu.data(), c.xnorm.data(), c.l2, true, c.ik.mr, n_threads);
  c.qb = quantize(y, m, d, mu.data(), c.ynorm, c.l2, false, c.ik.nr, n_threads);
  const bool self = exclude_self && y == x && n == m;
  // The self-search keeps every query's state through the whole sweep: a tighter cap.
  const std::size_t limit = self ? std::min<std::size_t>(m / 8, 1024) : m / 4;
  c.keep_limit = std::max<std::size_t>(4 * c.cap, limit);
  const std::size_t blocks = (n + kQueryBlock - 1) / kQueryBlock;
  const std::size_t workers = static_cast<std::size_t>(std::max(1, n_threads));
  std::vector<std::uint64_t> counts(workers, 0);
  if (self) {
    std::vector<QueryState> st(n);
    for (auto& q : st) q.reset(c.cap);
    candidate_pass_self(c, st, n_threads);
    parallel_for(n, n_threads, [&](std::size_t begin, std::size_t end, int) {
      for (std::size_t q = begin; q < end; ++q) st[q].finish();
    });
    const auto ids = rescore_order(st.data(), 0, n);  // over all queries: fuller groups
    parallel_for(blocks, n_threads, [&](std::size_t begin, std::size_t end, int t) {
      RescoreScratch scratch(c);
      for (std::size_t b = begin; b < end; ++b) {
        const std::size_t i0 = b * kQueryBlock, h = std::min(kQueryBlock, n - i0);
        counts[static_cast<std::size_t>(t)] +=
            rescore(c, ids.data() + i0, h, st.data(), 0, out_dist, out_idx, scratch);
      }
    });
  } else {
    parallel_for(blocks, n_threads, [&](std::size_t begin, std::size_t end, int t) {
      PassScratch scratch;
      RescoreScratch rescratch(c);
      std::vector<QueryState> st(kQueryBlock);
      for (std::size_t b = begin; b < end; ++b) {
        const std::size_t q0 = b * kQueryBlock, h = std::min(kQueryBlock, n - q0);
        for (auto& q : st) q.reset(c.cap);
        candidate_pass(c, q0, h, st.data(), scratch);
        for (std::size_t i = 0; i < h; ++i) st[i].finish();
        const auto ids = rescore_order(st.data(), q0, h);
        counts[static_cast<std::size_t>(t)] +=
            rescore(c, ids.data(), h, st.data(), q0, out_dist, out_idx, rescratch);
      }
    });
  }
  std::uint64_t total = 0;
  for (auto v : counts) total += v;
  return total;
}

}  // namespace lowdim
