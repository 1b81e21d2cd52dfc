// Ctrl-C for native kernels: run_nogil() releases the GIL around a kernel call inside a
// lowdim::InterruptScope whose poll briefly takes the GIL back and runs PyErr_CheckSignals
// (as faiss's PythonInterruptCallback does). A handler that raises (KeyboardInterrupt from
// SIGINT, anything from a user's handler) stops the kernel, whose threads are joined; the
// exception then propagates from the binding. Signals are only handled on Python's main
// thread, so other threads run without a poll (taking the GIL would only cost them).
#pragma once
#include <pybind11/pybind11.h>

#include "lowdim/interrupt.h"

namespace lowdim_py {

inline unsigned long& main_thread_ident() {
  static unsigned long ident = 0;
  return ident;
}

inline bool poll_python_signals() {
  const PyGILState_STATE gil = PyGILState_Ensure();
  const bool raised = PyErr_CheckSignals() != 0;
  PyGILState_Release(gil);
  return raised;
}

// Call with the GIL held; fn runs without it. Outputs must be fresh arrays (or copies) so
// that an interrupted call leaves nothing half-written behind.
template <class Fn>
void run_nogil(Fn&& fn) {
  const bool main = PyThread_get_thread_ident() == main_thread_ident();
  lowdim::InterruptScope scope(main ? &poll_python_signals : nullptr);
  {
    pybind11::gil_scoped_release release;
    fn();
  }
  // A poll while the last workers finished may have seen the signal after every check:
  // its exception is pending, so it must be raised even though the work is complete.
  if (scope.stopped()) throw lowdim::Interrupted();
}

// Module init: remember the main thread, map lowdim::Interrupted to the pending exception.
inline void register_interrupt(pybind11::module_&) {
  main_thread_ident() = pybind11::module_::import("threading")
                            .attr("main_thread")()
                            .attr("ident")
                            .cast<unsigned long>();
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const lowdim::Interrupted&) {
      if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });
}

}  // namespace lowdim_py
