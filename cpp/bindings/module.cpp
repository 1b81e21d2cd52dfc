// lowdim._core: the pybind11 face of the C++ core; the only file that includes pybind11.
// Every function mirrors python/lowdim/_ref.py (same names, arguments and outputs).
// Arrays arrive already validated by python/lowdim/_validate.py; the checks here only
// keep a direct caller of _core from crashing the interpreter. Kernels run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.h"
#include "knn_args.h"
#include "lowdim/distance.h"
#include "lowdim/hadamard.h"
#include "lowdim/isa.h"
#include "lowdim/knn.h"
#include "lowdim/mst.h"
#include "lowdim/pq.h"
#include "lowdim/rng.h"
#include "lowdim/sparse_projection.h"
#include "interrupt.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using lowdim_py::CArray;
using lowdim_py::require;

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
  py::list compiled;
  for (auto isa : lowdim::compiled_isas()) compiled.append(lowdim::isa_name(isa));
  info["compiled_isas"] = py::tuple(compiled);
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
bool fwht_checked_py(CArray<T> x, double scale, bool untouched_on_error, int n_threads) {
  require(x.ndim() == 2, "x must be 2-D");
  require(x.writeable(), "x must be writeable");
  const std::size_t rows = x.shape(0), n = x.shape(1);
  const int log2n = log2_exact(n);
  T* p = x.mutable_data();
  bool ok = false;
  lowdim_py::run_nogil([&] {
    ok = lowdim::fwht_checked<T>(p, rows, log2n, n, static_cast<T>(scale), untouched_on_error,
                                 n_threads);
  });
  return ok;
}

// out := fwht(x) · scale with fwht_checked's refusals; x is only read, out must be a
// separate array of x's shape (lowdim.fwht passes a fresh one, or the caller's out=).
template <class T>
bool fwht_checked_into_py(CArray<T> x, CArray<T> out, double scale, bool untouched_on_error,
                          int n_threads) {
  require(x.ndim() == 2 && out.ndim() == 2 && x.shape(0) == out.shape(0) &&
              x.shape(1) == out.shape(1),
          "x and out must be 2-D arrays of the same shape");
  require(out.writeable(), "out must be writeable");
  const std::size_t rows = x.shape(0), n = x.shape(1);
  const int log2n = log2_exact(n);
  const T* px = x.data();
  T* po = out.mutable_data();
  require(po + rows * n <= px || px + rows * n <= po, "out must not overlap x");
  bool ok = false;
  lowdim_py::run_nogil([&] {
    ok = lowdim::fwht_checked_into<T>(px, n, po, n, rows, log2n, static_cast<T>(scale),
                                      untouched_on_error, n_threads);
  });
  return ok;
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
  lowdim_py::run_nogil([&] {
  lowdim::srht<T>(px, rows, d, log2n, signs.data(), idx.data(), k, static_cast<T>(scale), po,
                  n_threads);
  });
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
  lowdim_py::run_nogil([&] {
  lowdim::fjlt<T>(px, rows, d, log2n, signs.data(), ip, cols.data(), vals.data(), k, po,
                  n_threads);
  });
  return out;
}

// ---- sparse_projection ------------------------------------------------------------------
// Very sparse random projection without a stored matrix, and the CSR × dense product of
// FastRP. See cpp/include/lowdim/sparse_projection.h; twin: _ref_sparse_projection.py.

template <class I>
void check_csr(const CArray<I>& indptr, const CArray<I>& indices, std::size_t data_len,
               std::size_t n_cols) {
  require(indptr.ndim() == 1 && indptr.shape(0) >= 1 && indices.ndim() == 1, "bad CSR ranks");
  const std::size_t n = indptr.shape(0) - 1, nnz = indices.shape(0);
  const auto* ip = indptr.data();
  require(data_len == nnz, "data and indices differ in length");
  require(ip[0] == 0 && ip[n] >= 0 && static_cast<std::size_t>(ip[n]) == nnz, "bad indptr");
  for (std::size_t r = 0; r < n; ++r) require(ip[r] <= ip[r + 1], "indptr is not monotone");
  const auto* ix = indices.data();
  for (std::size_t p = 0; p < nnz; ++p)
    require(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_cols, "column index out of range");
}

void check_rp_sizes(std::size_t k, std::uint64_t threshold) {
  require(k >= 1 && k + 2 < (std::size_t{1} << 31), "n_components must be in [1, 2^31 - 2)");
  require(threshold >= 1 && threshold <= (std::uint64_t{1} << 53), "threshold out of range");
}

