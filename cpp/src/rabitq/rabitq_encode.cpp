// RaBitQ encoder, 1 to 8 bits (Gao & Long 2024; extended RaBitQ, Gao et al. 2025, Sec. 3):
// sign plane, ex-bit planes from the rescaling search, float32 factors. ISA-independent
// double arithmetic in a fixed order (eight-lane norms, sequential sums in the rescaling
// search, events sorted by (t, j)), so the
// numpy twin (python/lowdim/quantizers/_ref_rabitq.py: rabitq_encode) gives the same bytes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <vector>

#include "lowdim/hadamard.h"
#include "lowdim/parallel.h"
#include "lowdim/rabitq.h"

namespace lowdim {
namespace {

// Starting fraction of the search range per ex-bit count (RaBitQ-Library, faiss).
constexpr double kTightStart[9] = {0.0, 0.15, 0.20, 0.52, 0.59, 0.71, 0.75, 0.77, 0.81};
constexpr double kEps = 1e-5;
constexpr int kNEnum = 10;

// e[j] in [0, 2^ex − 1] maximising cos(e + 1/2, o) for o ≥ 0 (o = |r| / ‖r‖): start at
// t_start, walk the events t = m / o_j in ascending (t, j) order, keep the best prefix.
void rescale_search(const double* o, std::size_t D, int ex, int* e,
                    std::vector<std::tuple<double, std::size_t, int>>& ev) {
  const int max_code = (1 << ex) - 1;
  double max_o = 0.0;
  for (std::size_t j = 0; j < D; ++j) max_o = std::max(max_o, o[j]);
  const double t_end = static_cast<double>(max_code + kNEnum) / max_o;
  const double t_start = t_end * kTightStart[ex];
  ev.clear();
  double num = 0.0, den = 0.25 * static_cast<double>(D);
  for (std::size_t j = 0; j < D; ++j) {
    e[j] = std::min(max_code, static_cast<int>(t_start * o[j] + kEps));
    num += (e[j] + 0.5) * o[j];
    den += static_cast<double>(e[j]) * e[j] + e[j];
    for (int m = e[j] + 1; m <= max_code; ++m) {
      const double t = m / o[j];
      if (!(t < t_end)) break;
      ev.emplace_back(t, j, m);
    }
  }
  std::sort(ev.begin(), ev.end());
  double best = num / std::sqrt(den);
  std::size_t keep = 0;
  for (std::size_t i = 0; i < ev.size(); ++i) {
    const std::size_t j = std::get<1>(ev[i]);
    num += o[j];
    den += 2.0 * std::get<2>(ev[i]);  // (m + ½)² − (m − ½)² = 2m
    const double ip = num / std::sqrt(den);
    if (ip > best) best = ip, keep = i + 1;
  }
  for (std::size_t i = 0; i < keep; ++i) ++e[std::get<1>(ev[i])];
}

}  // namespace

std::size_t rabitq_code_size(std::size_t D8, int bits) {
  return static_cast<std::size_t>(bits) * (D8 / 8) + (bits == 1 ? 8 : 12);
}

namespace {

struct EncodeScratch {
  std::vector<double> o;
  std::vector<int> e;
  std::vector<std::tuple<double, std::size_t, int>> ev;
  explicit EncodeScratch(std::size_t D) : o(D), e(D) {}
};

// One row: x (D8,) rotated residual, zero beyond D -> c (rabitq_code_size bytes).
void encode_row(const float* x, std::size_t D8, std::size_t D, int bits, std::uint8_t* c,
                EncodeScratch& s) {
  const std::size_t nb = D8 / 8, stride = rabitq_code_size(D8, bits);
  const int ex = bits - 1;
  std::memset(c, 0, stride);
  // ‖r‖² and ‖r‖₁ in eight float64 lanes (j % 8, over D8: the zero padding adds nothing),
  // fixed final tree; the sign bytes are assembled branch-free (signs are coin flips)
  double a2[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a1[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t b = 0; b < nb; ++b) {
    const float* xb = x + 8 * b;
    unsigned byte = 0;
    for (int t = 0; t < 8; ++t) {
      const double v = xb[t];
      a2[t] += v * v;
      a1[t] += std::fabs(v);
      byte |= static_cast<unsigned>(xb[t] > 0.0f) << (7 - t);
    }
    c[b] = static_cast<std::uint8_t>(byte);
  }
  const double n2 = ((a2[0] + a2[1]) + (a2[2] + a2[3])) + ((a2[4] + a2[5]) + (a2[6] + a2[7]));
  const double l1 = ((a1[0] + a1[1]) + (a1[2] + a1[3])) + ((a1[4] + a1[5]) + (a1[6] + a1[7]));
  const double norm = std::sqrt(n2);
  float f[3];
  f[0] = static_cast<float>(norm);
  if (ex == 0) {
    f[1] = norm > 0 ? static_cast<float>(l1 / (std::sqrt(static_cast<double>(D)) * norm)) : 1.0f;
    std::memcpy(c + nb, f, 8);
    return;
  }
  std::vector<double>& o = s.o;
  std::vector<int>& e = s.e;
  if (norm > 0) {
    for (std::size_t j = 0; j < D; ++j) o[j] = std::fabs(static_cast<double>(x[j])) / norm;
    rescale_search(o.data(), D, ex, e.data(), s.ev);
  } else {
    std::fill(o.begin(), o.end(), 0.0);
    std::fill(e.begin(), e.end(), 0);
  }
  double num = 0.0, den = 0.25 * static_cast<double>(D);
  const int max_code = (1 << ex) - 1;
  for (std::size_t j = 0; j < D; ++j) {
    num += (e[j] + 0.5) * o[j];
    den += static_cast<double>(e[j]) * e[j] + e[j];
    // stored value: u = sign·2^ex + (sign ? e : 2^ex − 1 − e), so x̄ = u − (2^B − 1)/2
    const int u = x[j] > 0.0f ? e[j] : max_code - e[j];
    for (int k = 1; k <= ex; ++k)
      if (u >> (ex - k) & 1) c[k * nb + (j >> 3)] |= static_cast<std::uint8_t>(0x80u >> (j & 7));
  }
  f[1] = norm > 0 ? static_cast<float>(num / std::sqrt(den)) : 1.0f;
  f[2] = static_cast<float>(std::sqrt(den));
  std::memcpy(c + bits * nb, f, 12);
}

}  // namespace

void rabitq_encode(const float* r, std::size_t n, std::size_t D8, std::size_t D, int bits,
                   std::uint8_t* out, int n_threads) {
  const std::size_t stride = rabitq_code_size(D8, bits);
  parallel_for(n, n_threads, [&](std::size_t begin, std::size_t end, int) {
    EncodeScratch s(D);
    for (std::size_t i = begin; i < end; ++i) encode_row(r + i * D8, D8, D, bits, out + i * stride, s);
  });
}

void rabitq_encode_raw(const float* x, std::size_t n, std::size_t d, const float* center,
                       const float* signs, std::size_t D8, std::size_t D, int bits,
                       std::uint8_t* out, int n_threads) {
  const std::size_t stride = rabitq_code_size(D8, bits);
  int log2D = 0;
  while ((std::size_t{1} << log2D) < D) ++log2D;
  // the float32 scale of the Python rotation: 1/√D rounded from double
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  parallel_for(n, n_threads, [&](std::size_t begin, std::size_t end, int) {
    EncodeScratch s(D);
    std::vector<float> buf(D8);
    for (std::size_t i = begin; i < end; ++i) {
      const float* xi = x + i * d;
      for (std::size_t j = 0; j < d; ++j) buf[j] = xi[j] - center[j];
      std::fill(buf.begin() + d, buf.end(), 0.0f);
      if (signs) {
        for (std::size_t j = 0; j < D; ++j) buf[j] *= signs[j];
        fwht<float>(buf.data(), 1, log2D, D, scale, 1);
      }
      encode_row(buf.data(), D8, D, bits, out + i * stride, s);
    }
  });
}

}  // namespace lowdim
