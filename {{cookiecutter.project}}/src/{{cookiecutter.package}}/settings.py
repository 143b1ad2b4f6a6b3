"""project.yaml: the one place a new dataset, model or threshold is configured.

Loaded and validated here only; every error names the file, the key path and what is expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ProjectError

# SageMaker jobs set PROJECT_SETTINGS to where the pipeline puts project.yaml.
DEFAULT_PATH = Path(os.environ.get("PROJECT_SETTINGS", "project.yaml"))
Fraction = Annotated[float, Field(gt=0, lt=0.5)]


class Strict(BaseModel):
    # A typo in a key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


ProblemType = Literal["binary", "multiclass", "regression"]
# A label value as YAML writes it: ">50K", 1, true. Compared with the data by its text (labels.py).
# pydantic's default "smart" union keeps each value's own type; left_to_right turned 0 and 1 into
# False and True (bool accepts them), so `classes: [0, 1]` no longer matched a CSV's 0/1 by text.
LabelValue = str | bool | int | float

# The test-set metrics a quality gate may name, per problem type: evaluation.json's keys under
# binary_classification_metrics, multiclass_classification_metrics or regression_metrics.
# Extension point, a metric: compute it in steps/evaluate.py and name it here (with its range
# below); gates.quality may then limit it and the pipeline gets its Min/Max parameter.
QUALITY_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "pr_auc", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "expected_cost"),
    "multiclass": ("accuracy", "balanced_accuracy", "weighted_f1", "macro_f1", "weighted_precision", "weighted_recall"),
    "regression": ("r2", "mae", "rmse", "mse", "mape"),
}
# The values each metric can take, (low, high) with None for no bound: a limit outside is a typo.
METRIC_RANGES: dict[str, tuple[float | None, float | None]] = {
    **{name: (0.0, 1.0) for names in QUALITY_METRICS.values() for name in names},
    "expected_cost": (0.0, None),
    "r2": (None, 1.0),
    **{name: (0.0, None) for name in ("mae", "rmse", "mse", "mape")},
}


class Dataset(Strict):
    sample: Path  # the bundled sample every default reads: local run, tests, smoke test, Makefile
    # Generated from the row number and the file when the data has none and the Feature Store is
    # off; required in the data when it is on (they are the feature group's identifier and time).
    record_id: str = "record_id"
    event_time: str = "event_time"  # ISO 8601 date or date-time
    label: str
    problem_type: ProblemType = "binary"
    # binary and multiclass: every label value, in a fixed order (a class's index is its position).
    classes: list[LabelValue] | None = None
    positive_label: LabelValue | None = None  # binary only: the class predicted as 1
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

    @model_validator(mode="after")
    def _labels_fit_the_problem(self) -> Dataset:
        kind = self.problem_type
        if kind == "regression":
            if self.classes is not None or self.positive_label is not None:
                raise ValueError("a regression label is a number: remove classes and positive_label")
            return self
        texts = [str(value) for value in self.classes or []]
        if len(set(texts)) != len(texts):
            raise ValueError(f"classes: each label value once (got {self.classes})")
        if kind == "binary":
            if len(texts) != 2:
                raise ValueError("binary: list the label's two values under classes, e.g. classes: [no, yes]")
            if self.positive_label is None or str(self.positive_label) not in texts:
                raise ValueError(f"binary: positive_label must be one of classes {self.classes}")
        else:
            if len(texts) < 3:
                raise ValueError("multiclass: list the label's values (three or more) under classes")
            if self.positive_label is not None:
                raise ValueError("multiclass: remove positive_label (it is for binary labels)")
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


PreTrainingMetric = Literal["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
PostTrainingMetric = Literal["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "SD", "GE"]
NEEDS_GROUP_VARIABLE = {"CDDL", "CDDPL"}


class Range(Strict):
    """A numeric facet's sensitive group: min <= value < max (either bound may be left out)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min {self.min} must be less than max {self.max}")
        return self


