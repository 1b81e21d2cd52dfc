"""Threads in a shared world: thread-count validation and cap, surviving a failed thread
start, Ctrl-C during long kernels, the default count (affinity, cgroup quota,
OMP_NUM_THREADS), threadpoolctl, and skdim's n_jobs (issue 10).

Children run in subprocesses where the test needs a fresh interpreter (environment,
affinity, resource limits) or a real SIGINT; they use the backend/ISA of the variant.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import lowdim
from lowdim import _config, _cpus
from lowdim.id import _estimators

# Budget between the signal and the exception: the core polls every 20 ms; the rest is
# slack for a loaded shared machine.
_LATENCY = 2.0


def _child_env(**extra):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("LOWDIM_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)
    env["LOWDIM_BACKEND"] = lowdim.backend()
    if lowdim.backend() == "native":
        env["LOWDIM_ISA"] = lowdim.isa()
    env.update(extra)
    return env


def _child(code, timeout=120, **env):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=_child_env(**env), timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _once(variant):
    # Settings do not depend on the backend: one variant checks them (children are slow).
    if variant != "numpy":
        pytest.skip("thread settings are backend independent; checked on the numpy variant")


def _task_count():
    return len(os.listdir("/proc/self/task"))


# ---- validation and cap ------------------------------------------------------------------

@pytest.mark.parametrize("bad", [2**31, 2**16 + 1, 0, -1, 2.0, True])
def test_out_of_range_thread_counts_raise_the_same_value_error(bad):
    x = np.random.default_rng(0).standard_normal((20, 3))
    for call in (lambda: lowdim.mst(x, n_threads=bad), lambda: lowdim.knn(x, 2, n_threads=bad),
                 lambda: lowdim.fwht(np.ones((2, 8)), n_threads=bad),
                 lambda: lowdim.set_num_threads(bad)):
        with pytest.raises(ValueError, match=r"^n_threads must be a positive integer "
                                             r"\(at most 65536\) or None, got "):
            call()


def test_accepted_counts_are_capped_at_four_per_usable_cpu(variant):
    _once(variant)
    cap = 4 * _config.usable_cpus()
    assert _config.thread_cap() == cap
    assert _config.resolve_threads(2**16) == cap
    assert _config.resolve_threads(1) == 1
    x = np.random.default_rng(1).standard_normal((300, 16))
    d1, i1 = lowdim.knn(x, 3, n_threads=1)
    d2, i2 = lowdim.knn(x, 3, n_threads=1000)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(d1, d2)


# ---- a thread that cannot start -------------------------------------------------------------

def test_failed_thread_creation_runs_the_work_inline(variant):
    if variant == "numpy":
        pytest.skip("the numpy twin starts no threads")
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        # ASan's pthread_create maps its own thread state and aborts, instead of failing
        # the call, when an address-space limit refuses the mapping (1 run in 2 here).
        pytest.skip("an address-space limit aborts AddressSanitizer itself")
    # Under an address-space limit a new thread's 8 MiB stack cannot be mapped: the kernel
    # must neither std::terminate nor change its result. _core is called directly with
    # 1000 threads too, past the Python cap, so every chunk but the first needs a thread.
    out = _child("""
        import resource, threading, numpy as np, lowdim
        from lowdim import _config
        rng = np.random.default_rng(0)
        x = rng.standard_normal((3000, 32)).astype(np.float32)
        q = rng.standard_normal((400, 16))
        native = _config._core is not None and lowdim.backend() == "native"
        calls = [lambda t: lowdim.mst(x, n_threads=t), lambda t: lowdim.knn(q, 5, n_threads=t),
                 lambda t: lowdim.mst_length_batch(x[:1200].reshape(4, 300, 32), n_threads=t)]
        if native:   # past the Python cap: every chunk but the first wants a thread
            calls += [lambda t: _config._core.mst(x, t),
                      lambda t: _config._core.knn(q, q, 5, "sqeuclidean", True, t)]
        want = [call(1) for call in calls]
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) for l in f if l.startswith("VmSize")) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + (24 << 20), resource.RLIM_INFINITY))
        got = [call(1000) for call in calls]
        same = all(np.array_equal(a, b) for g, w in zip(got, want)
                   for a, b in zip(np.atleast_1d(g) if isinstance(g, np.ndarray) else g,
                                   np.atleast_1d(w) if isinstance(w, np.ndarray) else w))
        hold = threading.Event()                 # the limit really stops thread starts:
        try:                                     # 16 live threads need 16 stacks
            for _ in range(16):
                threading.Thread(target=hold.wait).start()
            limited = False
        except RuntimeError:
            limited = True
        hold.set()
        print(limited, same)
    """)
    assert out == "True True"


# ---- interruption ----------------------------------------------------------------------------

def test_sigint_stops_a_long_mst_length_within_the_latency_budget():
    code = """
        import sys, numpy as np, lowdim
        x = np.random.default_rng(0).standard_normal((30000, 256)).astype(np.float32)
        print("start", flush=True)
        lowdim.mst_length(x)          # minutes of work (131 s before the fix)
        print("finished", flush=True)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_child_env())
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        latency = time.monotonic() - sent
    finally:
        proc.kill()
        proc.wait()
    assert "KeyboardInterrupt" in err
    assert proc.returncode in (-signal.SIGINT, 1, 130), err
    assert latency < _LATENCY, latency


