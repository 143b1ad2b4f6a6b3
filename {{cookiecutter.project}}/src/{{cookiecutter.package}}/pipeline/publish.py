"""Publish a built pipeline: upload its files and the jobs' wheels, then create or update it.

Uploads are idempotent: every key names its content, so a key that exists already holds the
same bytes and is skipped. boto3 honours AWS_ENDPOINT_URL (tests point it at a moto server).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import ClientError

from ..errors import ProjectError
from .definition import Build
from .images import Image
from .wheels import COMPLETE, download, wheels_digest

MISSING = ("404", "NoSuchBucket", "NoSuchKey", "NotFound")
DENIED = ("403", "AccessDenied", "Forbidden")


def require_bucket(s3, bucket: str, setting: str = "aws.bucket") -> None:
    """Refuse at once, before anything is built, when the bucket a command needs is not there, or
    not readable with these credentials (HeadBucket: the s3:ListBucket the roles have)."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        where = f"bucket {bucket} ({setting} in project.yaml)"
        if code in MISSING:
            raise ProjectError(
                f"{where} does not exist: deploy the bootstrap stacks first (infra/bootstrap/, see infra/README.md), "
                f"or correct {setting}"
            ) from None
        if code in DENIED:
            raise ProjectError(
                f"{where}: access denied, so it is another account's bucket or these credentials may not list it; "
                f"sign in to the pipeline account (the bootstrap stacks' roles may), or correct {setting}"
            ) from None
        raise ProjectError(f"{where}: {code} {error.response['Error'].get('Message', '')}".rstrip()) from None


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] not in MISSING:
            raise
        return False
    return True


def upload(s3, build: Build, echo: Callable[[str], None] = print) -> int:
    """Upload what is missing; returns how many files were uploaded."""
    uploaded = 0
    for key, data in build.uploads.items():
        if not _exists(s3, build.bucket, key):
            s3.put_object(Bucket=build.bucket, Key=key, Body=data)
            uploaded += 1
    echo(f"uploads: {uploaded} new, {len(build.uploads) - uploaded} already in s3://{build.bucket}")
    return uploaded


def upload_wheels(s3, build: Build, image: Image, cache: Path, echo: Callable[[str], None] = print) -> int:
    """Ship the jobs' wheels to the build's wheels prefix unless they are there already (their
    requirements file goes last, so its presence means every wheel is there); returns files uploaded."""
    bucket, prefix, requirements = build.bucket, build.wheels_prefix, build.wheels_requirements
    if _exists(s3, bucket, f"{prefix}/{COMPLETE}"):
        echo(f"wheels: already in s3://{bucket}/{prefix}/")
        return 0
    wheels = download(requirements, image, cache / wheels_digest(requirements), echo)
    for wheel in wheels:
        s3.upload_file(str(wheel), bucket, f"{prefix}/{wheel.name}")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{COMPLETE}", Body=requirements.encode())
    size = sum(wheel.stat().st_size for wheel in wheels)
    echo(f"wheels: {len(wheels)} uploaded to s3://{bucket}/{prefix}/ ({size / 1e6:.1f} MB)")
    return len(wheels) + 1


def upsert(sagemaker, name: str, build: Build, role_arn: str, description: str) -> tuple[str, str]:
    """Create the pipeline, or update it when it exists; returns (ARN, "created" or "updated")."""
    arguments = {
        "PipelineName": name,
        "PipelineDefinition": build.definition,
        "PipelineDescription": description[:3072],
        "RoleArn": role_arn,
    }
    try:
        sagemaker.describe_pipeline(PipelineName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ResourceNotFound", "ValidationException"):
            raise
        return sagemaker.create_pipeline(**arguments)["PipelineArn"], "created"
    return sagemaker.update_pipeline(**arguments)["PipelineArn"], "updated"
