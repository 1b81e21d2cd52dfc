// parallel_for: split [0, n) into contiguous chunks and run them on n_threads threads.
// Threads are started per call (the caller runs the first chunk) rather than kept in a
// global pool: no state survives a call, concurrent callers never wait on each other,
// and the ~20 µs start cost is negligible next to the kernels that ask for threads.
// Work items must be independent, so the result never depends on the thread count.
// A thread that cannot be created (pid or address-space limits) is not fatal: its chunk
// runs on the calling thread after the caller's own, with the same bounds and index, so
// the result is unchanged. While workers run, the caller keeps polling for an interrupt
// (lowdim/interrupt.h) and hands the call's stop flag to them.
#pragma once
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "lowdim/interrupt.h"

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
  CallState* call = current_call();
  std::mutex mu;
  std::condition_variable finished;
  std::size_t running = 0;
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  std::size_t started = 1;  // chunks [1, started) have a thread
  for (; started < workers; ++started) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++running;
    }
    try {
      threads.emplace_back([&, t = started] {
        {
          WorkerScope scope(call);
          run(t);
        }
        std::lock_guard<std::mutex> lock(mu);
        --running;
        finished.notify_one();
      });
    } catch (const std::exception&) {  // std::system_error, or bad_alloc for its state
      std::lock_guard<std::mutex> lock(mu);
      --running;
      break;  // no more threads now: the remaining chunks run inline below
    }
  }
  run(0);
  for (std::size_t t = started; t < workers; ++t) run(t);
  if (polls_here()) {
    std::unique_lock<std::mutex> lock(mu);
    while (running > 0) {
      if (finished.wait_for(lock, kPollInterval, [&] { return running == 0; })) break;
      lock.unlock();
      interrupt_requested();  // sets the stop flag the workers check
      lock.lock();
    }
  }
  for (auto& th : threads) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace lowdim