def test_sigint_stops_every_long_kernel_and_joins_its_threads(variant):
    if variant == "numpy":
        pytest.skip("numpy operations return to Python, which handles signals itself")
    if variant != f"native-{lowdim.available_isas()[-1]}":
        pytest.skip("the drivers poll for the interrupt, not the ISA's kernels: one ISA runs it")
    # A real SIGINT (from a timer thread) while the main thread is inside each kernel:
    # KeyboardInterrupt soon after, no thread left behind, and the input untouched.
    out = _child("""
        import json, os, signal, threading, time, numpy as np, lowdim
        rng = np.random.default_rng(0)
        x = rng.standard_normal((20000, 256)).astype(np.float32)
        keep = x.copy()
        # inputs built before any timer starts: the signal must land inside the kernel
        batch, tall = np.tile(x, (8, 1)).reshape(80, 2000, 256), np.tile(x, (3, 1))
        x16 = np.ascontiguousarray(x[:, :16])
        book = np.ascontiguousarray(np.tile(x[:4096, :16], (16, 1))[None])  # 65536 centroids
        bits = lowdim.binarize(np.tile(x, (10, 1)))           # 200000 codes: seconds of Hamming
        calls = {
            "mst_length": lambda: lowdim.mst_length(x),
            "mst": lambda: lowdim.mst(x),
            "mst_length_batch": lambda: lowdim.mst_length_batch(batch),
            "knn": lambda: lowdim.knn(tall, 10),
            "pq_fit": lambda: lowdim.ProductQuantizer(8, 8, n_iter=100000, random_state=0).fit(x),
            "pq_encode": lambda: lowdim.pq_encode(x16, book),
            "hamming_knn": lambda: lowdim.hamming_knn(bits, 10),
        }
        report = {}
        base = len(os.listdir("/proc/self/task"))
        for name, call in calls.items():
            fired = []
            def fire():
                fired.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGINT)
            timer = threading.Timer(0.3, fire)
            timer.start()
            try:
                call()
                report[name] = "finished"
                timer.cancel()
            except KeyboardInterrupt:
                late = time.monotonic() - fired[0] if fired else -1.0
                report[name] = [late, None]
            while timer.is_alive():         # a signal that lands here belongs to this call
                try:
                    timer.join()
                except KeyboardInterrupt:
                    pass
            if report[name] != "finished":
                report[name][1] = len(os.listdir("/proc/self/task")) - base
        report["untouched"] = bool(np.array_equal(x, keep))
        print(json.dumps(report))
    """, timeout=300)
    report = json.loads(out.splitlines()[-1])
    assert report.pop("untouched")
    for name, result in report.items():
        assert result != "finished", f"{name} ended before the signal: make it longer"
        late, extra_threads = result
        assert 0 <= late < _LATENCY, (name, late)      # -1: interrupted before the signal
        assert extra_threads == 0, (name, extra_threads)


class _Alarm(Exception):
    pass


def test_a_signal_handler_exception_aborts_the_kernel_in_process():
    # setitimer's SIGALRM handler runs only when the C++ poll calls PyErr_CheckSignals
    # (or, on the numpy backend, between numpy operations); its exception ends the call.
    def handler(signum, frame):
        raise _Alarm
    x = np.random.default_rng(2).standard_normal((20000, 128)).astype(np.float32)
    keep, before = x.copy(), _task_count()
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        t0 = time.monotonic()
        with pytest.raises(_Alarm):
            lowdim.mst_length(x)
        assert time.monotonic() - t0 < 0.3 + _LATENCY
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert _task_count() == before
    np.testing.assert_array_equal(x, keep)
    small = x[:300, :8]      # the next call is unaffected
    assert lowdim.mst_length(small) == pytest.approx(lowdim.mst_length(small.astype(np.float64)))


def test_kernels_called_from_other_threads_are_not_polled():
    # Only the main thread handles signals; a worker thread's call runs to completion.
    x = np.random.default_rng(3).standard_normal((500, 8))
    out = []
    t = threading.Thread(target=lambda: out.append(lowdim.mst_length(x)))
    t.start()
    t.join()
    assert out[0] == lowdim.mst_length(x)


# ---- the default thread count --------------------------------------------------------------

def test_default_follows_the_affinity_mask(variant):
    _once(variant)
    out = _child("""
        import os
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        import lowdim
        from lowdim import _config
        print(lowdim.get_num_threads(), _config.thread_cap(), _config.resolve_threads(100))
    """)
    assert out == "1 4 4"


@pytest.mark.parametrize("omp,lowdim_env,expected", [
    ("1", None, "1"), ("3,2", None, "3"), ("2", "3", "3"), (None, None, None)])
