// Cancellation state of the current kernel call (see lowdim/interrupt.h): a thread-local
// pointer to the call's stop flag, plus whether this thread opened the call (and may poll).
// Out of line on purpose: ISA translation units must not each emit their own copy.
#include "lowdim/interrupt.h"

#include <algorithm>

namespace lowdim {
namespace {
thread_local CallState* t_call = nullptr;
thread_local bool t_owner = false;
}  // namespace

InterruptScope::InterruptScope(InterruptPoll poll) : saved_call_(t_call), saved_owner_(t_owner) {
  state_.poll = poll;
  state_.next_poll = std::chrono::steady_clock::now() + kPollInterval;
  t_call = &state_;
  t_owner = true;
}

InterruptScope::~InterruptScope() {
  t_call = saved_call_;
  t_owner = saved_owner_;
}

WorkerScope::WorkerScope(CallState* call) : saved_call_(t_call), saved_owner_(t_owner) {
  t_call = call;
  t_owner = false;
}

WorkerScope::~WorkerScope() {
  t_call = saved_call_;
  t_owner = saved_owner_;
}

CallState* current_call() { return t_call; }

bool polls_here() { return t_call != nullptr && t_owner && t_call->poll != nullptr; }

bool interrupt_requested() {
  CallState* call = t_call;
  if (call == nullptr) return false;
  if (call->stop.load(std::memory_order_relaxed)) return true;
  if (!t_owner || call->poll == nullptr) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now < call->next_poll) return false;
  const bool stop = call->poll();
  // The binding's poll waits for the GIL, which a busy Python thread may hold for its
  // switch interval (5 ms): keep polling to <= 5% of this thread's time whatever it costs.
  const auto done = std::chrono::steady_clock::now();
  call->next_poll = done + std::max<std::chrono::steady_clock::duration>(kPollInterval,
                                                                           20 * (done - now));
  if (!stop) return false;
  call->stop.store(true, std::memory_order_relaxed);
  return true;
}

void check_interrupt() {
  if (interrupt_requested()) throw Interrupted();
}

}  // namespace lowdim
