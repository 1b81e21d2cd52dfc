// Exact k-nearest-neighbour search by blocked distance tiles (see distance.h).
//   sqeuclidean:   key(x, y) = ‖x‖² + ‖y‖² − 2·x·y (clamped at 0), smallest first
//   inner_product: key(x, y) = −x·y, i.e. largest inner product first
// Each query keeps its k + kKnnSpare best keys; those candidates are then recomputed
// exactly (direct differences / plain dot in double) and the best k kept, so rounding in
// the tile product cannot reorder the answer except between near-equal distances.
// Ties are broken by the lower database index. Output memory is O(n·k), never n × m.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowdim {

enum class KnnMetric : int { sqeuclidean = 0, inner_product = 1 };

constexpr std::size_t kKnnSpare = 8;

// x: (n, d) queries, y: (m, d) database. exclude_self: x and y are the same points and
// query i must not return row i (needs n == m and k <= m − 1, else k <= m).
// out_dist, out_idx: (n, k); out_dist holds squared distances (sqeuclidean) or inner
// products (inner_product), sorted best first.
template <class T>
void knn(const T* x, std::size_t n, const T* y, std::size_t m, std::size_t d, std::size_t k,
         KnnMetric metric, bool exclude_self, T* out_dist, std::int64_t* out_idx, int n_threads);

}  // namespace lowdim
