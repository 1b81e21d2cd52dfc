// lowdim._core: the pybind11 face of the C++ core; the only file that includes pybind11.
// Every function mirrors python/lowdim/_ref.py (same names, arguments and outputs).
// Arrays arrive already validated by python/lowdim/_validate.py; the checks here only
// keep a direct caller of _core from crashing the interpreter. Kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "lowdim/hadamard.h"
#include "lowdim/isa.h"
#include "lowdim/mst.h"
#include "lowdim/rng.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;

void require(bool ok, const char* what) {
  if (!ok) throw py::value_error(what);
}

int log2_exact(std::size_t n) {
  int k = 0;
  while ((std::size_t{1} << k) < n) ++k;
  require((std::size_t{1} << k) == n, "length must be a power of two");
  return k;
}

// ---- settings -------------------------------------------------------------------------

py::dict build_info() {
  py::dict info;
  info["version"] = LOWDIM_VERSION;
  info["compiler"] = LOWDIM_COMPILER;
#ifdef LOWDIM_HAVE_AVX2
  info["compiled_isas"] = py::make_tuple("scalar", "avx2");
#else
  info["compiled_isas"] = py::make_tuple("scalar");
#endif
#ifdef NDEBUG
  info["build_type"] = "release";
#else
  info["build_type"] = "debug";
#endif
  return info;
}

py::list available_isas() {
  py::list out;
  for (auto isa : lowdim::available_isas()) out.append(lowdim::isa_name(isa));
  return out;
}

// ---- random bits ------------------------------------------------------------------------

CArray<std::uint64_t> random_bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t start,
                                  std::size_t count) {
  CArray<std::uint64_t> out(count);
  auto* p = out.mutable_data();
  const std::uint64_t key = lowdim::rng::stream_key(seed, stream);
  for (std::size_t i = 0; i < count; ++i) p[i] = lowdim::rng::bits(key, start + i);
  return out;
}

// ---- Hadamard family -----------------------------------------------------------------------

template <class T>
void fwht_py(CArray<T> x, double scale, int n_threads) {
  require(x.ndim() == 2, "x must be 2-D");
  require(x.writeable(), "x must be writeable");
  const std::size_t rows = x.shape(0), n = x.shape(1);
  const int log2n = log2_exact(n);
  T* p = x.mutable_data();
  py::gil_scoped_release nogil;
  lowdim::fwht<T>(p, rows, log2n, n, static_cast<T>(scale), n_threads);
}

template <class T>
CArray<T> srht_py(CArray<T> x, CArray<T> signs, CArray<std::int64_t> idx, double scale,
                  int n_threads) {
  require(x.ndim() == 2 && signs.ndim() == 1 && idx.ndim() == 1, "bad ranks");
  const std::size_t rows = x.shape(0), d = x.shape(1), n = signs.shape(0), k = idx.shape(0);
  const int log2n = log2_exact(n);
  require(d <= n, "signs shorter than the rows of x");
  for (std::size_t i = 0; i < k; ++i)
    require(idx.data()[i] >= 0 && static_cast<std::size_t>(idx.data()[i]) < n, "idx out of range");
  CArray<T> out({rows, k});
  const T* px = x.data();
  T* po = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    lowdim::srht<T>(px, rows, d, log2n, signs.data(), idx.data(), k, static_cast<T>(scale), po,
                    n_threads);
  }
  return out;
}

template <class T>
CArray<T> fjlt_py(CArray<T> x, CArray<T> signs, CArray<std::int64_t> indptr,
                  CArray<std::int64_t> cols, CArray<T> vals, int n_threads) {
  require(x.ndim() == 2 && signs.ndim() == 1 && indptr.ndim() == 1, "bad ranks");
  const std::size_t rows = x.shape(0), d = x.shape(1), n = signs.shape(0);
  require(indptr.shape(0) >= 1, "indptr is empty");
  const std::size_t k = indptr.shape(0) - 1, nnz = cols.shape(0);
  const int log2n = log2_exact(n);
  require(d <= n && vals.shape(0) == static_cast<py::ssize_t>(nnz), "bad sizes");
  const auto* ip = indptr.data();
  require(ip[0] == 0 && static_cast<std::size_t>(ip[k]) == nnz, "bad indptr");
  for (std::size_t i = 0; i < k; ++i) require(ip[i] <= ip[i + 1], "bad indptr");
  for (std::size_t p = 0; p < nnz; ++p)
    require(cols.data()[p] >= 0 && static_cast<std::size_t>(cols.data()[p]) < n, "cols out of range");
  CArray<T> out({rows, k});
  const T* px = x.data();
  T* po = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    lowdim::fjlt<T>(px, rows, d, log2n, signs.data(), ip, cols.data(), vals.data(), k, po,
                    n_threads);
  }
  return out;
}

