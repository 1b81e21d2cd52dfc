// RaBitQ estimates, error bounds and top-k search (Gao & Long 2024, Theorem 3.2; the formulas
// and their float64 evaluation order are in lowdim/rabitq.h). Queries are split over threads;
// each query scans the codes in index order in blocks that stay in L2, so its result does not
// depend on the thread count, and the top k under the total order (key, index) is unique.
// numpy twin: python/lowdim/quantizers/_ref_rabitq.py (rabitq_estimate, rabitq_search).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "lowdim/parallel.h"
#include "lowdim/rabitq.h"
#include "rabitq_impl.h"

namespace lowdim {
namespace {

constexpr std::size_t kBlock = 1024;   // code rows per block
constexpr std::size_t kQBlock = 8;     // quantized queries sharing one pass over a code block
constexpr std::size_t kFsMinQueries = 4;  // queries from which 1-bit codes are transposed

struct CodeFactors {
  double n2, g2, sl, usum;
};

struct Layout {
  std::size_t n, D8, D, nbytes, stride;
  int bits;
};

std::vector<CodeFactors> code_factors(const std::uint8_t* codes, const Layout& L, double bscale,
                                      bool need_usum, int n_threads) {
  std::vector<CodeFactors> f(L.n);
  const double half_sqrt_d = std::sqrt(static_cast<double>(L.D)) / 2.0;
  std::vector<std::uint8_t> ones(L.nbytes, 0xff);
  parallel_for(L.n, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t r = begin; r < end; ++r) {
      const std::uint8_t* c = codes + r * L.stride;
      float fac[3] = {0, 0, 0};
      std::memcpy(fac, c + L.bits * L.nbytes, L.bits > 1 ? 12 : 8);
      const double norm = fac[0], ip = fac[1];
      const double xnorm = L.bits > 1 ? static_cast<double>(fac[2]) : half_sqrt_d;
      CodeFactors& o = f[r];
      o.n2 = norm * norm;
      o.g2 = 2.0 * (norm / (ip * xnorm));
      o.sl = norm * (std::sqrt(std::max(0.0, 1.0 - ip * ip)) / ip * bscale);
      o.usum = need_usum ? static_cast<double>(rabitq_impl::popdot_row(
                               c, L.nbytes, 0, L.bits, ones.data(), 1))
                         : 0.0;
    }
  });
  return f;
}

// Bit planes of one quantized query row (D8 integers) into qbits planes of nbytes bytes.
void pack_query(const std::uint8_t* q, std::size_t D8, int qbits, std::uint8_t* planes) {
  const std::size_t nb = D8 / 8;
  std::memset(planes, 0, nb * qbits);
  for (std::size_t j = 0; j < D8; ++j)
    for (int b = 0; b < qbits; ++b)
      if (q[j] >> b & 1) planes[b * nb + (j >> 3)] |= static_cast<std::uint8_t>(0x80u >> (j & 7));
}

// Tables of one quantized query for rabitq_fs_rows (layout in lowdim/rabitq.h).
void build_fs_luts(const std::uint8_t* q, std::size_t nbytes, int ndigits, std::uint8_t* luts) {
  for (int g = 0; g < ndigits; ++g)
    for (std::size_t p = 0; p < 2 * nbytes; ++p) {
      std::uint8_t* t = luts + (g * 2 * nbytes + p) * 32;
      for (unsigned v = 0; v < 16; ++v) {
        unsigned sum = 0;
        for (int b = 0; b < 4; ++b)
          if (v >> (3 - b) & 1) sum += (q[4 * p + b] >> (4 * g)) & 15u;
        t[v] = t[v + 16] = static_cast<std::uint8_t>(sum);
      }
    }
}

// 1-bit codes in blocks of 32 (byte b of the block's codes contiguous), zero rows past n.
std::vector<std::uint8_t> transpose_codes(const std::uint8_t* codes, const Layout& L,
                                          int n_threads) {
  const std::size_t nblk = (L.n + 31) / 32;
  std::vector<std::uint8_t> t(nblk * 32 * L.nbytes, 0);
  parallel_for(nblk, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t blk = begin; blk < end; ++blk)
      for (std::size_t i = 0; i < 32 && blk * 32 + i < L.n; ++i) {
        const std::uint8_t* c = codes + (blk * 32 + i) * L.stride;
        std::uint8_t* o = t.data() + blk * 32 * L.nbytes + i;
        for (std::size_t b = 0; b < L.nbytes; ++b) o[b * 32] = c[b];
      }
  });
  return t;
}

// Computes xy for rows [r0, r1) of one query: the quantized path (table kernel on transposed
// 1-bit codes when `fs` is set, else bit-plane popcounts) or the float path.
struct XyComputer {
  const std::uint8_t* codes;
  const Layout& L;
  const RabitqQuery& q;
  const std::vector<CodeFactors>& f;
  const std::uint8_t* tcodes;
  FsFn fs;
  int ndigits;
  std::vector<float> lut, s;
  std::vector<std::uint64_t> uq;
  std::vector<std::uint8_t> planes;  // kQBlock queries' planes or tables
  std::size_t lut_query = static_cast<std::size_t>(-1);

