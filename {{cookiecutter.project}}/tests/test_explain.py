"""Explanations: TreeSHAP values that add up to the model's score, globally and per prediction, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import generated_ids, read_dataset
from {{ cookiecutter.package }}.explain import (
    explain_rows,
    global_explanation,
    shap_values,
)
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import Settings, load_settings
from {{ cookiecutter.package }}.steps.preprocess import split_dataset
from {{ cookiecutter.package }}.steps.train import train
from {{ cookiecutter.package }}.transforms import to_dmatrix

ROOT = Path(__file__).resolve().parents[1]
DATASET = load_settings(ROOT / "project.yaml").dataset
SAMPLE = ROOT / DATASET.sample
ROWS = len(pd.read_csv(SAMPLE, usecols=[0]))
NUMBER = DATASET.numeric_features[0]
CATEGORY = (DATASET.categorical_features or [None])[0]
COMMAND = "{{ cookiecutter.project }}"
UNITS = "log-odds of the positive label"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT / "project.yaml")


@pytest.fixture(scope="module")
def sample(settings: Settings) -> pd.DataFrame:
    """The sample as the CLI reads it (raw text categories, '?' for unknown)."""
    return generated_ids(read_dataset(SAMPLE, settings.dataset), settings.dataset, str(SAMPLE))


@pytest.fixture(scope="module")
def held_out(sample: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    return split_dataset(sample, settings.dataset, settings.split)["test"]


@pytest.fixture(scope="module")
def model(sample: pd.DataFrame, settings: Settings) -> TrainedModel:
    """The project's model, trained once for this module with the project's hyperparameters."""
    splits = split_dataset(sample, settings.dataset, settings.split)
    return train(splits["train"], splits["validation"], settings.dataset, settings.model.hyperparameters).model


@pytest.fixture(scope="module")
def model_dir(model: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    model.save(directory)
    return directory


def margin(model: TrainedModel, rows: pd.DataFrame) -> np.ndarray:
    """The model's raw score (log-odds) straight from the booster."""
    return model.booster.predict(to_dmatrix(rows, model.spec), output_margin=True)


@pytest.mark.parametrize("which", ["cleaned test split", "raw sample rows with missing values"])
def test_shap_values_add_up_to_the_raw_margin(which: str, model: TrainedModel, held_out, sample):
    rows = held_out if which.startswith("cleaned") else sample.head(300)
    values, expected = shap_values(model, rows)
    assert values.shape == (len(rows), len(model.spec.features))
    np.testing.assert_allclose(expected + values.sum(axis=1), margin(model, rows), atol=1e-4)


def test_the_score_is_the_logistic_of_the_margin(model: TrainedModel, held_out: pd.DataFrame):
    np.testing.assert_allclose(model.predict_proba(held_out), 1 / (1 + np.exp(-margin(model, held_out))), atol=1e-6)


def test_global_explanation_ranks_every_feature_by_mean_absolute_shap(
    model: TrainedModel, held_out: pd.DataFrame, settings: Settings
):
    result = global_explanation(model, held_out)
    assert result["version"] == "1.0"
    shap = result["explanations"]["tree_shap"]
    assert shap["label"] == settings.dataset.label
    assert shap["positive_label"] == settings.dataset.positive_label
    assert shap["units"] == UNITS
    assert shap["rows"] == len(held_out)
    importance = shap["global_shap_values"]
    assert sorted(importance) == sorted(settings.dataset.features)
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    contributions = model.booster.predict(to_dmatrix(held_out, model.spec), pred_contribs=True)
    mean_abs = np.abs(contributions[:, :-1]).mean(axis=0)
    for name, value in zip(model.spec.features, mean_abs, strict=True):
        assert importance[name] == pytest.approx(value, abs=1e-6), name
    assert shap["expected_value"] == pytest.approx(float(contributions[0, -1]))
    assert max(importance.values()) > 0
    json.dumps(result)  # plain JSON types only


def test_explain_rows_carries_ids_scores_and_every_contribution(
    model: TrainedModel, held_out: pd.DataFrame, sample: pd.DataFrame, settings: Settings
):
    rows = held_out.iloc[:6]
    ids = sample.loc[rows.index, settings.dataset.record_id].tolist()
    result = explain_rows(model, rows, ids=ids)
    assert (result["method"], result["units"], result["label"]) == ("tree_shap", UNITS, settings.dataset.label)
    assert result["positive_label"] == settings.dataset.positive_label
    explanations = result["explanations"]
    assert [item["id"] for item in explanations] == ids
    assert all(isinstance(item["id"], int) for item in explanations), "numpy ids become plain JSON numbers"
    scores = model.predict_proba(rows)
    assert [item["score"] for item in explanations] == pytest.approx(scores.tolist(), abs=1e-6)
    margins = margin(model, rows)
    for position, item in enumerate(explanations):
        contributions = item["contributions"]
        assert sorted(c["feature"] for c in contributions) == sorted(model.spec.features)
        sizes = [abs(c["shap_value"]) for c in contributions]
        assert sizes == sorted(sizes, reverse=True), "largest contribution first"
        total = result["expected_value"] + sum(c["shap_value"] for c in contributions)
        assert total == pytest.approx(float(margins[position]), abs=1e-4)
        row = rows.iloc[position]
        for c in contributions:
            value = row[c["feature"]]
            assert c["value"] == (None if pd.isna(value) else value), c["feature"]
    json.dumps(result)


