"""containers/*.lock: the exact packages each place inside SageMaker installs, resolved by uv for
the image's Python and platform and constrained by what the image pins.

- jobs: processing and training steps. Installed from shipped wheels (no index) into an
  environment of the job's own, layered over the image's packages; only the pins the image record
  lists as `job_overrides` may differ there, and never in the image itself.
- serving: the endpoint's handlers. The serving container installs it into the image's own
  environment, so it may replace nothing the image pins.

Each lock starts with a digest of its inputs, so a stale lock is found offline (`lock_problems`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from ..errors import ProjectError
from .images import Image, load_images

LOCKS_DIR = Path("containers")
LOCKED_IMAGE = {"jobs": "xgboost", "serving": "xgboost"}  # each lock -> the image it installs into
DIGEST_LINE = "# inputs-sha256: "
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Locked:
    name: str  # canonical
    version: str
    hashes: tuple[str, ...]

    def requirement(self) -> str:
        return f"{self.name}=={self.version} " + " ".join(f"--hash={digest}" for digest in self.hashes)


def lock_path(root: Path, name: str) -> Path:
    return root / LOCKS_DIR / f"{name}.lock"


def read_lock(path: Path) -> list[Locked]:
    """The entries of a lock written by `make lock` (name==version followed by its hashes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: missing; run `make lock` to resolve it") from None
    entries: list[Locked] = []
    for line in text.replace("\\\n", " ").splitlines():
        match = _ENTRY.match(line.strip())
        if match:
            name, version = match.groups()
            entries.append(Locked(canonicalize_name(name), version, tuple(_HASH.findall(line))))
    return entries


def _allowed_overrides(name: str, image: Image) -> set[str]:
    return {canonicalize_name(package) for package in image.job_overrides} if name == "jobs" else set()


def install_set(name: str, entries: list[Locked], image: Image) -> list[Locked]:
    """What the place installs: the lock less what the image already ships at the pinned version."""
    keep = _allowed_overrides(name, image)
    pinned = image.pinned()
    return [entry for entry in entries if entry.name not in pinned or entry.name in keep]


def replaced_pins(name: str, entries: list[Locked], image: Image) -> list[str]:
    """Lock entries that would replace a package the image pins (allowed job overrides aside)."""
    keep = _allowed_overrides(name, image)
    pinned = image.pinned()
    return [
        f"{entry.name}=={entry.version} (the image pins {entry.name}{pinned[entry.name].specifier})"
        for entry in entries
        if entry.name in pinned and entry.name not in keep and entry.version not in pinned[entry.name].specifier
    ]


def inputs_digest(root: Path, name: str, image: Image) -> str:
    """Everything a lock is resolved from: its .in file, the image's pins, Python and platform."""
    source = (root / LOCKS_DIR / f"{name}.in").read_text(encoding="utf-8")
    parts = [source, image.constraints(overridden=bool(_allowed_overrides(name, image))), image.python, image.platform]
    return hashlib.sha256("\0".join(str(part) for part in parts).encode()).hexdigest()


def lock_problems(root: Path = Path()) -> list[str]:
    """Why a lock cannot be used as it is: missing, stale, or replacing what its image pins."""
    images = load_images(root)
    problems = []
    for name, image_name in LOCKED_IMAGE.items():
        path, image = lock_path(root, name), images[image_name]
        if not path.exists():
            problems.append(f"{path}: missing; run `make lock`")
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        recorded = next((line for line in lines if line.startswith(DIGEST_LINE)), "")
        if recorded.removeprefix(DIGEST_LINE) != inputs_digest(root, name, image):
            problems.append(f"{path}: stale (its .in file or the image pins changed since); run `make lock`")
        entries = read_lock(path)
        problems += [f"{path}: {entry}" for entry in replaced_pins(name, entries, image)]
        if name == "serving":  # the endpoint installs from the code bundle alone, which ships no wheels
            problems += [
                f"{path}: {entry.name}=={entry.version} is not in the image; the model server must run on the "
                "image's packages (containers/README.md)"
                for entry in install_set(name, entries, image)
            ]
    return problems


def lock(root: Path = Path(), echo=print) -> None:
    """Resolve every lock with uv for its image (Python, platform, pins). An existing lock is the
    resolver's preference, so versions move only when an input asks them to."""
    if importlib.util.find_spec("uv") is None:
        raise ProjectError("uv is not installed: `make install` installs it (the dev extra), or `pip install uv`")
    images = load_images(root)
    for name, image_name in LOCKED_IMAGE.items():
        image, path = images[image_name], lock_path(root, name)
        with tempfile.TemporaryDirectory() as folder:
            # uv runs in a scratch copy with fixed relative names, so its "# via" notes are the
            # same on every machine (image-pins.txt: the image's pins, from images.yaml).
            work, source, output = Path(folder), f"{LOCKS_DIR}/{name}.in", f"{LOCKS_DIR}/{name}.lock"
            (work / LOCKS_DIR).mkdir()
            shutil.copyfile(root / source, work / source)
            overridden = bool(_allowed_overrides(name, image))
            (work / "image-pins.txt").write_text(image.constraints(overridden=overridden), encoding="utf-8")
            if path.exists():
                shutil.copyfile(path, work / output)
            command = [
                sys.executable, "-m", "uv", "pip", "compile", source,
                "--constraint", "image-pins.txt", "--output-file", output,
                "--python-version", str(image.python), "--python-platform", str(image.platform),
                "--generate-hashes", "--no-header", "--quiet",
            ]  # fmt: skip
            # No interpreter downloads (it resolves for a version, it runs nothing); pip's machine-wide
            # settings are not the image's.
            env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"}
            result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work)
            if result.returncode != 0:
                raise ProjectError(
                    f"{root / source}: uv could not resolve it for the {image_name} {image.version} image:\n"
                    f"{result.stderr.strip()}"
                )
            header = (
                f"# {name}: resolved by `make lock` for the {image_name} {image.version} image (Python {image.python}, "
                f"{image.platform}), constrained by containers/images.yaml. Do not edit.\n"
                f"{DIGEST_LINE}{inputs_digest(root, name, image)}\n"
            )
            path.write_text(header + (work / output).read_text(encoding="utf-8"), encoding="utf-8")
        echo(f"{path}: {len(read_lock(path))} packages, {len(install_set(name, read_lock(path), image))} to install")
