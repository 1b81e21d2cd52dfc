// pybind11 face of the codec kernels (cpp/include/lowdim/codecs.h); mirrors
// python/lowdim/codecs/_ref_codecs.py. Arrays arrive validated by lowdim.codecs; the checks
// here only keep a direct caller of _core from reading out of bounds. Kernels run without the GIL
// and stop on Ctrl-C (lowdim_py::run_nogil).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "common.h"
#include "interrupt.h"
#include "lowdim/codecs.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using lowdim_py::CArray;
using lowdim_py::require;
using lowdim::CodecKind;
using lowdim::CodecMetric;

CodecKind parse_kind(const std::string& s) {
  static const char* names[] = {"fp16", "bf16", "fp8_e4m3", "fp8_e5m2",
                                "int8", "uint8", "int4",    "binary"};
  for (int i = 0; i < 8; ++i)
    if (s == names[i]) return static_cast<CodecKind>(i);
  throw py::value_error("unknown codec kind");
}

CodecMetric parse_metric(const std::string& s) {
  if (s == "sqeuclidean") return CodecMetric::sqeuclidean;
  if (s == "inner_product") return CodecMetric::inner_product;
  if (s == "cosine") return CodecMetric::cosine;
  throw py::value_error("metric must be 'sqeuclidean', 'inner_product' or 'cosine'");
}

bool int_kind(CodecKind k) {
  return k == CodecKind::int8 || k == CodecKind::uint8 || k == CodecKind::int4;
}

py::dtype code_dtype(CodecKind k) {
  if (k == CodecKind::fp16 || k == CodecKind::bf16) return py::dtype::of<std::uint16_t>();
  if (k == CodecKind::int8) return py::dtype::of<std::int8_t>();
  return py::dtype::of<std::uint8_t>();
}

std::size_t code_cols(CodecKind k, std::size_t D) {
  const std::size_t bytes = lowdim::codec_row_bytes(k, D);
  return (k == CodecKind::fp16 || k == CodecKind::bf16) ? bytes / 2 : bytes;
}

// Codes (n, cols(kind, D)) of the kind's dtype, C-contiguous; returns the byte pointer.
const std::uint8_t* check_codes(const py::array& codes, CodecKind k, std::size_t D) {
  // equal(), not is(): an unpickled array carries an equal but distinct dtype object.
  require(codes.dtype().equal(code_dtype(k)), "codes have the wrong dtype for this kind");
  require(codes.ndim() == 2 && static_cast<std::size_t>(codes.shape(1)) == code_cols(k, D),
          "codes have the wrong shape for this kind and D");
  require(codes.flags() & py::array::c_style, "codes must be C-contiguous");
  return static_cast<const std::uint8_t*>(codes.data());
}

void check_params(CodecKind k, const CArray<float>& lo, const CArray<float>& vdiff,
                  std::size_t D) {
  if (int_kind(k))
    require(lo.ndim() == 1 && vdiff.ndim() == 1 && static_cast<std::size_t>(lo.shape(0)) == D &&
                static_cast<std::size_t>(vdiff.shape(0)) == D,
            "lo and vdiff must have shape (D,)");
}

py::array encode_py(CArray<float> x, const std::string& kind, CArray<float> lo,
                    CArray<float> vdiff, int n_threads) {
  require(x.ndim() == 2, "x must be 2-D");
  const CodecKind k = parse_kind(kind);
  const std::size_t n = x.shape(0), D = x.shape(1);
  check_params(k, lo, vdiff, D);
  py::array out(code_dtype(k), {n, code_cols(k, D)});
  auto* po = static_cast<std::uint8_t*>(out.mutable_data());
  const float *px = x.data(), *pl = lo.data(), *pv = vdiff.data();
  lowdim_py::run_nogil([&] { lowdim::codec_encode(k, px, n, D, pl, pv, po, n_threads); });
  return out;
}

CArray<float> decode_py(py::array codes, const std::string& kind, CArray<float> lo,
                        CArray<float> vdiff, std::size_t D, int n_threads) {
  const CodecKind k = parse_kind(kind);
  const std::uint8_t* pc = check_codes(codes, k, D);
  check_params(k, lo, vdiff, D);
  const std::size_t n = codes.shape(0);
  CArray<float> out({n, D});
  float* po = out.mutable_data();
  const float *pl = lo.data(), *pv = vdiff.data();
  lowdim_py::run_nogil([&] { lowdim::codec_decode(k, pc, n, D, pl, pv, po, n_threads); });
  return out;
}

CArray<double> norms_py(py::array codes, const std::string& kind, CArray<float> lo,
                        CArray<float> vdiff, std::size_t D, int n_threads) {
  const CodecKind k = parse_kind(kind);
  const std::uint8_t* pc = check_codes(codes, k, D);
  check_params(k, lo, vdiff, D);
  const std::size_t n = codes.shape(0);
  CArray<double> out(n);
  double* po = out.mutable_data();
  const float *pl = lo.data(), *pv = vdiff.data();
  lowdim_py::run_nogil([&] { lowdim::codec_norms(k, pc, n, D, pl, pv, po, n_threads); });
  return out;
}

