"""The code bundle every SageMaker job and the endpoint run: the package, project.yaml, the
data-check suites, and how each place installs what it needs (containers/*.lock).

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

from ..errors import ProjectError
from .images import Image
from .locks import install_set, lock_path, read_lock

PACKAGE = __package__.split(".")[0]
ARCHIVE = "sourcedir.tar.gz"
# The serving container imports SAGEMAKER_PROGRAM from the bundle's top level, after it runs
# `pip install . -r requirements.txt` there: the requirements turn the package index off.
SERVE_PROGRAM = "serve.py"
SERVE_SOURCE = f"from {PACKAGE}.steps.inference import model_fn, transform_fn  # noqa: F401\n"
SERVE_REQUIREMENTS = "requirements.txt"
JOB_REQUIREMENTS = "requirements-jobs.txt"
# Every processing and training job starts its step through this script (`bash job.sh WHEELS STEP
# ARGS...`): the locked job dependencies come from the wheels shipped with the pipeline, with no
# package index (jobs need no internet), into an environment of the job's own that also sees the
# image's packages, so the image's own environment is never changed. An environment that holds a
# copy of the same requirements was installed from them: a job started again in its container (by
# hand, or by a test) uses it as it is. In SageMaker each job's container starts without one.
# Nothing is compiled to bytecode at install: a job's one process imports only part of what it
# installs, which costs less to compile as it is imported than all of it up front (measured in the
# rebuilt image: the DataChecks job 12.0 -> 10.4 s, the install alone 6.6 -> 3.0 s).
JOB_LAUNCHER = "job.sh"
JOB_ENV = "/tmp/job-env"  # one job per container; JOB_ENV_DIR moves it (tests run jobs side by side)
# (%-formatting, not an f-string: the script's own braces stay as they are.)
JOB_SOURCE = """#!/bin/bash
set -euo pipefail
wheels=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
env_dir=${JOB_ENV_DIR:-%(env)s}
requirements="$here/%(requirements)s"
installed="$env_dir/%(requirements)s"
if [ -f "$installed" ] && [ "$(< "$installed")" = "$(< "$requirements")" ]; then
    echo "job environment: $env_dir, installed from these requirements before"
else
    echo "job environment: installing the locked job packages into $env_dir"
    python3 -m venv --system-site-packages --without-pip "$env_dir"
    "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --no-deps --require-hashes \\
        --no-compile --find-links "$wheels" -r "$requirements"
    cp "$requirements" "$installed"
fi
cd "$here"
exec "$env_dir/bin/python" -m %(package)s.steps "$@"
""" % {"env": JOB_ENV, "requirements": JOB_REQUIREMENTS, "package": PACKAGE}  # noqa: UP031
SKIPPED = {"__pycache__", "pipeline"}  # pipeline/ builds jobs; it never runs inside one
NOT_CODE = {".pyc", ".md"}  # bytecode differs per install; a README edit must keep the step cache


@dataclass(frozen=True)
class Bundle:
    archive: bytes
    files: tuple[str, ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.archive).hexdigest()[:20]


def job_requirements(root: Path, image: Image) -> str:
    """What a job installs: jobs.lock less what the image ships, each with its hashes."""
    entries = install_set("jobs", read_lock(lock_path(root, "jobs")), image)
    return "".join(f"{entry.requirement()}\n" for entry in entries)


def serve_requirements(root: Path, image: Image) -> str:
    entries = install_set("serving", read_lock(lock_path(root, "serving")), image)
    # No hashes: pip refuses hash-checking for the bundle directory it installs alongside.
    return "--no-index\n" + "".join(f"{entry.name}=={entry.version}\n" for entry in entries)


def _members(root: Path, image: Image, settings_file: Path) -> dict[str, bytes]:
    package = Path(__file__).resolve().parent.parent
    members = {
        f"{PACKAGE}/{path.relative_to(package).as_posix()}": path.read_bytes()
        for path in sorted(package.rglob("*"))
        if path.is_file() and not SKIPPED & set(path.relative_to(package).parts) and path.suffix not in NOT_CODE
    }
    members["project.yaml"] = settings_file.read_bytes()  # jobs read it as project.yaml, whatever its name here
    suites = sorted((root / "data_checks").glob("*.json"))
    if not suites:
        raise ProjectError(
            f"{root / 'data_checks'}: no data-check suites to ship with the jobs; run from the project's root folder"
        )
    for suite in suites:
        members[f"data_checks/{suite.name}"] = suite.read_bytes()
    members[SERVE_REQUIREMENTS] = serve_requirements(root, image).encode()
    members[SERVE_PROGRAM] = SERVE_SOURCE.encode()
    members[JOB_REQUIREMENTS] = job_requirements(root, image).encode()
    members[JOB_LAUNCHER] = JOB_SOURCE.encode()
    return members


def build_bundle(root: Path, image: Image, settings_file: Path | None = None) -> Bundle:
    members = _members(root, image, settings_file or root / "project.yaml")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(members[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(members[name]))
    archive = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    return Bundle(archive=archive, files=tuple(sorted(members)))
