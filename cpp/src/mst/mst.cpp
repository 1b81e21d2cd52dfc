// Prim driver (formulas in mst.h): the compacted AoSoA copy of the outside points,
// per-step update + argmin split into pieces for a StepTeam (step_team.h: helpers that
// sleep when idle and step aside when they do not pay), the edge list sorted by
// (length, i, j), and the batch loop. Interruptible at every step (lowdim/interrupt.h).
// Ties go to the lowest point index, so the tree never depends on the thread count.
// Large float32 problems on AVX2 stream a float16 copy through a lower-bound filter (mst.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "lowdim/isa.h"
#include "lowdim/mst.h"
#include "lowdim/interrupt.h"
#include "lowdim/parallel.h"
#include "step_team.h"

namespace lowdim {
namespace {

constexpr std::size_t L = kMstLanes;
// Team sizing: below kTeamMinWork live values (m·d) a step is a few µs and one thread beats
// any hand-off; a piece handed out is at least kPieceMinWork values (a few µs, well above
// the cost of claiming it), and a helper is only started per kThreadMinWork values, so
// small problems use few threads whatever n_threads says. On a 2-core EPYC a second thread
// makes 2000 × 256 float32 1.8× faster (quiet machine); bench/RESULTS.md has busy timings.
constexpr std::size_t kTeamMinWork = std::size_t{1} << 16;
constexpr std::size_t kPieceMinWork = std::size_t{1} << 14;
constexpr std::size_t kThreadMinWork = std::size_t{1} << 16;
// Pieces per thread and step: a descheduled helper's share is taken by the others.
constexpr std::size_t kPiecesPerThread = 4;

unsigned team_size(int n_threads, std::size_t work) {
  if (work < kTeamMinWork) return 1;
  const std::size_t by_work = std::max<std::size_t>(1, work / kThreadMinWork);
  return static_cast<unsigned>(
      std::min<std::size_t>(by_work, static_cast<std::size_t>(std::max(1, n_threads))));
}
// From about this many live values (m·d floats = 4 MiB, past L2) a step is memory-bound and
// the float16 filter (mst.h) pays for its extra instructions.
constexpr std::size_t kHalfMinWork = std::size_t{1} << 20;
constexpr std::size_t kHalfMinDim = 32;

template <class T>
using UpdateFn = void (*)(const T*, const T*, std::size_t, std::size_t, std::size_t, double*,
                          std::int64_t*, std::int64_t);

struct UpdateKernels {
  UpdateFn<float> f32;
  UpdateFn<double> f64;
};

const UpdateKernels kUpdate[] = {
    {scalar::prim_update_f32, scalar::prim_update_f64},
#ifdef LOWDIM_HAVE_AVX2
    {avx2::prim_update_f32, avx2::prim_update_f64},
#else
    {scalar::prim_update_f32, scalar::prim_update_f64},
#endif
#if defined(LOWDIM_HAVE_AVX512)
    {avx512::prim_update_f32, avx512::prim_update_f64},
#elif defined(LOWDIM_HAVE_AVX2)
    {avx2::prim_update_f32, avx2::prim_update_f64},
#else
    {scalar::prim_update_f32, scalar::prim_update_f64},
#endif
};

UpdateFn<float> update_fn(float*) { return kUpdate[isa_index(Isa::avx512)].f32; }
UpdateFn<double> update_fn(double*) { return kUpdate[isa_index(Isa::avx512)].f64; }

struct Pick {
  double value = std::numeric_limits<double>::infinity();
  std::int64_t point = std::numeric_limits<std::int64_t>::max();
  std::size_t pos = 0;
  bool better_than(const Pick& o) const {
    return value < o.value || (value == o.value && point < o.point);
  }
};

// State of one Prim run; buffers are reused across the clouds of a batch.
template <class T>
struct Prim {
  std::size_t n = 0, d = 0, m = 0;  // m = points still outside the tree (positions [0, m))
  std::vector<T> y;                 // blocks of d·8 values, dim-major inside a block
  std::vector<double> best;
  std::vector<std::int64_t> parent, point;
  UpdateFn<T> update = nullptr;
  bool half = false;                // float16 filter on (float32, AVX2+F16C, large d)
  std::vector<std::uint16_t> yh;    // float16 copy of y, same layout
  std::vector<double> err;          // err[p] >= ||y_p - half(y_p)||