  XyComputer(const std::uint8_t* c, const Layout& l, const RabitqQuery& qq,
             const std::vector<CodeFactors>& ff, const std::uint8_t* tc, FsFn fsk)
      : codes(c), L(l), q(qq), f(ff), tcodes(tc), fs(fsk), ndigits(qq.qbits > 4 ? 2 : 1),
        s(kBlock), uq(kBlock) {
    if (q.qint) planes.resize(kQBlock * slot_bytes());
    else lut.resize(L.nbytes * 256);
  }

  std::size_t slot_bytes() const {
    return fs ? static_cast<std::size_t>(ndigits) * 2 * L.nbytes * 32 : L.nbytes * q.qbits;
  }
  std::uint8_t* planes_of(std::size_t slot) { return planes.data() + slot * slot_bytes(); }

  void prepare(std::size_t i, std::size_t slot) {
    if (!q.qint) return;
    if (fs) build_fs_luts(q.qint + i * L.D8, L.nbytes, ndigits, planes_of(slot));
    else pack_query(q.qint + i * L.D8, L.D8, q.qbits, planes_of(slot));
  }

  void run(std::size_t i, std::size_t slot, std::size_t r0, std::size_t r1, double* xy) {
    const std::size_t m = r1 - r0;
    const double* qp = q.qp + 4 * i;
    if (q.qint) {
      if (fs)   // r0 is a multiple of kBlock, so of 32
        fs(tcodes + r0 * L.nbytes, (m + 31) / 32, L.nbytes, planes_of(slot), ndigits, uq.data());
      else
        rabitq_popdot(codes + r0 * L.stride, m, L.nbytes, L.stride, L.bits, planes_of(slot),
                      q.qbits, uq.data());
      const double lo = qp[1], step = qp[2], qc = qp[3];
      for (std::size_t r = 0; r < m; ++r)
        xy[r] = (lo * f[r0 + r].usum + step * static_cast<double>(uq[r])) - qc;
      return;
    }
    if (lut_query != i) {
      rabitq_build_lut(q.y + i * L.D8, L.nbytes, lut.data());
      lut_query = i;
    }
    for (int k = 0; k < L.bits; ++k) {
      const double w = static_cast<double>(1u << (L.bits - 1 - k));
      rabitq_scan_block(lut.data(), codes + r0 * L.stride + k * L.nbytes, m, L.nbytes, L.stride,
                        s.data());
      for (std::size_t r = 0; r < m; ++r) {
        const double t = w * static_cast<double>(s[r]);
        xy[r] = k == 0 ? t : xy[r] + t;
      }
    }
    for (std::size_t r = 0; r < m; ++r) xy[r] = xy[r] - qp[3];
  }
};

// Runs fn(i, r0, r1, est, bound) over every query and code block, queries split over threads:
// quantized queries in groups of kQBlock per pass over a block, float queries one at a time
// (their table is large).
template <class Fn>
void for_blocks(const std::uint8_t* codes, const Layout& L, const RabitqQuery& q,
                const std::vector<CodeFactors>& f, bool need_bound, int n_threads, Fn&& fn) {
  const std::size_t qblock = q.qint ? kQBlock : 1;
  const std::size_t ntasks = (q.nq + qblock - 1) / qblock;
  // The table kernel pays one transposition of the codes: worth it from a few queries on.
  FsFn fs = q.qint && L.bits == 1 && q.nq >= kFsMinQueries ? rabitq_fs_kernel() : nullptr;
  std::vector<std::uint8_t> tcodes;
  if (fs) tcodes = transpose_codes(codes, L, n_threads);
  parallel_for(ntasks, n_threads, [&](std::size_t tb, std::size_t te, int) {
    XyComputer xc(codes, L, q, f, tcodes.data(), fs);
    std::vector<double> xy(kBlock), est(kBlock), bnd(kBlock);
    for (std::size_t t = tb; t < te; ++t) {
      const std::size_t i0 = t * qblock, i1 = std::min(q.nq, i0 + qblock);
      for (std::size_t i = i0; i < i1; ++i) xc.prepare(i, i - i0);
      for (std::size_t r0 = 0; r0 < L.n; r0 += kBlock) {
        const std::size_t r1 = std::min(L.n, r0 + kBlock);
        for (std::size_t i = i0; i < i1; ++i) {
          xc.run(i, i - i0, r0, r1, xy.data());
          const double rq2 = q.qp[4 * i], rq = 2.0 * std::sqrt(rq2);
          const CodeFactors* c = f.data() + r0;
          for (std::size_t r = 0; r < r1 - r0; ++r) est[r] = (c[r].n2 + rq2) - c[r].g2 * xy[r];
          if (need_bound)
            for (std::size_t r = 0; r < r1 - r0; ++r) bnd[r] = rq * c[r].sl;
          fn(i, r0, r1, est.data(), bnd.data());
        }
      }
    }
  });
}

