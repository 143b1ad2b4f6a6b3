"""A project made with `cruft create` takes later template changes with `cruft update`."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from helpers import git_env, run

README = "{{cookiecutter.project}}/README.md"
ADDED_LINE = "A line the template gained after the project was baked."


def git(*args: str, cwd: Path):
    return run(["git", *args], cwd=cwd, env=git_env())


def cruft(*args: str, cwd: Path, check: bool = True):
    env = {**git_env(), "TMPDIR": tempfile.gettempdir()}  # the hooks' leftovers: see conftest.hook_scratch
    return run([sys.executable, "-m", "cruft", *args], cwd=cwd, env=env, check=check)


def commit_all(repo: Path, message: str) -> None:
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--no-verify", "--message", message, cwd=repo)


def test_cruft_update_brings_template_changes_into_a_project(template, tmp_path):
    upstream = tmp_path / "template"
    shutil.copytree(template, upstream)
    git("init", "--quiet", "--initial-branch", "main", cwd=upstream)
    commit_all(upstream, "Template")

    projects = tmp_path / "projects"
    projects.mkdir()
    cruft("create", upstream, "--no-input", "--output-dir", projects, cwd=tmp_path)
    project = projects / "income-classifier"
    linked = json.loads((project / ".cruft.json").read_text())
    assert linked["template"] == str(upstream)
    assert linked["context"]["cookiecutter"]["project"] == "income-classifier"
    git("init", "--quiet", "--initial-branch", "main", cwd=project)
    commit_all(project, "Baked from the template")

    assert cruft("check", cwd=project).returncode == 0

    readme = upstream / README
    readme.write_text(readme.read_text() + f"\n{ADDED_LINE}\n")
    commit_all(upstream, "Template: README gains a line")

    out_of_date = cruft("check", cwd=project, check=False)
    assert out_of_date.returncode != 0, out_of_date.stdout
    assert "out of date" in (out_of_date.stdout + out_of_date.stderr).lower()

    cruft("update", "--skip-apply-ask", cwd=project)
    assert ADDED_LINE in (project / "README.md").read_text()
    template_head = git("rev-parse", "HEAD", cwd=upstream).stdout.strip()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == template_head
    assert cruft("check", cwd=project).returncode == 0
