"""Whether a local run fits in memory: refused before reading, never killed halfway by the kernel.

A local run holds its data several times over (the frame, the splits, XGBoost's matrices, the data
checks' copies). PEAK_PER_FILE_BYTE is that multiple, from peak memory measured on the Adult file
and its 1M-row upsample (`make bench` in the template); Parquet compresses, so it expands more.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ProjectError

# Measured: 1.1 GB at the peak for a 136 MB CSV of 1M rows (8 times; about 400 MB of it is the
# libraries), with room for wider tables.
PEAK_PER_FILE_BYTE = {".csv": 12, ".parquet": 50}
GB = 1024**3


def available_memory() -> int | None:
    """Bytes this process may still allocate: the kernel's MemAvailable, capped by a cgroup memory
    limit (a container, a CI runner). None where /proc is not there (macOS, Windows): no check."""
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in meminfo.splitlines() if ":" in line)
    if "MemAvailable" not in fields:
        return None
    available = int(fields["MemAvailable"].split()[0]) * 1024
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),  # v1
    ):
        try:
            limit, usage = Path(limit_file).read_text().strip(), Path(usage_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit() and usage.isdigit():
            available = min(available, max(int(limit) - int(usage), 0))
    return available


def needed_memory(files: list[Path]) -> int:
    return sum(file.stat().st_size * PEAK_PER_FILE_BYTE.get(file.suffix, PEAK_PER_FILE_BYTE[".csv"]) for file in files)


def check_fits(files: list[Path], where: str, available: int | None) -> None:
    """Refuse, with the numbers and the ways out, data that would not fit in `available` bytes."""
    needed = needed_memory(files)
    if available is None or needed <= available:
        return
    size = sum(file.stat().st_size for file in files)
    raise ProjectError(
        f"{where}: {size / GB:.1f} GB of data needs about {needed / GB:.0f} GB of memory for a local run, and "
        f"{available / GB:.1f} GB is available; run locally on a random sample of at most "
        f"{available / needed:.0%} of the rows, or run the pipeline in SageMaker (make pipeline-start), "
        "sized by project.yaml's aws instance types and counts"
    )