using Item = std::pair<double, std::int64_t>;

// Keeps the k smallest (key, index) pairs; a max-heap under the pair order.
struct TopK {
  std::size_t k;
  std::vector<Item> h;
  void push(double key, std::int64_t idx) {
    const Item it{key, idx};
    if (h.size() < k) {
      h.push_back(it);
      std::push_heap(h.begin(), h.end());
    } else if (it < h.front()) {
      std::pop_heap(h.begin(), h.end());
      h.back() = it;
      std::push_heap(h.begin(), h.end());
    }
  }
  double worst() const {
    return h.size() < k ? std::numeric_limits<double>::infinity() : h.front().first;
  }
};

// Exact ‖q − x‖²: float64 differences, eight lanes j % 8, fixed final tree.
double exact_sq(const float* a, const float* b, std::size_t d) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    acc[j & 7] += t * t;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace

void rabitq_estimate(const std::uint8_t* codes, std::size_t n, std::size_t D8, std::size_t D,
                     int bits, const RabitqQuery& q, double bscale, float* est, float* bound,
                     int n_threads) {
  const Layout L{n, D8, D, D8 / 8, rabitq_code_size(D8, bits), bits};
  const auto f = code_factors(codes, L, bscale, q.qint != nullptr, n_threads);
  for_blocks(codes, L, q, f, true, n_threads,
             [&](std::size_t i, std::size_t r0, std::size_t r1, const double* e, const double* b) {
               for (std::size_t r = r0; r < r1; ++r) {
                 est[i * n + r] = static_cast<float>(e[r - r0]);
                 bound[i * n + r] = static_cast<float>(b[r - r0]);
               }
             });
}

void rabitq_search(const std::uint8_t* codes, std::size_t n, std::size_t D8, std::size_t D,
                   int bits, const RabitqQuery& q, double bscale, std::size_t k,
                   const float* vec, const float* qraw, std::size_t d, float* dist,
                   std::int64_t* idx, std::int64_t* nr, int n_threads) {
  const Layout L{n, D8, D, D8 / 8, rabitq_code_size(D8, bits), bits};
  const auto f = code_factors(codes, L, bscale, q.qint != nullptr, n_threads);
  // Per query: the k best estimates, or (rescore) the k smallest upper bounds and the
  // candidates whose lower bound beat the k-th upper bound seen so far (a superset of the
  // final candidates, filtered at the end).
  std::vector<TopK> best(q.nq, TopK{k, {}});
  std::vector<std::vector<Item>> cand(vec ? q.nq : 0);
  for_blocks(codes, L, q, f, vec != nullptr, n_threads,
             [&](std::size_t i, std::size_t r0, std::size_t r1, const double* e, const double* b) {
               TopK& t = best[i];
               if (!vec) {   // rows come in index order: only a strictly smaller key enters
                 double worst = t.worst();
                 for (std::size_t r = r0; r < r1; ++r)
                   if (e[r - r0] < worst || t.h.size() < k) {
                     t.push(e[r - r0], static_cast<std::int64_t>(r));
                     worst = t.worst();
                   }
                 return;
               }
               for (std::size_t r = r0; r < r1; ++r) {
                 const double est = e[r - r0];
                 const double lb = est - b[r - r0], ub = est + b[r - r0];
                 if (lb <= t.worst()) cand[i].emplace_back(lb, static_cast<std::int64_t>(r));
                 if (ub < t.worst() || t.h.size() < k) t.push(ub, static_cast<std::int64_t>(r));
               }
             });
  parallel_for(q.nq, n_threads, [&](std::size_t begin, std::size_t end, int) {
    for (std::size_t i = begin; i < end; ++i) {
      std::vector<Item> out;
      if (!vec) {
        out = std::move(best[i].h);
        nr[i] = 0;
      } else {
        const double ubk = best[i].worst();
        TopK exact{k, {}};
        std::int64_t m = 0;
        for (const Item& c : cand[i]) {
          if (!(c.first <= ubk)) continue;
          ++m;
          exact.push(exact_sq(vec + c.second * d, qraw + i * d, d), c.second);
        }
        std::vector<Item>().swap(cand[i]);
        out = std::move(exact.h);
        nr[i] = m;
      }
      std::sort(out.begin(), out.end());
      for (std::size_t j = 0; j < k; ++j) {   // out has k items for finite inputs
        dist[i * k + j] = j < out.size() ? static_cast<float>(out[j].first)
                                         : std::numeric_limits<float>::infinity();
        idx[i * k + j] = j < out.size() ? out[j].second : -1;
      }
    }
  });
}

}  // namespace lowdim
