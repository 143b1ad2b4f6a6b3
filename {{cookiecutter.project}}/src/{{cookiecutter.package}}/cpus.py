"""How many threads XGBoost may use: the CPUs this process may actually run on.

Not the host's core count: a CPU affinity mask (taskset, a container's cpuset) or a cgroup CPU
quota (docker --cpus, Kubernetes limits, a CI runner) can leave fewer, and more threads than CPUs
make XGBoost's synchronised threads wait on each other. OMP_NUM_THREADS, when set, caps it further.
Training, which keeps every thread busy for seconds to minutes, also leaves alone a CPU that
another process is keeping busy right now: its threads would otherwise wait for the slowest one.
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

SAMPLE_SECONDS = 0.1  # how long training_threads watches the CPUs before choosing


@cache
def usable_cpus() -> int:
    from joblib import cpu_count  # scikit-learn's dependency: reads the affinity mask and cgroup v1/v2 quotas

    usable = max(1, cpu_count())
    requested = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return min(usable, int(requested)) if requested.isdigit() and int(requested) > 0 else usable


def training_threads() -> int:
    """usable_cpus, less the CPUs of ours that other processes kept busy over the last tenth of a
    second (where the kernel reports it: Linux's /proc/stat); at least one."""
    usable = usable_cpus()
    if usable == 1:
        return 1  # nothing to choose: no tenth of a second watching
    idle = idle_cpus(SAMPLE_SECONDS)
    return usable if idle is None else max(1, min(usable, round(idle)))


def idle_cpus(seconds: float) -> float | None:
    """How many of the CPUs this process may run on sat idle over `seconds`, e.g. 1.0 of 2."""
    ours = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    before = _cpu_times(ours)
    if before is None:
        return None
    time.sleep(seconds)
    after = _cpu_times(ours)
    if after is None:
        return None
    idle = 0.0
    for cpu, (idle_before, total_before) in before.items():
        idle_after, total_after = after.get(cpu, (idle_before, total_before))
        if total_after > total_before:
            idle += (idle_after - idle_before) / (total_after - total_before)
    return idle


def _cpu_times(ours: set[int] | None) -> dict[int, tuple[int, int]] | None:
    """Per CPU of ours: (idle + iowait, all) jiffies since boot, from /proc/stat."""
    try:
        lines = Path("/proc/stat").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    times = {}
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and (ours is None or int(name[3:]) in ours):
            counts = [int(field) for field in fields[:8]]
            times[int(name[3:])] = (counts[3] + counts[4], sum(counts))
    return times or None
