"""What every command that reaches AWS starts from: the settings, the project's root folder, the
aws section and boto3 clients in its region. load_context() makes one; the pipeline, release and
feature store commands all call it, so they refuse the same settings the same way."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ProjectError
from .settings import Aws, Settings, load_settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    settings_file: Path  # the file `settings` were read from (--settings: the project's or a variant)
    aws: Aws
    # The folder the command runs in, where infra/, features/, data_checks/, containers/ and
    # dataset.sample are read, as every --*-dir option's default is; --settings may name a file
    # anywhere else.
    root: Path = Path()
    # The clients made so far: one per service (and pool size and credentials) for the command's
    # life, as a client costs about 10 ms to make.
    _clients: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def client(self, service: str, connections: int | None = None, checked: bool = True, **credentials):
        """A boto3 client in aws.region (AWS_ENDPOINT_URL, if set, redirects it), on boto3's
        default session; `connections` sizes its pool, one per thread that shares it. With
        `checked=False`, botocore does not check each request against the API model first."""
        key = (service, connections, checked, tuple(sorted(credentials.items())))
        if key not in self._clients:
            import boto3
            from botocore.config import Config

            pool = {"max_pool_connections": connections} if connections else {}
            config = Config(parameter_validation=checked, **pool)
            self._clients[key] = boto3.client(service, region_name=self.aws.region, config=config, **credentials)
        return self._clients[key]

    @functools.cached_property
    def account(self) -> str:
        """The account these credentials are for."""
        return self.client("sts").get_caller_identity()["Account"]


def load_context(settings_file: Path) -> Context:
    settings = load_settings(settings_file)
    return Context(settings, settings_file, require_aws(settings))


def require_aws(settings: Settings) -> Aws:
    if settings.aws is None:
        raise ProjectError(
            "project.yaml has no 'aws' section: commands that reach AWS need its region, role, bucket and "
            "model package group (see the aws section in the project's README)"
        )
    return settings.aws