  void load(const T* x, std::size_t n_, std::size_t d_) {
    n = n_, d = d_, m = n_;
    const std::size_t blocks = (n + L - 1) / L;
    y.assign(blocks * d * L, T(0));
    best.assign(blocks * L, std::numeric_limits<double>::infinity());
    parent.assign(blocks * L, -1);
    point.resize(blocks * L);
    std::iota(point.begin(), point.end(), std::int64_t{0});
    for (std::size_t p = 0; p < n; ++p) {
      T* dst = y.data() + (p / L) * d * L + p % L;
      for (std::size_t k = 0; k < d; ++k) dst[k * L] = x[p * d + k];
    }
    update = update_fn(static_cast<T*>(nullptr));
    half = false;
#ifdef LOWDIM_HAVE_AVX2
    if constexpr (std::is_same_v<T, float>) {
      float top = 0;
      for (std::size_t i = 0; i < n * d; ++i) top = std::max(top, std::fabs(x[i]));
      half = isa_at_least(Isa::avx2) && avx2::prim_half_supported() && d >= kHalfMinDim &&
             n * d >= kHalfMinWork && top < 6.0e4f && top > 1e-3f;  // float16 range
      if (half) {
        yh.resize(y.size());
        err.resize(blocks * L);
        avx2::prim_prepare_half(y.data(), d, blocks, yh.data(), err.data());
      }
    }
#endif
  }

  // Position p leaves: the last live position moves into it (keeps [0, m) compact).
  void remove(std::size_t p) {
    const std::size_t last = --m;
    if (p != last) {
      T* dst = y.data() + (p / L) * d * L + p % L;
      const T* src = y.data() + (last / L) * d * L + last % L;
      for (std::size_t k = 0; k < d; ++k) dst[k * L] = src[k * L];
      best[p] = best[last], parent[p] = parent[last], point[p] = point[last];
      if (half) {
        std::uint16_t* hd = yh.data() + (p / L) * d * L + p % L;
        const std::uint16_t* hs = yh.data() + (last / L) * d * L + last % L;
        for (std::size_t k = 0; k < d; ++k) hd[k * L] = hs[k * L];
        err[p] = err[last];
      }
    }
  }

  Pick argmin(std::size_t p0, std::size_t p1) const {
    Pick pick;
    for (std::size_t p = p0; p < p1; ++p) {
      const double v = best[p];
      if (v < pick.value || (v == pick.value && point[p] < pick.point)) pick = {v, point[p], p};
    }
    return pick;
  }

  // One step on blocks [b0, b1) after point u joined: update, then the local argmin.
  Pick scan(const T* x, std::int64_t u, std::size_t b0, std::size_t b1) {
    const T* q = x + static_cast<std::size_t>(u) * d;
#ifdef LOWDIM_HAVE_AVX2
    if constexpr (std::is_same_v<T, float>) {
      if (half && m * d >= kHalfMinWork) {
        avx2::prim_update_half_f32(q, yh.data(), y.data(), err.data(), d, b0, b1, best.data(),
                                   parent.data(), u);
        return argmin(b0 * L, std::min(b1 * L, m));
      }
    }
#endif
    update(q, y.data(), d, b0, b1, best.data(), parent.data(), u);
    return argmin(b0 * L, std::min(b1 * L, m));
  }

  // Record the picked point's edge and take it out; returns the new tree point.
  std::int64_t accept(const Pick& pick, std::int64_t* edges, double* lengths, std::size_t e) {
    const std::int64_t a = parent[pick.pos], b = pick.point;
    edges[2 * e] = std::min(a, b), edges[2 * e + 1] = std::max(a, b);
    lengths[e] = std::sqrt(pick.value);
    remove(pick.pos);
    return b;
  }

