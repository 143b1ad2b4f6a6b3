"""What every command shares: exit codes, the translation of errors into one line, --settings.

Exit codes: 0 success, 1 a gate or check refused, 2 bad input (settings, data, arguments, the AWS
sign-in, profile or network), 3 an unexpected error (a bug: the traceback is printed), 130
interrupted (Ctrl-C) or a confirmation answered no.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from pathlib import Path

import click

from .errors import ProjectError
from .settings import DEFAULT_PATH

GATE_REFUSED = 1
BAD_INPUT = 2
UNEXPECTED = 3
INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT (128 + 2)

SIGN_IN = "sign in first (e.g. aws sso login; CI uses OIDC)"
# botocore's errors for credentials that are missing or no longer good: the fix is to sign in.
SIGN_IN_ERRORS = {
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "TokenRetrievalError",
    "SSOTokenLoadError", "UnauthorizedSSOTokenError",
}  # fmt: skip
# AWS's answers to a request signed with credentials that expired or never were valid.
REJECTED_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}


class InputError(click.ClickException):
    exit_code = BAD_INPUT


def reports_errors(command):
    """A ProjectError becomes one 'Error: ...' line and exit code 2, and so do the AWS problems
    that are this machine's setup rather than a bug (no sign-in, a missing profile, no network);
    Ctrl-C and a declined confirmation exit 130; anything else is a bug and exits 3 with its
    traceback, so scripts can tell a refused model from a crash."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProjectError as error:
            raise InputError(str(error)) from None
        except (click.exceptions.Abort, KeyboardInterrupt) as error:
            click.echo(("\n" if isinstance(error, KeyboardInterrupt) else "") + "Aborted!", err=True)
            raise SystemExit(INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as error:
            message = aws_setup_problem(error)
            if message:
                raise InputError(message) from None
            traceback.print_exc()
            raise SystemExit(UNEXPECTED) from None

    return wrapper


def aws_setup_problem(error: Exception) -> str | None:
    """One line for an AWS error caused by how this machine reaches AWS, or None for any other."""
    name = type(error).__name__
    if name in SIGN_IN_ERRORS:
        return f"AWS: {error}; {SIGN_IN}"
    if not type(error).__module__.startswith("botocore"):
        return None
    from botocore import exceptions

    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in REJECTED_CREDENTIALS:
            return f"AWS refused these credentials ({code}: {error.response['Error'].get('Message', '')}); {SIGN_IN}"
        return None
    if isinstance(error, exceptions.ProfileNotFound):
        return _missing_profile(error.kwargs.get("profile", "?"))
    if isinstance(error, (exceptions.ConnectionError, exceptions.HTTPClientError)):
        url = error.kwargs.get("endpoint_url") or error.kwargs.get("proxy_url") or "?"
        if isinstance(error, exceptions.ConnectTimeoutError):
            what = f"connecting to {url} timed out"
        elif isinstance(error, exceptions.ReadTimeoutError):
            what = f"{url} did not answer in time"
        elif isinstance(error, exceptions.ProxyConnectionError):
            what = f"cannot connect to the proxy {url}"
        else:
            what = f"cannot connect to {url}"
        return f"AWS: {what}: {_network_hint()}"
    return None


def _missing_profile(profile: str) -> str:
    source = next((name for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if os.environ.get(name) == profile), None)
    config = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    fix = f"set {source} to a profile that `aws configure list-profiles` lists, or unset it" if source else (
        "use a profile that `aws configure list-profiles` lists"
    )  # fmt: skip
    named = f" (from {source})" if source else ""
    return f"AWS profile {profile!r}{named} is in neither {config} nor {credentials}: {fix}"


def _network_hint() -> str:
    override = os.environ.get("AWS_ENDPOINT_URL")
    also = f", and AWS_ENDPOINT_URL ({override}), which sends every AWS call there" if override else ""
    return f"check the network connection, VPN or proxy{also}; then run the command again"


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # closed
        return False


def confirm(action: str, flag: str = "--yes") -> None:
    """Ask whether to do `action` ("delete stack X") on a terminal; no exits 130. Without a
    terminal (CI, a pipe) nobody can answer, so refuse at once (exit 2) and name the flag that
    says yes in advance."""
    if not stdin_is_terminal():
        raise InputError(f"no terminal to confirm on: pass {flag} to {action}")
    click.confirm(f"{action[:1].upper()}{action[1:]}?", abort=True)


settings_option = click.option(
    "--settings",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_PATH,
    show_default=True,
    help="Project settings file.",
)
