// Calls lowdim from C++ through the installed headers: the runtime ISA dispatch
// (lowdim/isa.h), a fast Walsh-Hadamard transform (lowdim/hadamard.h) and exact kNN
// (lowdim/knn.h) with an explicit thread count. Exits non-zero if an answer is wrong.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "lowdim/hadamard.h"
#include "lowdim/isa.h"
#include "lowdim/knn.h"

int main() {
  std::printf("lowdim ISAs:");
  for (lowdim::Isa isa : lowdim::available_isas()) std::printf(" %s", lowdim::isa_name(isa));
  std::printf("; active %s\n", lowdim::isa_name(lowdim::active_isa()));
  if (!lowdim::set_active_isa("scalar")) return 1;     // every build has the scalar kernels
  lowdim::set_active_isa(lowdim::isa_name(lowdim::available_isas().back()));

  // H_4 applied to e_0 is the all-ones row; scaled by 1/2 it has unit norm.
  std::vector<float> x = {1, 0, 0, 0};
  lowdim::fwht<float>(x.data(), 1, 2, 4, 0.5f, 2);
  for (float v : x)
    if (std::fabs(v - 0.5f) > 1e-6f) return 2;

  // Points 0, 1, 3, 7 on a line: the nearest other point of each, 2 threads.
  std::vector<float> pts = {0, 1, 3, 7};
  std::vector<float> dist(4);
  std::vector<std::int64_t> idx(4);
  lowdim::knn<float>(pts.data(), 4, pts.data(), 4, 1, 1, lowdim::KnnMetric::sqeuclidean,
                     /*exclude_self=*/true, dist.data(), idx.data(), /*n_threads=*/2);
  const std::int64_t want[] = {1, 0, 1, 2};
  for (int i = 0; i < 4; ++i)
    if (idx[i] != want[i]) return 3;
  std::printf("fwht and knn: ok (nearest of 7 is %lld at squared distance %g)\n",
              static_cast<long long>(idx[3]), dist[3]);
  return 0;
}
