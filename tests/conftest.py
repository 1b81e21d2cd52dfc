"""Every test runs once per backend: numpy, native-scalar, native-avx2 (those available).

The autouse fixture switches lowdim's backend and ISA around each test and restores
them afterwards, so a test written once checks every kernel variant.
"""
import os

import numpy as np
import pytest

import lowdim
from lowdim import _config


def _variants():
    out = ["numpy"]
    # LOWDIM_BACKEND=numpy runs the suite on the fallback only (what a build without a
    # compiler gets); otherwise every native ISA runs too.
    if _config._core is not None and lowdim.backend() == "native":
        out += [f"native-{isa}" for isa in lowdim.available_isas()]
    return out


VARIANTS = _variants()


def pytest_addoption(parser):
    # tests/test_hostile.py: "ci" is small and derandomized (reproducible, ~1-2 min);
    # "long" draws many more random cases for a local hunt.
    parser.addoption("--sweep", choices=("ci", "long"),
                     default=os.environ.get("LOWDIM_SWEEP", "ci"),
                     help="size of the hostile-input sweep (default: $LOWDIM_SWEEP or ci)")


@pytest.fixture(params=VARIANTS, autouse=True)
def variant(request):
    """The backend/ISA this test runs on, e.g. 'numpy' or 'native-avx2'."""
    saved_backend, saved_isa = lowdim.backend(), (
        _config._core.isa() if _config._core is not None else None)
    name = request.param
    if name == "numpy":
        lowdim.set_backend("numpy")
    else:
        lowdim.set_backend("native")
        lowdim.set_isa(name.split("-", 1)[1])
    yield name
    if saved_isa is not None:
        lowdim.set_backend("native")
        lowdim.set_isa(saved_isa)
    lowdim.set_backend(saved_backend)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def dask_client():
    """One distributed.LocalCluster (2 worker processes × 1 thread) for every test that
    needs one (test_dask, test_report_stream): starting it is the cost, so it is shared."""
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)
    client = Client(cluster)
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
    cluster.close()
