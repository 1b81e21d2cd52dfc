// Codec drivers: per-ISA kernel table, threads, and top-k search on codes. Threads split rows
// (encode, decode, norms) or blocks of queries (search), each output has one writer and every
// value is computed in a fixed order, so results do not depend on the thread count. Search
// streams the database in blocks that stay in cache while a block of queries meets them:
// integer kinds through int_dot_block, float kinds (and the exact variant of int kinds) by
// decoding a block to float32 and multiplying it with the kNN FMA tiles (distance.h). With
// fewer query blocks than threads the database rows are split as well (search_blocks).
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "lowdim/codecs.h"
#include "lowdim/distance.h"
#include "lowdim/interrupt.h"
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
    for (std::size_t c = b; c < e; ++c) {
      check_interrupt();  // per chunk of kRowChunk rows: Ctrl-C stops a long encode
      const std::size_t r0 = c * kRowChunk, r1 = std::min(n, r0 + kRowChunk);
      fn(kind, x + r0 * D, r1 - r0, D, lo, vdiff, codes + r0 * rb);
    }
  });
}

void codec_decode(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                  const float* lo, const float* vdiff, float* out, int n_threads) {
  const auto fn = kernels().decode;
  const std::size_t rb = codec_row_bytes(kind, D);
  parallel_for((n + kRowChunk - 1) / kRowChunk, n_threads, [&](std::size_t b, std::size_t e, int) {
    for (std::size_t c = b; c < e; ++c) {
      check_interrupt();
      const std::size_t r0 = c * kRowChunk, r1 = std::min(n, r0 + kRowChunk);
      fn(kind, codes + r0 * rb, r1 - r0, D, lo, vdiff, out + r0 * D);
    }
  });
}

