"""Lineage: a registered model version -> its pipeline execution -> input data -> git commit.

The register step writes the execution ARN, commit, repository and data URI into the version's
customer metadata; the execution adds its parameters, status and times.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..errors import ProjectError


def version_arn(sagemaker, group: str, version: str) -> str:
    if version.startswith("arn:"):
        return version
    if not version.isdigit():
        raise ProjectError(f"model version {version!r}: give a version number (e.g. 3) or a model package ARN")
    paginator = sagemaker.get_paginator("list_model_packages")
    for page in paginator.paginate(ModelPackageGroupName=group):
        for package in page["ModelPackageSummaryList"]:
            if str(package.get("ModelPackageVersion")) == version:
                return package["ModelPackageArn"]
    raise ProjectError(f"model package group {group!r} has no version {version}")


def lineage(sagemaker, group: str, version: str) -> dict:
    arn = version_arn(sagemaker, group, version)
    try:
        package = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        raise ProjectError(f"model version {version}: {error.response['Error']['Message']}") from None
    metadata = package.get("CustomerMetadataProperties", {})
    chain = {
        "model_version": {
            "arn": arn,
            "version": package.get("ModelPackageVersion"),
            "status": package.get("ModelApprovalStatus"),
            "created": str(package.get("CreationTime", "")),
        },
        "git": {"repository": metadata.get("GitRepository"), "commit": metadata.get("GitCommit")},
        "data": {"input_data_uri": metadata.get("InputDataUri"), "sample_fraction": metadata.get("SampleFraction")},
        "pipeline_execution": None,
    }
    execution_arn = metadata.get("PipelineExecutionArn")
    if execution_arn:
        try:
            execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
            chain["pipeline_execution"] = {
                "arn": execution_arn,
                "status": execution.get("PipelineExecutionStatus"),
                "started": str(execution.get("CreationTime", "")),
                "pipeline_arn": execution.get("PipelineArn"),
            }
        except ClientError as error:  # executions are kept for a limited time
            chain["pipeline_execution"] = {"arn": execution_arn, "error": error.response["Error"]["Message"]}
    return chain


def describe_chain(chain: dict) -> str:
    version, execution = chain["model_version"], chain["pipeline_execution"] or {}
    lines = [
        f"model version {version['version']} ({version['status']}, created {version['created']})",
        f"  {version['arn']}",
        f"  <- pipeline execution {execution.get('arn', 'unknown (not registered by the pipeline)')}"
        + (f" ({execution['status']}, started {execution['started']})" if execution.get("status") else ""),
        f"  <- input data {chain['data']['input_data_uri'] or 'unknown'}"
        + (f" (sample fraction {chain['data']['sample_fraction']})" if chain["data"]["sample_fraction"] else ""),
        f"  <- git commit {chain['git']['commit'] or 'unknown'} in {chain['git']['repository'] or 'unknown'}",
    ]
    return "\n".join(lines)
