"""What every command shares: exit codes, the translation of errors into one line, --settings.

Exit codes: 0 success, 1 a gate or check refused, 2 bad input (settings, data, arguments),
3 an unexpected error (a bug: the traceback is printed).
"""

from __future__ import annotations

import functools
import traceback
from pathlib import Path

import click

from .errors import ProjectError
from .settings import DEFAULT_PATH

GATE_REFUSED = 1
BAD_INPUT = 2
UNEXPECTED = 3


class InputError(click.ClickException):
    exit_code = BAD_INPUT


def reports_errors(command):
    """A ProjectError becomes one 'Error: ...' line and exit code 2; anything else is a bug and
    exits 3 with its traceback, so scripts can tell a refused model from a crash."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProjectError as error:
            raise InputError(str(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:
            if type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError", "TokenRetrievalError"):
                raise InputError(f"AWS: {error}; sign in first (e.g. aws sso login; CI uses OIDC)") from None
            traceback.print_exc()
            raise SystemExit(UNEXPECTED) from None

    return wrapper


settings_option = click.option(
    "--settings",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_PATH,
    show_default=True,
    help="Project settings file.",
)
