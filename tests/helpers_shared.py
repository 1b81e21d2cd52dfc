"""Helpers several test files share (imported as a plain module: tests/ is on sys.path).

DLPackOnly: an array producer with only __dlpack__ (what CuPy-on-host or JAX offer).
run: compute dask collections on a client, bounded in time, and gather the results.
"""
from distributed import wait

DASK_TIMEOUT = 120


class DLPackOnly:
    """A producer with __dlpack__ and no __array__ (what CuPy-on-host or JAX offer)."""

    def __init__(self, arr):
        self._arr = arr

    def __dlpack__(self, **kwargs):
        return self._arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._arr.__dlpack_device__()


def run(client, *collections):
    futures = client.compute(list(collections))
    wait(futures, timeout=DASK_TIMEOUT)
    return client.gather(futures)