void codec_norms(CodecKind kind, const std::uint8_t* codes, std::size_t n, std::size_t D,
                 const float* lo, const float* vdiff, double* out, int n_threads) {
  const auto fn = kernels().decode;
  const std::size_t rb = codec_row_bytes(kind, D);
  parallel_for((n + kRowChunk - 1) / kRowChunk, n_threads, [&](std::size_t b, std::size_t e, int) {
    std::vector<float> buf(kRowChunk * D);
    for (std::size_t c = b; c < e; ++c) {
      check_interrupt();
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

namespace {

// Work items are (block of qb queries, range of rows): whole databases per query block when
// there are enough blocks for the threads, else the rows are split too (in multiples of
// row_block) and each query's partial lists are merged by (key, index) afterwards. Every
// list keeps the best k of its rows by (key, index), so the merged answer is the same for
// any split: results do not depend on the thread count.
// body(q0, mq, r_begin, r_end, tops, scratch) fills tops[0..mq) from rows [r_begin, r_end).
template <class Key, class MakeScratch, class Body>
void search_blocks(std::size_t nq, std::size_t n, std::size_t qb, std::size_t row_block,
                   std::size_t k, int n_threads, Key* out_key, std::int64_t* out_idx,
                   MakeScratch make_scratch, Body body) {
  const std::size_t qblocks = (nq + qb - 1) / qb, rblocks = (n + row_block - 1) / row_block;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, n_threads));
  const std::size_t parts =
      qblocks >= threads ? 1 : std::min(rblocks, (threads + qblocks - 1) / qblocks);
  std::vector<Key> part_key(parts > 1 ? parts * nq * k : 0);
  std::vector<std::int64_t> part_idx(part_key.size());
  std::vector<std::size_t> part_size(parts > 1 ? parts * nq : 0);
  parallel_for(qblocks * parts, n_threads, [&](std::size_t b, std::size_t e, int) {
    auto scratch = make_scratch();
    for (std::size_t item = b; item < e; ++item) {
      const std::size_t blk = item / parts, part = item % parts;
      const std::size_t q0 = blk * qb, mq = std::min(qb, nq - q0);
      const std::size_t r_begin = std::min(n, rblocks * part / parts * row_block);
      const std::size_t r_end = std::min(n, rblocks * (part + 1) / parts * row_block);
      Key* keys = parts > 1 ? part_key.data() + (part * nq + q0) * k : out_key + q0 * k;
      std::int64_t* idx = parts > 1 ? part_idx.data() + (part * nq + q0) * k : out_idx + q0 * k;
      std::vector<TopK<Key>> top(mq);
      for (std::size_t i = 0; i < mq; ++i) top[i] = TopK<Key>{k, 0, keys + i * k, idx + i * k};
      body(q0, mq, r_begin, r_end, top.data(), scratch);
      if (parts > 1)
        for (std::size_t i = 0; i < mq; ++i) part_size[part * nq + q0 + i] = top[i].size;
    }
  });
  if (parts == 1) return;
  std::vector<std::pair<Key, std::int64_t>> all;
  for (std::size_t q = 0; q < nq; ++q) {
    all.clear();
    for (std::size_t part = 0; part < parts; ++part) {
      const std::size_t off = (part * nq + q) * k;
      for (std::size_t t = 0; t < part_size[part * nq + q]; ++t)
        all.emplace_back(part_key[off + t], part_idx[off + t]);
    }
    std::sort(all.begin(), all.end());
    for (std::size_t t = 0; t < k; ++t) {
      out_key[q * k + t] = all[t].first;
      out_idx[q * k + t] = all[t].second;
    }
  }
}

template <class Key, class Tile, class KeyOf>
void select_rows(TopK<Key>& tk, const Tile* row, std::size_t r0, std::size_t w, KeyOf key_of) {
  Key bound = tk.bound();
  for (std::size_t r = 0; r < w; ++r) {
    const Key key = key_of(row[r], r0 + r);
    if (key < bound) {
      tk.push(key, static_cast<std::int64_t>(r0 + r));
      bound = tk.bound();
    }
  }
}

}  // namespace

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
  search_blocks<double>(
      nq, n, kIntQueries, kIntRows, k, n_threads, out_key, out_idx,
      [] { return std::vector<std::int32_t>(kIntQueries * kIntRows); },
      [&](std::size_t q0, std::size_t mq, std::size_t rb0, std::size_t rb1, TopK<double>* top,
          std::vector<std::int32_t>& tile) {
        for (std::size_t r0 = rb0; r0 < rb1; r0 += kIntRows) {
          check_interrupt();  // per row tile: one query block can span the whole database
          const std::size_t w = std::min(kIntRows, rb1 - r0);
          fn(kind, codes + r0 * rb, w, rb, tl.data() + q0 * ts, mq, ts, tile.data(), kIntRows);
          for (std::size_t i = 0; i < mq; ++i) {
            const double a = alpha[q0 + i], c = cst[q0 + i];
            select_rows<double>(top[i], tile.data() + i * kIntRows, r0, w,
                                [&](std::int32_t dot, std::size_t r) {
                                  return metric_key(metric, c + a * static_cast<double>(dot),
                                                    norms[r]);
                                });
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
  struct Scratch {
    std::vector<float> pa, pb, buf, tile;
  };
  search_blocks<double>(
      nq, n, mb, nb, k, n_threads, out_key, out_idx,
      [&] {
        return Scratch{std::vector<float>(packed_size(mb, D, mr)),
                       std::vector<float>(packed_size(nb, D, nr)), std::vector<float>(nb * D),
                       std::vector<float>(mb * nb)};
      },
      [&](std::size_t q0, std::size_t mq, std::size_t rb0, std::size_t rb1, TopK<double>* top,
          Scratch& s) {
        pack_panels(q + q0 * D, mq, D, D, mr, s.pa.data());
        for (std::size_t r0 = rb0; r0 < rb1; r0 += nb) {
          check_interrupt();  // per row tile: one query block can span the whole database
          const std::size_t w = std::min(nb, rb1 - r0);
          dec(kind, codes + r0 * rb, w, D, lo, vdiff, s.buf.data());
          pack_panels(s.buf.data(), w, D, D, nr, s.pb.data());
          kern.dot_block(s.pa.data(), mq, s.pb.data(), w, D, s.tile.data(), nb);
          for (std::size_t i = 0; i < mq; ++i)
            select_rows<double>(top[i], s.tile.data() + i * nb, r0, w,
                                [&](float ip, std::size_t r) {
                                  return metric_key(metric, static_cast<double>(ip), norms[r]);
                                });
        }
      });
}

void hamming_knn(const std::uint8_t* q, std::size_t nq, const std::uint8_t* y, std::size_t n,
                 std::size_t nbytes, std::size_t k, bool exclude_self, std::int32_t* out_dist,
                 std::int64_t* out_idx, int n_threads) {
  const auto fn = kernels().hamming;
  search_blocks<std::int32_t>(
      nq, n, kIntQueries, kHammingRows, k, n_threads, out_dist, out_idx,
      [] { return std::vector<std::int32_t>(kIntQueries * kHammingRows); },
      [&](std::size_t q0, std::size_t mq, std::size_t rb0, std::size_t rb1,
          TopK<std::int32_t>* top, std::vector<std::int32_t>& tile) {
        for (std::size_t r0 = rb0; r0 < rb1; r0 += kHammingRows) {
          check_interrupt();  // per row tile: one query block can span the whole database
          const std::size_t w = std::min(kHammingRows, rb1 - r0);
          fn(q + q0 * nbytes, mq, y + r0 * nbytes, w, nbytes, tile.data(), kHammingRows);
          for (std::size_t i = 0; i < mq; ++i) {
            const std::size_t self = q0 + i;
            // the query itself gets the largest key: it never enters (k <= n − 1)
            select_rows<std::int32_t>(top[i], tile.data() + i * kHammingRows, r0, w,
                                      [&](std::int32_t d, std::size_t r) {
                                        return exclude_self && r == self
                                                   ? std::numeric_limits<std::int32_t>::max()
                                                   : d;
                                      });
          }
        }
      });
}

}  // namespace lowdim
