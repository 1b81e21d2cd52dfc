// What every bindings file needs: C-contiguous typed numpy arrays (pybind11 copies or casts
// anything else, so the kernels always see dense rows) and the one-line guard that turns a
// violated precondition into ValueError. Python validated the input already; these guards
// only keep a direct call of lowdim._core from reaching a kernel with bad sizes.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace lowdim_py {

template <class T>
using CArray = pybind11::array_t<T, pybind11::array::c_style>;

inline void require(bool ok, const char* what) {
  if (!ok) throw pybind11::value_error(what);
}

}  // namespace lowdim_py
