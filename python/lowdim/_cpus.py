"""How many CPUs this process may use: the affinity mask, lowered to a cgroup CPU quota.

os.cpu_count() counts the machine's CPUs, which oversubscribes under taskset/cpusets and
in containers whose CPU share is a quota (docker --cpus=2, Kubernetes limits): a quota of
200000 µs per 100000 µs period is 2 CPUs however many the mask shows. cgroup v2 keeps it
in cpu.max ("max" = none), v1 in cpu.cfs_quota_us / cpu.cfs_period_us (-1 = none); the
tightest quota on the way from the process's cgroup up to the root applies.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

_quota_cache: dict = {}


def usable_cpus() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not Linux
        n = os.cpu_count() or 1
    if "quota" not in _quota_cache:      # files read once: quotas rarely change mid-run
        _quota_cache["quota"] = cgroup_cpu_quota()
    quota = _quota_cache["quota"]
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


def cgroup_cpu_quota(proc_cgroup="/proc/self/cgroup", root="/sys/fs/cgroup"):
    """CPUs allowed by the cgroup quota (a float), or None when there is no quota."""
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    best = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":                                   # cgroup v2
            dirs = [Path(root)]
            reader = _v2_quota
        elif "cpu" in controllers.split(","):                   # cgroup v1
            dirs = [Path(root) / controllers, Path(root) / "cpu", Path(root) / "cpu,cpuacct"]
            reader = _v1_quota
        else:
            continue
        for base in dirs:
            for quota in _walk_up(base, path, reader):
                best = quota if best is None else min(best, quota)
    return best


def _walk_up(base: Path, path: str, reader):
    rel = Path(path.lstrip("/"))
    while True:
        quota = reader(base / rel)
        if quota is not None:
            yield quota
        if rel == Path("."):
            return
        rel = rel.parent


def _v2_quota(d: Path):
    try:
        fields = (d / "cpu.max").read_text().split()
        return None if fields[0] == "max" else int(fields[0]) / int(fields[1])
    except (OSError, ValueError, IndexError, ZeroDivisionError):
        return None


def _v1_quota(d: Path):
    try:
        quota = int((d / "cpu.cfs_quota_us").read_text())
        period = int((d / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None
