"""pytest-benchmark micro-benchmarks: sizes and shared inputs.

LOWDIM_MICRO=smoke runs one tiny size (the CI smoke run: the suite cannot rot); the
default runs two small sizes. Every case is in a group "<kernel> n=<rows>" that holds
lowdim and its peers, so --benchmark-group-by=group prints them side by side.
"""
import os

import numpy as np
import pytest

SMOKE = os.environ.get("LOWDIM_MICRO") == "smoke"
SIZES = (64,) if SMOKE else (1000, 10000)
D = 32 if SMOKE else 128


def pytest_configure(config):
    if SMOKE:      # one round, no warm-up, no calibration: seconds for the whole suite
        config.option.benchmark_min_rounds = 1
        config.option.benchmark_max_time = 0.0
        config.option.benchmark_warmup = False
        config.option.benchmark_calibration_precision = 1


@pytest.fixture(params=SIZES, ids=lambda n: f"n={n}")
def X(request):
    return np.random.default_rng(request.param).standard_normal(
        (request.param, D)).astype(np.float32)


def group(benchmark, kernel, X):
    benchmark.group = f"{kernel} n={len(X)} d={X.shape[1]}"
