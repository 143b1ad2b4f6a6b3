"""Gates: each compares one metric with its limit and, when it refuses, says what failed and what to do."""

from __future__ import annotations

import ast
import math
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from {{ cookiecutter.package }} import gates as gates_module
from {{ cookiecutter.package }}.gates import METRICS_KEY, GateResult, data_gate, format_value, quality_gates
from {{ cookiecutter.package }}.settings import Gates, Limit, load_settings

ROOT = Path(__file__).resolve().parents[1]
QUALITY_FIX = "improve the model or data, or change gates.quality.auc in project.yaml after review"


def evaluation(auc: float) -> dict:
    """The part of evaluation.json (SageMaker's model-quality shape) that the quality gate reads."""
    return {"binary_classification_metrics": {"auc": {"value": auc, "standard_deviation": "NaN"}}}


def test_the_gates_depend_on_no_job_code():
    """gates.py is shared by the gate job, the local run and the CLI: it may not import a job
    module (steps/), whose code and arguments belong to one container."""
    tree = ast.parse(Path(gates_module.__file__).read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any("steps" in name.split(".") for name in imported), imported


@pytest.fixture(scope="module")
def gates() -> Gates:
    return load_settings(ROOT / "project.yaml").gates


def min_auc(limit: float) -> Gates:
    return Gates(quality={"auc": Limit(min=limit)})


def quality_gate(evaluation: dict, gates: Gates) -> GateResult:
    (gate,) = quality_gates(evaluation, gates)
    return gate


def test_quality_gate_passes_when_auc_equals_the_limit():
    gate = quality_gate(evaluation(0.88), min_auc(0.88))
    assert gate.passed
    assert (gate.gate, gate.metric, gate.value, gate.expected) == ("quality", "auc", 0.88, ">= 0.88")
    assert gate.message == "quality gate passed: auc 0.88, expected >= 0.88"


def test_quality_gate_passes_above_the_limit():
    gate = quality_gate(evaluation(0.9312), min_auc(0.88))
    assert gate.passed
    assert gate.message == "quality gate passed: auc 0.9312, expected >= 0.88"
    assert QUALITY_FIX not in gate.message


def test_quality_gate_fails_just_below_the_limit_and_says_what_to_do():
    gate = quality_gate(evaluation(0.8799), min_auc(0.88))
    assert not gate.passed
    assert gate.message == f"quality gate FAILED: auc 0.8799, expected >= 0.88; {QUALITY_FIX}"


def test_quality_gate_uses_the_project_limits(gates: Gates):
    key = METRICS_KEY[load_settings(ROOT / "project.yaml").dataset.problem_type]  # the project's own type
    for name, limit in gates.quality.items():
        section = {key: {}}
        for bound in (limit.min, limit.max):
            if bound is not None:
                section[key][name] = {"value": bound}
                assert all(gate.passed for gate in quality_gates(section, Gates(quality={name: limit})))


def test_a_regression_gate_fails_on_max_rmse_and_min_r2_naming_the_setting():
    evaluation = {"regression_metrics": {"rmse": {"value": 12.5}, "r2": {"value": 0.1}, "mae": {"value": 9.0}}}
    gates = Gates(quality={"rmse": Limit(max=12), "r2": Limit(min=0.15), "mae": Limit(min=0, max=10)})
    results = {gate.metric: gate for gate in quality_gates(evaluation, gates)}
    assert [results[name].passed for name in ("rmse", "r2", "mae")] == [False, False, True]
    assert results["rmse"].message == (
        "quality gate FAILED: rmse 12.5, expected <= 12; improve the model or data, or change gates.quality.rmse "
        "in project.yaml after review"
    )
    assert "expected >= 0.15" in results["r2"].message and "gates.quality.r2" in results["r2"].message


def test_a_gated_metric_missing_from_the_evaluation_fails():
    (gate,) = quality_gates({"regression_metrics": {}}, Gates(quality={"mape": Limit(max=0.5)}))
    assert not gate.passed and "mape not computed" in gate.message


@pytest.mark.parametrize("min_auc", [0.0, 0.5, 1.0])
def test_quality_gate_limits_at_the_ends_of_the_range(min_auc: float):
    assert quality_gate(evaluation(min_auc), Gates(quality={"auc": Limit(min=min_auc)})).passed
    assert quality_gate(evaluation(1.0), Gates(quality={"auc": Limit(min=min_auc)})).passed


def test_data_gate_passes_with_no_failed_expectations():
    gate = data_gate(0, "training")
    assert gate.passed
    assert (gate.gate, gate.value, gate.expected) == ("data", 0.0, "= 0")
    assert gate.message == "data gate passed: failed expectations in 'training' 0, expected = 0"


@pytest.mark.parametrize("failed", [1, 3])
def test_data_gate_fails_and_points_to_the_data_and_the_suite(failed: int):
    gate = data_gate(failed, "inference")
    assert not gate.passed
    assert gate.message == (
        f"data gate FAILED: failed expectations in 'inference' {failed}, expected = 0; "
        "fix the data, or the suite data_checks/inference.json if the expectation is wrong (see data_checks.md)"
    )


def test_a_failed_message_names_gate_metric_value_limit_and_fix():
    gate = GateResult("bias", "DPPL[sex=Female]", 0.31234, "in [-0.25, 0.25]", False, "look at the sex=Female group")
    assert gate.message == (
        "bias gate FAILED: DPPL[sex=Female] 0.31234, expected in [-0.25, 0.25]; look at the sex=Female group"
    )


def test_a_passed_message_leaves_out_the_fix():
    gate = GateResult("quality", "auc", 0.95, ">= 0.88", True, "never shown")
    assert "never shown" not in gate.message
    assert gate.message.startswith("quality gate passed: ")


def test_a_value_that_was_not_computed_says_so():
    gate = GateResult("bias", "AD[race=Black]", None, "<= 0.1", False, "compute it")
    assert gate.message == "bias gate FAILED: AD[race=Black] not computed, expected <= 0.1; compute it"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "not computed"),
        (0.0, "0"),
        (3.0, "3"),
        (0.12345, "0.12345"),
        (-0.25, "-0.25"),
        (0.879996, "0.879996"),  # just below a 0.88 limit must not print as 0.88
        (math.inf, "inf"),
    ],
)
def test_format_value(value, shown: str):
    assert format_value(value) == shown


def test_gate_results_cannot_be_changed_after_the_fact():
    gate = data_gate(2, "training")
    with pytest.raises(FrozenInstanceError):
        gate.passed = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("limit", "text", "inside", "outside"),
    [
        (Limit(min=0.88), ">= 0.88", [0.88, 1.0], [0.8799]),
        (Limit(max=0.1), "<= 0.1", [-5.0, 0.1], [0.1001]),
        (Limit(min=-0.25, max=0.25), "in [-0.25, 0.25]", [-0.25, 0.0, 0.25], [-0.2501, 0.2501, math.inf]),
        (Limit(min=0.8, max=0.8), "in [0.8, 0.8]", [0.8], [0.7999, 0.8001]),
    ],
)
def test_limits_include_their_boundaries(limit: Limit, text: str, inside: list, outside: list):
    assert str(limit) == text
    assert all(limit.allows(value) for value in inside)
    assert not any(limit.allows(value) for value in outside)
