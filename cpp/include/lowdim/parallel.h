// parallel_for: split [0, n) into contiguous chunks and run them on n_threads threads.
// Threads are started per call (the caller runs the first chunk) rather than kept in a
// global pool: no state survives a call, concurrent callers never wait on each other,
// and the ~20 µs start cost is negligible next to the kernels that ask for threads.
// Work items must be independent, so the result never depends on the thread count.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace lowdim {

// fn(begin, end, thread_index) is called once per chunk.
template <class Fn>
void parallel_for(std::size_t n, int n_threads, Fn&& fn) {
  if (n == 0) return;
  std::size_t workers = static_cast<std::size_t>(std::max(1, n_threads));
  workers = std::min(workers, n);
  if (workers == 1) {
    fn(std::size_t{0}, n, 0);
    return;
  }
  std::vector<std::exception_ptr> errors(workers);
  auto run = [&](std::size_t t) {
    std::size_t begin = n * t / workers, end = n * (t + 1) / workers;
    try {
      fn(begin, end, static_cast<int>(t));
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(run, t);
  run(0);
  for (auto& th : threads) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace lowdim
