// pybind11 face of the RaBitQ kernels (cpp/src/rabitq); twin: python/lowdim/quantizers/
// _ref_rabitq.py. Arrays arrive validated by python/lowdim/quantizers/rabitq.py; the checks
// here only keep a direct caller of _core from reading out of bounds. Kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

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

// x (n, d) float32 raw rows, center (d,), signs (D,) or None -> codes (n, code_size).
CArray<std::uint8_t> rabitq_encode_raw_py(CArray<float> x, CArray<float> center,
                                          std::optional<CArray<float>> signs, std::size_t D,
                                          std::size_t D8, int bits, int n_threads) {
  require(x.ndim() == 2 && center.ndim() == 1 && center.shape(0) == x.shape(1),
          "x must be 2-D and center must have x.shape[1] entries");
  require(bits >= 1 && bits <= 8, "bits must be in [1, 8]");
  const std::size_t n = x.shape(0), d = x.shape(1);
  require(D8 % 8 == 0 && D >= 1 && D <= D8 && D8 - D < 8 && d <= D, "bad D / D8");
  if (signs) require(signs->ndim() == 1 && static_cast<std::size_t>(signs->shape(0)) == D &&
                         (D & (D - 1)) == 0, "signs must have D = 2^m entries");
  CArray<std::uint8_t> out({n, lowdim::rabitq_code_size(D8, bits)});
  const float *px = x.data(), *pc = center.data(), *ps = signs ? signs->data() : nullptr;
  std::uint8_t* po = out.mutable_data();
  lowdim_py::run_nogil(
      [&] { lowdim::rabitq_encode_raw(px, n, d, pc, ps, D8, D, bits, po, n_threads); });
  return out;
}

// Shared checks of the estimator inputs; returns (nq, D8).
std::pair<std::size_t, std::size_t> check_query(const CArray<std::uint8_t>& codes, std::size_t D,
                                                int bits, const std::optional<CArray<float>>& y,
                                                const std::optional<CArray<std::uint8_t>>& qint,
                                                int qbits, const CArray<double>& qp) {
  require(bits >= 1 && bits <= 8, "bits must be in [1, 8]");
  require(static_cast<bool>(y) != static_cast<bool>(qint), "give exactly one of y and qint");
  require(codes.ndim() == 2 && codes.shape(0) >= 1, "codes must be 2-D with rows");
  const std::size_t nq = y ? y->shape(0) : qint->shape(0);
  const std::size_t D8 = y ? y->shape(1) : qint->shape(1);
  require((y ? y->ndim() : qint->ndim()) == 2 && D8 % 8 == 0 && D8 >= 8, "queries must be 2-D, D8 columns");
  require(D >= 1 && D <= D8 && D8 - D < 8, "D must be in (D8 - 8, D8]");
  require(static_cast<std::size_t>(codes.shape(1)) == lowdim::rabitq_code_size(D8, bits),
          "codes have the wrong number of columns");
  require(!qint || (qbits >= 1 && qbits <= 8), "qbits must be in [1, 8]");
  require(qp.ndim() == 2 && static_cast<std::size_t>(qp.shape(0)) == nq && qp.shape(1) == 4,
          "qp must have shape (nq, 4)");
  return {nq, D8};
}

std::tuple<CArray<float>, CArray<float>> rabitq_estimate_py(
    CArray<std::uint8_t> codes, std::size_t D, int bits, std::optional<CArray<float>> y,
    std::optional<CArray<std::uint8_t>> qint, int qbits, CArray<double> qp, double bscale,
    int n_threads) {
  std::size_t nq, D8;
  std::tie(nq, D8) = check_query(codes, D, bits, y, qint, qbits, qp);
  const std::size_t n = codes.shape(0);
  CArray<float> est({nq, n}), bound({nq, n});
  const lowdim::RabitqQuery q{y ? y->data() : nullptr, qint ? qint->data() : nullptr, qbits,
                              qp.data(), nq};
  const std::uint8_t* pc = codes.data();
  float *pe = est.mutable_data(), *pb = bound.mutable_data();
  lowdim_py::run_nogil([&] {
    lowdim::rabitq_estimate(pc, n, D8, D, bits, q, bscale, pe, pb, n_threads);
  });
  return {est, bound};
}

