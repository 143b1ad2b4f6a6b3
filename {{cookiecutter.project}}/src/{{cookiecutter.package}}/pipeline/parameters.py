"""Pipeline parameters: what a run may change without a new definition.

Defaults come from project.yaml, so `pipeline run` with no --param runs what the repo says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from ..errors import ProjectError
from ..settings import METRIC_RANGES, QUALITY_METRICS, Aws, Settings

LATEST = "latest"


@dataclass(frozen=True)
class Parameters:
    input_data_uri: object
    as_of: object
    sample_fraction: object
    processing_instance_type: object
    processing_instance_count: object
    training_instance_type: object
    training_instance_count: object
    clarify_instance_type: object
    clarify_instance_count: object
    quality: dict  # (metric, "min" or "max") -> ParameterFloat Min<Metric>/Max<Metric>, one per gates.quality limit
    approval_status: object
    register_model: object
    git_commit: object
    git_repository: object

    def all(self) -> list:
        # Clarify's are left out when bias analysis is off: an unused parameter only confuses.
        found = []
        for value in vars(self).values():
            found.extend(value.values() if isinstance(value, dict) else [] if value is None else [value])
        return found


def quality_parameter_name(metric: str, side: str) -> str:
    """gates.quality.auc.min -> MinAuc, gates.quality.pr_auc.max -> MaxPrAuc."""
    return side.capitalize() + "".join(part.capitalize() for part in metric.split("_"))


QUALITY_PARAMETERS = {
    quality_parameter_name(metric, side): (metric, side)
    for metric in sorted({name for names in QUALITY_METRICS.values() for name in names})
    for side in ("min", "max")
}


def make_parameters(settings: Settings, aws: Aws) -> Parameters:
    from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterInteger, ParameterString

    clarify = settings.bias is not None
    return Parameters(
        # One data drop (s3://.../data/drops/<drop-id>/): a new drop is a new URI, so cached steps
        # never stand in for new data. `pipeline run` and the drop trigger always name one; the
        # default, the drops root, would read every drop at once.
        input_data_uri=ParameterString("InputDataUri", default_value=aws.data_drops_uri),
        # Each record as known at this time (ISO 8601), for data with history such as a Feature
        # Store offline store; "latest" takes every record's newest row.
        as_of=ParameterString("AsOf", default_value=LATEST),
        sample_fraction=ParameterFloat("SampleFraction", default_value=1.0),
        processing_instance_type=ParameterString("ProcessingInstanceType", default_value=aws.processing_instance_type),
        # Instances of the data-check and preprocess jobs, each on its share of the data's files.
        processing_instance_count=ParameterInteger(
            "ProcessingInstanceCount", default_value=aws.processing_instance_count
        ),
        training_instance_type=ParameterString("TrainingInstanceType", default_value=aws.training_instance_type),
        # Distributed XGBoost: one worker per instance, each on its shard of the training data.
        training_instance_count=ParameterInteger("TrainingInstanceCount", default_value=aws.training_instance_count),
        clarify_instance_type=ParameterString("ClarifyInstanceType", default_value=aws.clarify_instance_type)
        if clarify
        else None,
        clarify_instance_count=ParameterInteger("ClarifyInstanceCount", default_value=aws.clarify_instance_count)
        if clarify
        else None,
        # The quality gate's limits, one parameter each: a run may tighten or relax one after review.
        quality={
            (metric, side): ParameterFloat(quality_parameter_name(metric, side), default_value=bound)
            for metric, limit in settings.gates.quality.items()
            for side, bound in (("min", limit.min), ("max", limit.max))
            if bound is not None
        },
        approval_status=ParameterString("ModelApprovalStatus", default_value=aws.approval_status),
        # Pull-request runs set it false: every gate runs, but no version enters the registry (only
        # code merged to main may produce a version someone can approve).
        register_model=ParameterBoolean("RegisterModel", default_value=True),
        git_commit=ParameterString("GitCommit", default_value="unknown"),
        git_repository=ParameterString("GitRepository", default_value="unknown"),
    )


# Parameters whose values project.yaml also sets are checked by the rule of that setting.
SETTINGS_RULES = {
    "ProcessingInstanceType": (Aws, "processing_instance_type"),
    "ProcessingInstanceCount": (Aws, "processing_instance_count"),
    "TrainingInstanceType": (Aws, "training_instance_type"),
    "TrainingInstanceCount": (Aws, "training_instance_count"),
    "ClarifyInstanceType": (Aws, "clarify_instance_type"),
    "ClarifyInstanceCount": (Aws, "clarify_instance_count"),
    "ModelApprovalStatus": (Aws, "approval_status"),
}
OTHER_RULES = {
    "SampleFraction": (Annotated[float, Field(gt=0, le=1)], "a fraction of the rows, e.g. 0.1"),
    "InputDataUri": (Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+")], "an s3:// URI"),
}


def _rule(name: str) -> tuple[TypeAdapter, str] | None:
    if name in QUALITY_PARAMETERS:
        metric, side = QUALITY_PARAMETERS[name]
        low, high = METRIC_RANGES.get(metric, (None, None))
        return TypeAdapter(Annotated[float, Field(ge=low, le=high)]), f"as project.yaml's gates.quality.{metric}.{side}"
    if name in SETTINGS_RULES:
        model, field = SETTINGS_RULES[name]
        info = model.model_fields[field]
        section = "aws" if model is Aws else "gates"
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        return TypeAdapter(kind), f"as project.yaml's {section}.{field}"
    if name in OTHER_RULES:
        kind, hint = OTHER_RULES[name]
        return TypeAdapter(kind), hint
    return None


def _check_value(name: str, value: str) -> None:
    """Refuse a value SageMaker would take but the run could not use (before anything starts)."""
    if name == "AsOf":
        from ..data import cutoff, parse_time

        if cutoff(value) is not None:
            parse_time(value, f"--param AsOf={value}:")
        return
    rule = _rule(name)
    if rule is None:
        return
    adapter, hint = rule
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        message = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise ProjectError(f"--param {name}={value}: {message} ({hint})") from None


def parse_overrides(pairs: tuple[str, ...], definition: dict) -> list[dict]:
    """`--param Name=Value` pairs checked against the definition's parameters, as the
    PipelineParameters list that StartPipelineExecution takes."""
    declared = {parameter["Name"]: parameter["Type"] for parameter in definition.get("Parameters", [])}
    result = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ProjectError(f"--param {pair!r}: expected NAME=VALUE, e.g. --param SampleFraction=0.1")
        if name not in declared:
            raise ProjectError(f"--param {name}: unknown pipeline parameter; known: {', '.join(sorted(declared))}")
        kind = declared[name]
        try:
            if kind == "Integer":
                int(value)
            elif kind == "Float":
                float(value)
            elif kind == "Boolean" and value not in ("true", "false"):
                raise ValueError(value)
        except ValueError:
            expected = " (true or false)" if kind == "Boolean" else ""
            raise ProjectError(f"--param {name}={value}: {name} is a {kind}{expected}, got {value!r}") from None
        _check_value(name, value)
        result.append({"Name": name, "Value": value})
    return result