py::tuple sparse_rp_pattern(std::uint64_t seed, std::size_t k, std::size_t d,
                            std::uint64_t threshold, int n_threads) {
  check_rp_sizes(k, threshold);
  std::vector<std::size_t> ptr;
  std::vector<std::uint64_t> ent;
  lowdim_py::run_nogil([&] {
  lowdim::sparse_rp_rows(seed, k, d, threshold, ptr, ent, n_threads);
  });
  CArray<std::int64_t> indptr(k + 1), indices(ent.size());
  CArray<std::uint8_t> negative(ent.size());
  for (std::size_t j = 0; j <= k; ++j) indptr.mutable_data()[j] = static_cast<std::int64_t>(ptr[j]);
  for (std::size_t p = 0; p < ent.size(); ++p) {
    indices.mutable_data()[p] = static_cast<std::int64_t>(ent[p] >> 1);
    negative.mutable_data()[p] = static_cast<std::uint8_t>(ent[p] & 1);
  }
  return py::make_tuple(indptr, indices, negative);
}

template <class T>
CArray<T> sparse_rp_dense_py(CArray<T> x, std::uint64_t seed, std::size_t k,
                             std::uint64_t threshold, double scale, int n_threads) {
  require(x.ndim() == 2, "x must be 2-D");
  check_rp_sizes(k, threshold);
  const std::size_t n = x.shape(0), d = x.shape(1);
  require(d < (std::size_t{1} << 31), "n_features must be < 2^31");
  CArray<T> out({n, k});
  const T* px = x.data();
  T* po = out.mutable_data();
  lowdim_py::run_nogil([&] {
  lowdim::sparse_rp_dense<T>(px, n, d, seed, k, threshold, static_cast<T>(scale), po, n_threads);
  });
  return out;
}

template <class T, class I>
CArray<T> sparse_rp_csr_py(CArray<I> indptr, CArray<I> indices, CArray<T> data, std::size_t d, std::uint64_t seed, std::size_t k,
                           std::uint64_t threshold, double scale, int n_threads) {
  require(data.ndim() == 1, "data must be 1-D");
  check_rp_sizes(k, threshold);
  check_csr(indptr, indices, data.shape(0), d);
  const std::size_t n = indptr.shape(0) - 1;
  CArray<T> out({n, k});
  T* po = out.mutable_data();
  lowdim_py::run_nogil([&] {
  lowdim::sparse_rp_csr<T, I>(indptr.data(), indices.data(), data.data(), n, d, seed, k,
                           threshold, static_cast<T>(scale), po, n_threads);
  });
  return out;
}

template <class T>
CArray<T> csr_spmm_py(CArray<std::int64_t> indptr, CArray<std::int64_t> indices, CArray<T> data,
                      CArray<T> x, int n_threads, std::optional<CArray<T>> acc, double weight,
                      bool normalize) {
  require(data.ndim() == 1 && x.ndim() == 2, "bad ranks");
  check_csr(indptr, indices, data.shape(0), x.shape(0));
  const std::size_t n = indptr.shape(0) - 1, k = x.shape(1);
  T* pacc = nullptr;
  if (acc) {
    require(acc->ndim() == 2 && static_cast<std::size_t>(acc->shape(0)) == n &&
                static_cast<std::size_t>(acc->shape(1)) == k && acc->writeable(),
            "acc must be a writeable (n_rows, k) array");
    pacc = acc->mutable_data();
  }
  CArray<T> out({n, k});
  T* po = out.mutable_data();
  lowdim_py::run_nogil([&] {
  lowdim::csr_spmm<T>(indptr.data(), indices.data(), data.data(), n, x.data(), k, po, pacc,
                      static_cast<T>(weight), normalize, n_threads);
  });
  return out;
}

// ---- product quantization ----------------------------------------------------------------

// codebooks (M, K, dsub) with 1 ≤ K ≤ 65536; returns {M, K, dsub}.
std::array<std::size_t, 3> pq_shape(const CArray<float>& codebooks) {
  require(codebooks.ndim() == 3, "codebooks must be 3-D (M, K, dsub)");
  const std::size_t M = codebooks.shape(0), K = codebooks.shape(1), dsub = codebooks.shape(2);
  require(M >= 1 && dsub >= 1 && K >= 1 && K <= 65536, "codebooks shape out of range");
  return {M, K, dsub};
}

void require_rows(const CArray<float>& x, std::size_t d) {
  require(x.ndim() == 2 && static_cast<std::size_t>(x.shape(1)) == d,
          "x must be 2-D with M * dsub columns");
}

