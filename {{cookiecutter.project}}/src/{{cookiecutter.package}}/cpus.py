"""How many threads XGBoost may use: the CPUs this process may actually run on.

Not the host's core count: a CPU affinity mask (taskset, a container's cpuset) or a cgroup CPU
quota (docker --cpus, Kubernetes limits, a CI runner) can leave fewer, and more threads than CPUs
make XGBoost's synchronised threads wait on each other. OMP_NUM_THREADS, when set, caps it further.
"""

from __future__ import annotations

import os
from functools import cache


@cache
def usable_cpus() -> int:
    from joblib import cpu_count  # scikit-learn's dependency: reads the affinity mask and cgroup v1/v2 quotas

    usable = max(1, cpu_count())
    requested = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return min(usable, int(requested)) if requested.isdigit() and int(requested) > 0 else usable
