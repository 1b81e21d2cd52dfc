"""Settings: which backend and ISA run the kernels, and how many threads they use.

The backend is "native" (lowdim._core, C++) when it was built and imported, else
"numpy" (lowdim._ref, the executable spec). LOWDIM_BACKEND=numpy forces the fallback,
LOWDIM_ISA picks an instruction set, LOWDIM_NUM_THREADS (else OMP_NUM_THREADS) the default
thread count, which otherwise is the number of CPUs this process may use (_cpus.py).
These settings are the only global state in lowdim.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import sys
import warnings
from typing import Any

from . import _cpus, _ref, _threadpool

try:
    from . import _core  # type: ignore[attr-defined]  # compiled, no stubs
    _native_error = None
except ImportError as exc:  # no compiler at install time, or a broken build
    _core = None
    if importlib.util.find_spec(f"{__package__}._core") is None:
        _native_error = "lowdim._core was not built (no C++ compiler at install time?)"
    else:
        _native_error = f"lowdim._core failed to load: {exc}"

_BACKENDS = ("native", "numpy")
# n_threads: set_num_threads() or the environment; limit: threadpoolctl's threadpool_limits.
_state: dict[str, Any] = {"backend": "native" if _core is not None else "numpy",
                          "n_threads": None, "limit": None}
# n_threads= above this is a mistake, not a request (ValueError on both backends).
MAX_THREADS = 1 << 16
# Accepted counts are capped at this many threads per usable CPU: more never speeds up a
# kernel (no kernel waits on I/O), but each thread costs its start-up and 8 MiB of address
# space for its stack, which an address-space limit may not have. Four per CPU still
# lets a benchmark oversubscribe on purpose.
THREADS_PER_CPU = 4


def _apply_environment() -> None:
    wanted = os.environ.get("LOWDIM_BACKEND", "").strip().lower()
    if wanted == "numpy":
        _state["backend"] = "numpy"
    elif wanted not in ("", "native"):
        warnings.warn(f"LOWDIM_BACKEND={wanted!r} is not one of {_BACKENDS}; ignored",
                      RuntimeWarning, stacklevel=2)
    isa_env = os.environ.get("LOWDIM_ISA", "").strip().lower()
    if isa_env and _core is not None and isa_env not in _core.available_isas():
        warnings.warn(f"LOWDIM_ISA={isa_env!r} is not available here "
                      f"(available: {_core.available_isas()}); using {_core.isa()!r}",
                      RuntimeWarning, stacklevel=2)
    # OMP_NUM_THREADS is what Dask, loky/joblib workers and batch schedulers set to keep
    # every numeric library in a worker to its share; it may be a list per nesting level.
    for var in ("LOWDIM_NUM_THREADS", "OMP_NUM_THREADS"):
        threads_env = os.environ.get(var, "").strip()
        if not threads_env:
            continue
        first = threads_env.split(",")[0].strip() if var == "OMP_NUM_THREADS" else threads_env
        try:
            set_num_threads(int(first))
        except (ValueError, TypeError):
            warnings.warn(f"{var}={threads_env!r} is not a positive integer; ignored",
                          RuntimeWarning, stacklevel=2)
            continue
        break


def kernels() -> Any:
    """The module that runs kernels now: lowdim._core or lowdim._ref."""
    return _core if _state["backend"] == "native" else _ref


def backend() -> str:
    """'native' or 'numpy'.

    Examples
    --------
    >>> import lowdim
    >>> lowdim.backend() in ("native", "numpy")
    True
    """
    return str(_state["backend"])


def set_backend(name: str) -> None:
    """Switch between the C++ kernels ('native') and the numpy fallback ('numpy').

    Both give the same answers for the same seed; LOWDIM_BACKEND sets it at import.

    Examples
    --------
    >>> import lowdim
    >>> before = lowdim.backend()
    >>> lowdim.set_backend("numpy")
    >>> lowdim.backend(), lowdim.isa()
    ('numpy', 'numpy')
    >>> lowdim.set_backend(before)
    """
    if name not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {name!r}")
    if name == "native" and _core is None:
        raise RuntimeError(f"the native backend is not available: {_native_error}")
    _state["backend"] = name


def available_isas() -> list[str]:
    """Instruction sets this build contains and this CPU runs, worst to best.

    Empty without the C++ build.

    Examples
    --------
    >>> import lowdim
    >>> isas = lowdim.available_isas()       # e.g. ['scalar', 'avx2', 'avx512']
    >>> isas == [] or isas[0] == "scalar"
    True
    """
    return list(_core.available_isas()) if _core is not None else []


def isa() -> str:
    """The active instruction set, or 'numpy' when the numpy backend runs.

    Examples
    --------
    >>> import lowdim
    >>> lowdim.isa() in lowdim.available_isas() + ["numpy"]
    True
    """
    return _core.isa() if _state["backend"] == "native" else "numpy"


def set_isa(name: str) -> None:
    """Select the instruction set of the native kernels (see available_isas()).

    LOWDIM_ISA sets it at import; every ISA gives the same answers.

    Examples
    --------
    >>> import lowdim
    >>> if lowdim.backend() == "native":        # the C++ build is there
    ...     before = lowdim.isa()
    ...     lowdim.set_isa("scalar")            # e.g. to time the SIMD kernels against it
    ...     assert lowdim.isa() == "scalar"
    ...     lowdim.set_isa(before)
    """
    if _core is None:
        raise RuntimeError(f"the native backend is not available: {_native_error}")
    if not isinstance(name, str) or not _core.set_isa(name.lower()):
        raise ValueError(f"unknown or unsupported ISA {name!r}; "
                         f"available: {_core.available_isas()}")


def get_num_threads() -> int:
    """Default number of threads for kernels.

    A threadpoolctl limit if one is active, else set_num_threads(), LOWDIM_NUM_THREADS or
    OMP_NUM_THREADS, else the CPUs this process may use (affinity mask and cgroup CPU
    quota, see usable_cpus()); never more than THREADS_PER_CPU × usable_cpus().

    Examples
    --------
    >>> import lowdim
    >>> lowdim.get_num_threads() >= 1
    True
    """
    wanted = _state["limit"] or _state["n_threads"]
    return min(wanted, thread_cap()) if wanted else usable_cpus()


def set_num_threads(n: int) -> None:
    """Set the default number of threads for kernels; per-call n_threads= overrides it.

    Results do not depend on the thread count.

    Examples
    --------
    >>> import lowdim
    >>> before = lowdim.get_num_threads()
    >>> lowdim.set_num_threads(1)
    >>> lowdim.get_num_threads()
    1
    >>> lowdim.set_num_threads(before)
    """
    _check_threads(n)
    _state["n_threads"] = n


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask (taskset, cpusets), lowered to
    the cgroup CPU quota (docker --cpus, Kubernetes limits) when there is one."""
    return _cpus.usable_cpus()


