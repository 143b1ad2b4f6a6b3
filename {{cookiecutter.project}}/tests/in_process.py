"""The project's command run in this process with click's CliRunner: the same code, arguments,
output and exit codes as the console script, without a new interpreter importing pandas, XGBoost
and Great Expectations again for every call. tests/test_cli.py starts the real console script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from {{ cookiecutter.package }}.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_command(*arguments, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`{{ cookiecutter.project }} ARGUMENTS...` from `cwd`, without PROJECT_SETTINGS; its exit code,
    stdout and stderr as subprocess.run reports them."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, [str(argument) for argument in arguments], env={"PROJECT_SETTINGS": None})
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # CliRunner reports an exception that escaped the command as exit code 1, which is this
        # command's code for a refused gate: a crash must fail the test instead.
        raise result.exception
    command = ["{{ cookiecutter.project }}", *map(str, arguments)]
    return subprocess.CompletedProcess(command, result.exit_code, result.stdout, result.stderr)
