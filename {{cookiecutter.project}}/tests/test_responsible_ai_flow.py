"""The responsible-AI part of the local flow: bad data stops it before training; a good run explains itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import generated_ids, read_dataset
from {{ cookiecutter.package }}.explain import PILOT_ROWS
from {{ cookiecutter.package }}.local import EXPLAINED_ROWS, LocalRun, run_local
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import Settings, load_settings
from {{ cookiecutter.package }}.transforms import to_dmatrix

ROOT = Path(__file__).resolve().parents[1]
DATASET = load_settings(ROOT / "project.yaml").dataset
SAMPLE = ROOT / DATASET.sample
SUITES = ROOT / "data_checks"
KIND = DATASET.problem_type
UNITS = {
    "binary": "log-odds of the positive label",
    "multiclass": "log-odds of each class (softmax gives the probabilities)",
    "regression": "the label's units",
}[KIND]
CHECKS = {
    (e["type"], e["kwargs"].get("column")): e["kwargs"]
    for e in json.loads((SUITES / "training.json").read_text(encoding="utf-8"))["expectations"]
}
# What the corrupted copy breaks, from the suite: a bounded number, a category with a value set (when
# the data has one), the label. Each is one failed expectation.
AGE = next(c for c in DATASET.numeric_features if ("expect_column_values_to_be_between", c) in CHECKS)
SEX = next((c for c in DATASET.categorical_features if ("expect_column_values_to_be_in_set", c) in CHECKS), None)
LOWEST = CHECKS["expect_column_values_to_be_between", AGE]["min_value"]
BROKEN = [
    [AGE, "expect_column_values_to_be_between"],
    [DATASET.label, "expect_column_values_to_not_be_null"],
    *([[SEX, "expect_column_values_to_be_in_set"]] if SEX else []),
]


@pytest.fixture(scope="module")
def corrupt_run(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalRun, list[str]]:
    """The local run on a copy of the sample with a number below its range, an unknown category and a missing label."""
    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    raw.loc[0, AGE] = str(LOWEST - 3)
    if SEX:
        raw.loc[1, SEX] = "Unknown-category"
    raw.loc[2, DATASET.label] = ""
    directory = tmp_path_factory.mktemp("corrupt")
    raw.to_csv(directory / "corrupt.csv", index=False)
    lines: list[str] = []
    run = run_local(settings, data=directory / "corrupt.csv", out=directory / "run", suites=SUITES, echo=lines.append)
    return run, lines


@pytest.fixture(scope="module")
def clean_run(local_run) -> LocalRun:
    """The session's run of the project on the sample (conftest.local_run)."""
    return local_run[0]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_bad_data_stops_the_run_at_the_data_gate(corrupt_run):
    run, _ = corrupt_run
    assert not run.passed
    [gate] = run.gates
    assert (gate.gate, gate.passed, gate.value) == ("data", False, len(BROKEN))
    assert gate.message.startswith(
        f"data gate FAILED: failed expectations in 'training' {len(BROKEN)}, expected = 0; fix the data"
    )


def test_bad_data_leaves_a_report_but_no_model(corrupt_run):
    run, _ = corrupt_run
    assert sorted(path.name for path in run.out.iterdir()) == ["data_checks.md", "report.md"]
    assert not (run.out / "model").exists()
    assert not list(run.out.parent.glob(f".{run.out.name}.*"))  # nothing built aside is left


def test_bad_data_report_says_why_training_did_not_run(corrupt_run):
    run, _ = corrupt_run
    report = (run.out / "report.md").read_text(encoding="utf-8")
    assert "**Decision: the model must not be registered.**" in report
    assert f"- data gate FAILED: failed expectations in 'training' {len(BROKEN)}" in report
    assert "Training did not run: the data failed its checks. Details: [data_checks.md](data_checks.md)." in report
    checks = (run.out / "data_checks.md").read_text(encoding="utf-8")
    assert checks.startswith("# Data checks 'training': FAILED")
    failed = [line.split(" | ")[1:3] for line in checks.splitlines() if line.startswith("| **FAIL**")]
    assert sorted(failed) == sorted(BROKEN)


def test_bad_data_progress_stops_before_training(corrupt_run):
    _, lines = corrupt_run
    stop = lines.index("Stopping before training: the data failed its checks.")
    for column, expectation in BROKEN:
        assert any(f"FAILED {column}: {expectation}" in line for line in lines[:stop]), column
    after = [line for line in lines[stop + 1 :] if line.startswith("[")]
    assert [line.split(" ")[1].rstrip(":") for line in after] == ["report", "report"]
    assert not any("] train" in line or "] preprocess" in line for line in lines)


def test_the_clean_run_passes_its_data_and_quality_gates(clean_run: LocalRun):
    kinds = [gate.gate for gate in clean_run.gates]
    assert kinds[:2] == ["data", "quality"]
    assert all(gate.passed for gate in clean_run.gates[:2])
    assert (clean_run.out / "model").is_dir()