def thread_cap() -> int:
    """Most threads a kernel call starts: THREADS_PER_CPU × usable_cpus()."""
    return THREADS_PER_CPU * usable_cpus()


def _check_threads(n_threads: object) -> None:
    if (isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1
            or n_threads > MAX_THREADS):
        raise ValueError(f"n_threads must be a positive integer (at most {MAX_THREADS}) or "
                         f"None, got {n_threads!r}")


def resolve_threads(n_threads: int | None) -> int:
    """Validate a per-call n_threads (None = the default) and cap it at thread_cap().

    Results never depend on the thread count, so the cap only changes speed.
    """
    if n_threads is None:
        return get_num_threads()
    _check_threads(n_threads)
    return min(int(n_threads), thread_cap())


def config() -> dict[str, Any]:
    """Everything show_config() prints, as a dict.

    Examples
    --------
    >>> import lowdim
    >>> info = lowdim.config()
    >>> info["backend"] == lowdim.backend() and info["threads"] == lowdim.get_num_threads()
    True
    """
    from . import __version__
    info: dict[str, Any] = {
        "version": __version__,
        "backend": backend(),
        "isa": isa(),
        "available_isas": available_isas(),
        "threads": get_num_threads(),
        "usable_cpus": usable_cpus(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    if _core is not None:
        build = _core.build_info()
        info.update(compiler=build["compiler"], compiled_isas=list(build["compiled_isas"]),
                    build_type=build["build_type"])
    else:
        info["native_unavailable"] = _native_error
    return info


# The report on the built-in sample: ~9 s native, ~110 s numpy (issue 18, 2-core EPYC).
NUMPY_SLOWDOWN = "about 10x slower"
FIX_COMMAND = "pip install --force-reinstall --no-cache-dir ."


def native_missing_note() -> str:
    """The notice of a numpy-backend install: what is missing, why, the cost and the fix."""
    return (f"lowdim: the native (C++) build is missing: {_native_error}. Running the numpy "
            f"backend, {NUMPY_SLOWDOWN}. Fix: {FIX_COMMAND} (with a C++ compiler installed).")


def show_config() -> None:
    """Print version, backend, ISA, threads, compiler and build flags.

    Examples
    --------
    >>> import contextlib, io, lowdim
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     lowdim.show_config()        # prints "         backend: native", ...
    >>> "backend: " + lowdim.backend() in out.getvalue()
    True
    """
    info = config()
    if _core is None:
        print(native_missing_note())
    for key, value in info.items():
        print(f"{key:>16}: {value}")


_apply_environment()
_threadpool.register()
