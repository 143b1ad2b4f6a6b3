"""The {{ cookiecutter.project }} command line: one entry point for every task on this model.

Exit codes: 0 success, 1 a gate refused the model, 2 bad input (settings, data, arguments).
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from .errors import ProjectError
from .settings import DEFAULT_PATH, load_settings

GATE_REFUSED = 1
BAD_INPUT = 2


class InputError(click.ClickException):
    exit_code = BAD_INPUT


def reports_errors(command):
    """Turn a ProjectError into one 'Error: ...' line and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProjectError as error:
            raise InputError(str(error)) from None

    return wrapper


settings_option = click.option(
    "--settings",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_PATH,
    show_default=True,
    help="Project settings file.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="{{ cookiecutter.project }}")
def main() -> None:
    """{{ cookiecutter.description }}"""


@main.group()
def local() -> None:
    """Run the model flow on this machine, no AWS needed."""


@local.command("run")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=Path("data/sample/adult.csv"),
    show_default=True,
    help="CSV file (or folder of CSV files) with the project.yaml schema.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("build/local"),
    show_default=True,
    help="Directory for the model, evaluation.json and report.md (replaced when the run ends).",
)
@settings_option
@reports_errors
def local_run(data: Path, out: Path, settings: Path) -> None:
    """Preprocess, train, evaluate and apply the gates, as the SageMaker pipeline does."""
    from .local import run_local  # heavy imports only when the command runs

    run = run_local(load_settings(settings), data=data, out=out)
    for gate in run.gates:
        click.echo(gate.message)
    click.echo(f"Report: {run.out / 'report.md'}")
    if not run.passed:
        click.echo("Decision: the model must not be registered.", err=True)
        raise SystemExit(GATE_REFUSED)
    click.echo("Decision: the model may be registered.")
