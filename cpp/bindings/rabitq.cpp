// pybind11 face of the RaBitQ kernels (cpp/src/rabitq); twin: python/lowdim/quantizers/
// _ref_rabitq.py. Arrays arrive validated by python/lowdim/quantizers/rabitq.py; the checks
// here only keep a direct caller of _core from reading out of bounds. Kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "common.h"
#include "lowdim/rabitq.h"
#include "interrupt.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using lowdim_py::CArray;
using lowdim_py::require;

// codes (n, stride) uint8 whose first nbytes bytes are sign bits; y (nq, nbytes * 8) float32.
CArray<float> rabitq_scan_py(CArray<std::uint8_t> codes, std::size_t nbytes, CArray<float> y,
                             int n_threads) {
  require(codes.ndim() == 2 && y.ndim() == 2, "codes and y must be 2-D");
  const std::size_t n = codes.shape(0), stride = codes.shape(1), nq = y.shape(0);
  require(nbytes >= 1 && nbytes <= stride, "nbytes must be in [1, bytes per code]");
  require(static_cast<std::size_t>(y.shape(1)) == nbytes * 8, "y must have 8 * nbytes columns");
  CArray<float> out({nq, n});
  const std::uint8_t* pc = codes.data();
  const float* py_ = y.data();
  float* po = out.mutable_data();
  lowdim_py::run_nogil([&] { lowdim::rabitq_scan(pc, n, nbytes, stride, py_, nq, po, n_threads); });
  return out;
}

CArray<float> rabitq_lut_py(CArray<float> y) {
  require(y.ndim() == 1 && y.shape(0) % 8 == 0 && y.shape(0) >= 8,
          "y must be 1-D with a multiple of 8 entries");
  const std::size_t nbytes = y.shape(0) / 8;
  CArray<float> out({nbytes, std::size_t{256}});
  lowdim::rabitq_build_lut(y.data(), nbytes, out.mutable_data());
  return out;
}

// r (n, D8) float32 rotated residuals, zero beyond D; -> codes (n, rabitq_code_size).
CArray<std::uint8_t> rabitq_encode_py(CArray<float> r, std::size_t D, int bits, int n_threads) {
  require(r.ndim() == 2 && r.shape(1) % 8 == 0, "r must be 2-D with a multiple of 8 columns");
  require(bits >= 1 && bits <= 8, "bits must be in [1, 8]");
  const std::size_t n = r.shape(0), D8 = r.shape(1);
  require(D >= 1 && D <= D8 && D8 - D < 8, "D must be in (D8 - 8, D8]");
  CArray<std::uint8_t> out({n, lowdim::rabitq_code_size(D8, bits)});
  const float* pr = r.data();
  std::uint8_t* po = out.mutable_data();
  lowdim_py::run_nogil([&] { lowdim::rabitq_encode(pr, n, D8, D, bits, po, n_threads); });
  return out;
}

}  // namespace

void register_rabitq(py::module_& m) {
  m.def("rabitq_scan", &rabitq_scan_py, py::arg("codes").noconvert(), "nbytes"_a,
        py::arg("y").noconvert(), "n_threads"_a);
  m.def("rabitq_encode", &rabitq_encode_py, py::arg("r").noconvert(), "D"_a, "bits"_a,
        "n_threads"_a);
  m.def("rabitq_lut", &rabitq_lut_py, py::arg("y").noconvert());
}
