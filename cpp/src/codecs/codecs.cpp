// Codec drivers: per-ISA kernel table, threads, and top-k search on codes. Threads split rows
// (encode, decode, norms) or blocks of queries (search), each output has one writer and every
// value is computed in a fixed order, so results do not depend on the thread count. Search
// streams the database in blocks that stay in cache while a block of queries meets them:
// integer kinds through int_dot_block, float kinds (and the exact variant of int kinds) by
// decoding a block to float32 and multiplying it with the kNN FMA tiles (distance.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "lowdim/codecs.h"
#include "lowdim/distance.h"
#include "lowdim/isa.h"
#include "lowdim/parallel.h"

namespace lowdim {
namespace {

struct Kernels {
  decltype(&scalar::encode_rows) encode;
  decltype(&scalar::decode_rows) decode;
  decltype(&scalar::int_dot_block) int_dot;
  decltype(&scalar::hamming_block) hamming;
  decltype(&scalar::madd_probe) madd_probe;
};

// Indexed by Isa; AVX-512 machines run the AVX2 row (no AVX-512 codec kernels).
const Kernels kKernels[] = {
    {scalar::encode_rows, scalar::decode_rows, scalar::int_dot_block, scalar::hamming_block,
     scalar::madd_probe},
#ifdef LOWDIM_HAVE_AVX2
    {avx2::encode_rows, avx2::decode_rows, avx2::int_dot_block, avx2::hamming_block,
     avx2::madd_probe},
#else
    {scalar::encode_rows, scalar::decode_rows, scalar::int_dot_block, scalar::hamming_block,
     scalar::madd_probe},
#endif
};

const Kernels& kernels() { return kKernels[isa_index(Isa::avx2)]; }

constexpr std::size_t kRowChunk = 256;      // rows per task in encode/decode/norms
constexpr std::size_t kIntQueries = 64;     // queries per block, integer and Hamming search
constexpr std::size_t kIntRows = 256;       // database rows per block, integer search
constexpr std::size_t kHammingRows = 1024;  // database rows per block, Hamming search

// The k best (key, index) pairs, ascending, in a sorted array (k is small).
template <class Key>
struct TopK {
  std::size_t k, size = 0;
  Key* key;
  std::int64_t* idx;