// ---- mst ----------------------------------------------------------------------------------

// Finite coordinates and 2 <= n are checked in Python; here only shapes, so a direct
// caller cannot index out of bounds. NaN input would give a wrong tree, not a crash.
template <class T>
py::tuple mst_py(CArray<T> x, int n_threads) {
  require(x.ndim() == 2, "x must be 2-D");
  const std::size_t n = x.shape(0), d = x.shape(1);
  require(n >= 2 && d >= 1, "x needs at least 2 points and 1 dimension");
  CArray<std::int64_t> edges({n - 1, std::size_t{2}});
  CArray<double> lengths(n - 1);
  const T* px = x.data();
  std::int64_t* pe = edges.mutable_data();
  double* pl = lengths.mutable_data();
  {
    py::gil_scoped_release nogil;
    lowdim::mst<T>(px, n, d, pe, pl, n_threads);
  }
  return py::make_tuple(edges, lengths);
}

template <class T>
CArray<double> mst_length_batch_py(CArray<T> x, double alpha, int n_threads) {
  require(x.ndim() == 3, "x must be 3-D");
  const std::size_t batch = x.shape(0), n = x.shape(1), d = x.shape(2);
  require(n >= 2 && d >= 1, "each cloud needs at least 2 points and 1 dimension");
  require(alpha > 0, "alpha must be > 0");
  CArray<double> out(batch);
  const T* px = x.data();
  double* po = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    lowdim::mst_length_batch<T>(px, batch, n, d, alpha, po, n_threads);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "lowdim native kernels (see python/lowdim/_ref.py for the numpy twin)";
  m.def("build_info", &build_info);
  m.def("available_isas", &available_isas);
  m.def("isa", [] { return std::string(lowdim::isa_name(lowdim::active_isa())); });
  m.def("set_isa", &lowdim::set_active_isa, "name"_a);
  m.def("random_bits", &random_bits, "seed"_a, "stream"_a, "start"_a, "count"_a);

  // noconvert: fwht works in place, so a silent converting copy would lose the result.
  m.def("fwht", &fwht_py<float>, py::arg("x").noconvert(), "scale"_a, "n_threads"_a);
  m.def("fwht", &fwht_py<double>, py::arg("x").noconvert(), "scale"_a, "n_threads"_a);
  m.def("srht", &srht_py<float>, py::arg("x").noconvert(), "signs"_a, "idx"_a, "scale"_a, "n_threads"_a);
  m.def("srht", &srht_py<double>, py::arg("x").noconvert(), "signs"_a, "idx"_a, "scale"_a, "n_threads"_a);
  m.def("fjlt", &fjlt_py<float>, py::arg("x").noconvert(), "signs"_a, "indptr"_a, "cols"_a, "vals"_a, "n_threads"_a);
  m.def("fjlt", &fjlt_py<double>, py::arg("x").noconvert(), "signs"_a, "indptr"_a, "cols"_a, "vals"_a, "n_threads"_a);

  // mst
  m.def("mst", &mst_py<float>, py::arg("x").noconvert(), "n_threads"_a);
  m.def("mst", &mst_py<double>, py::arg("x").noconvert(), "n_threads"_a);
  m.def("mst_length_batch", &mst_length_batch_py<float>, py::arg("x").noconvert(), "alpha"_a, "n_threads"_a);
  m.def("mst_length_batch", &mst_length_batch_py<double>, py::arg("x").noconvert(), "alpha"_a, "n_threads"_a);
}
