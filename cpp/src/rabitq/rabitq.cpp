// RaBitQ driver: per-query lookup tables and the per-ISA tables of the scan, popcount and
// in-register-table kernels (the estimator and search are in rabitq_search.cpp). Threads
// split queries (or, for a single query block, database rows); every output has one writer
// and is computed in a fixed order, so results do not depend on the thread count or ISA.
#include "lowdim/rabitq.h"

#include <algorithm>
#include <vector>

#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {
namespace {

using ScanFn = decltype(&scalar::rabitq_scan_rows);

// Indexed by Isa; AVX-512 machines run the AVX2 kernel (no AVX-512 RaBitQ kernel).
const ScanFn kScan[] = {
    scalar::rabitq_scan_rows,
#ifdef LOWDIM_HAVE_AVX2
    avx2::rabitq_scan_rows,
#else
    scalar::rabitq_scan_rows,
#endif
};

using PopFn = decltype(&scalar::rabitq_popdot_rows);

const PopFn kPop[] = {
    scalar::rabitq_popdot_rows,
#ifdef LOWDIM_HAVE_AVX2
    avx2::rabitq_popdot_rows,
#else
    scalar::rabitq_popdot_rows,
#endif
};

constexpr std::size_t kRows = 2048;  // database rows per task: the codes of a task stay in L2

}  // namespace

void rabitq_build_lut(const float* y, std::size_t nbytes, float* lut) {
  for (std::size_t b = 0; b < nbytes; ++b) {
    float* t = lut + b * 256;
    const float* yb = y + 8 * b;
    t[0] = 0.0f;
    for (unsigned v = 1; v < 256; ++v)
      t[v] = t[v & (v - 1)] + yb[7 - __builtin_ctz(v)];
  }
}

void rabitq_scan_block(const float* lut, const std::uint8_t* codes, std::size_t n,
                       std::size_t nbytes, std::size_t stride, float* out) {
  kScan[isa_index(Isa::avx2)](lut, codes, n, nbytes, stride, out);
}

void rabitq_popdot(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                   std::size_t stride, int bits, const std::uint8_t* qplanes, int qbits,
                   std::uint64_t* out) {
  kPop[isa_index(Isa::avx2)](codes, n, nbytes, stride, bits, qplanes, qbits, out);
}

FsFn rabitq_fs_kernel() {
#ifdef LOWDIM_HAVE_AVX2
  const FsFn table[] = {nullptr, avx2::rabitq_fs_rows};
  return table[isa_index(Isa::avx2)];
#else
  return nullptr;
#endif
}

void rabitq_scan(const std::uint8_t* codes, std::size_t n, std::size_t nbytes,
                 std::size_t stride, const float* y, std::size_t nq, float* out, int n_threads) {
  const ScanFn scan = kScan[isa_index(Isa::avx2)];
  const std::size_t rblocks = (n + kRows - 1) / kRows;
  // Tasks are (query, row block) pairs in query-major order, so a thread's contiguous range
  // reuses each query's table; the table is rebuilt when the query changes.
  parallel_for(nq * rblocks, n_threads, [&](std::size_t begin, std::size_t end, int) {
    std::vector<float> lut(nbytes * 256);
    std::size_t have = static_cast<std::size_t>(-1);
    for (std::size_t task = begin; task < end; ++task) {
      const std::size_t i = task / rblocks, rb = task % rblocks;
      if (i != have) {
        rabitq_build_lut(y + i * nbytes * 8, nbytes, lut.data());
        have = i;
      }
      const std::size_t r0 = rb * kRows, r1 = std::min(n, r0 + kRows);
      scan(lut.data(), codes + r0 * stride, r1 - r0, nbytes, stride, out + i * n + r0);
    }
  });
}

}  // namespace lowdim