  Key bound() const {
    return size < k ? std::numeric_limits<Key>::max() : key[k - 1];
  }
  void push(Key kv, std::int64_t i) {
    // callers offer rows in increasing index: an equal key never beats a kept one
    if (size == k && !(kv < key[k - 1])) return;
    std::size_t pos = size < k ? size++ : k - 1;
    while (pos > 0 && key[pos - 1] > kv) {
      key[pos] = key[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    key[pos] = kv;
    idx[pos] = i;
  }
};

inline double metric_key(CodecMetric m, double ip, double nrm) {
  switch (m) {
    case CodecMetric::sqeuclidean: return nrm - 2.0 * ip;
    case CodecMetric::inner_product: return -ip;
    default: {
      const double root = std::sqrt(nrm);
      return root > 0.0 ? -ip / root : 0.0;
    }
  }
}

}  // namespace

double codec_madd_probe(std::size_t iters, int n_threads) {
  const auto fn = kernels().madd_probe;
  const std::size_t workers = static_cast<std::size_t>(std::max(1, n_threads));
  std::vector<std::int64_t> sink(workers);
  parallel_for(workers, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t t = b; t < e; ++t) sink[t] = fn(iters);
  });
  volatile std::int64_t keep = 0;
  for (std::int64_t v : sink) keep = keep + v;
  return static_cast<double>(workers) * static_cast<double>(iters) * kMaddProbeLanes;
}

std::size_t codec_row_bytes(CodecKind kind, std::size_t D) {
  switch (kind) {
    case CodecKind::fp16:
    case CodecKind::bf16: return 2 * D;
    case CodecKind::int4: return (D + 1) / 2;
    case CodecKind::binary: return (D + 7) / 8;
    default: return D;
  }
}

std::size_t codec_t_stride(CodecKind kind, std::size_t D) {
  if (kind == CodecKind::int4) return (codec_row_bytes(kind, D) + 15) / 16 * 32;
  return (D + 15) / 16 * 16;
}

void codec_encode(CodecKind kind, const float* x, std::size_t n, std::size_t D, const float* lo,
                  const float* vdiff, std::uint8_t* codes, int n_threads) {
  const auto fn = kernels().encode;
  const std::size_t rb = codec_row_bytes(kind, D);
  parallel_for((n + kRowChunk - 1) / kRowChunk, n_threads, [&](std::size_t b, std::size_t e, int) {
    const std::size_t r0 = b * kRowChunk, r1 = std::min(n, e * kRowChunk);
    fn(kind, x + r0 * D, r1 - r0, D, lo, vdiff, codes + r0 * rb);
  });
}

void codec_decode(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                  const float* lo, const float* vdiff, float* out, int n_threads) {
  const auto fn = kernels().decode;
  const std::size_t rb = codec_row_bytes(kind, D);
  parallel_for((n + kRowChunk - 1) / kRowChunk, n_threads, [&](std::size_t b, std::size_t e, int) {
    const std::size_t r0 = b * kRowChunk, r1 = std::min(n, e * kRowChunk);
    fn(kind, codes + r0 * rb, r1 - r0, D, lo, vdiff, out + r0 * D);
  });
}

void codec_norms(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                 const float* lo, const float* vdiff, double* out, int n_threads) {
  const auto fn = kernels().decode;
  const std::size_t rb = codec_row_bytes(kind, D);
  parallel_for((n + kRowChunk - 1) / kRowChunk, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::vector<float> buf(kRowChunk * D);
    for (std::size_t c = b; c < e; ++c) {
      const std::size_t r0 = c * kRowChunk, r1 = std::min(n, r0 + kRowChunk);
      fn(kind, codes + r0 * rb, r1 - r0, D, lo, vdiff, buf.data());
      for (std::size_t r = r0; r < r1; ++r) {
        const float* v = buf.data() + (r - r0) * D;
        double acc = 0.0;
        for (std::size_t j = 0; j < D; ++j) acc += static_cast<double>(v[j]) * v[j];
        out[r] = acc;
      }
    }
  });
}

void codec_search_int(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                      const std::int16_t* t, std::size_t nq, const double* alpha,
                      const double* cst, const double* norms, CodecMetric metric, std::size_t k,
                      double* out_key, std::int64_t* out_idx, int n_threads) {
  const auto fn = kernels().int_dot;
  const std::size_t rb = codec_row_bytes(kind, D), ts = codec_t_stride(kind, D);
  // weights in the kernel layout, zero-padded to the stride
  std::vector<std::int16_t> tl(nq * ts, 0);
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t j = 0; j < D; ++j) {
      std::size_t pos = j;
      if (kind == CodecKind::int4) pos = (j / 32) * 32 + (j % 2) * 16 + (j % 32) / 2;
      tl[i * ts + pos] = t[i * D + j];
    }
  parallel_for((nq + kIntQueries - 1) / kIntQueries, n_threads,
               [&](std::size_t b, std::size_t e, int) {
    std::vector<std::int32_t> tile(kIntQueries * kIntRows);
    for (std::size_t blk = b; blk < e; ++blk) {
      const std::size_t q0 = blk * kIntQueries, mq = std::min(kIntQueries, nq - q0);
      std::vector<TopK<double>> top(mq);
      for (std::size_t i = 0; i < mq; ++i)
        top[i] = TopK<double>{k, 0, out_key + (q0 + i) * k, out_idx + (q0 + i) * k};
      for (std::size_t r0 = 0; r0 < n; r0 += kIntRows) {
        const std::size_t w = std::min(kIntRows, n - r0);
        fn(kind, codes + r0 * rb, w, rb, tl.data() + q0 * ts, mq, ts, tile.data(), kIntRows);
        for (std::size_t i = 0; i < mq; ++i) {
          const double a = alpha[q0 + i], c = cst[q0 + i];
          const std::int32_t* row = tile.data() + i * kIntRows;
          TopK<double>& tk = top[i];
          double bound = tk.bound();
          for (std::size_t r = 0; r < w; ++r) {
            const double ip = c + a * static_cast<double>(row[r]);
            const double key = metric_key(metric, ip, norms[r0 + r]);
            if (key < bound) {
              tk.push(key, static_cast<std::int64_t>(r0 + r));
              bound = tk.bound();
            }
          }
        }
      }
    }
  });
}

