"""The installed command, run as a user runs it: exit 0 ok, 1 a gate refused, 2 bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = "{{ cookiecutter.project }}"
PACKAGE = "{{ cookiecutter.package }}"


def console_script() -> list[str]:
    """The console script installed next to this interpreter (the venv need not be on PATH)."""
    found = shutil.which(COMMAND, path=str(Path(sys.executable).parent)) or shutil.which(COMMAND)
    assert found, f"{COMMAND} is not installed; run 'make install'"
    return [found]


def python_module() -> list[str]:
    return [sys.executable, "-m", PACKAGE]


ENTRY_POINTS = {"console script": console_script, "python -m": python_module}
NOT_FOUND_HINT = "run from the project root or pass --settings PATH"


def run(entry, *arguments, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PROJECT_SETTINGS"}
    return subprocess.run(
        [*entry(), *map(str, arguments)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_help_lists_the_commands(entry, project_root: Path):
    result = run(entry, "--help", cwd=project_root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {COMMAND} ")
    assert "local" in result.stdout


def test_local_run_help_lists_its_options(project_root: Path):
    result = run(console_script, "local", "run", "-h", cwd=project_root)
    assert result.returncode == 0, result.stderr
    for option in ["--data", "--out", "--settings"]:
        assert option in result.stdout


def test_version(project_root: Path):
    result = run(console_script, "--version", cwd=project_root)
    assert result.returncode == 0
    assert result.stdout.strip() == f"{COMMAND}, version 0.1.0"


def test_local_run_passes_with_exit_0(tmp_path: Path, project_root: Path):
    out = tmp_path / "run"
    result = run(console_script, "local", "run", "--out", out, cwd=project_root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Gates: ")
    assert lines[-2:] == [f"Report: {out / 'report.md'}", "Decision: the model may be registered."]
    assert "FAILED" not in result.stdout
    assert "[1/" in result.stderr
    assert "report: report.md with charts" in result.stderr
    assert (out / "report.md").is_file()


def test_bad_settings_exit_2_with_one_error_naming_the_key(
    tmp_path: Path, project_root: Path, raw_settings: dict, write_settings
):
    raw_settings["gates"]["min_auc"] = 1.5
    path = write_settings(raw_settings)
    result = run(console_script, "local", "run", "--settings", path, "--out", tmp_path / "run", cwd=project_root)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {path}: 1 invalid setting(s):",
        "  gates.min_auc: Input should be less than or equal to 1 (got 1.5)",
    ]
    assert result.stdout == ""
    assert not (tmp_path / "run").exists()


def test_misspelt_settings_key_exit_2_without_traceback(
    tmp_path: Path, project_root: Path, raw_settings: dict, write_settings
):
    raw_settings["gates"]["min_acu"] = raw_settings["gates"]["min_auc"]
    path = write_settings(raw_settings)
    result = run(python_module, "local", "run", "--settings", path, "--out", tmp_path / "run", cwd=project_root)
    assert result.returncode == 2
    assert "gates.min_acu: unknown key" in result.stderr
    assert sum(line.startswith("Error: ") for line in result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_settings_file_exit_2(tmp_path: Path, project_root: Path):
    missing = tmp_path / "nope.yaml"
    result = run(console_script, "local", "run", "--settings", missing, "--out", tmp_path / "run", cwd=project_root)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"Error: {missing}: settings file not found; " + NOT_FOUND_HINT]


def test_missing_data_file_exit_2(tmp_path: Path, project_root: Path):
    missing = tmp_path / "nope.csv"
    result = run(python_module, "local", "run", "--data", missing, "--out", tmp_path / "run", cwd=project_root)
    assert result.returncode == 2
    assert (
        result.stderr.splitlines()[-1]
        == f"Error: {missing}: file not found; pass an existing CSV or Parquet file with --data"
    )
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.iterdir()) == []


def test_impossible_gate_exit_1(tmp_path: Path, project_root: Path, raw_settings: dict, write_settings):
    raw_settings["gates"]["min_auc"] = 0.999
    path = write_settings(raw_settings)
    out = tmp_path / "run"
    result = run(python_module, "local", "run", "--settings", path, "--out", out, cwd=project_root)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[1].startswith("quality gate FAILED: auc 0.9")
    assert "expected >= 0.999" in result.stdout
    assert "Decision: the model may be registered." not in result.stdout
    assert result.stderr.splitlines()[-1] == "Decision: the model must not be registered."
    assert "Traceback" not in result.stderr
    assert "**FAIL**" in (out / "report.md").read_text(encoding="utf-8")


def test_unknown_option_exit_2(project_root: Path):
    result = run(console_script, "local", "run", "--dta", "x.csv", cwd=project_root)
    assert result.returncode == 2
    assert "No such option '--dta'" in result.stderr
