"""A local run on data larger than memory is refused up front, with the numbers and the ways out."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.memory import GB, PEAK_PER_FILE_BYTE, available_memory, check_fits, needed_memory


def test_available_memory_is_what_the_kernel_reports_at_most():
    available = available_memory()
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():  # macOS, Windows: no check
        assert available is None
        return
    lines = meminfo.read_text().splitlines()
    total = next(int(line.split()[1]) * 1024 for line in lines if line.startswith("MemTotal"))
    assert 0 < available <= total


def test_data_that_needs_more_than_is_available_is_refused_with_the_numbers(tmp_path: Path):
    data = tmp_path / "big.csv"
    data.write_bytes(b"x\n" + b"1\n" * 50_000)
    needed = data.stat().st_size * PEAK_PER_FILE_BYTE[".csv"]
    assert needed_memory([data]) == needed
    check_fits([data], str(data), available=needed)  # just fits
    check_fits([data], str(data), available=None)  # nothing known: no check
    with pytest.raises(ProjectError) as refused:
        check_fits([data], str(data), available=needed // 4)
    message = str(refused.value)
    assert message.startswith(f"{data}: 0.0 GB of data needs about 0 GB of memory for a local run")
    assert f"{needed // 4 / GB:.1f} GB is available" in message
    assert "random sample of at most 25% of the rows" in message
    assert "make pipeline-start" in message
