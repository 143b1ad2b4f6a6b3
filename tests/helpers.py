"""Shared helpers for the template's tests: copy the template, bake it, give a baked project a venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
# What is never part of the template even when it lies in the working tree (mirrors .gitignore);
# used only when the template is not a git checkout.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".benchmarks", "*.egg-info"
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.com",
}
# Variables a calling `make` exports; a baked project's own `make` must not inherit them.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def copy_template(dest: Path) -> Path:
    """Copy the template as a clone of it would hold it: the files git tracks or would track.

    Caches and build output in the working tree (a stray `.ruff_cache` inside the project
    folder, say) would otherwise be baked into every project.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(TEMPLATE_ROOT, dest, ignore=IGNORED)
        return dest
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = TEMPLATE_ROOT / name
        if source.is_file():  # tracked files deleted in the working tree are gone
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def bake(template: Path, output_dir: Path, **answers: str) -> Path:
    """Generate a project with the given answers (defaults for the rest); return its folder."""
    return Path(cookiecutter(str(template), no_input=True, extra_context=answers, output_dir=str(output_dir)))


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no inherited make variables or active venv."""
    env = {key: value for key, value in os.environ.items() if key not in MAKE_VARIABLES and key != "VIRTUAL_ENV"}
    env.update(extra)
    return env


def git_env() -> dict[str, str]:
    """An environment in which git commits work on a machine with no git identity configured."""
    return clean_env(**GIT_IDENTITY, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True):
    """Run a command, capturing its output; on an unexpected failure show what it printed."""
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def prepare_venv(project: Path) -> Path:
    """Give a baked project a `.venv` that sees the template venv's packages, so its own
    `make test` and `make local` run for real without downloading anything.

    The project's `.venv` gets a `_parent.pth` naming this venv's site-packages (which
    `make venv` filled with the generated project's dependencies), copies of this venv's
    command-line tools (pytest, ruff, ...), and the project itself as an editable install.
    The install stamp then tells the project's Makefile there is nothing to install.
    """
    venv = project.resolve() / ".venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=project)
    site_packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    parent = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "_parent.pth").write_text("".join(f"{path}\n" for path in sorted(parent)))
    _link_tools(Path(sysconfig.get_paths()["scripts"]), venv / "bin")
    run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            ".",
        ],
        cwd=project,
    )
    (venv / ".installed").touch()
    return venv


def _link_tools(source: Path, target: Path) -> None:
    """Make this venv's commands available in another venv, Python scripts run by that venv's Python."""
    for tool in sorted(source.iterdir()):
        destination = target / tool.name
        if destination.exists() or tool.name.startswith(("activate", "Activate", "python")) or not tool.is_file():
            continue
        content = tool.read_bytes()
        head, newline, body = content.partition(b"\n")
        if head.startswith(b"#!/bin/sh"):  # pip's form for long interpreter paths: the path is on line 2
            second, newline2, body = body.partition(b"\n")
            head, newline = head + newline + second, newline2
        if head.startswith(b"#!") and bytes(source) in head:
            destination.write_bytes(head.replace(bytes(source), bytes(target)) + newline + body)
            destination.chmod(0o755)
        else:
            destination.symlink_to(tool)
