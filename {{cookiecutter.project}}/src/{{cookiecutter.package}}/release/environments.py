"""environments/<stage>.yaml: each stage's desired endpoint, validated here; `promote` edits only
the model_package line so reviews see one-line diffs and comments survive."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, field_validator, model_validator

from ..errors import ProjectError
from ..settings import InstanceType, S3Uri, Strict, parse_yaml, validate

ENVIRONMENTS_DIR = Path("environments")
STAGES = ("staging", "prod")  # promotion order
PACKAGE_ARN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9](-*[A-Za-z0-9]){0,62}/\d+$"
MODEL_PACKAGE_LINE = re.compile(r"^model_package:.*$", re.MULTILINE)


class Endpoint(Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,47}$")
    instance_type: InstanceType = "ml.m5.large"
    instance_count: int = Field(1, ge=1)


class Autoscaling(Strict):
    enabled: bool = False
    min_capacity: int = Field(1, ge=1)
    max_capacity: int = Field(2, ge=1)
    target_invocations_per_instance: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"autoscaling: min_capacity {self.min_capacity} > max_capacity {self.max_capacity}")
        return self


class DataCapture(Strict):
    enabled: bool = False
    sampling_percentage: int = Field(100, ge=1, le=100)


class Deployment(Strict):
    strategy: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    step_percent: int = Field(10, ge=1, le=50)
    wait_seconds: int = Field(300, ge=0, le=3600)
    termination_wait_seconds: int = Field(0, ge=0, le=3600)
    max_latency_ms: int = Field(500, ge=1)
    max_error_rate_percent: float = Field(1.0, ge=0, le=100)

    @model_validator(mode="after")
    def _linear_step(self) -> Deployment:
        # SageMaker's limit: a canary may be 1-50 % of the new fleet, a linear step only 10-50 %.
        if self.strategy == "linear" and self.step_percent < 10:
            raise ValueError(f"step_percent: a linear step must be 10-50 % of capacity (got {self.step_percent})")
        return self


class Monitoring(Strict):
    enabled: bool = False
    schedule: str = Field("cron(0 * ? * * *)", pattern=r"^cron\(.+\)$")
    instance_type: InstanceType = "ml.m5.xlarge"
    ground_truth_s3_uri: S3Uri | None = None


class Smoke(Strict):
    rows: int = Field(5, ge=1, le=100)
    max_latency_ms: int = Field(2000, ge=1)


class Manifest(Strict):
    stage: Literal["staging", "prod"]
    account: str = Field(pattern=r"^\d{12}$")  # the AWS account the stage's endpoint runs in
    model_package: str | None = Field(None, pattern=PACKAGE_ARN)
    endpoint: Endpoint
    autoscaling: Autoscaling = Autoscaling()
    data_capture: DataCapture = DataCapture()
    deployment: Deployment = Deployment()
    monitoring: Monitoring = Monitoring()
    smoke: Smoke = Smoke()

    @field_validator("account", mode="before")
    @classmethod
    def _quoted(cls, value):
        if isinstance(value, int):  # a bare number: YAML may have changed it (0123456701 is octal)
            raise ValueError('write the 12-digit account id in quotes, e.g. account: "012345678901"')
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if self.monitoring.enabled and not self.data_capture.enabled:
            raise ValueError("monitoring.enabled needs data_capture.enabled: monitoring analyses captured traffic")
        if self.monitoring.enabled and not self.monitoring.ground_truth_s3_uri:
            raise ValueError(
                "monitoring.ground_truth_s3_uri: needed when monitoring is enabled (model bias compares "
                "predictions with ground-truth labels)"
            )
        return self

    @property
    def version(self) -> int | None:
        return None if self.model_package is None else int(self.model_package.rsplit("/", 1)[1])


def manifest_path(stage: str, directory: Path = ENVIRONMENTS_DIR) -> Path:
    if stage not in STAGES:
        raise ProjectError(f"--env {stage}: unknown environment; known: {', '.join(STAGES)}")
    return directory / f"{stage}.yaml"


def load_manifest(stage: str, directory: Path = ENVIRONMENTS_DIR) -> Manifest:
    path = manifest_path(stage, directory)
    return parse_manifest(_read(path), str(path), stage)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: environment manifest not found") from None


def parse_manifest(text: str, source: str, stage: str) -> Manifest:
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as error:
        raise ProjectError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ProjectError(f"{source}: expected a mapping (stage, model_package, endpoint, ...)")
    manifest = validate(Manifest, raw, source)
    if manifest.stage != stage:
        raise ProjectError(f"{source}: stage: says {manifest.stage!r} but the file is for {stage!r}")
    return manifest


def pin(stage: str, model_package: str, directory: Path = ENVIRONMENTS_DIR) -> bool:
    """Set the stage's model_package (and nothing else); False when it already was. The new text
    is validated before it replaces the file, so a failed pin leaves the file as it was."""
    path = manifest_path(stage, directory)
    text = _read(path)
    if load_manifest(stage, directory).model_package == model_package:
        return False
    if len(MODEL_PACKAGE_LINE.findall(text)) != 1:
        raise ProjectError(f"{path}: expected exactly one top-level 'model_package:' line to update")
    updated = MODEL_PACKAGE_LINE.sub(f"model_package: {model_package}", text)
    parse_manifest(updated, str(path), stage)
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text(updated, encoding="utf-8")
    os.replace(temporary, path)
    return True


def manifest_commit(path: Path) -> str:
    """The last commit that changed the manifest (a stack tag), or "" outside a git checkout."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", str(path)], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
