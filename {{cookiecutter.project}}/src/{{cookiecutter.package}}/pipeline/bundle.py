"""The code bundle every SageMaker job runs: the package, project.yaml, the data-check suites.

One deterministic `sourcedir.tar.gz` (sorted entries, fixed times and owners), stored under a key
named by its content hash: unchanged code means an unchanged step definition, so SageMaker's
step cache hits; changed code means a new key, so nothing stale is ever reused.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import tomllib

PACKAGE = __package__.split(".")[0]
ARCHIVE = "sourcedir.tar.gz"
# The serving container imports SAGEMAKER_PROGRAM from the bundle's top level.
SERVE_PROGRAM = "serve.py"
SERVE_SOURCE = f"from {PACKAGE}.steps.inference import input_fn, model_fn, output_fn, predict_fn  # noqa: F401\n"
SKIPPED = {"__pycache__", "pipeline"}  # pipeline/ builds jobs; it never runs inside one


@dataclass(frozen=True)
class Bundle:
    archive: bytes
    files: tuple[str, ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.archive).hexdigest()[:20]


def requirements(root: Path) -> str:
    """The project's runtime dependencies, from pyproject.toml: the container installs these
    (the framework image already has the pinned xgboost, pandas and numpy)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return "".join(f"{requirement}\n" for requirement in project["dependencies"])


def _members(root: Path) -> dict[str, bytes]:
    package = Path(__file__).resolve().parent.parent
    members = {
        f"{PACKAGE}/{path.relative_to(package).as_posix()}": path.read_bytes()
        for path in sorted(package.rglob("*"))
        if path.is_file() and not SKIPPED & set(path.relative_to(package).parts) and path.suffix != ".pyc"
    }
    members["project.yaml"] = (root / "project.yaml").read_bytes()
    for suite in sorted((root / "data_checks").glob("*.json")):
        members[f"data_checks/{suite.name}"] = suite.read_bytes()
    members["requirements.txt"] = requirements(root).encode()
    members[SERVE_PROGRAM] = SERVE_SOURCE.encode()
    return members


def build_bundle(root: Path) -> Bundle:
    members = _members(root)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(members[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(members[name]))
    archive = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    return Bundle(archive=archive, files=tuple(sorted(members)))