template <class Code>
void require_codes(const CArray<Code>& codes, std::size_t M, std::size_t K) {
  require(codes.ndim() == 2 && static_cast<std::size_t>(codes.shape(1)) == M,
          "codes must be 2-D with M columns");
  const Code* p = codes.data();
  Code top = 0;  // one max pass (vectorises), then one check
  for (py::ssize_t i = 0; i < codes.size(); ++i) top = std::max(top, p[i]);
  require(codes.size() == 0 || static_cast<std::size_t>(top) < K, "code out of range");
}

CArray<float> pq_kmeans_py(CArray<float> x, CArray<float> centroids, int n_iter,
                           int n_threads) {
  const auto [M, K, dsub] = pq_shape(centroids);
  require_rows(x, M * dsub);
  const std::size_t n = x.shape(0);
  require(n >= K, "k-means needs at least K training points");
  require(n_iter >= 0, "n_iter must be >= 0");
  CArray<float> out({M, K, dsub});
  std::memcpy(out.mutable_data(), centroids.data(), M * K * dsub * sizeof(float));
  float* po = out.mutable_data();
  const float* px = x.data();
  lowdim_py::run_nogil([&] {
  lowdim::pq_kmeans(px, n, M, K, dsub, n_iter, po, n_threads);
  });
  return out;
}

template <class Code>
py::array pq_encode_as(const CArray<float>& x, const CArray<float>& codebooks, int n_threads) {
  const auto [M, K, dsub] = pq_shape(codebooks);
  const std::size_t n = x.shape(0);
  CArray<Code> codes({n, M});
  Code* pc = codes.mutable_data();
  const float *px = x.data(), *pb = codebooks.data();
  lowdim_py::run_nogil([&] {
  lowdim::pq_encode<Code>(px, n, M, K, dsub, pb, pc, n_threads);
  });
  return codes;
}

py::array pq_encode_py(CArray<float> x, CArray<float> codebooks, int n_threads) {
  const auto [M, K, dsub] = pq_shape(codebooks);
  require_rows(x, M * dsub);
  return K <= 256 ? pq_encode_as<std::uint8_t>(x, codebooks, n_threads)
                  : pq_encode_as<std::uint16_t>(x, codebooks, n_threads);
}

template <class Code>
CArray<float> pq_decode_py(CArray<Code> codes, CArray<float> codebooks, int n_threads) {
  const auto [M, K, dsub] = pq_shape(codebooks);
  require_codes(codes, M, K);
  const std::size_t n = codes.shape(0);
  CArray<float> out({n, M * dsub});
  float* po = out.mutable_data();
  const Code* pc = codes.data();
  const float* pb = codebooks.data();
  lowdim_py::run_nogil([&] {
  lowdim::pq_decode<Code>(pc, n, M, K, dsub, pb, po, n_threads);
  });
  return out;
}

CArray<float> pq_distance_table_py(CArray<float> q, CArray<float> codebooks, int n_threads) {
  const auto [M, K, dsub] = pq_shape(codebooks);
  require_rows(q, M * dsub);
  const std::size_t nq = q.shape(0);
  CArray<float> table({nq, M, K});
  float* pt = table.mutable_data();
  const float *pq = q.data(), *pb = codebooks.data();
  lowdim_py::run_nogil([&] {
  lowdim::pq_distance_table(pq, nq, M, K, dsub, pb, pt, n_threads);
  });
  return table;
}

template <class Code>
py::tuple pq_search_py(CArray<float> table, CArray<Code> codes, std::size_t k, int n_threads) {
  require(table.ndim() == 3, "table must be 3-D (nq, M, K)");
  const std::size_t nq = table.shape(0), M = table.shape(1), K = table.shape(2);
  require_codes(codes, M, K);
  const std::size_t n = codes.shape(0);
  require(k >= 1 && k <= n, "k must be in [1, number of codes]");
  CArray<float> dist({nq, k});
  CArray<std::int64_t> idx({nq, k});
  float* pd = dist.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  const float* pt = table.data();
  const Code* pc = codes.data();
  lowdim_py::run_nogil([&] {
  lowdim::pq_search<Code>(pt, nq, M, K, pc, n, k, pd, pi, n_threads);
  });
  return py::make_tuple(dist, idx);
}

// ---- knn ------------------------------------------------------------------------------------

