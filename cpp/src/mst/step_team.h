// StepTeam: helpers for a long loop of short parallel steps (one Prim step per tree point,
// tens of µs each). The driver (calling thread) publishes a step as `chunks` pieces of work;
// the driver and any helper that is awake claim pieces from a shared ticket, so a helper
// that is descheduled on a busy machine delays nobody (the driver takes its pieces). Idle
// helpers spin for a few µs, then sleep on a condition variable: no CPU burnt between calls
// or while the driver runs alone. The driver times its own pieces against the step's wall
// time and reports when the team no longer clearly beats one thread (worth_it()).
// Which thread computes a piece never changes what is computed: results stay bitwise equal.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LOWDIM_CPU_RELAX() _mm_pause()
#else
#define LOWDIM_CPU_RELAX() ((void)0)
#endif

namespace lowdim {

class StepTeam {
 public:
  using PieceFn = void (*)(void* ctx, std::size_t piece);

  // Driver: fn(ctx, c) for every c in [0, pieces); returns when all are done.
  void run_step(std::size_t pieces, PieceFn fn, void* ctx) {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    const std::uint64_t s = ++step_;
    fn_ = fn, ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    limit_.store(s << kIndexBits | pieces, std::memory_order_relaxed);
    next_.store(s << kIndexBits, std::memory_order_release);
    if (pieces > 1) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        gen_.store(s, std::memory_order_release);
      }
      wake_.notify_all();
    }
    std::size_t c, mine = 0;
    clock::duration own{};
    while (claim(s, c)) {
      const auto a = clock::now();
      fn(ctx, c);
      own += clock::now() - a;
      ++mine;
      done_.fetch_add(1, std::memory_order_release);
    }
    for (unsigned spin = 0; done_.load(std::memory_order_acquire) < pieces; ++spin) {
      if (spin < 4096) LOWDIM_CPU_RELAX();
      else std::this_thread::yield();   // a helper was preempted inside its piece
    }
    window_wall_ += clock::now() - t0;
    window_own_ += own, window_mine_ += mine, window_all_ += pieces;
    if (++window_steps_ == kWindow) judge();
  }

  // False once a window of steps took longer than the driver alone would have (its own
  // time per piece × all pieces): a busy machine, or too little work per step.
  bool worth_it() const { return worth_it_; }

  // Helper thread body: serve steps until dissolve().
  void serve() {
    std::uint64_t seen = 0;
    for (;;) {
      const std::uint64_t s = wait_for_step(seen);
      if (s == 0) return;
      seen = s;
      std::size_t c;
      while (claim(s, c)) {
        fn_(ctx_, c);
        done_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  // Driver: release the helpers (they return from serve()).
  void dissolve() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
  }

 private:
  static constexpr unsigned kIndexBits = 24;  // ticket = step << 24 | next piece
  static constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kIndexBits) - 1;
  static constexpr unsigned kWindow = 32;
  // The team must beat the driver alone by 10%: a tie costs the helpers' CPU for nothing.
  static constexpr double kMargin = 0.9;
  // About one step's duration at the team's smallest work: a helper that just finished
  // catches the next step without the ~50 µs futex wake-up, and stops burning CPU after.
  static constexpr std::chrono::microseconds kSpin{30};

  // Takes the next piece of step s, if s is still current and a piece is left. A CAS,
  // not fetch_add: a helper late from step s-1 must not consume a ticket of step s.
  bool claim(std::uint64_t s, std::size_t& piece) {
    std::uint64_t t = next_.load(std::memory_order_acquire);
    for (;;) {
      if ((t >> kIndexBits) != s) return false;
      const std::uint64_t lim = limit_.load(std::memory_order_acquire);
      if ((lim >> kIndexBits) != s || (t & kIndexMask) >= (lim & kIndexMask)) return false;
      if (next_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        piece = static_cast<std::size_t>(t & kIndexMask);
        return true;
      }
    }
  }

  // A step newer than `seen`, or 0 after dissolve().
  std::uint64_t wait_for_step(std::uint64_t seen) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (unsigned spin = 0;; ++spin) {
      if (quit_.load(std::memory_order_acquire)) return 0;
      const std::uint64_t g = gen_.load(std::memory_order_acquire);
      if (g != seen) return g;
      LOWDIM_CPU_RELAX();
      if (spin % 64 == 63 && std::chrono::steady_clock::now() > until) break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock, [&] {
      return quit_.load(std::memory_order_relaxed) ||
             gen_.load(std::memory_order_relaxed) != seen;
    });
    return quit_.load(std::memory_order_relaxed) ? 0 : gen_.load(std::memory_order_relaxed);
  }

  void judge() {
    if (window_mine_ > 0) {
      const double serial = std::chrono::duration<double>(window_own_).count() /
                            static_cast<double>(window_mine_) * static_cast<double>(window_all_);
      if (std::chrono::duration<double>(window_wall_).count() >= kMargin * serial)
        worth_it_ = false;
    }
    window_wall_ = window_own_ = {};
    window_mine_ = window_all_ = window_steps_ = 0;
  }

  std::atomic<std::uint64_t> next_{0}, limit_{0}, gen_{0};
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> quit_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  PieceFn fn_ = nullptr;
  void* ctx_ = nullptr;
  // Driver-only state.
  std::uint64_t step_ = 0;
  bool worth_it_ = true;
  std::chrono::steady_clock::duration window_wall_{}, window_own_{};
  std::size_t window_mine_ = 0, window_all_ = 0;
  unsigned window_steps_ = 0;
};

}  // namespace lowdim
