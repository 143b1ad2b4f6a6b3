"""project.yaml: the one place a new dataset, model or threshold is configured.

Loaded and validated here only; every error names the file, the key path and what is expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ProjectError

# SageMaker jobs set PROJECT_SETTINGS to where the pipeline puts project.yaml.
DEFAULT_PATH = Path(os.environ.get("PROJECT_SETTINGS", "project.yaml"))
Fraction = Annotated[float, Field(gt=0, lt=0.5)]


class Strict(BaseModel):
    # A typo in a key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dataset(Strict):
    record_id: str
    event_time: str
    label: str
    positive_label: str
    numeric_features: list[str] = Field(min_length=0)
    categorical_features: list[str] = Field(min_length=0)

    @property
    def features(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_features]

    @model_validator(mode="after")
    def _columns_are_distinct(self) -> Dataset:
        if not self.features:
            raise ValueError("list at least one column in numeric_features or categorical_features")
        seen: set[str] = set()
        for column in [self.record_id, self.event_time, self.label, *self.features]:
            if column in seen:
                raise ValueError(f"column {column!r} is listed twice; each column has one role")
            seen.add(column)
        return self


class Split(Strict):
    validation: Fraction = 0.15
    test: Fraction = 0.15
    seed: int = 42


class Hyperparameters(Strict):
    """XGBoost training parameters (https://xgboost.readthedocs.io/en/stable/parameter.html)."""

    num_round: int = Field(300, ge=1)
    early_stopping_rounds: int = Field(30, ge=1)
    max_depth: int = Field(6, ge=1, le=20)
    eta: float = Field(0.1, gt=0, le=1)
    min_child_weight: float = Field(1.0, ge=0)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    max_cat_to_onehot: int = Field(4, ge=1)
    seed: int = 42


class Model(Strict):
    hyperparameters: Hyperparameters = Hyperparameters()


class Gates(Strict):
    min_auc: float = Field(ge=0, le=1)


PreTrainingMetric = Literal["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
PostTrainingMetric = Literal["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "SD", "GE"]
NEEDS_GROUP_VARIABLE = {"CDDL", "CDDPL"}


class Facet(Strict):
    column: str
    sensitive_values: list[str] = Field(min_length=1)


class Limit(Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Limit:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    def allows(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        if self.min is None:
            return f"<= {self.max:g}"
        if self.max is None:
            return f">= {self.min:g}"
        return f"in [{self.min:g}, {self.max:g}]"


class Bias(Strict):
    """One bias configuration for the local analysis (smclarify) and the pipeline's Clarify checks.

    Metric names and definitions are Clarify's:
    https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html
    """

    facets: list[Facet] = Field(min_length=1)
    group_variable: str | None = None  # needed only by CDDL and CDDPL
    pre_training_metrics: list[PreTrainingMetric] = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"]
    post_training_metrics: list[PostTrainingMetric] = ["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "TE", "FT"]
    thresholds: dict[str, Limit] = {}  # the bias gate: metric -> allowed range, for every facet

    @model_validator(mode="after")
    def _consistent(self) -> Bias:
        chosen = {*self.pre_training_metrics, *self.post_training_metrics}
        unknown = sorted(set(self.thresholds) - chosen)
        if unknown:
            raise ValueError(f"thresholds for metrics that are not computed: {', '.join(unknown)}")
        if chosen & NEEDS_GROUP_VARIABLE and not self.group_variable:
            raise ValueError("CDDL and CDDPL need group_variable (a column to condition on)")
        return self


S3Uri = Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")]
InstanceType = Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]


class Aws(Strict):
    """Where the SageMaker pipeline runs; infra/bootstrap/ creates the role, bucket and group."""

    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    # S3 key prefix for everything the pipeline writes: code, configs, job outputs.
    prefix: str = Field("pipeline", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    pipeline_name: str = Field(pattern=r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,255}$")
    model_package_group: str = Field(pattern=r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$")
    # New training data arrives as drops: <data_drops_uri><drop-id>/, complete once its _SUCCESS
    # object exists (see pipeline/drops.py). Each drop is one run's whole dataset.
    data_drops_uri: Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.+/)?$")]
    processing_instance_type: InstanceType = "ml.m5.large"
    training_instance_type: InstanceType = "ml.m5.xlarge"
    clarify_instance_type: InstanceType = "ml.m5.xlarge"
    clarify_instance_count: int = Field(1, ge=1, le=100)
    spot_training: bool = False  # managed spot for training (cheaper, may wait for capacity)
    approval_status: Literal["PendingManualApproval", "Approved", "Rejected"] = "PendingManualApproval"


class Settings(Strict):
    dataset: Dataset
    split: Split = Split()
    model: Model = Model()
    gates: Gates
    bias: Bias | None = None
    aws: Aws | None = None  # needed by the pipeline commands only; the local run works without it

    @model_validator(mode="after")
    def _bias_columns_exist(self) -> Settings:
        if self.bias is None:
            return self
        features = self.dataset.features
        for position, facet in enumerate(self.bias.facets):
            if facet.column not in features:
                raise ValueError(
                    f"bias.facets.{position}.column: {facet.column!r} is not a feature column listed under dataset"
                )
        if self.bias.group_variable and self.bias.group_variable not in features:
            raise ValueError(f"bias.group_variable: {self.bias.group_variable!r} is not a feature column")
        return self


def load_settings(path: Path | str = DEFAULT_PATH) -> Settings:
    hint = "settings file not found; run from the project root or pass --settings PATH"
    raw = read_mapping(Path(path), hint, "a mapping of settings at the top level")
    return validate(Settings, raw, str(path))


def read_mapping(path: Path, missing: str, expected: str) -> dict:
    """A YAML file's top-level mapping; one clear error for a missing file, bad YAML or another shape."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path}: {missing}") from None
    except yaml.YAMLError as error:
        raise ProjectError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: expected {expected}")
    return raw


def validate(model: type[BaseModel], raw: dict, source: str):
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ProjectError(describe_errors(source, error)) from None


def describe_errors(source: str, error: ValidationError) -> str:
    """One line per problem, each naming the key path: what, where, and what is expected."""
    problems = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and indentation)"
        elif problem["type"] != "missing" and not isinstance(problem.get("input"), (dict, list)):
            message += f" (got {problem['input']!r})"  # a whole section would drown the message
        problems.append(f"{key}: {message}" if key else message)
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    return "\n".join([f"{source}: {len(problems)} invalid settings:", *(f"  {problem}" for problem in problems)])