std::tuple<CArray<float>, CArray<std::int64_t>, CArray<std::int64_t>> rabitq_search_py(
    CArray<std::uint8_t> codes, std::size_t D, int bits, std::optional<CArray<float>> y,
    std::optional<CArray<std::uint8_t>> qint, int qbits, CArray<double> qp, double bscale,
    std::size_t k, std::optional<CArray<float>> vec, std::optional<CArray<float>> qraw,
    int n_threads) {
  std::size_t nq, D8;
  std::tie(nq, D8) = check_query(codes, D, bits, y, qint, qbits, qp);
  const std::size_t n = codes.shape(0);
  require(k >= 1 && k <= n, "k must be in [1, n]");
  require(static_cast<bool>(vec) == static_cast<bool>(qraw), "give both vec and qraw or neither");
  std::size_t d = 0;
  if (vec) {
    d = vec->ndim() == 2 ? vec->shape(1) : 0;
    require(vec->ndim() == 2 && static_cast<std::size_t>(vec->shape(0)) == n && d >= 1 &&
                qraw->ndim() == 2 && static_cast<std::size_t>(qraw->shape(0)) == nq &&
                static_cast<std::size_t>(qraw->shape(1)) == d,
            "vec must be (n, d) and qraw (nq, d)");
  }
  CArray<float> dist({nq, k});
  CArray<std::int64_t> idx({nq, k});
  CArray<std::int64_t> nr(std::vector<py::ssize_t>{static_cast<py::ssize_t>(nq)});
  const lowdim::RabitqQuery q{y ? y->data() : nullptr, qint ? qint->data() : nullptr, qbits,
                              qp.data(), nq};
  const std::uint8_t* pc = codes.data();
  const float *pv = vec ? vec->data() : nullptr, *pq = qraw ? qraw->data() : nullptr;
  float* pd = dist.mutable_data();
  std::int64_t *pi = idx.mutable_data(), *pn = nr.mutable_data();
  lowdim_py::run_nogil([&] {
    lowdim::rabitq_search(pc, n, D8, D, bits, q, bscale, k, pv, pq, d, pd, pi, pn, n_threads);
  });
  return {dist, idx, nr};
}

}  // namespace

void register_rabitq(py::module_& m) {
  m.def("rabitq_scan", &rabitq_scan_py, py::arg("codes").noconvert(), "nbytes"_a,
        py::arg("y").noconvert(), "n_threads"_a);
  m.def("rabitq_encode", &rabitq_encode_py, py::arg("r").noconvert(), "D"_a, "bits"_a,
        "n_threads"_a);
  m.def("rabitq_encode_raw", &rabitq_encode_raw_py, py::arg("x").noconvert(),
        py::arg("center").noconvert(), py::arg("signs").noconvert(), "D"_a, "D8"_a, "bits"_a,
        "n_threads"_a);
  m.def("rabitq_estimate", &rabitq_estimate_py, py::arg("codes").noconvert(), "D"_a, "bits"_a,
        py::arg("y").noconvert(), py::arg("qint").noconvert(), "qbits"_a,
        py::arg("qp").noconvert(), "bscale"_a, "n_threads"_a);
  m.def("rabitq_search", &rabitq_search_py, py::arg("codes").noconvert(), "D"_a, "bits"_a,
        py::arg("y").noconvert(), py::arg("qint").noconvert(), "qbits"_a,
        py::arg("qp").noconvert(), "bscale"_a, "k"_a, py::arg("vec").noconvert(),
        py::arg("qraw").noconvert(), "n_threads"_a);
  m.def("rabitq_lut", &rabitq_lut_py, py::arg("y").noconvert());
}
