// Portable Prim update (see mst.h): squared distances from q to the 8 points of each block
// of the compacted copy, then best/parent lowered where the new distance is smaller.
// Same arithmetic as the AVX2 kernel except that it multiplies and adds separately
// (no FMA), so results agree to rounding; the 8-lane inner loops auto-vectorise.
#include <algorithm>

#include "lowdim/mst.h"

namespace lowdim::scalar {
namespace {

constexpr std::size_t L = kMstLanes;
constexpr std::size_t kChunk = 64;  // f32 partial sums over <= 64 dims before going to f64

template <class T>
void update(const T* q, const T* y, std::size_t d, std::size_t b0, std::size_t b1, double* best,
            std::int64_t* parent, std::int64_t u) {
  for (std::size_t b = b0; b < b1; ++b) {
    const T* blk = y + b * d * L;
    double acc[L] = {};
    for (std::size_t k0 = 0; k0 < d; k0 += kChunk) {
      T part[L] = {};
      const std::size_t k1 = std::min(d, k0 + kChunk);
      for (std::size_t k = k0; k < k1; ++k) {
        const T qk = q[k];
        for (std::size_t l = 0; l < L; ++l) {
          const T diff = blk[k * L + l] - qk;  // direct difference: no cancellation
          part[l] += diff * diff;
        }
      }
      for (std::size_t l = 0; l < L; ++l) acc[l] += static_cast<double>(part[l]);
    }
    double* bb = best + b * L;
    std::int64_t* pp = parent + b * L;
    for (std::size_t l = 0; l < L; ++l) {
      if (acc[l] < bb[l]) {
        bb[l] = acc[l];
        pp[l] = u;
      }
    }
  }
}

}  // namespace

void prim_update_f32(const float* q, const float* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u) {
  update(q, y, d, b0, b1, best, parent, u);
}

void prim_update_f64(const double* q, const double* y, std::size_t d, std::size_t b0,
                     std::size_t b1, double* best, std::int64_t* parent, std::int64_t u) {
  update(q, y, d, b0, b1, best, parent, u);
}

}  // namespace lowdim::scalar
