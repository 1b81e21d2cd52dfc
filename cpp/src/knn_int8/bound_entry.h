// One pair's interval on the float32 tile key in the int8 candidate pass (knn_int8.h):
// the quantisation bound plus the float32 path's rounding bound, in the one operation
// order every ISA row keeps (no FMA: -ffp-contract=off), so every row keeps the same pairs.
// Internal linkage on purpose: each ISA's translation unit compiles its own copy.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "lowdim/knn_int8.h"

namespace lowdim {
namespace {

// low/up[j] of entry j of a tile row; sets its bit in hits and says whether it is kept.
inline bool int8_bound_entry(const std::int32_t* dot, std::size_t j, const Int8RowTerms& a,
                             const Int8ColTerms& b, float thr, const float* col_thr, float* low,
                             float* up, std::uint32_t* hits) {
  const float v = static_cast<float>(dot[j] - b.off[j]);
  const float e = (a.scale * b.scale[j]) * v;
  const float bq = b.beta * (a.resid * b.norm[j] + a.norm * b.resid[j]);
  const float wid = (bq * b.k1 + std::fabs(e) * b.k2) + (a.fixed + b.fixed[j]);
  const float centre = (a.alpha + b.alpha[j]) - b.beta * e;
  low[j] = centre - wid;
  up[j] = centre + wid;
  const bool in = low[j] <= thr || (col_thr && low[j] <= col_thr[j]);
  hits[j / 32] |= std::uint32_t{in} << (j % 32);
  return in;
}

}  // namespace
}  // namespace lowdim
