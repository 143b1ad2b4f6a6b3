"""The step modules only the pipeline runs: the data-check verdict, preprocess refusing failed
data, sampling, and the gate step applying project.yaml's limits to pipeline results."""

from __future__ import annotations

import json

import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.steps import check_data, gate, preprocess


def _evaluation(auc: float) -> dict:
    return {"binary_classification_metrics": {"auc": {"value": auc, "standard_deviation": "NaN"}}}


def test_check_step_with_no_fail_writes_a_verdict_preprocess_refuses(tmp_path, settings_path, project_root):
    data = tmp_path / "bad.csv"
    lines = (project_root / "data" / "sample" / "adult.csv").read_text().splitlines()
    data.write_text("\n".join([lines[0], *(line.replace("Male", "Robot") for line in lines[1:200])]) + "\n")
    out = tmp_path / "checks"
    suite = project_root / "data_checks" / "training.json"
    args = ["--data", str(data), "--suite", str(suite), "--output", str(out), "--settings", str(settings_path)]
    check_data.main([*args, "--no-fail"])  # exits 0: the report must reach S3
    verdict = json.loads((out / "result.json").read_text())
    assert verdict["success"] is False and verdict["failed"] >= 1
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
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps(_evaluation(0.93)))
    gate.main(
        [
            "--evaluation",
            str(evaluation),
            "--min-auc",
            "0.88",
            "--output",
            str(tmp_path / "ok"),
            "--settings",
            str(settings_path),
        ]
    )
    assert json.loads((tmp_path / "ok" / "gates.json").read_text())["passed"] is True
    gate.main(
        [
            "--evaluation",
            str(evaluation),
            "--min-auc",
            "0.95",
            "--output",
            str(tmp_path / "no"),
            "--settings",
            str(settings_path),
        ]
    )
    refused = json.loads((tmp_path / "no" / "gates.json").read_text())
    assert refused["passed"] is False
    assert "quality gate FAILED: auc 0.93, expected >= 0.95" in refused["message"]