  // Full run; edges/lengths in Prim order (sorted afterwards by the caller).
  void run(const T* x, std::int64_t* edges, double* lengths, int n_threads) {
    std::int64_t u = 0;
    remove(0);
    std::size_t e = 0;
    const unsigned team = team_size(n_threads, m * d);
    if (team > 1) {
      StepTeam crew;
      std::vector<Pick> picks(kPiecesPerThread * team);
      Step step{this, x, 0, 0, 0, picks.data()};
      bool interrupted = false;
      parallel_for(team, static_cast<int>(team), [&](std::size_t, std::size_t, int t) {
        if (t != 0) return crew.serve();
        struct Release {
          StepTeam& crew;
          ~Release() { crew.dissolve(); }
        } release{crew};
        while (m > 0 && m * d >= kTeamMinWork && crew.worth_it()) {
          if (interrupt_requested()) {
            interrupted = true;
            break;
          }
          step.u = u;
          step.blocks = (m + L - 1) / L;
          step.pieces = std::min<std::size_t>(
              picks.size(), std::max<std::size_t>(1, m * d / kPieceMinWork));
          crew.run_step(step.pieces, &Step::piece, &step);
          Pick pick = picks[0];
          for (std::size_t c = 1; c < step.pieces; ++c)
            if (picks[c].better_than(pick)) pick = picks[c];
          u = accept(pick, edges, lengths, e++);
        }
      });
      if (interrupted) throw Interrupted();
    }
    for (; m > 0; ++e) {
      check_interrupt();
      u = accept(scan(x, u, 0, (m + L - 1) / L), edges, lengths, e);
    }
  }

  // One published step: piece c scans blocks [blocks·c/pieces, blocks·(c+1)/pieces).
  struct Step {
    Prim* prim;
    const T* x;
    std::int64_t u;
    std::size_t blocks, pieces;
    Pick* picks;
    static void piece(void* ctx, std::size_t c) {
      auto* s = static_cast<Step*>(ctx);
      s->picks[c] = s->prim->scan(s->x, s->u, s->blocks * c / s->pieces,
                                  s->blocks * (c + 1) / s->pieces);
    }
  };
};

// Sort the n-1 edges by (length, i, j): a canonical order independent of Prim's path.
void sort_edges(std::size_t count, std::int64_t* edges, double* lengths) {
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (lengths[a] != lengths[b]) return lengths[a] < lengths[b];
    if (edges[2 * a] != edges[2 * b]) return edges[2 * a] < edges[2 * b];
    return edges[2 * a + 1] < edges[2 * b + 1];
  });
  std::vector<std::int64_t> e2(2 * count);
  std::vector<double> l2(count);
  for (std::size_t k = 0; k < count; ++k) {
    e2[2 * k] = edges[2 * order[k]], e2[2 * k + 1] = edges[2 * order[k] + 1];
    l2[k] = lengths[order[k]];
  }
  std::copy(e2.begin(), e2.end(), edges);
  std::copy(l2.begin(), l2.end(), lengths);
}

}  // namespace

template <class T>
void mst(const T* x, std::size_t n, std::size_t d, std::int64_t* edges, double* lengths,
         int n_threads) {
  if (n < 2) return;
  Prim<T> prim;
  prim.load(x, n, d);
  prim.run(x, edges, lengths, n_threads);
  sort_edges(n - 1, edges, lengths);
}

template <class T>
void mst_length_batch(const T* x, std::size_t batch, std::size_t n, std::size_t d, double alpha,
                      double* out, int n_threads) {
  if (n < 2) {
    std::fill(out, out + batch, 0.0);
    return;
  }
  parallel_for(batch, n_threads, [&](std::size_t begin, std::size_t end, int) {
    Prim<T> prim;
    std::vector<std::int64_t> edges(2 * (n - 1));
    std::vector<double> lengths(n - 1);
    for (std::size_t c = begin; c < end; ++c) {
      const T* xc = x + c * n * d;
      prim.load(xc, n, d);
      prim.run(xc, edges.data(), lengths.data(), 1);
      sort_edges(n - 1, edges.data(), lengths.data());
      double total = 0;
      for (double len : lengths) total += alpha == 1.0 ? len : std::pow(len, alpha);
      out[c] = total;
    }
  });
}

template void mst<float>(const float*, std::size_t, std::size_t, std::int64_t*, double*, int);
template void mst<double>(const double*, std::size_t, std::size_t, std::int64_t*, double*, int);
template void mst_length_batch<float>(const float*, std::size_t, std::size_t, std::size_t,
                                      double, double*, int);
template void mst_length_batch<double>(const double*, std::size_t, std::size_t, std::size_t,
                                       double, double*, int);

}  // namespace lowdim
