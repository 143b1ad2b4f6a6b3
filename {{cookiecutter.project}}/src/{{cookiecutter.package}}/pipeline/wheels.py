"""The wheels SageMaker jobs install from: jobs.lock's packages for the image's platform, shipped
to S3 once under a key named by the requirements they satisfy, so jobs never reach a package index.

`pipeline build` only names the location (offline); `pipeline upsert` downloads the wheels (pip,
hash-checked) and publish.py uploads them when that location does not hold them yet.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import ProjectError
from .images import Image

COMPLETE = "requirements.txt"  # uploaded last: a prefix holding it holds every wheel


def wheels_digest(requirements: str) -> str:
    return hashlib.sha256(requirements.encode()).hexdigest()[:20]


def _platforms(platform: str) -> list[str]:
    """pip's --platform takes exact tags: a glibc 2.31 image also runs wheels built for older glibc."""
    arch, _, tag = platform.partition("-")  # x86_64-manylinux_2_31
    newest = int(tag.rsplit("_", 1)[1])
    return [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)] + [
        f"manylinux{legacy}_{arch}" for legacy in ("2014", "2010", "1")
    ]


def download(requirements: str, image: Image, folder: Path, echo: Callable[[str], None] = print) -> list[Path]:
    """The wheels for `requirements` on the image's Python and platform, in `folder` (kept: a
    second call with the same requirements downloads nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / COMPLETE
    if marker.exists() and marker.read_text(encoding="utf-8") == requirements:
        return sorted(folder.glob("*.whl"))
    (folder / "download.txt").write_text(requirements, encoding="utf-8")
    platforms = [option for platform in _platforms(str(image.platform)) for option in ("--platform", platform)]
    echo(f"wheels: downloading {requirements.count(chr(10))} packages for {image.platform}, Python {image.python}")
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes",
        *platforms, "--python-version", str(image.python), "--implementation", "cp",
        "--dest", str(folder), "-r", str(folder / "download.txt"),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        # This machine's pip settings (extra indexes, constraints) are not the image's.
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": os.devnull},
    )
    if result.returncode != 0:
        raise ProjectError(f"could not download the job wheels (pip download):\n{result.stderr.strip()[-2000:]}")
    marker.write_text(requirements, encoding="utf-8")
    return sorted(folder.glob("*.whl"))
