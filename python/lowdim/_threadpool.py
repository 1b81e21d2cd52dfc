"""threadpoolctl support: lowdim's kernels appear in threadpool_info() and obey
threadpool_limits(), as BLAS and OpenMP do (custom LibController API, threadpoolctl >= 3.5).

threadpoolctl finds controllers by the shared libraries a process has loaded: ours is
lowdim/_core*.so, told apart from other "_core" modules by its exported C symbol
lowdim_core_version. Without threadpoolctl, or without the native build (the numpy
backend starts no threads), there is nothing to register.
"""
from __future__ import annotations

import ctypes


def register() -> None:
    try:
        import threadpoolctl
    except ImportError:
        return
    if not hasattr(threadpoolctl, "register"):   # older than 3.5
        return

    class LowdimController(threadpoolctl.LibController):
        user_api = "lowdim"
        internal_api = "lowdim"
        filename_prefixes = ("_core",)
        check_symbols = ("lowdim_core_version",)

        def get_num_threads(self):
            from . import _config
            return _config.get_num_threads()

        def set_num_threads(self, num_threads):
            # Restoring the value seen on entry (what threadpool_limits does on exit) must
            # leave no limit behind, so the default keeps following affinity and settings.
            from . import _config
            _config._check_threads(num_threads)
            _config._state["limit"] = None
            if num_threads != _config.get_num_threads():
                _config._state["limit"] = num_threads

        def get_version(self):
            fn = getattr(self.dynlib, "lowdim_core_version", None)
            if fn is None:
                return None
            fn.restype = ctypes.c_char_p
            return fn().decode()

    threadpoolctl.register(LowdimController)
