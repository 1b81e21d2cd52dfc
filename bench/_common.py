"""Shared helpers for the side-by-side benchmarks in bench/.

Each bench_<kernel>.py times lowdim and its peers in one process, on one machine, and
writes bench/results/<kernel>.md; bench/run_all.py joins them into bench/RESULTS.md
under the machine line. Peers that are not installed are reported as such, not skipped
silently.
"""
from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).parent / "results"


def machine_line() -> str:
    """CPU model, cores, memory, numpy/BLAS and lowdim backend, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import lowdim
    blas = ""
    try:
        from threadpoolctl import threadpool_info
        blas = "; ".join(f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    return (f"{cpu}; {os.cpu_count()} cores; {mem_gib:.0f} GiB; python {platform.python_version()}; "
            f"numpy {np.__version__} (BLAS: {blas or 'unknown'}); lowdim {lowdim.__version__} "
            f"backend={lowdim.backend()} isa={lowdim.isa()} threads={lowdim.get_num_threads()}")


def best_time(fn, *, repeat: int = 5, min_time: float = 0.0) -> float:
    """Best wall time of `repeat` calls (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if min_time and sum(times) > min_time:
            break
    return min(times)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def measure_memory(fn) -> float:
    """Peak memory (MiB) fn() adds on top of what the process holds when it starts.

    fn runs in a forked child that first resets its high-water mark (writing 5 to
    /proc/self/clear_refs, Linux >= 4.0), so earlier peaks (building the input, a peer
    run before) do not hide fn's own; elsewhere the growth of ru_maxrss is used.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            Path("/proc/self/clear_refs").write_text("5")
            before = _status_kib("VmRSS")
            fn()
            extra = (_status_kib("VmHWM") - before) / 1024
        except OSError:
            before = peak_rss_mib()
            fn()
            extra = peak_rss_mib() - before
        os.write(w, f"{extra}".encode())
        os._exit(0)
    os.close(w)
    data = os.read(r, 64)
    os.waitpid(pid, 0)
    return float(data or 0.0)


def peak_fma_gflops(threads: int) -> float | None:
    """This machine's float32 FMA peak (GFLOP/s) on `threads` threads: the best of several
    runs of lowdim._core.fma_probe, a pure-FMA loop in the active ISA's widest registers.
    None on the numpy backend."""
    from lowdim import _config
    if _config._core is None or not hasattr(_config._core, "fma_probe"):
        return None
    rates = []
    for _ in range(7):
        t0 = time.perf_counter()
        flops = _config._core.fma_probe(10_000_000, threads)
        rates.append(flops / (time.perf_counter() - t0) / 1e9)
    return max(rates)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_section(name: str, title: str, body: str, *, limits: bool = True) -> Path:
    """Write bench/results/<name>.md (one kernel family's section of RESULTS.md).

    Every section names the machine's ceilings (issue 17): unless the body already has
    the line of bench/_limits.py (or `limits` is False, for a bench that measures them
    row by row), they are measured now, on lowdim's thread count, and put first.
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    if limits and "Limits (" not in body:
        from _limits import measure
        import lowdim
        body = measure(lowdim.get_num_threads()).header() + "\n\n" + body.strip()
    path.write_text(f"## {title}\n\nMachine: {machine_line()}\n\n{body.strip()}\n")
    print(path.read_text())
    return path
