"""Gates: the checks a model must pass before it may be registered.

Each gate compares one metric with its limit from project.yaml and says, when it fails, which
metric, its value, the limit and what to do. The pipeline's ConditionStep applies the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings import Bias, Gates

# evaluation.json's section per problem type (SageMaker's model-quality statistics shape).
METRICS_KEY = {
    "binary": "binary_classification_metrics",
    "multiclass": "multiclass_classification_metrics",
    "regression": "regression_metrics",
}


def metrics_section(evaluation: dict) -> dict:
    """The metrics of whichever problem type the evaluation is for."""
    for key in METRICS_KEY.values():
        if key in evaluation:
            return evaluation[key]
    raise KeyError(f"not an evaluation.json: none of {', '.join(METRICS_KEY.values())}")


def metric_value(evaluation: dict, name: str) -> float | None:
    """A metric's value from evaluation.json, None when it is not there."""
    entry = metrics_section(evaluation).get(name)
    return None if entry is None else entry["value"]


def auc(evaluation: dict) -> float:
    return evaluation["binary_classification_metrics"]["auc"]["value"]


@dataclass(frozen=True)
class GateResult:
    gate: str  # "data", "quality" or "bias"
    metric: str
    value: float | None
    expected: str  # e.g. ">= 0.88" or "in [-0.25, 0.25]"
    passed: bool
    fix: str

    @property
    def message(self) -> str:
        shown = format_value(self.value)
        text = (
            f"{self.gate} gate {'passed' if self.passed else 'FAILED'}: {self.metric} {shown}, expected {self.expected}"
        )
        return text if self.passed else f"{text}; {self.fix}"


def format_value(value: float | None) -> str:
    if value is None:
        return "not computed"
    # Six significant digits: a value just below a limit never prints as the limit itself.
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.6g}"


def quality_gates(evaluation: dict, gates: Gates) -> list[GateResult]:
    """One result per metric under gates.quality: the test-set value against its range."""
    results = []
    for name, limit in gates.quality.items():
        value = metric_value(evaluation, name)
        results.append(
            GateResult(
                gate="quality",
                metric=name,
                value=value,
                expected=str(limit),
                passed=value is not None and limit.allows(value),
                fix=f"improve the model or data, or change gates.quality.{name} in project.yaml after review",
            )
        )
    return results


def bias_gates(metric_rows: list[tuple], bias: Bias) -> list[GateResult]:
    """One result per facet value and thresholded metric (rows from bias.metric_values)."""
    results = []
    for _stage, column, facet_value, name, value, error in metric_rows:
        limit = bias.thresholds.get(name)
        if limit is None:
            continue
        passed = value is not None and limit.allows(value)
        fix = (
            f"investigate the {column}={facet_value} group (see the bias section of the report), "
            f"or change bias.thresholds.{name} in project.yaml after review"
        )
        if error:
            fix = f"the metric could not be computed ({error}); {fix}"
        results.append(GateResult("bias", f"{name}[{column}={facet_value}]", value, str(limit), passed, fix))
    return results


def data_gate(failed_expectations: int, suite: str) -> GateResult:
    return GateResult(
        gate="data",
        metric=f"failed expectations in '{suite}'",
        value=float(failed_expectations),
        expected="= 0",
        passed=failed_expectations == 0,
        fix=f"fix the data, or the suite data_checks/{suite}.json if the expectation is wrong (see data_checks.md)",
    )
