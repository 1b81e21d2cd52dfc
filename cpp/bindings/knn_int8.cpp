// pybind11 face of the exact kNN with an int8 candidate pass (cpp/src/knn_int8); twin:
// python/lowdim/_ref_knn_int8.py. Arrays arrive validated by python/lowdim/neighbors.py;
// the checks here only keep a direct caller of _core from reading out of bounds. The
// kernel runs without the GIL and stops on Ctrl-C (lowdim_py::run_nogil).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "common.h"
#include "knn_args.h"
#include "interrupt.h"
#include "lowdim/knn_int8.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using lowdim_py::CArray;
using lowdim_py::require;

// x (n, d), y (m, d) float32 -> (dist (n, k), idx (n, k), pairs rescored).
py::tuple knn_int8_py(CArray<float> x, CArray<float> y, std::size_t k, const std::string& metric,
                      bool exclude_self, int n_threads) {
  const lowdim::KnnMetric kind = lowdim_py::check_knn_args(x, y, k, metric, exclude_self);
  const std::size_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
  CArray<float> dist({n, k});
  CArray<std::int64_t> idx({n, k});
  // Self-search passes the same array twice; the kernel shares one set of norms then.
  const float *px = x.data(), *py_ = exclude_self && x.is(y) ? px : y.data();
  float* pd = dist.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  std::uint64_t rescored = 0;
  lowdim_py::run_nogil([&] {
    rescored = lowdim::knn_int8(px, n, py_, m, d, k, kind, exclude_self, pd, pi, n_threads);
  });
  return py::make_tuple(dist, idx, rescored);
}

}  // namespace

void register_knn_int8(py::module_& m) {
  m.def("knn_int8", &knn_int8_py, py::arg("x").noconvert(), py::arg("y").noconvert(), "k"_a,
        "metric"_a, "exclude_self"_a, "n_threads"_a);
}