class Facet(Strict):
    """A sensitive group, compared with everyone else. A facet column that is not a feature is
    audited only: carried to the bias analysis, never shown to the model."""

    column: str
    sensitive_values: list[LabelValue] | None = Field(None, min_length=1)  # a categorical facet
    sensitive_range: Range | None = None  # a numeric facet, e.g. {max: 25} for under-25s
    # Rows each group (the sensitive one, and everyone else) needs in the test split to be judged;
    # below it the facet's gated metrics read "too few rows to judge" and the bias gate fails.
    min_rows: int = Field(30, ge=1)

    @model_validator(mode="after")
    def _one_group(self) -> Facet:
        if (self.sensitive_values is None) == (self.sensitive_range is None):
            raise ValueError("give either sensitive_values (categories) or sensitive_range (numbers), not both")
        return self


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


class Gates(Strict):
    # The quality gate: test-set metric (evaluation.json's name) -> allowed range. A model outside
    # any range is never registered. Names are checked against the problem type.
    quality: dict[str, Limit] = Field(min_length=1)

    # Checked here, not with the names in Settings, so it is reported next to other field errors.
    @field_validator("quality")
    @classmethod
    def _limits_in_range(cls, quality: dict[str, Limit]) -> dict[str, Limit]:
        for name, limit in quality.items():
            low, high = METRIC_RANGES.get(name, (None, None))
            for side, bound in (("min", limit.min), ("max", limit.max)):
                if bound is not None and ((low is not None and bound < low) or (high is not None and bound > high)):
                    shown = f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
                    raise ValueError(f"gates.quality.{name}.{side}: {bound:g} is outside {name}'s range {shown}")
        return quality


class Costs(Strict):
    """What each kind of error costs (any unit, e.g. currency per row). Reported as expected cost;
    without decision.threshold they set it to the cost-minimising cut-off fp / (fp + fn)."""

    false_positive: float = Field(gt=0)
    false_negative: float = Field(gt=0)


class Decision(Strict):
    """Binary only: how a score becomes a predicted label, for evaluation, Clarify, gates and the endpoint."""

    threshold: float | None = Field(None, gt=0, lt=1)  # a row with score >= threshold is predicted positive
    costs: Costs | None = None

    @property
    def cutoff(self) -> float:
        if self.threshold is not None:
            return self.threshold
        if self.costs is not None:
            return self.costs.false_positive / (self.costs.false_positive + self.costs.false_negative)
        return 0.5


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
    # The outcome a person would want (Clarify's label_values_or_threshold). Classification: label
    # values, by default [positive_label] for binary; set it to the other class when the positive
    # label is the unfavourable outcome (default, reoffending). Regression: favourable_threshold,
    # a label above it is favourable.
    favourable_labels: list[LabelValue] | None = None
    favourable_threshold: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Bias:
        chosen = {*self.pre_training_metrics, *self.post_training_metrics}
        unknown = sorted(set(self.thresholds) - chosen)
        if unknown:
            raise ValueError(f"thresholds for metrics that are not computed: {', '.join(unknown)}")
        if chosen & NEEDS_GROUP_VARIABLE and not self.group_variable:
            raise ValueError("CDDL and CDDPL need group_variable (a column to condition on)")
        return self


# An AWS region code: commercial, China or GovCloud (the template's hook takes the same rule).
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"
S3Uri = Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")]
InstanceType = Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]
# Instances per job. Processing (and Clarify, a processing job): the API's ProcessingClusterConfig
# takes 1-100. Training: the API sets no maximum (the account's quotas do); 100 matches the others
# and catches a typo before SageMaker would. A training job's instances are all of one type
# (ResourceConfig has one InstanceType), as distributed XGBoost needs.
InstanceCount = Annotated[int, Field(ge=1, le=100)]


class Aws(Strict):
    """Where the SageMaker pipeline runs; infra/bootstrap/ creates the role, bucket and group."""

    region: str = Field(pattern=REGION)
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
    # Data checks and preprocessing over several instances, each on its share of the data's files
    # (S3 key sharding): for data that outgrows one instance (README: Scaling out).
    processing_instance_count: InstanceCount = 1
    training_instance_type: InstanceType = "ml.m5.xlarge"
    training_instance_count: InstanceCount = 1  # distributed XGBoost, each instance on its shard
    clarify_instance_type: InstanceType = "ml.m5.xlarge"
    clarify_instance_count: InstanceCount = 1
    spot_training: bool = False  # managed spot for training (cheaper, may wait for capacity)
    approval_status: Literal["PendingManualApproval", "Approved", "Rejected"] = "PendingManualApproval"