void codec_search_float(CodecKind kind, const std::uint8_t* codes, std::size_t n,
                        std::size_t D, const float* lo, const float* vdiff, const float* q,
                        std::size_t nq, const double* norms, CodecMetric metric, std::size_t k,
                        double* out_key, std::int64_t* out_idx, int n_threads) {
  const auto dec = kernels().decode;
  const DistanceKernels<float> kern = distance_kernels<float>();
  const std::size_t mr = kern.shape.mr, nr = kern.shape.nr;
  const std::size_t mb = 32 * mr, nb = 16 * nr;  // the kNN block shape
  const std::size_t rb = codec_row_bytes(kind, D);
  parallel_for((nq + mb - 1) / mb, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::vector<float> pa(packed_size(mb, D, mr)), pb(packed_size(nb, D, nr)), buf(nb * D),
        tile(mb * nb);
    for (std::size_t blk = b; blk < e; ++blk) {
      const std::size_t q0 = blk * mb, mq = std::min(mb, nq - q0);
      pack_panels(q + q0 * D, mq, D, D, mr, pa.data());
      std::vector<TopK<double>> top(mq);
      for (std::size_t i = 0; i < mq; ++i)
        top[i] = TopK<double>{k, 0, out_key + (q0 + i) * k, out_idx + (q0 + i) * k};
      for (std::size_t r0 = 0; r0 < n; r0 += nb) {
        const std::size_t w = std::min(nb, n - r0);
        dec(kind, codes + r0 * rb, w, D, lo, vdiff, buf.data());
        pack_panels(buf.data(), w, D, D, nr, pb.data());
        kern.dot_block(pa.data(), mq, pb.data(), w, D, tile.data(), nb);
        for (std::size_t i = 0; i < mq; ++i) {
          const float* row = tile.data() + i * nb;
          TopK<double>& tk = top[i];
          double bound = tk.bound();
          for (std::size_t r = 0; r < w; ++r) {
            const double key = metric_key(metric, static_cast<double>(row[r]), norms[r0 + r]);
            if (key < bound) {
              tk.push(key, static_cast<std::int64_t>(r0 + r));
              bound = tk.bound();
            }
          }
        }
      }
    }
  });
}

void hamming_knn(const std::uint8_t* q, std::size_t nq, const std::uint8_t* y, std::size_t n,
                 std::size_t nbytes, std::size_t k, bool exclude_self, std::int32_t* out_dist,
                 std::int64_t* out_idx, int n_threads) {
  const auto fn = kernels().hamming;
  parallel_for((nq + kIntQueries - 1) / kIntQueries, n_threads,
               [&](std::size_t b, std::size_t e, int) {
    std::vector<std::int32_t> tile(kIntQueries * kHammingRows);
    for (std::size_t blk = b; blk < e; ++blk) {
      const std::size_t q0 = blk * kIntQueries, mq = std::min(kIntQueries, nq - q0);
      std::vector<TopK<std::int32_t>> top(mq);
      for (std::size_t i = 0; i < mq; ++i)
        top[i] = TopK<std::int32_t>{k, 0, out_dist + (q0 + i) * k, out_idx + (q0 + i) * k};
      for (std::size_t r0 = 0; r0 < n; r0 += kHammingRows) {
        const std::size_t w = std::min(kHammingRows, n - r0);
        fn(q + q0 * nbytes, mq, y + r0 * nbytes, w, nbytes, tile.data(), kHammingRows);
        for (std::size_t i = 0; i < mq; ++i) {
          const std::int32_t* row = tile.data() + i * kHammingRows;
          TopK<std::int32_t>& tk = top[i];
          std::int32_t bound = tk.bound();
          const std::size_t self = q0 + i;
          for (std::size_t r = 0; r < w; ++r) {
            if (row[r] < bound && !(exclude_self && r0 + r == self)) {
              tk.push(row[r], static_cast<std::int64_t>(r0 + r));
              bound = tk.bound();
            }
          }
        }
      }
    }
  });
}

}  // namespace lowdim
