"""Publish a built pipeline: upload its files, then create or update the pipeline.

Uploads are idempotent: every key names its content, so a key that exists already holds the
same bytes and is skipped. boto3 honours AWS_ENDPOINT_URL (tests point it at a moto server).
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from .definition import Build


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