template <class T>
py::tuple knn_py(CArray<T> x, CArray<T> y, std::size_t k, const std::string& metric,
                 bool exclude_self, int n_threads) {
  const lowdim::KnnMetric kind = lowdim_py::check_knn_args(x, y, k, metric, exclude_self);
  const std::size_t n = x.shape(0), m = y.shape(0), d = x.shape(1);
  CArray<T> dist({n, k});
  CArray<std::int64_t> idx({n, k});
  const T *px = x.data(), *py_ = y.data();
  T* pd = dist.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  lowdim_py::run_nogil([&] {
  lowdim::knn<T>(px, n, py_, m, d, k, kind, exclude_self, pd, pi, n_threads);
  });
  return py::make_tuple(dist, idx);
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
  lowdim_py::run_nogil([&] {
  lowdim::mst<T>(px, n, d, pe, pl, n_threads);
  });
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
  lowdim_py::run_nogil([&] {
  lowdim::mst_length_batch<T>(px, batch, n, d, alpha, po, n_threads);
  });
  return out;
}

}  // namespace

// Lets threadpoolctl tell this library from other "_core" modules (python/lowdim/_threadpool.py).
extern "C" __attribute__((visibility("default"))) const char* lowdim_core_version() {
  return LOWDIM_VERSION;
}

void register_codecs(py::module_& m);  // cpp/bindings/codecs.cpp
void register_rabitq(py::module_& m);  // cpp/bindings/rabitq.cpp
void register_fastscan(py::module_& m);  // cpp/bindings/fastscan.cpp
void register_knn_int8(py::module_& m);  // cpp/bindings/knn_int8.cpp