class Settings(Strict):
    dataset: Dataset
    split: Split = Split()
    model: Model = Model()
    gates: Gates
    decision: Decision | None = None  # binary only
    bias: Bias | None = None
    aws: Aws | None = None  # needed by the pipeline commands only; the local run works without it

    @model_validator(mode="after")
    def _fits_the_problem_type(self) -> Settings:
        kind = self.dataset.problem_type
        known = QUALITY_METRICS[kind]
        unknown = [name for name in self.gates.quality if name not in known]
        if unknown:
            raise ValueError(
                f"gates.quality: {', '.join(unknown)} is not a {kind} metric; choose from {', '.join(known)}"
            )
        if "expected_cost" in self.gates.quality and (self.decision is None or self.decision.costs is None):
            raise ValueError("gates.quality.expected_cost needs decision.costs")
        if self.decision is not None and kind != "binary":
            raise ValueError(f"decision: a score cut-off is for binary labels; a {kind} model has none")
        return self

    @model_validator(mode="after")
    def _bias_fits_the_data(self) -> Settings:
        if self.bias is None:
            return self
        dataset, bias = self.dataset, self.bias
        roles = {dataset.label, dataset.record_id, dataset.event_time}
        for position, facet in enumerate(bias.facets):
            if facet.column in roles:
                raise ValueError(f"bias.facets.{position}.column: {facet.column!r} is the label, id or time column")
            if facet.sensitive_range is not None and facet.column in dataset.categorical_features:
                raise ValueError(
                    f"bias.facets.{position}: {facet.column!r} is categorical; "
                    "use sensitive_values, not sensitive_range"
                )
        if bias.group_variable and bias.group_variable in roles:
            raise ValueError(f"bias.group_variable: {bias.group_variable!r} is the label, id or time column")
        if dataset.problem_type == "regression":
            if bias.favourable_labels is not None or bias.favourable_threshold is None:
                raise ValueError("bias: a regression label needs favourable_threshold (a label above it is favourable)")
        else:
            if bias.favourable_threshold is not None:
                raise ValueError("bias.favourable_threshold is for regression; use favourable_labels")
            classes = [str(value) for value in dataset.classes or []]
            if bias.favourable_labels is None and dataset.problem_type == "multiclass":
                raise ValueError("bias: a multiclass label needs favourable_labels (the classes a person would want)")
            wrong = [value for value in bias.favourable_labels or [] if str(value) not in classes]
            if wrong:
                raise ValueError(f"bias.favourable_labels: {wrong} not among dataset.classes {dataset.classes}")
            if len({str(value) for value in self.favourable}) >= len(classes):
                raise ValueError("bias.favourable_labels: list some classes, not all (else no outcome is unfavourable)")
        return self

    @property
    def favourable(self) -> list:
        """The favourable label values (classification) as written in dataset.classes."""
        bias, dataset = self.bias, self.dataset
        if bias is not None and bias.favourable_labels is not None:
            return list(bias.favourable_labels)
        return [dataset.positive_label] if dataset.positive_label is not None else []

    @property
    def cutoff(self) -> float:
        """Binary: the score at or above which a row is predicted positive (decision, default 0.5)."""
        return (self.decision or Decision()).cutoff


def load_settings(path: Path | str = DEFAULT_PATH) -> Settings:
    hint = "settings file not found; run from the project root or pass --settings PATH"
    raw = read_mapping(Path(path), hint, "a mapping of settings at the top level")
    return validate(Settings, raw, str(path))


# libyaml's parser where PyYAML was built with it (ten times faster than the pure-Python one, and
# every command and job reads project.yaml); the same safe subset of YAML either way.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str):
    return yaml.load(text, Loader=SAFE_LOADER)


def read_mapping(path: Path, missing: str, expected: str) -> dict:
    """A YAML file's top-level mapping; one clear error for a missing file, bad YAML or another shape."""
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
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
        # A validator that names the exact key itself (gates.quality.auc.min) is shown as it says.
        problems.append(f"{key}: {message}" if key and not message.startswith(f"{key}.") else message)
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    return "\n".join([f"{source}: {len(problems)} invalid settings:", *(f"  {problem}" for problem in problems)])
