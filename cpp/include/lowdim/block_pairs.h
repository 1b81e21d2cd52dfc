// for_each_block_pair: the schedule of a symmetric (self-search) sweep over block pairs
// I <= J, where tile (I, J) updates the state of the rows of both blocks (the kNN lists).
// Threads take whole row blocks I, largest first (row I holds the
// blocks - I tiles J >= I), and sweep J in memory order, so block I stays cached while the
// J blocks stream past (scattered pairs ran ~10% slower on EPYC at 20000 x 768). A tile
// runs only while its thread holds the locks of both its blocks.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "lowdim/parallel.h"

namespace lowdim {

namespace detail {
// Releases the locks of blocks a and b (one lock if a == b) at scope exit, also when the
// tile throws (an interrupt).
class HeldBlocks {
 public:
  HeldBlocks(std::mutex* locks, std::size_t a, std::size_t b) : locks_(locks), a_(a), b_(b) {}
  HeldBlocks(const HeldBlocks&) = delete;
  HeldBlocks& operator=(const HeldBlocks&) = delete;
  ~HeldBlocks() {
    locks_[a_].unlock();
    if (b_ != a_) locks_[b_].unlock();
  }

 private:
  std::mutex* locks_;
  std::size_t a_, b_;
};
}  // namespace detail

// fn(lo, hi, thread) once for every 0 <= lo <= hi < blocks; never at the same time for two
// pairs that share a block; thread < min(n_threads, blocks). A thread sweeps its row from
// its own offset (threads on neighbouring rows do not meet at the same J); a tile whose
// lock is taken waits, without blocking its thread, until after the thread's next row,
// and only the last few wait for a lock. The order of tiles varies from run to run, so
// a caller's result must not depend on it: kNN lists keep a total order. (The int8
// candidate pass keeps knn_int8.cpp's fixed rounds: its rescored-pair count, which
// depends on the order, is promised independent of the thread count.)
template <class Fn>
void for_each_block_pair(std::size_t blocks, int n_threads, Fn&& fn) {
  if (blocks == 0) return;
  const std::size_t workers =
      std::min(static_cast<std::size_t>(std::max(1, n_threads)), blocks);
  std::unique_ptr<std::mutex[]> locks(new std::mutex[blocks]);
  auto take = [&](std::size_t a, std::size_t b, bool wait) {
    if (a == b) {
      if (wait) locks[a].lock();
      return wait || locks[a].try_lock();
    }
    if (wait) std::lock(locks[a], locks[b]);
    return wait || std::try_lock(locks[a], locks[b]) == -1;
  };
  std::atomic<std::size_t> next_row{0};
  parallel_for(workers, n_threads, [&](std::size_t, std::size_t, int t) {
    std::vector<std::pair<std::size_t, std::size_t>> later;  // tiles whose locks were taken
    auto run_if_free = [&](std::size_t lo, std::size_t hi, bool wait) {
      if (!take(lo, hi, wait)) return false;
      const detail::HeldBlocks held(locks.get(), lo, hi);
      fn(lo, hi, t);
      return true;
    };
    auto retry_later = [&](bool wait) {
      std::size_t kept = 0;
      for (std::size_t p = 0; p < later.size(); ++p)
        if (!run_if_free(later[p].first, later[p].second, wait)) later[kept++] = later[p];
      later.resize(kept);
    };
    for (std::size_t lo = next_row++; lo < blocks; lo = next_row++) {
      const std::size_t len = blocks - lo;
      const std::size_t start = len * static_cast<std::size_t>(t) / workers;
      for (std::size_t step = 0; step < len; ++step) {
        const std::size_t hi = lo + (start + step) % len;
        if (!run_if_free(lo, hi, false)) later.emplace_back(lo, hi);
      }
      retry_later(false);
    }
    retry_later(true);
  });
}

}  // namespace lowdim