PYBIND11_MODULE(_core, m) {
  m.doc() = "lowdim native kernels (see python/lowdim/_ref.py for the numpy twin)";
  lowdim_py::register_interrupt(m);
  register_codecs(m);
  register_rabitq(m);
  register_fastscan(m);
  register_knn_int8(m);
  m.def("build_info", &build_info);
  m.def("available_isas", &available_isas);
  m.def("isa", [] { return std::string(lowdim::isa_name(lowdim::active_isa())); });
  m.def("set_isa", &lowdim::set_active_isa, "name"_a);
  m.def("random_bits", &random_bits, "seed"_a, "stream"_a, "start"_a, "count"_a);

  // noconvert: fwht works in place, so a silent converting copy would lose the result.
  m.def("fwht", &fwht_py<float>, py::arg("x").noconvert(), "scale"_a, "n_threads"_a);
  m.def("fwht", &fwht_py<double>, py::arg("x").noconvert(), "scale"_a, "n_threads"_a);
  m.def("fwht_checked", &fwht_checked_py<float>, py::arg("x").noconvert(), "scale"_a,
        "untouched_on_error"_a, "n_threads"_a);
  m.def("fwht_checked", &fwht_checked_py<double>, py::arg("x").noconvert(), "scale"_a,
        "untouched_on_error"_a, "n_threads"_a);
  m.def("fwht_checked_into", &fwht_checked_into_py<float>, py::arg("x").noconvert(),
        py::arg("out").noconvert(), "scale"_a, "untouched_on_error"_a, "n_threads"_a);
  m.def("fwht_checked_into", &fwht_checked_into_py<double>, py::arg("x").noconvert(),
        py::arg("out").noconvert(), "scale"_a, "untouched_on_error"_a, "n_threads"_a);
  m.def("_set_fwht_stream", &lowdim::set_fwht_stream, "mode"_a);  // test hook
  m.def("srht", &srht_py<float>, py::arg("x").noconvert(), "signs"_a, "idx"_a, "scale"_a, "n_threads"_a);
  m.def("srht", &srht_py<double>, py::arg("x").noconvert(), "signs"_a, "idx"_a, "scale"_a, "n_threads"_a);
  m.def("fjlt", &fjlt_py<float>, py::arg("x").noconvert(), "signs"_a, "indptr"_a, "cols"_a, "vals"_a, "n_threads"_a);
  m.def("fjlt", &fjlt_py<double>, py::arg("x").noconvert(), "signs"_a, "indptr"_a, "cols"_a, "vals"_a, "n_threads"_a);

  // sparse_projection (very sparse random projection, FastRP product)
  m.def("sparse_rp_pattern", &sparse_rp_pattern, "seed"_a, "n_components"_a, "n_features"_a,
        "threshold"_a, "n_threads"_a);
  m.def("sparse_rp_dense", &sparse_rp_dense_py<float>, py::arg("x").noconvert(), "seed"_a,
        "n_components"_a, "threshold"_a, "scale"_a, "n_threads"_a);
  m.def("sparse_rp_dense", &sparse_rp_dense_py<double>, py::arg("x").noconvert(), "seed"_a,
        "n_components"_a, "threshold"_a, "scale"_a, "n_threads"_a);
  m.def("sparse_rp_csr", &sparse_rp_csr_py<float, std::int32_t>, py::arg("indptr").noconvert(),
        py::arg("indices").noconvert(), py::arg("data").noconvert(), "n_features"_a, "seed"_a,
        "n_components"_a, "threshold"_a, "scale"_a, "n_threads"_a);
  m.def("sparse_rp_csr", &sparse_rp_csr_py<float, std::int64_t>, py::arg("indptr").noconvert(),
        py::arg("indices").noconvert(), py::arg("data").noconvert(), "n_features"_a, "seed"_a,
        "n_components"_a, "threshold"_a, "scale"_a, "n_threads"_a);
  m.def("sparse_rp_csr", &sparse_rp_csr_py<double, std::int32_t>, py::arg("indptr").noconvert(),
        py::arg("indices").noconvert(), py::arg("data").noconvert(), "n_features"_a, "seed"_a,
        "n_components"_a, "threshold"_a, "scale"_a, "n_threads"_a);
  m.def("sparse_rp_csr", &sparse_rp_csr_py<double, std::int64_t>, py::arg("indptr").noconvert(),
        py::arg("indices").noconvert(), py::arg("data").noconvert(), "n_features"_a, "seed"_a,
        "n_components"_a, "threshold"_a, "scale"_a, "n_threads"_a);
  m.def("csr_spmm", &csr_spmm_py<float>, "indptr"_a, "indices"_a, py::arg("data").noconvert(),
        py::arg("x").noconvert(), "n_threads"_a, py::arg("acc").noconvert() = py::none(),
        "weight"_a = 0.0, "normalize"_a = false);
  m.def("csr_spmm", &csr_spmm_py<double>, "indptr"_a, "indices"_a, py::arg("data").noconvert(),
        py::arg("x").noconvert(), "n_threads"_a, py::arg("acc").noconvert() = py::none(),
        "weight"_a = 0.0, "normalize"_a = false);

  // product quantization (noconvert on codes: a uint16/uint8 mix-up must not be silent)
  m.def("pq_kmeans", &pq_kmeans_py, "x"_a, "centroids"_a, "n_iter"_a, "n_threads"_a);
  m.def("pq_encode", &pq_encode_py, "x"_a, "codebooks"_a, "n_threads"_a);
  m.def("pq_decode", &pq_decode_py<std::uint8_t>, py::arg("codes").noconvert(), "codebooks"_a,
        "n_threads"_a);
  m.def("pq_decode", &pq_decode_py<std::uint16_t>, py::arg("codes").noconvert(), "codebooks"_a,
        "n_threads"_a);
  m.def("pq_distance_table", &pq_distance_table_py, "q"_a, "codebooks"_a, "n_threads"_a);
  m.def("pq_search", &pq_search_py<std::uint8_t>, "table"_a, py::arg("codes").noconvert(), "k"_a,
        "n_threads"_a);
  m.def("pq_search", &pq_search_py<std::uint16_t>, "table"_a, py::arg("codes").noconvert(),
        "k"_a, "n_threads"_a);

  // knn (cpp/src/knn): float32 overload first so float32 input is never converted.
  m.def("knn", &knn_py<float>, py::arg("x").noconvert(), py::arg("y").noconvert(), "k"_a, "metric"_a, "exclude_self"_a, "n_threads"_a);
  m.def("knn", &knn_py<double>, "x"_a, "y"_a, "k"_a, "metric"_a, "exclude_self"_a, "n_threads"_a);
  // benchmark helper: flops of a pure-FMA loop on n_threads threads (time it in Python).
  m.def("fma_probe", [](std::size_t iters, int n_threads) {
    return lowdim::fma_probe(iters, n_threads);
  }, "iters"_a, "n_threads"_a);

  // mst
  m.def("mst", &mst_py<float>, py::arg("x").noconvert(), "n_threads"_a);
  m.def("mst", &mst_py<double>, py::arg("x").noconvert(), "n_threads"_a);
  m.def("mst_length_batch", &mst_length_batch_py<float>, py::arg("x").noconvert(), "alpha"_a, "n_threads"_a);
  m.def("mst_length_batch", &mst_length_batch_py<double>, py::arg("x").noconvert(), "alpha"_a, "n_threads"_a);
}