def test_omp_num_threads_is_honoured_when_lowdim_num_threads_is_unset(omp, lowdim_env,
                                                                      expected, variant):
    _once(variant)
    env = {k: v for k, v in (("OMP_NUM_THREADS", omp), ("LOWDIM_NUM_THREADS", lowdim_env))
           if v is not None}
    out = _child("import lowdim; print(lowdim.get_num_threads())", **env)
    assert out == (expected or str(_config.usable_cpus()))


def test_cgroup_quota_lowers_the_count(tmp_path, variant):
    _once(variant)
    v2 = tmp_path / "v2"
    (v2 / "app").mkdir(parents=True)
    (v2 / "app" / "cpu.max").write_text("150000 100000\n")
    (v2 / "cpu.max").write_text("max 100000\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/app\n")
    assert _cpus.cgroup_cpu_quota(proc, v2) == 1.5
    v1 = tmp_path / "v1"
    (v1 / "cpu,cpuacct" / "job").mkdir(parents=True)
    (v1 / "cpu,cpuacct" / "job" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu,cpuacct" / "job" / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("300000\n")
    (v1 / "cpu,cpuacct" / "cpu.cfs_period_us").write_text("100000\n")
    proc.write_text("4:memory:/job\n3:cpu,cpuacct:/job\n")
    assert _cpus.cgroup_cpu_quota(proc, v1) == 3.0
    proc.write_text("0::/\n")
    (v2 / "cpu.max").write_text("max 100000\n")
    assert _cpus.cgroup_cpu_quota(proc, v2) is None
    assert _cpus.cgroup_cpu_quota(tmp_path / "missing", v2) is None


# ---- threadpoolctl -----------------------------------------------------------------------------

@pytest.mark.skipif(_config._core is None, reason="threadpoolctl finds lowdim by its native library")
def test_threadpoolctl_lists_and_limits_lowdim(variant):
    _once(variant)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    default = lowdim.get_num_threads()
    info = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "lowdim"]
    assert len(info) == 1 and info[0]["num_threads"] == default
    assert info[0]["version"] == lowdim.__version__ or info[0]["version"] == "0.0.0"
    with threadpoolctl.threadpool_limits(1):
        assert lowdim.get_num_threads() == 1
        with threadpoolctl.threadpool_limits(limits=3, user_api="lowdim"):
            assert lowdim.get_num_threads() == min(3, _config.thread_cap())
        assert lowdim.get_num_threads() == 1
    assert lowdim.get_num_threads() == default
    assert _config._state["limit"] is None       # no leftover: the default still follows
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert lowdim.get_num_threads() == default


# ---- skdim's n_jobs --------------------------------------------------------------------------

def test_mle_n_jobs_maps_to_threads(variant):
    _once(variant)
    cpus = _config.usable_cpus()
    assert _estimators._threads(None, None) is None
    assert _estimators._threads(3, None) == 3
    assert _estimators._threads(None, -1) == cpus
    assert _estimators._threads(None, 2) == min(2, _config.thread_cap())
    if cpus > 1:
        assert _estimators._threads(None, -2) == cpus - 1
    for bad in (0, 1.5, "2", True, -cpus - 1):
        with pytest.raises(ValueError, match="n_jobs"):
            _estimators._threads(None, bad)
    x = np.random.default_rng(4).standard_normal((400, 5))
    want = lowdim.id.MLE().fit(x).dimension_
    assert lowdim.id.MLE().fit(x, n_jobs=-1).dimension_ == want
    assert lowdim.id.MLE().fit(x, n_jobs=2).dimension_ == want
    with pytest.raises(ValueError, match="n_jobs"):
        lowdim.id.MLE().fit(x, n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs"):
        lowdim.id.TwoNN().fit_pw(x, n_neighbors=10, n_jobs=0)


# ---- the MST team ------------------------------------------------------------------------------

@pytest.mark.parametrize("n,d,dtype", [(300, 4096, np.float32), (257, 3000, np.float64)])
def test_mst_team_with_more_pieces_than_blocks_is_bitwise_identical(n, d, dtype, variant):
    # Very wide points: a step has fewer blocks of 8 points than pieces, so some pieces are
    # empty, and the team (up to 4 threads per CPU) shares tiny steps.
    if variant == "numpy":
        pytest.skip("the numpy twin has no threads")
    x = np.random.default_rng(5).standard_normal((n, d)).astype(dtype)
    e1, l1 = lowdim.mst(x, n_threads=1)
    for t in (2, 3, 8):
        e2, l2 = lowdim.mst(x, n_threads=t)
        np.testing.assert_array_equal(e1, e2)
        np.testing.assert_array_equal(l1, l2)
    clouds = np.stack([x[:80], x[80:160], x[160:240]])
    np.testing.assert_array_equal(lowdim.mst_length_batch(clouds, n_threads=3),
                                  lowdim.mst_length_batch(clouds, n_threads=1))
