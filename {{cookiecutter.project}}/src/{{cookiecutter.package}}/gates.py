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
    reading: str | None = None  # shown instead of the value when there is none to judge, e.g. "too few rows"

    @property
    def message(self) -> str:
        shown = self.reading or format_value(self.value)
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


def metric_values(analysis_json: dict) -> list[tuple[str, str, str, str, float | None, str | None]]:
    """(stage, facet column, facet value, metric, value, error) for every computed metric of a
    Clarify analysis.json (or the local run's bias.json, the same shape)."""
    rows = []
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for column, groups in analysis_json.get(stage, {}).get("facets", {}).items():
            for group in groups:
                for metric in group["metrics"]:
                    rows.append(
                        (
                            stage,
                            column,
                            group["value_or_threshold"],
                            metric["name"],
                            _number(metric.get("value")),
                            metric.get("error"),
                        )
                    )
    return rows


def _number(value) -> float | None:
    """smclarify writes an infinite ratio (e.g. TE with no false positives) as "Infinity"."""
    return None if value is None else float(value)


def bias_gates(metric_rows: list[tuple], bias: Bias, groups: dict) -> list[GateResult]:
    """One result per facet group and thresholded metric (rows from metric_values; groups
    from bias.facet_groups: each facet's group sizes in the test split and the favourable outcome).
    A group below its facet's min_rows is not judged: its gated metrics fail as "too few rows to
    judge", the same on every split seed, instead of a value that passes on one and fails on the next."""
    results = []
    for _stage, column, facet_value, name, value, error in metric_rows:
        limit = bias.thresholds.get(name)
        if limit is None:
            continue
        group = group_of(groups, column, facet_value)
        shown = group["group"] if group else f"{column} = {facet_value}"
        metric = f"{name}[{shown}]"
        if group and min(group["rows"], group["others"]) < group["min_rows"]:
            small = group["rows"] if group["rows"] < group["min_rows"] else group["others"]
            who = shown if group["rows"] < group["min_rows"] else f"everyone but {shown}"
            fix = (
                f"the group {who} has {small:,} row(s) in the test split, too few for a stable {name}; judge it on "
                f"more data or a larger split.test, or lower bias.facets.{group['position']}.min_rows in "
                "project.yaml after review"
            )
            reading = f"too few rows to judge ({small:,} rows, minimum {group['min_rows']:,})"
            results.append(GateResult("bias", metric, None, str(limit), False, fix, reading=reading))
            continue
        passed = value is not None and limit.allows(value)
        favourable = f"favourable outcome {groups['favourable']}; " if groups.get("favourable") else ""
        fix = (
            f"investigate the group {shown} ({favourable}see the bias section of the report), "
            f"or change bias.thresholds.{name} in project.yaml after review"
        )
        if error:
            fix = f"the metric could not be computed ({error}); {fix}"
        results.append(GateResult("bias", metric, value, str(limit), passed, fix))
    return results


def group_of(groups: dict, column: str, facet_value) -> dict | None:
    """The facet group an analysis row belongs to: by its column, and by its value when two
    facets share a column."""
    same = [group for group in groups.get("groups", []) if group["column"] == column]
    if len(same) > 1:
        same = [group for group in same if str(group["value_or_threshold"]) == str(facet_value)]
    return same[0] if same else None


def data_gate(failed_expectations: int, suite: str) -> GateResult:
    return GateResult(
        gate="data",
        metric=f"failed expectations in '{suite}'",
        value=float(failed_expectations),
        expected="= 0",
        passed=failed_expectations == 0,
        fix=f"fix the data, or the suite data_checks/{suite}.json if the expectation is wrong (see data_checks.md)",
    )
