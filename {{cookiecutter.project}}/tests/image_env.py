"""SageMaker's images rebuilt here, from containers/images.yaml: a copy of a CPython install of the
image's version with the image's pinned packages, so jobs and the model server run under the same
Python and packages they meet in SageMaker, started the way the image starts them.

Built once per machine and image record (several suites share it), under CONTAINER_ENV_CACHE
(default ~/.cache/sagemaker-image-envs). Needs the image's CPython (e.g. python3.10) on PATH, or
its path in IMAGE_PYTHON.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(os.environ.get("CONTAINER_ENV_CACHE", Path.home() / ".cache" / "sagemaker-image-envs"))
# Any network use fails fast: jobs and the endpoint must install from what was shipped.
NO_NETWORK = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": ""}


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment less its pip settings (not the image's), plus `extra`."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    return {**keep, "PIP_CONFIG_FILE": os.devnull, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _base_python(version: str) -> Path:
    """The root of a CPython `version` install (not a virtual environment)."""
    candidates = [os.environ.get("IMAGE_PYTHON"), shutil.which(f"python{version}")]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        try:
            prefix = subprocess.run(
                [candidate, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        return Path(prefix)
    raise RuntimeError(
        f"the container contract tests need CPython {version}, the SageMaker image's Python: install it "
        f"(pyenv install {version}, or actions/setup-python) or set IMAGE_PYTHON to its python{version}"
    )


@contextmanager
def locked(path: Path):
    """Held by one process at a time (pytest-xdist workers share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def image_python(image) -> Path:
    """The rebuilt image's python3: built on first use, then reused."""
    key = hashlib.sha256(f"{image.python}\0{image.constraints()}".encode()).hexdigest()[:16]
    root = CACHE / f"{image.framework}-{image.version}-{key}"
    with locked(CACHE / f"{root.name}.lock"):
        if not (root / ".complete").exists():
            _build(image, root)
    return root / "bin" / f"python{image.python}"


def _build(image, root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(_base_python(str(image.python)), root, symlinks=True)
    python = root / "bin" / f"python{image.python}"
    (root / "bin" / "python3").unlink(missing_ok=True)
    (root / "bin" / "python3").symlink_to(python.name)
    pins = root / "image-pins.txt"
    pins.write_text("".join(f"{name}{spec}\n" for name, spec in image.pins.items()), encoding="utf-8")
    env = clean_env()
    # uv (a dev dependency) installs what pip would: the same releases (pip freeze of both builds
    # compared), downloaded in parallel and compiled to bytecode as pip does: under a minute on a
    # cold machine where pip took three.
    uv = [str(Path(sys.executable).with_name("uv")), "pip", "install", "--quiet", "--compile-bytecode", "--python"]
    print(f"rebuilding the {image.framework} {image.version} image's Python environment in {root}", file=sys.stderr)
    subprocess.run([*uv, str(python), f"pip{image.pins.get('pip', '')}", "-r", str(pins)], check=True, env=env)
    # As the image's final Dockerfile does: remove the `typing` backport that sagemaker-containers
    # pulls in, and patch sagemaker-containers for Python 3.10 (collections.Mapping moved to abc).
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "-y", "typing"], check=True, env=env)
    for mapping in (root / "lib").glob("python*/site-packages/sagemaker_containers/_mapping.py"):
        mapping.write_text(mapping.read_text().replace("collections.Mapping", "collections.abc.Mapping"))
    (root / ".complete").write_text("", encoding="utf-8")


def image_overlay(python: Path, destination: Path) -> Path:
    """A throwaway environment over a rebuilt image, for a test that installs into the image's
    environment as serving does: it sees every package of the image as installed, and what it
    installs lands in it, never in the shared image. (A virtual environment of about ten files: a
    copy of the image, even as hard links, is 30,000 files to make and to delete.) Its python;
    the image's own commands (gunicorn) stay in the image's bin/."""
    subprocess.run([str(python), "-m", "venv", "--system-site-packages", "--without-pip", str(destination)], check=True)
    return destination / "bin" / python.name
