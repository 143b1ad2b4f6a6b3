"""Build the pipeline with no AWS credentials and no network, byte-identical for the same commit.

The SageMaker SDK uploads files while it builds step arguments and names some of them by time.
`OfflineSession` keeps every upload in memory under a key derived from its content instead; the
publish step uploads them later. Any other AWS call is refused, so a hidden network dependency
fails loudly in tests instead of slowing builds down.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

from .shortcuts import local_clients_without_sessions, one_data_loader, schema_checked_once

# The SDK reads these at import time: a region, no instance-metadata probing, no IAM role lookup
# and telemetry off (through an SDK config file, the only switch it offers).
SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


@contextmanager
def sdk_environment(region: str):
    """Environment the SDK needs to import and build offline, with the shortcuts that make it fast
    (shortcuts.py); all restored afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "sagemaker-config.json"
        config.write_text(json.dumps(SDK_CONFIG), encoding="utf-8")
        wanted = {
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config),
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
        }
        saved = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        try:
            with _quiet_sdk(), one_data_loader(), schema_checked_once(), local_clients_without_sessions():
                yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@contextmanager
def _quiet_sdk():
    """The SDK logs every popped job name and config lookup (and may switch the root logger to
    DEBUG); a build prints only its own result."""
    root = logging.getLogger()
    level = root.level
    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)
            root.setLevel(level)


class NetworkRefused(RuntimeError):
    pass


def _refuse(event_name: str, **_kwargs) -> None:
    raise NetworkRefused(f"the offline pipeline build tried to call AWS ({event_name})")


def offline_boto_session(region: str):
    import boto3

    session = boto3.Session(
        aws_access_key_id="offline",
        aws_secret_access_key="offline",
        region_name=region,  # never sent
    )
    session.events.register("before-call", _refuse)
    return session


def content_key(prefix: str, data: bytes, name: str) -> str:
    return f"{prefix}/{hashlib.sha256(data).hexdigest()[:20]}/{name}"


def make_session(region: str, bucket: str, prefix: str):
    """A PipelineSession whose uploads are staged in `session.staged` (S3 key -> bytes)."""
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    class OfflineSession(PipelineSession):
        def __init__(self) -> None:
            boto_session = offline_boto_session(region)
            super().__init__(boto_session=boto_session, default_bucket=bucket)
            self.staged: dict[str, bytes] = {}
            # URIs the SDK chose (with a time and a random part) -> where their content is staged.
            self.renamed: dict[str, str] = {}

        def default_bucket(self) -> str:
            return bucket

        def resolve(self, text: str) -> str:
            """`text` (a URI, or the whole definition) with each URI the SDK chose replaced by the
            content-addressed one its upload was staged under: the same commit, the same bytes."""
            for chosen, staged in self.renamed.items():
                text = text.replace(chosen, staged)
            return text

        def _stage(self, data: bytes, name: str) -> str:
            key = content_key(f"{prefix}/sdk", data, name)
            self.staged[key] = data
            return f"s3://{bucket}/{key}"

        def upload_data(self, path, bucket=None, key_prefix="data", callback=None, extra_args=None):
            path = Path(path)
            if path.is_file():
                return self._stage(path.read_bytes(), path.name)
            # A folder: stage its files under one key prefix named by the hash of all of them.
            # Bytecode caches the SDK copies along differ per install: they are not part of the job.
            files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            digest = hashlib.sha256()
            for file in files:
                digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
            folder = f"{prefix}/sdk/{digest.hexdigest()[:20]}"
            for file in files:
                self.staged[f"{folder}/{file.relative_to(path).as_posix()}"] = file.read_bytes()
            return f"s3://{bucket}/{folder}"

        def upload_string_as_file_body(self, body, bucket, key, kms_key=None):
            data = body.encode() if isinstance(body, str) else body
            staged = self._stage(data, Path(key).name)
            self.renamed[f"s3://{bucket}/{key}"] = staged
            return staged

    return OfflineSession()
