// pybind11 face of the 4-bit PQ fast-scan search (cpp/src/fastscan); twin:
// python/lowdim/_ref_fastscan.py. Arrays arrive validated by python/lowdim/pq.py; the
// checks here only keep a direct caller of _core from reading out of bounds. The kernel
// runs without the GIL and stops on Ctrl-C (lowdim_py::run_nogil).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>

#include "interrupt.h"
#include "common.h"
#include "lowdim/fastscan.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using lowdim_py::CArray;
using lowdim_py::require;

// table (nq, M, 16) float32, codes (n, M) uint8 in [0, 16).
py::tuple pq_fastscan_search_py(CArray<float> table, CArray<std::uint8_t> codes, std::size_t k,
                                std::size_t kprime, int n_threads) {
  require(table.ndim() == 3 && table.shape(2) == 16, "table must have shape (nq, M, 16)");
  require(codes.ndim() == 2 && codes.shape(1) == table.shape(1) && codes.shape(0) >= 1,
          "codes must have shape (n, M) with n >= 1");
  const std::size_t nq = table.shape(0), M = table.shape(1), n = codes.shape(0);
  require(M >= 1, "M must be >= 1");
  require(n < (std::size_t{1} << 40), "at most 2**40 codes");
  require(k >= 1 && k <= kprime && kprime <= n, "need 1 <= k <= kprime <= number of codes");
  const std::uint8_t* pc = codes.data();
  std::uint8_t top = 0;  // one max pass (vectorises), then one check
  for (std::size_t i = 0; i < n * M; ++i) top = std::max(top, pc[i]);
  require(top < 16, "codes must be < 16");
  CArray<float> dist({nq, k});
  CArray<std::int64_t> idx({nq, k});
  float* pd = dist.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  const float* pt = table.data();
  lowdim_py::run_nogil(
      [&] { lowdim::fastscan_search(pt, nq, M, pc, n, k, kprime, pd, pi, n_threads); });
  return py::make_tuple(dist, idx);
}

}  // namespace

void register_fastscan(py::module_& m) {
  m.def("pq_fastscan_search", &pq_fastscan_search_py, py::arg("table").noconvert(),
        py::arg("codes").noconvert(), "k"_a, "kprime"_a, "n_threads"_a);
}
