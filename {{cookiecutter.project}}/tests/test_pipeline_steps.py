"""The step modules only the pipeline runs: the data-check verdict, preprocess refusing failed
data, sampling, and the gate step applying project.yaml's limits to pipeline results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.gates import METRICS_KEY
from {{ cookiecutter.package }}.settings import METRIC_RANGES
from {{ cookiecutter.package }}.steps import check_data, gate, preprocess


def _passing_value(metric: str, limit) -> float:
    """A value of the metric inside the project's limit (and the metric's own range)."""
    low, high = METRIC_RANGES[metric]
    lower = limit.min if limit.min is not None else low
    upper = limit.max if limit.max is not None else high
    if lower is not None and upper is not None:
        return round((lower + upper) / 2, 4)
    return lower + 1 if lower is not None else upper - 1


def test_the_data_check_and_gate_steps_import_no_model_library(project_root):
    """Each job pays its imports: XGBoost (with scikit-learn and SciPy, which it imports) costs
    the DataChecks job 1 to 1.5 s and the Gates job more than its work; neither trains nor scores."""
    steps = "{{ cookiecutter.package }}.steps.check_data, {{ cookiecutter.package }}.steps.gate"
    script = f"import sys, {steps}; print(' '.join(sys.modules))"
    run = subprocess.run([sys.executable, "-c", script], cwd=project_root, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    heavy = set(run.stdout.split()) & {"xgboost", "sklearn", "scipy", "smclarify", "matplotlib"}
    assert not heavy, f"the steps import {sorted(heavy)}"


def test_check_step_with_no_fail_writes_a_verdict_preprocess_refuses(
    tmp_path, settings_path, project_root, sample_path
):
    # The sample with a column project.yaml does not describe: the suite, on any data, lists
    # exactly the project's columns.
    data = tmp_path / "bad.csv"
    lines = sample_path.read_text().splitlines()
    data.write_text("\n".join([f"{lines[0]},surprise", *(f"{line},1" for line in lines[1:])]) + "\n")
    out = tmp_path / "checks"
    suite = project_root / "data_checks" / "training.json"
    args = ["--data", str(data), "--suite", str(suite), "--output", str(out), "--settings", str(settings_path)]
    check_data.main([*args, "--no-fail"])  # exits 0: the report must reach S3
    verdict = json.loads((out / "result.json").read_text())
    assert verdict["success"] is False and verdict["failed"] == 1
    assert "expect_table_columns_to_match_set" in verdict["summary"] and "surprise" in verdict["summary"]
    assert (out / "report.md").exists()
    with pytest.raises(ProjectError, match="data checks failed"):
        preprocess.require_checks_passed(out / "result.json")
    with pytest.raises(SystemExit):
        check_data.main(args)


def test_sample_fraction_is_reproducible_and_validated(sample):
    first, second = preprocess.sample(sample, 0.1, seed=1), preprocess.sample(sample, 0.1, seed=1)
    assert len(first) == round(len(sample) * 0.1)
    assert first.index.equals(second.index)
    with pytest.raises(ProjectError, match="sample-fraction"):
        preprocess.sample(sample, 0, seed=1)


def test_gate_step_passes_a_good_model_and_names_a_weak_one(tmp_path, settings_path, settings):
    """evaluation.json in the project's problem type's shape, every gated metric inside its limit;
    then the run's parameter for one limit (--min-auc, --max-rmse, ...) tightened past its value."""
    values = {metric: _passing_value(metric, limit) for metric, limit in settings.gates.quality.items()}
    section = METRICS_KEY[settings.dataset.problem_type]
    evaluation = tmp_path / "evaluation.json"
    metrics = {name: {"value": value, "standard_deviation": "NaN"} for name, value in values.items()}
    evaluation.write_text(json.dumps({section: metrics}))
    metric, limit = next(iter(settings.gates.quality.items()))
    side = "min" if limit.min is not None else "max"
    value, bound = values[metric], getattr(limit, side)
    edge = METRIC_RANGES[metric][1 if side == "min" else 0]  # the metric's best value, where it has one
    tighter = round((value + edge) / 2, 4) if edge is not None else value + (1 if side == "min" else -1)

    def run(limit_value: float, out: str) -> dict:
        gate.main(["--evaluation", str(evaluation), f"--{side}-{metric.replace('_', '-')}", str(limit_value),
                   "--output", str(tmp_path / out), "--settings", str(settings_path)])  # fmt: skip
        return json.loads((tmp_path / out / "gates.json").read_text())

    assert run(bound, "ok")["passed"] is True
    refused = run(tighter, "no")
    assert refused["passed"] is False
    sign = ">=" if side == "min" else "<="
    assert f"quality gate FAILED: {metric} {value:g}, expected {sign} {tighter:g}" in refused["message"]
