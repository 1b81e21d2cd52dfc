"""The machine's limits, measured in the bench process itself, for every bench section.

A bench figure means little without the ceiling it runs against: each section prints the
CPU model, lowdim's dispatch level, the cache sizes (sysfs), numpy's float32 matmul rate
and the copy bandwidth on the same threads, and the kernel's fraction of each (issue 17).
On a shared machine wall time is noisy, so the matmul rate is also given per CPU-second.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def cpu_model() -> str:
    """The `model name` line of /proc/cpuinfo (the machine's CPU, never used to tune)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def cpu_flags() -> str:
    """The SIMD features that decide lowdim's dispatch, as the kernel sees them."""
    want = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
            "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return "+".join(f for f in want if f in have) or "none of AVX2/AVX-512"
    except OSError:
        pass
    return "unknown"


def cache_sizes() -> str:
    """Data/unified cache sizes of CPU 0 from sysfs (what lowdim's tile choice reads)."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    parts = []
    for idx in sorted(base.glob("index*")):
        try:
            kind = (idx / "type").read_text().strip()
            if kind == "Instruction":
                continue
            parts.append(f"L{(idx / 'level').read_text().strip()} {(idx / 'size').read_text().strip()}")
        except OSError:
            continue
    return ", ".join(parts) or "unknown"


def load_average() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def matmul_rate(threads: int, size: int = 2048, repeat: int = 3) -> tuple[float, float]:
    """numpy float32 matmul (size³) on `threads` BLAS threads: (best wall GFLOP/s, best
    GFLOP/s per CPU-second of the whole process — the rate one core delivers when busy)."""
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    flops = 2 * size**3
    wall, cpu = [], []
    with threadpool_limits(threads):
        a @ a
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            a @ a
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return flops / min(wall) / 1e9, flops / min(cpu) / 1e9


def copy_bandwidth(threads: int, mib: int = 256, repeat: int = 5) -> float:
    """Best GB/s (read + write bytes) of copying a `mib` MiB float32 array, split into
    `threads` contiguous chunks copied in parallel (numpy releases the GIL for copies)."""
    n = mib * 2**20 // 4
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    bounds = np.linspace(0, n, threads + 1).astype(np.int64)

    def part(i: int) -> None:
        np.copyto(dst[bounds[i]:bounds[i + 1]], src[bounds[i]:bounds[i + 1]])
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(part, range(threads)))
        for _ in range(repeat):
            t0 = time.perf_counter()
            list(pool.map(part, range(threads)))
            best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


@dataclass
class Limits:
    """One measurement of the machine's ceilings, taken once per bench process."""
    threads: int
    cpu: str
    flags: str
    caches: str
    isa: str
    matmul_wall: float       # GFLOP/s, numpy float32 matmul, `threads` threads
    matmul_cpu: float        # GFLOP/s per CPU-second
    fma_probe: float | None  # GFLOP/s, lowdim's pure-FMA loop
    copy_gbs: float          # GB/s, read + write
    load: str

    def header(self) -> str:
        probe = f"{self.fma_probe:.0f} GFLOP/s" if self.fma_probe else "n/a"
        return (f"Limits ({self.threads} threads, load average {self.load}): {self.cpu}, "
                f"{self.flags}, caches {self.caches}, lowdim dispatch `{self.isa}`; numpy "
                f"float32 matmul {self.matmul_wall:.0f} GFLOP/s wall ({self.matmul_cpu:.0f} "
                f"per CPU-second), lowdim FMA probe {probe}, copy bandwidth "
                f"{self.copy_gbs:.1f} GB/s.")

    def flop_fraction(self, gflops: float, gflops_cpu: float | None = None) -> str:
        """A kernel's rate as a fraction of the matmul rate (and of the FMA probe)."""
        txt = f"{gflops:.0f} GFLOP/s = {gflops / self.matmul_wall:.0%} of numpy matmul"
        if gflops_cpu is not None:
            txt += (f" ({gflops_cpu:.0f} per CPU-second = "
                    f"{gflops_cpu / self.matmul_cpu:.0%} of matmul per CPU-second)")
        if self.fma_probe:
            txt += f", {gflops / self.fma_probe:.0%} of the FMA probe"
        return txt

    def byte_fraction(self, gbs: float) -> str:
        """A kernel's memory traffic as a fraction of the copy bandwidth."""
        return f"{gbs:.1f} GB/s = {gbs / self.copy_gbs:.0%} of the copy bandwidth"


def measure(threads: int) -> Limits:
    """Measure the ceilings now (a few seconds); print the header line."""
    import lowdim
    from _common import peak_fma_gflops
    wall, cpu = matmul_rate(threads)
    lim = Limits(threads, cpu_model(), cpu_flags(), cache_sizes(), lowdim.isa(), wall, cpu,
                 peak_fma_gflops(threads), copy_bandwidth(threads), load_average())
    print(lim.header(), flush=True)
    return lim