py::tuple search_int_py(py::array codes, const std::string& kind, CArray<std::int16_t> t,
                        CArray<double> alpha, CArray<double> cst, CArray<double> norms,
                        const std::string& metric, std::size_t k, int n_threads) {
  const CodecKind kk = parse_kind(kind);
  require(int_kind(kk), "integer search needs an int8, uint8 or int4 kind");
  require(t.ndim() == 2, "t must be 2-D");
  const std::size_t nq = t.shape(0), D = t.shape(1);
  const std::uint8_t* pc = check_codes(codes, kk, D);
  const std::size_t n = codes.shape(0);
  require(alpha.ndim() == 1 && cst.ndim() == 1 && static_cast<std::size_t>(alpha.shape(0)) == nq &&
              static_cast<std::size_t>(cst.shape(0)) == nq,
          "alpha and cst must have shape (nq,)");
  require(norms.ndim() == 1 && static_cast<std::size_t>(norms.shape(0)) == n,
          "norms must have shape (n,)");
  require(k >= 1 && k <= n, "k must be in [1, number of codes]");
  const CodecMetric m = parse_metric(metric);
  CArray<double> key({nq, k});
  CArray<std::int64_t> idx({nq, k});
  double* pk = key.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  const std::int16_t* pt = t.data();
  const double *pa = alpha.data(), *ps = cst.data(), *pn = norms.data();
  lowdim_py::run_nogil([&] {
    lowdim::codec_search_int(kk, pc, n, D, pt, nq, pa, ps, pn, m, k, pk, pi, n_threads);
  });
  return py::make_tuple(key, idx);
}

py::tuple search_float_py(py::array codes, const std::string& kind, CArray<float> lo,
                          CArray<float> vdiff, CArray<float> q, CArray<double> norms,
                          const std::string& metric, std::size_t k, int n_threads) {
  const CodecKind kk = parse_kind(kind);
  require(kk != CodecKind::binary, "binary codes are searched with hamming_knn");
  require(q.ndim() == 2, "q must be 2-D");
  const std::size_t nq = q.shape(0), D = q.shape(1);
  const std::uint8_t* pc = check_codes(codes, kk, D);
  check_params(kk, lo, vdiff, D);
  const std::size_t n = codes.shape(0);
  require(norms.ndim() == 1 && static_cast<std::size_t>(norms.shape(0)) == n,
          "norms must have shape (n,)");
  require(k >= 1 && k <= n, "k must be in [1, number of codes]");
  const CodecMetric m = parse_metric(metric);
  CArray<double> key({nq, k});
  CArray<std::int64_t> idx({nq, k});
  double* pk = key.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  const float *pl = lo.data(), *pv = vdiff.data(), *pq = q.data();
  const double* pn = norms.data();
  lowdim_py::run_nogil([&] {
    lowdim::codec_search_float(kk, pc, n, D, pl, pv, pq, nq, pn, m, k, pk, pi, n_threads);
  });
  return py::make_tuple(key, idx);
}

py::tuple hamming_knn_py(CArray<std::uint8_t> q, CArray<std::uint8_t> y, std::size_t k,
                         bool exclude_self, int n_threads) {
  require(q.ndim() == 2 && y.ndim() == 2 && q.shape(1) == y.shape(1),
          "q and y must be 2-D with the same number of bytes per row");
  const std::size_t nq = q.shape(0), n = y.shape(0), nb = q.shape(1);
  require(!exclude_self || nq == n, "exclude_self needs q and y of the same length");
  require(k >= 1 && k + (exclude_self ? 1 : 0) <= n, "k out of range for the database size");
  CArray<std::int32_t> dist({nq, k});
  CArray<std::int64_t> idx({nq, k});
  std::int32_t* pd = dist.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  const std::uint8_t *pq = q.data(), *py_ = y.data();
  lowdim_py::run_nogil([&] {
    lowdim::hamming_knn(pq, nq, py_, n, nb, k, exclude_self, pd, pi, n_threads);
  });
  return py::make_tuple(dist, idx);
}

}  // namespace

void register_codecs(py::module_& m) {
  m.def("codec_encode", &encode_py, py::arg("x").noconvert(), "kind"_a, "lo"_a, "vdiff"_a,
        "n_threads"_a);
  m.def("codec_decode", &decode_py, "codes"_a, "kind"_a, "lo"_a, "vdiff"_a, "D"_a, "n_threads"_a);
  m.def("codec_norms", &norms_py, "codes"_a, "kind"_a, "lo"_a, "vdiff"_a, "D"_a, "n_threads"_a);
  m.def("codec_search_int", &search_int_py, "codes"_a, "kind"_a, "t"_a, "alpha"_a, "cst"_a,
        "norms"_a, "metric"_a, "k"_a, "n_threads"_a);
  m.def("codec_search_float", &search_float_py, "codes"_a, "kind"_a, "lo"_a, "vdiff"_a,
        py::arg("q").noconvert(), "norms"_a, "metric"_a, "k"_a, "n_threads"_a);
  m.def("codec_madd_probe", [](std::size_t iters, int n_threads) {
    py::gil_scoped_release nogil;
    return lowdim::codec_madd_probe(iters, n_threads);
  }, "iters"_a, "n_threads"_a);
  m.def("hamming_knn", &hamming_knn_py, "q"_a, "y"_a, "k"_a, "exclude_self"_a, "n_threads"_a);
}
