"""The installed command, run as a user runs it: exit 0 ok, 1 a gate refused, 2 bad input (the
machine's AWS set-up too), 130 interrupted. A refusal that comes after the whole flow's imports
(the missing data file) runs in this process (tests/in_process.py); how a passing run ends
(cli.conclude, exit 0) and a refused gate's run, exit 1, are tests/test_local_run.py's, and a
run stopped by SIGTERM, exit 130, tests/test_output.py's (a real process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from click.testing import CliRunner

import in_process
from {{ cookiecutter.package }}.cli_support import reports_errors
from {{ cookiecutter.package }}.settings import METRIC_RANGES

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


def test_bad_settings_exit_2_with_one_error_naming_the_key(
    tmp_path: Path, project_root: Path, raw_settings: dict, write_settings
):
    # The project's first quality metric, given a limit it can never reach: above its top, or
    # (a metric with no top, such as rmse) below its bottom.
    metric = next(iter(raw_settings["gates"]["quality"]))
    low, high = METRIC_RANGES[metric]
    side, bad = ("max", high + 0.5) if high is not None else ("min", low - 1)
    raw_settings["gates"]["quality"][metric][side] = bad
    path = write_settings(raw_settings)
    result = run(console_script, "local", "run", "--settings", path, "--out", tmp_path / "run", cwd=project_root)
    assert result.returncode == 2
    shown = f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
    expected = f"Error: {path}: gates.quality.{metric}.{side}: {bad:g} is outside {metric}'s range {shown}"
    assert result.stderr.splitlines() == [expected]
    assert result.stdout == ""
    assert not (tmp_path / "run").exists()


def test_misspelt_settings_key_exit_2_without_traceback(
    tmp_path: Path, project_root: Path, raw_settings: dict, write_settings
):
    raw_settings["gates"]["min_acu"] = raw_settings["gates"]["quality"]
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
    result = in_process.run_command("local", "run", "--data", missing, "--out", tmp_path / "run", cwd=project_root)
    assert result.returncode == 2
    assert (
        result.stderr.splitlines()[-1]
        == f"Error: {missing}: file not found; pass an existing CSV or Parquet file with --data"
    )
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.iterdir()) == []


def test_unknown_option_exit_2(project_root: Path):
    result = run(console_script, "local", "run", "--dta", "x.csv", cwd=project_root)
    assert result.returncode == 2
    assert "No such option '--dta'" in result.stderr


# -- the machine's AWS set-up: one line naming what to fix, exit 2 --------------------------------

AWS_SIGN_IN = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def test_a_missing_aws_profile_is_one_line_naming_it(tmp_path: Path, project_root: Path, monkeypatch):
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile dev]\nregion = {{ cookiecutter.aws_region }}\n")
    for name in (*AWS_SIGN_IN, "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "prdo")
    result = run(python_module, "registry", "list", cwd=project_root)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: AWS profile 'prdo' (from AWS_PROFILE) is in neither {config} nor {credentials}: set AWS_PROFILE "
        "to a profile that `aws configure list-profiles` lists, or unset it"
    ]


@pytest.mark.parametrize("command", [("registry", "list"), ("pipeline", "status")], ids=" ".join)
def test_an_unreachable_aws_endpoint_is_one_line_naming_it(command, project_root: Path, closed_port, monkeypatch):
    """AWS_ENDPOINT_URL at a localhost port nothing listens on. AWS_MAX_ATTEMPTS=1 keeps the test
    short; the command itself keeps botocore's retries."""
    url = f"http://127.0.0.1:{closed_port}"
    for name in AWS_SIGN_IN:
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_MAX_ATTEMPTS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    began = time.monotonic()
    result = run(python_module, *command, cwd=project_root)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"Error: AWS: cannot connect to {url}/: check the network connection, VPN or proxy, and AWS_ENDPOINT_URL "
        f"({url}), which sends every AWS call there; then run the command again"
    ]
    assert time.monotonic() - began < 30  # a Python start and one refused connection


URL = "https://sagemaker.{{ cookiecutter.aws_region }}.amazonaws.com/"
AGAIN = "check the network connection, VPN or proxy; then run the command again"
EXPIRED = {"Error": {"Code": "ExpiredToken", "Message": "The security token included in the request is expired"}}


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ConnectTimeoutError(endpoint_url=URL), f"AWS: connecting to {URL} timed out: {AGAIN}"),
        (ReadTimeoutError(endpoint_url=URL), f"AWS: {URL} did not answer in time: {AGAIN}"),
        (
            ClientError(EXPIRED, "ListModelPackages"),
            "AWS refused these credentials (ExpiredToken: The security token included in the request is expired); "
            "sign in first (e.g. aws sso login; CI uses OIDC)",
        ),
    ],
    ids=["connect timeout", "read timeout", "expired token"],
)
def test_aws_timeouts_and_expired_sign_ins_are_one_line(error: Exception, message: str, monkeypatch):
    """What a closed port cannot produce, raised from a command as botocore raises it there."""

    @click.command()
    @reports_errors
    def command():
        raise error

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    result = CliRunner().invoke(command)
    assert (result.exit_code, result.output.strip()) == (2, f"Error: {message}")


# -- interrupted: 130, the shell's code for Ctrl-C, apart from a gate's 1 -------------------------


def test_ctrl_c_exits_130(project_root: Path, monkeypatch):
    from {{ cookiecutter.package }}.cli import main
    from {{ cookiecutter.package }}.pipeline import executions

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(executions, "latest", interrupted)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    result = CliRunner().invoke(main, ["pipeline", "status", "--settings", str(project_root / "project.yaml")])
    assert result.exit_code == 130, result.output
    assert result.output.strip() == "Aborted!"
