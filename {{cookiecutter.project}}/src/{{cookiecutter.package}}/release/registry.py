"""The Model Registry: versions of the model package group, their status, metrics and baselines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from ..errors import ProjectError
from ..gates import metrics_section
from ..pipeline.lineage import version_arn

APPROVED, REJECTED, PENDING = "Approved", "Rejected", "PendingManualApproval"


@dataclass(frozen=True)
class Version:
    arn: str
    number: int
    status: str
    created: str
    commit: str  # from the customer metadata the pipeline writes
    note: str  # the approval description
    metrics_uris: dict = field(default_factory=dict)  # ModelMetrics section -> S3 URI
    baselines: dict = field(default_factory=dict)  # DriftCheckBaselines, as the registry holds them

    @classmethod
    def from_description(cls, package: dict) -> Version:
        metrics = package.get("ModelMetrics", {})
        uris = {
            "quality": metrics.get("ModelQuality", {}).get("Statistics", {}).get("S3Uri"),
            "bias_pre_training": metrics.get("Bias", {}).get("PreTrainingReport", {}).get("S3Uri"),
            "bias_post_training": metrics.get("Bias", {}).get("PostTrainingReport", {}).get("S3Uri"),
            "explainability": metrics.get("Explainability", {}).get("Report", {}).get("S3Uri"),
        }
        return cls(
            arn=package["ModelPackageArn"],
            number=int(package["ModelPackageVersion"]),
            status=package["ModelApprovalStatus"],
            created=str(package.get("CreationTime", ""))[:19],
            commit=package.get("CustomerMetadataProperties", {}).get("GitCommit", ""),
            note=package.get("ApprovalDescription", ""),
            metrics_uris={key: uri for key, uri in uris.items() if uri},
            baselines=package.get("DriftCheckBaselines", {}),
        )


def describe(sagemaker, group: str, version: str | int) -> Version:
    arn = version_arn(sagemaker, group, str(version))
    try:
        return Version.from_description(sagemaker.describe_model_package(ModelPackageName=arn))
    except ClientError as error:
        raise ProjectError(f"model version {version}: {error.response['Error']['Message']}") from None


def versions(sagemaker, group: str, status: str | None = None, limit: int | None = None) -> list[Version]:
    """Newest first."""
    found = []
    paginator = sagemaker.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group,
        SortBy="CreationTime",
        SortOrder="Descending",
        **({"ModelApprovalStatus": status} if status else {}),
    )
    try:
        for page in pages:
            found += [summary["ModelPackageArn"] for summary in page["ModelPackageSummaryList"]]
    except ClientError as error:
        raise ProjectError(f"model package group {group!r}: {error.response['Error']['Message']}") from None
    described = [describe(sagemaker, group, arn) for arn in found[:limit] if arn]
    return sorted(described, key=lambda version: version.number, reverse=True)


def latest_approved(sagemaker, group: str, below: int | None = None) -> Version | None:
    """The newest Approved version (older than version `below`, if given)."""
    for version in versions(sagemaker, group, status=APPROVED):
        if below is None or version.number < below:
            return version
    return None


def set_status(sagemaker, group: str, version: str | int, status: str, note: str = "") -> Version:
    current = describe(sagemaker, group, version)
    request = {"ModelPackageArn": current.arn, "ModelApprovalStatus": status}
    if note:
        request["ApprovalDescription"] = note
    sagemaker.update_model_package(**request)
    return describe(sagemaker, group, current.arn)


def read_json(s3, uri: str) -> dict | None:
    """A metrics or baseline file the pipeline stored; None when it cannot be read."""
    parsed = urlparse(uri)
    try:
        body = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
        return json.loads(body)
    except (ClientError, ValueError):
        return None


def quality(s3, version: Version) -> dict[str, float]:
    """Test-set metrics from the version's evaluation.json (SageMaker's shape, any problem type)."""
    report = read_json(s3, version.metrics_uris["quality"]) if "quality" in version.metrics_uris else None
    try:
        metrics = metrics_section(report or {})
    except KeyError:  # not an evaluation.json: shown as no metrics, like an unreadable file
        metrics = {}
    return {name: entry["value"] for name, entry in metrics.items() if isinstance(entry, dict) and "value" in entry}


def bias_summary(s3, version: Version) -> list[tuple[str, str, str, float]]:
    """(stage, facet, metric, value) rows from the version's Clarify bias reports."""
    rows = []
    for key, section in (("bias_pre_training", "pre_training_bias_metrics"),
                         ("bias_post_training", "post_training_bias_metrics")):  # fmt: skip
        report = read_json(s3, version.metrics_uris[key]) if key in version.metrics_uris else None
        for facet, groups in ((report or {}).get(section, {}).get("facets", {})).items():
            for group in groups:
                for metric in group.get("metrics", []):
                    if metric.get("value") is not None:
                        label = f"{facet}={group.get('value_or_threshold')}"
                        stage = section.removesuffix("_bias_metrics").replace("_", "-")
                        rows.append((stage, label, metric["name"], metric["value"]))
    return rows
