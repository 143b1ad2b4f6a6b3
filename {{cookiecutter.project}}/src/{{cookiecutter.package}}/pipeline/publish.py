"""Publish a built pipeline: upload its files, then create or update the pipeline.

Uploads are idempotent: every key names its content, so a key that exists already holds the
same bytes and is skipped. boto3 honours AWS_ENDPOINT_URL (tests point it at a moto server).
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from ..errors import ProjectError
from .definition import Build

MISSING = ("404", "NoSuchBucket", "NotFound")
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


def upload(s3, build: Build, echo: Callable[[str], None] = print) -> int:
    """Upload what is missing; returns how many files were uploaded."""
    uploaded = 0
    for key, data in build.uploads.items():
        try:
            s3.head_object(Bucket=build.bucket, Key=key)
            continue
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=build.bucket, Key=key, Body=data)
        uploaded += 1
    echo(f"uploads: {uploaded} new, {len(build.uploads) - uploaded} already in s3://{build.bucket}")
    return uploaded


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