def test_explain_rows_uses_the_index_when_no_ids_are_given(model: TrainedModel, held_out: pd.DataFrame):
    rows = held_out.iloc[:3]
    result = explain_rows(model, rows)
    assert [item["id"] for item in result["explanations"]] == rows.index.tolist()


def test_missing_values_are_explained_as_none(model: TrainedModel, sample: pd.DataFrame):
    row = sample.head(1).copy()
    if CATEGORY:
        row[CATEGORY] = pd.array([pd.NA], dtype="string")
    row[NUMBER] = np.nan
    [item] = explain_rows(model, row, ids=["x"])["explanations"]
    values = {c["feature"]: c["value"] for c in item["contributions"]}
    assert values[NUMBER] is None
    if CATEGORY:
        assert values[CATEGORY] is None


def run_command(*arguments) -> subprocess.CompletedProcess:
    found = shutil.which(COMMAND, path=str(Path(sys.executable).parent)) or shutil.which(COMMAND)
    assert found, f"{COMMAND} is not installed"
    env = {key: value for key, value in os.environ.items() if key != "PROJECT_SETTINGS"}
    return subprocess.run([found, *map(str, arguments)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_explain_cli_prints_and_writes_the_rows_asked_for(
    model_dir: Path, model: TrainedModel, sample: pd.DataFrame, settings: Settings, tmp_path: Path
):
    record_id = settings.dataset.record_id
    by_id = str(sample[record_id].iloc[10])
    out = tmp_path / "explanations" / "rows.json"
    result = run_command("explain", "--data", SAMPLE, "--row", 3, "--id", by_id, "--model-dir", model_dir, "--out", out)
    assert result.returncode == 0, result.stderr
    expected_ids = [sample[record_id].iloc[3], sample[record_id].iloc[10]]
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [item["id"] for item in written["explanations"]] == expected_ids
    scores = model.predict_proba(sample.iloc[[3, 10]])
    assert [item["score"] for item in written["explanations"]] == pytest.approx(scores.tolist(), abs=1e-6)
    lines = result.stdout.splitlines()
    for item in written["explanations"]:
        header = f"{record_id} {item['id']}: score {item['score']:.4f} (base log-odds {written['expected_value']:.3f})"
        assert header in lines
        top = item["contributions"][0]
        assert lines[lines.index(header) + 1] == f"  {top['shap_value']:+.4f}  {top['feature']} = {top['value']}"
    assert lines[-1] == f"Wrote {out}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--id", "no-such-id"], "Error: {data}: no row with " + DATASET.record_id + " no-such-id"),
        (["--row", str(ROWS)], f"Error: --row {ROWS} is out of range: " + "{data} has rows 0 to " + str(ROWS - 1)),
        (["--row", "-1"], "Error: --row -1 is out of range: {data} has rows 0 to " + str(ROWS - 1)),
    ],
    ids=["unknown id", "row past the end", "negative row"],
)
def test_explain_cli_rejects_rows_it_cannot_find_with_one_error_line(arguments, message: str, model_dir: Path):
    result = run_command("explain", "--data", SAMPLE, "--model-dir", model_dir, *arguments)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message.format(data=SAMPLE)]
    assert result.stdout == ""


def sample_with(tmp_path: Path, **changes) -> Path:
    """The sample as a user's CSV, with some cells changed: {column: {row: value}}, or None to drop the column."""
    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    for column, cells in changes.items():
        if cells is None:
            raw = raw.drop(columns=[column])
        else:
            for row, value in cells.items():
                raw.loc[row, column] = value
    path = tmp_path / "rows.csv"
    raw.to_csv(path, index=False)
    return path


def test_explain_cli_refuses_a_file_without_a_feature_column(model_dir: Path, tmp_path: Path):
    first, last = DATASET.features[0], DATASET.features[-1]
    data = sample_with(tmp_path, **{first: None, last: None})
    result = run_command("explain", "--data", data, "--model-dir", model_dir, "--row", 0)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {data}: missing column(s) {first}, {last}; the data must have the columns listed under 'dataset' in "
        "project.yaml"
    ]


@pytest.mark.parametrize("arguments", [["--row", "3"], []], ids=["that row", "the whole file"])
def test_explain_cli_refuses_text_in_a_numeric_column(arguments, model_dir: Path, tmp_path: Path):
    data = sample_with(tmp_path, **{NUMBER: {3: "forty"}})
    result = run_command("explain", "--data", data, "--model-dir", model_dir, *arguments)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {data}: column {NUMBER!r} holds 1 value(s) that are not numbers: 'forty' (row 3); write numbers, or "
        "leave the value empty for missing"
    ]
    assert result.stdout == ""


@pytest.mark.skipif(CATEGORY is None, reason="no categorical feature")
def test_explain_cli_scores_an_unseen_category_as_missing_with_a_warning(
    model_dir: Path, model: TrainedModel, sample: pd.DataFrame, tmp_path: Path
):
    data = sample_with(tmp_path, **{CATEGORY: {3: "Astronaut"}})
    out = tmp_path / "rows.json"
    result = run_command("explain", "--data", data, "--model-dir", model_dir, "--row", 3, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Warning: {data}: column {CATEGORY!r} has 1 value(s) the model did not see in training, scored as missing: "
        "'Astronaut' (1)"
    ]
    as_missing = sample.iloc[[3]].assign(**{CATEGORY: np.nan})
    [item] = json.loads(out.read_text(encoding="utf-8"))["explanations"]
    assert item["score"] == pytest.approx(float(model.predict_proba(as_missing)[0]), abs=1e-6)
