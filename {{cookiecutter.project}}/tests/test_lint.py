"""`make lint` runs what .pre-commit-config.yaml's hooks run, at the same versions, and fails on
what they would refuse. (pre-commit itself would clone each hook's repository; CI runs the same
tools from the dev extra instead.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"]
# The command each hook runs, as the Makefile's lint recipe spells it.
COMMANDS = {
    "ruff-check": "ruff check",
    "ruff-format": "ruff format --check",
    "check-yaml": "check-yaml",
    "check-toml": "check-toml",
    "end-of-file-fixer": "end-of-file-fixer",
    "trailing-whitespace": "trailing-whitespace-fixer",
    "check-added-large-files": "check-added-large-files --enforce-all --maxkb=2048",
    "cfn-lint": "cfn-lint",
}
# The PyPI package behind each hook repository.
PACKAGES = {"ruff-pre-commit": "ruff", "pre-commit-hooks": "pre-commit-hooks", "cfn-lint": "cfn-lint"}


def test_every_hook_runs_in_make_lint():
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nlint:", 1)[1].split("\n\n", 1)[0]
    for repo in HOOKS:
        for hook in repo["hooks"]:
            assert COMMANDS[hook["id"]] in recipe, f"make lint does not run the {hook['id']} hook"


PIN = re.compile(r"([\w-]+)(?:\[[\w,]+\])?==(\S+)")  # name[extras]==version


def test_the_dev_extra_pins_each_hook_repository_s_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = [PIN.fullmatch(spec) for spec in project["optional-dependencies"]["dev"]]
    versions = dict(match.groups() for match in pinned if match)
    for repo in HOOKS:
        package = PACKAGES[repo["repo"].rsplit("/", 1)[1]]
        assert versions.get(package) == repo["rev"].removeprefix("v"), f"{package}: the hook runs {repo['rev']}"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The project without its venv and build output (not a git checkout)."""
    ignored = shutil.ignore_patterns(".venv", "build", ".git", "__pycache__", ".pytest_cache", ".ruff_cache")
    return Path(shutil.copytree(ROOT, tmp_path / "project", ignore=ignored))


def make_lint(project: Path) -> subprocess.CompletedProcess:
    venv = Path(sys.prefix)
    # -o: take the venv as installed; never reinstall into it from the copy.
    command = ["make", "--no-print-directory", "lint", f"VENV={venv}", "-o", f"{venv}/.installed"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300, check=False)


def test_make_lint_passes_on_the_project():
    """`make lint` on the project itself, as a git checkout (its large-file check included): `make
    test` runs it this way, beside the other tests, rather than before them."""
    result = make_lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "change", "reported"),
    [
        ("environments/staging.yaml", lambda text: text + "endpoint: [unclosed\n", "environments/staging.yaml"),
        ("environments/README.md", lambda text: text.replace("\n", "   \n", 1), "Fixing environments/README.md"),
        ("project.yaml", lambda text: text.rstrip("\n"), "Fixing project.yaml"),
        (
            "infra/endpoint.yaml",
            lambda text: text.replace("AWS::SageMaker::Endpoint\n", "AWS::SageMaker::Endpointt\n"),
            "AWS::SageMaker::Endpointt",
        ),
    ],
    ids=["bad-yaml", "trailing-whitespace", "no-final-newline", "cfn-lint"],
)
def test_make_lint_fails_on_what_the_hooks_refuse(copy: Path, path: str, change, reported: str):
    file = copy / path
    file.write_text(change(file.read_text(encoding="utf-8")), encoding="utf-8")
    for template in (copy / "infra").rglob("*.yaml"):  # cfn-lint takes a second or more a template
        if template != file:
            template.unlink()
    result = make_lint(copy)
    assert result.returncode != 0
    assert reported in result.stdout + result.stderr
