// Cooperative cancellation of a kernel call (Ctrl-C), without any Python in the core.
// The thread that calls a kernel opens an InterruptScope with a poll function (the Python
// binding installs one that checks for pending signals). Kernels call check_interrupt() at
// block boundaries: on the calling thread it runs the poll at most every kPollInterval, on
// worker threads it only reads the call's stop flag (parallel_for hands the call to them).
// A stop throws Interrupted on every thread that checks; parallel_for joins, then rethrows.
// Same shape as faiss's InterruptCallback (faiss/impl/AuxIndexStructures.h), own code.
#pragma once
#include <atomic>
#include <chrono>
#include <exception>

namespace lowdim {

// Returns true when the call should stop. Called only on the thread that opened the scope.
using InterruptPoll = bool (*)();

struct Interrupted : std::exception {
  const char* what() const noexcept override { return "lowdim: kernel call interrupted"; }
};

// Poll cadence: a human sees 20 ms as immediate; a poll costs ~1 µs (the binding's poll
// takes the GIL). When it costs more (another Python thread holds the GIL), the next poll
// waits 20× as long as this one took, so polling never takes more than 5% of the thread.
constexpr std::chrono::milliseconds kPollInterval{20};

struct CallState {
  std::atomic<bool> stop{false};
  InterruptPoll poll = nullptr;
  std::chrono::steady_clock::time_point next_poll{};
};

// RAII on the calling thread; nests (the previous scope is restored on exit).
class InterruptScope {
 public:
  explicit InterruptScope(InterruptPoll poll);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  bool stopped() const { return state_.stop.load(std::memory_order_relaxed); }

 private:
  CallState state_;
  CallState* saved_call_;
  bool saved_owner_;
};

// RAII on a worker thread: checks read `call`'s flag, never poll.
class WorkerScope {
 public:
  explicit WorkerScope(CallState* call);
  ~WorkerScope();
  WorkerScope(const WorkerScope&) = delete;
  WorkerScope& operator=(const WorkerScope&) = delete;

 private:
  CallState* saved_call_;
  bool saved_owner_;
};

CallState* current_call();     // nullptr outside any scope (direct C++ callers)
bool polls_here();             // this thread owns the current call and it has a poll
bool interrupt_requested();    // polls when due (owner thread), else reads the flag
void check_interrupt();        // throws Interrupted when interrupt_requested()

}  // namespace lowdim
