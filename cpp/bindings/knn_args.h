// The guards shared by lowdim._core.knn and knn_int8 (one text each, one place): 2-D x and y
// with equal columns, k within the database, exclude_self on equal lengths, and the metric
// name turned into lowdim::KnnMetric. Python validated already; these keep direct calls safe.
#pragma once
#include <cstddef>
#include <string>

#include "common.h"
#include "lowdim/knn.h"

namespace lowdim_py {

template <class T>
lowdim::KnnMetric check_knn_args(const CArray<T>& x, const CArray<T>& y, std::size_t k,
                                 const std::string& metric, bool exclude_self) {
  require(x.ndim() == 2 && y.ndim() == 2, "x and y must be 2-D");
  const std::size_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
  require(static_cast<std::size_t>(y.shape(1)) == d,
          "x and y must have the same number of columns");
  require(d >= 1, "x must have at least one column");
  require(!exclude_self || n == m, "exclude_self needs x and y of the same length");
  require(k >= 1 && k + (exclude_self ? 1 : 0) <= m, "k out of range for the database size");
  if (metric == "sqeuclidean") return lowdim::KnnMetric::sqeuclidean;
  if (metric == "inner_product") return lowdim::KnnMetric::inner_product;
  throw pybind11::value_error("metric must be 'sqeuclidean' or 'inner_product'");
}

}  // namespace lowdim_py