def test_explainability_json_ranks_every_feature(clean_run: LocalRun, settings: Settings):
    explanation = read_json(clean_run.out / "explainability.json")
    assert explanation["version"] == "1.0"
    shap = explanation["explanations"]["tree_shap"]
    per_class = {"aggregation", "per_class_shap_values"} if KIND == "multiclass" else set()
    assert set(shap) == {
        "label",
        "positive_label",
        "problem_type",
        "units",
        "rows",
        "of_rows",
        "expected_value",
        "global_shap_values",
        "standard_errors",
        *per_class,
    }
    assert (shap["label"], shap["positive_label"], shap["problem_type"], shap["units"]) == (
        settings.dataset.label,
        settings.dataset.positive_label,
        KIND,
        UNITS,
    )
    test_rows = len(pd.read_csv(clean_run.out / "data" / "test" / "test.csv"))
    assert shap["of_rows"] == test_rows  # a sample of them, sized by the standard errors (test_explain.py)
    assert min(PILOT_ROWS, test_rows) <= shap["rows"] <= test_rows
    importance = shap["global_shap_values"]
    assert sorted(importance) == sorted(settings.dataset.features)
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    assert all(value >= 0 for value in importance.values())
    if KIND == "multiclass":  # the global ranking sums each class's mean |SHAP value|
        classes = shap["per_class_shap_values"]
        assert list(classes) == [str(name) for name in settings.dataset.classes]
        for name in importance:
            assert importance[name] == pytest.approx(sum(values[name] for values in classes.values()), abs=1e-5)


def test_explained_predictions_add_up_to_the_saved_model_score(clean_run: LocalRun, settings: Settings):
    explained = read_json(clean_run.out / "explained_predictions.json")
    keys = ("version", "method", "label", "positive_label", "problem_type", "units")
    assert {key: explained[key] for key in keys} == {
        "version": "1.0",
        "method": "tree_shap",
        "label": settings.dataset.label,
        "positive_label": settings.dataset.positive_label,
        "problem_type": KIND,
        "units": UNITS,
    }
    items = explained["explanations"]
    assert len(items) == EXPLAINED_ROWS
    # The ids are record ids of the sample: look the rows up and score them with the saved model.
    sample = generated_ids(read_dataset(SAMPLE, settings.dataset), settings.dataset, str(SAMPLE))
    by_id = sample.set_index(settings.dataset.record_id)
    rows = by_id.loc[[item["id"] for item in items]]
    model = TrainedModel.load(clean_run.out / "model")
    margins = model.booster.predict(to_dmatrix(rows, model.spec), output_margin=True)
    scores = model.predict(rows)
    if KIND == "multiclass":
        # Each row is explained for its predicted class: its probability, in that class's log-odds.
        chosen = scores.argmax(axis=1)
        everywhere = np.arange(len(rows))
        scores, margins, bases = scores[everywhere, chosen], margins[everywhere, chosen], explained["expected_value"]
        assert [item["class"] for item in items] == [model.spec.class_names[i] for i in chosen]
        assert [item["expected_value"] for item in items] == [bases[i] for i in chosen]
    for item, row_margin, score in zip(items, margins, scores, strict=True):
        extra = {"class", "expected_value"} if KIND == "multiclass" else set()
        assert set(item) == {"id", "score", "contributions", *extra}
        assert item["score"] == pytest.approx(float(score), abs=1e-6)
        contributions = item["contributions"]
        assert [set(c) for c in contributions] == [{"feature", "value", "shap_value"}] * len(settings.dataset.features)
        assert sorted(c["feature"] for c in contributions) == sorted(settings.dataset.features)
        total = item.get("expected_value", explained["expected_value"]) + sum(c["shap_value"] for c in contributions)
        assert total == pytest.approx(float(row_margin), abs=1e-4)
    assert np.isfinite(explained["expected_value"]).all()


def test_the_report_links_the_explanations(clean_run: LocalRun):
    report = (clean_run.out / "report.md").read_text(encoding="utf-8")
    assert "## Explanations (TreeSHAP)" in report
    assert "[explainability.json](explainability.json)" in report
    assert "[explained_predictions.json](explained_predictions.json)" in report
    for chart in ("shap_global.png", "shap_example.png"):
        assert f"]({chart})" in report
        assert (clean_run.out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bias_json_exists_exactly_when_bias_is_configured(clean_run: LocalRun, settings: Settings):
    path = clean_run.out / "bias.json"
    bias_gates = [gate for gate in clean_run.gates if gate.gate == "bias"]
    if settings.bias is None:
        assert not path.exists()
        assert bias_gates == []
        assert "## Bias" not in (clean_run.out / "report.md").read_text(encoding="utf-8")
        return
    analysis = read_json(path)
    assert set(analysis) == {"version", "pre_training_bias_metrics", "post_training_bias_metrics"}
    columns = sorted(facet.column for facet in settings.bias.facets)
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        assert analysis[stage]["label"] == settings.dataset.label
        assert sorted(analysis[stage]["facets"]) == columns
        for groups in analysis[stage]["facets"].values():
            for group in groups:
                assert {"value_or_threshold", "metrics"} <= set(group)
                assert all({"name", "value"} <= set(metric) for metric in group["metrics"])
    assert len(bias_gates) == len(settings.bias.facets) * len(settings.bias.thresholds)
