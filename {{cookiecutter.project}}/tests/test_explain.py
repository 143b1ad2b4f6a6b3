"""Explanations: TreeSHAP values that add up to the model's score, globally and per prediction, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import in_process
from {{ cookiecutter.package }} import explain
from {{ cookiecutter.package }}.explain import (
    PILOT_ROWS,
    TOP_FEATURES,
    explain_rows,
    global_explanation,
    rows_needed,
    shap_values,
)
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import Dataset, Hyperparameters, Settings, load_settings
from {{ cookiecutter.package }}.steps.train import train
from {{ cookiecutter.package }}.transforms import to_dmatrix

ROOT = Path(__file__).resolve().parents[1]
DATASET = load_settings(ROOT / "project.yaml").dataset
SAMPLE = ROOT / DATASET.sample
ROWS = len(pd.read_csv(SAMPLE, usecols=[0]))
NUMBER = DATASET.numeric_features[0]
CATEGORY = (DATASET.categorical_features or [None])[0]
# What a SHAP value is measured in, per problem type: the raw score the trees add up to.
UNITS = {
    "binary": "log-odds of the positive label",
    "multiclass": "log-odds of each class (softmax gives the probabilities)",
    "regression": "the label's units",
}


# The project's model is conftest's `trained` (the sample's splits, the project's hyperparameters),
# saved in conftest's `model_dir`; conftest's `sample` is the sample as the CLI reads it.
@pytest.fixture(scope="module")
def held_out(splits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return splits["test"]


@pytest.fixture(scope="module")
def model(trained) -> TrainedModel:
    return trained.model


# The same checks run on the project's model (its own problem type, on its sample) and on small
# synthetic models of every type, so each bake explains binary, multiclass and regression models.
SYNTHETIC = {
    "binary": Dataset(
        sample="synthetic.csv", label="y", classes=["no", "yes"], positive_label="yes",
        numeric_features=["x", "z"], categorical_features=["c"],
    ),
    "multiclass": Dataset(
        sample="synthetic.csv", label="y", problem_type="multiclass", classes=["low", "mid", "high"],
        numeric_features=["x", "z"], categorical_features=["c"],
    ),
    "regression": Dataset(
        sample="synthetic.csv", label="y", problem_type="regression",
        numeric_features=["x", "z"], categorical_features=["c"],
    ),
}  # fmt: skip


def synthetic_rows(kind: str, count: int, seed: int) -> pd.DataFrame:
    """x drives the label (binary: x >= 5; multiclass: its third; regression: 3x + c's offset + noise),
    z is noise; a few cells are missing, as in real files."""
    rng = np.random.default_rng(seed)
    x, z, c = rng.uniform(0, 10, count), rng.normal(0, 1, count), rng.choice(["p", "q", "r"], count)
    if kind == "binary":  # labels encoded as the steps see them: a class's position in dataset.classes
        y = (x + rng.normal(0, 1, count) >= 5).astype(int)
    elif kind == "multiclass":
        y = np.minimum(x // (10 / 3), 2).astype(int)
    else:
        y = 3 * x + (c == "q") * 4 + rng.normal(0, 1, count)
    frame = pd.DataFrame({"record_id": np.arange(count) + 1000, "y": y, "x": x, "z": z, "c": c})
    frame.loc[frame.index[::17], "z"] = np.nan
    frame.loc[frame.index[::19], "c"] = None
    return frame


@pytest.fixture(scope="module", params=list(SYNTHETIC))
def synthetic(request) -> tuple[TrainedModel, pd.DataFrame]:
    """A small model of each problem type, whatever project.yaml's, and rows it did not train on."""
    kind = request.param
    quick = Hyperparameters(num_round=20, early_stopping_rounds=5, max_depth=3, eta=0.5, seed=1)
    trained = train(synthetic_rows(kind, 300, 1), synthetic_rows(kind, 100, 2), SYNTHETIC[kind], quick)
    return trained.model, synthetic_rows(kind, 40, 3)


def margin(model: TrainedModel, rows: pd.DataFrame) -> np.ndarray:
    """The model's raw score straight from the booster: log-odds (binary), one log-odds per class
    (multiclass, rows x classes) or the prediction itself (regression)."""
    return model.booster.predict(to_dmatrix(rows, model.spec), output_margin=True)


def through_the_link(model: TrainedModel, margins: np.ndarray) -> np.ndarray:
    """What the model predicts from its raw score: logistic, softmax, or the score itself."""
    kind = model.spec.problem_type
    if kind == "binary":
        return 1 / (1 + np.exp(-margins))
    if kind == "multiclass":
        exponentials = np.exp(margins - margins.max(axis=1, keepdims=True))
        return exponentials / exponentials.sum(axis=1, keepdims=True)
    return margins


def explained_score(model: TrainedModel, rows: pd.DataFrame) -> tuple[np.ndarray, list | None]:
    """The score explain_rows reports per row, and (multiclass) the class it explains: the positive
    label's probability, the predicted class's probability, or the predicted value."""
    predictions = model.predict(rows)
    if model.spec.problem_type != "multiclass":
        return predictions, None
    chosen = predictions.argmax(axis=1)
    return predictions[np.arange(len(rows)), chosen], [model.spec.class_names[i] for i in chosen]


def check_values_add_up(model: TrainedModel, rows: pd.DataFrame) -> None:
    values, expected = shap_values(model, rows)
    per_class = [len(model.spec.class_names)] if model.spec.problem_type == "multiclass" else []
    assert values.shape == (len(rows), *per_class, len(model.spec.features))
    np.testing.assert_allclose(np.asarray(expected) + values.sum(axis=-1), margin(model, rows), atol=1e-4)


def check_global(model: TrainedModel, rows: pd.DataFrame) -> None:
    kind, names = model.spec.problem_type, model.spec.features
    result = global_explanation(model, rows)
    assert result["version"] == "1.0"
    shap = result["explanations"]["tree_shap"]
    assert (shap["label"], shap["positive_label"]) == (model.spec.label, model.spec.positive_label)
    assert (shap["problem_type"], shap["units"], shap["rows"]) == (kind, UNITS[kind], len(rows))
    contributions = model.booster.predict(to_dmatrix(rows, model.spec), pred_contribs=True)
    # The last column is the bias term; multiclass has one block of contributions per class.
    mean_abs = np.abs(contributions[..., :-1]).mean(axis=0)
    # Both sides are float32 means summed in another order, the result rounded to 6 places.
    close = {"rel": 1e-5, "abs": 1e-6}
    expected = contributions[0, ..., -1]
    if kind == "multiclass":
        per_class = shap["per_class_shap_values"]
        assert list(per_class) == [str(name) for name in model.spec.class_names]
        for (name, importance), values in zip(per_class.items(), mean_abs, strict=True):
            assert list(importance.values()) == sorted(importance.values(), reverse=True), name
            assert importance == pytest.approx(dict(zip(names, values.tolist(), strict=True)), **close), name
        mean_abs = mean_abs.sum(axis=0)  # the global ranking sums the classes
    else:
        assert "per_class_shap_values" not in shap
    assert shap["expected_value"] == pytest.approx(expected.tolist())
    importance = shap["global_shap_values"]
    assert sorted(importance) == sorted(names)
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    for name, value in zip(names, mean_abs, strict=True):
        assert importance[name] == pytest.approx(value, **close), name
    assert max(importance.values()) > 0
    json.dumps(result)  # plain JSON types only


def check_rows(model: TrainedModel, rows: pd.DataFrame, ids: list) -> None:
    kind = model.spec.problem_type
    result = explain_rows(model, rows, ids=ids)
    assert (result["method"], result["units"], result["label"]) == ("tree_shap", UNITS[kind], model.spec.label)
    assert (result["problem_type"], result["positive_label"]) == (kind, model.spec.positive_label)
    explanations = result["explanations"]
    assert [item["id"] for item in explanations] == ids
    assert not any(isinstance(item["id"], np.generic) for item in explanations), "numpy ids become plain JSON"
    scores, classes = explained_score(model, rows)
    assert [item["score"] for item in explanations] == pytest.approx(scores.tolist(), abs=1e-6)
    margins = margin(model, rows)
    expected = result["expected_value"]
    if kind == "multiclass":
        # Each row is explained for its predicted class, in that class's log-odds, from its base.
        assert [item["class"] for item in explanations] == classes
        positions = [model.spec.class_names.index(name) for name in classes]
        assert [item["expected_value"] for item in explanations] == [expected[i] for i in positions]
        margins = margins[np.arange(len(rows)), positions]
    else:
        assert not any({"class", "expected_value"} & set(item) for item in explanations)
    for position, item in enumerate(explanations):
        contributions = item["contributions"]
        assert sorted(c["feature"] for c in contributions) == sorted(model.spec.features)
        sizes = [abs(c["shap_value"]) for c in contributions]
        assert sizes == sorted(sizes, reverse=True), "largest contribution first"
        total = item.get("expected_value", expected) + sum(c["shap_value"] for c in contributions)
        assert total == pytest.approx(float(margins[position]), abs=1e-4)
        row = rows.iloc[position]
        for c in contributions:
            value = row[c["feature"]]
            assert c["value"] == (None if pd.isna(value) else value), c["feature"]
    json.dumps(result)


@pytest.mark.parametrize("which", ["cleaned test split", "raw sample rows with missing values"])
def test_shap_values_add_up_to_the_raw_margin(which: str, model: TrainedModel, held_out, sample):
    check_values_add_up(model, held_out if which.startswith("cleaned") else sample.head(300))


def test_the_score_is_the_raw_margin_through_the_link_function(model: TrainedModel, held_out: pd.DataFrame):
    np.testing.assert_allclose(model.predict(held_out), through_the_link(model, margin(model, held_out)), atol=1e-6)


def test_global_explanation_ranks_every_feature_by_mean_absolute_shap(model: TrainedModel, held_out: pd.DataFrame):
    check_global(model, held_out)


def test_explain_rows_carries_ids_scores_and_every_contribution(
    model: TrainedModel, held_out: pd.DataFrame, sample: pd.DataFrame, settings: Settings
):
    rows = held_out.iloc[:6]
    ids = list(sample.loc[rows.index, settings.dataset.record_id].to_numpy())  # numpy scalars, as a frame holds them
    check_rows(model, rows, ids)


def test_every_problem_type_is_explained_in_its_own_raw_score(synthetic: tuple[TrainedModel, pd.DataFrame]):
    model, rows = synthetic
    np.testing.assert_allclose(model.predict(rows), through_the_link(model, margin(model, rows)), atol=1e-6)
    check_values_add_up(model, rows)
    check_global(model, rows)
    check_rows(model, rows.iloc[:8], list(rows["record_id"].to_numpy()[:8]))


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


def header(record_id: str, item: dict, base: float) -> str:
    """The line the CLI prints above a row's contributions, for the project's problem type."""
    if DATASET.problem_type == "regression":
        return f"{record_id} {item['id']}: prediction {item['score']:.4f} (base value {base:.3f})"
    chosen = f"class {item['class']}, " if DATASET.problem_type == "multiclass" else ""
    return f"{record_id} {item['id']}: {chosen}score {item['score']:.4f} (base log-odds {base:.3f})"


def test_explain_cli_prints_and_writes_the_rows_asked_for(
    model_dir: Path, model: TrainedModel, sample: pd.DataFrame, settings: Settings, tmp_path: Path
):
    record_id = settings.dataset.record_id
    by_id = str(sample[record_id].iloc[10])
    out = tmp_path / "explanations" / "rows.json"
    result = in_process.run_command(
        "explain", "--data", SAMPLE, "--row", 3, "--id", by_id, "--model-dir", model_dir, "--out", out
    )
    assert result.returncode == 0, result.stderr
    expected_ids = [sample[record_id].iloc[3], sample[record_id].iloc[10]]
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [item["id"] for item in written["explanations"]] == expected_ids
    scores, classes = explained_score(model, sample.iloc[[3, 10]])
    assert [item["score"] for item in written["explanations"]] == pytest.approx(scores.tolist(), abs=1e-6)
    if classes is not None:
        assert [item["class"] for item in written["explanations"]] == classes
    lines = result.stdout.splitlines()
    for item in written["explanations"]:
        line = header(record_id, item, item.get("expected_value", written["expected_value"]))
        assert line in lines
        top = item["contributions"][0]
        assert lines[lines.index(line) + 1] == f"  {top['shap_value']:+.4f}  {top['feature']} = {top['value']}"
    assert lines[-1] == f"Wrote {out}"


def _global_cli(data: Path, model_dir: Path, out: Path, *options: str) -> tuple[dict, list[str]]:
    result = in_process.run_command("explain", "--data", data, "--model-dir", model_dir, "--out", out, *options)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8"))["explanations"]["tree_shap"], result.stdout.splitlines()


def test_explain_cli_without_rows_ranks_every_feature_on_a_random_sample(
    model_dir: Path, model: TrainedModel, tmp_path: Path
):
    """Without --row or --id: mean |SHAP| on a random sample of the file, as many rows as each top
    feature's standard error needs (explain.RELATIVE_ERROR), each value shown with its error."""
    shap, lines = _global_cli(SAMPLE, model_dir, tmp_path / "global.json")
    assert shap["of_rows"] == ROWS
    assert sorted(shap["global_shap_values"]) == sorted(model.spec.features)
    ranked, errors = shap["global_shap_values"], shap["standard_errors"]
    if shap["rows"] == ROWS:  # a sample too small to save anything: every row, as with --all-rows
        assert lines[0] == f"mean |SHAP value| over {ROWS:,} rows ({UNITS[DATASET.problem_type]}):"
        return
    assert PILOT_ROWS <= shap["rows"] < ROWS
    assert lines[0] == (
        f"mean |SHAP value| ± one standard error over a random {shap['rows']:,} of {ROWS:,} rows "
        f"({UNITS[DATASET.problem_type]}; --all-rows for every row):"
    )
    assert lines[1:-1] == [f"  {value:.4f} ± {errors[name]:.4f}  {name}" for name, value in ranked.items()]
    assert lines[-1] == f"Wrote {tmp_path / 'global.json'}"
    # Random whatever the file's order: sorted by the top feature, its leading rows would be its
    # extremes; the sample's mean stays within a few standard errors of the unsorted file's.
    top = next(iter(ranked))
    rows = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    order = pd.to_numeric(rows[top], errors="coerce") if top in DATASET.numeric_features else rows[top]
    rows.iloc[order.argsort(kind="stable")].to_csv(tmp_path / "sorted.csv", index=False)
    sorted_shap, _ = _global_cli(tmp_path / "sorted.csv", model_dir, tmp_path / "sorted.json")
    error = max(errors[top], sorted_shap["standard_errors"][top])
    assert abs(sorted_shap["global_shap_values"][top] - ranked[top]) <= 4 * error


def test_explain_cli_samples_at_most_max_rows(model_dir: Path, tmp_path: Path, monkeypatch):
    """However many rows the errors would need, the sample stops at explain.MAX_ROWS (the local
    run's cap), drawn from the whole file. (An error target no sample meets: every bake's sample,
    whatever its data, would need all its rows.)"""
    assert ROWS > PILOT_ROWS + 50, "the sample is too small for this test: give it more rows"
    monkeypatch.setattr(explain, "RELATIVE_ERROR", 1e-9)
    monkeypatch.setattr(explain, "MAX_ROWS", PILOT_ROWS + 50)
    shap, lines = _global_cli(SAMPLE, model_dir, tmp_path / "global.json")
    assert (shap["rows"], shap["of_rows"]) == (PILOT_ROWS + 50, ROWS)
    assert lines[0].startswith(f"mean |SHAP value| ± one standard error over a random {shap['rows']:,} of {ROWS:,}")


def test_explain_cli_all_rows_ranks_every_feature_over_the_file(model_dir: Path, model: TrainedModel, tmp_path):
    head = tmp_path / "head.csv"
    pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(PILOT_ROWS + 100).to_csv(head, index=False)
    shap, lines = _global_cli(head, model_dir, tmp_path / "global.json", "--all-rows")
    assert shap["rows"] == shap["of_rows"] == PILOT_ROWS + 100
    assert lines[0] == f"mean |SHAP value| over {PILOT_ROWS + 100:,} rows ({UNITS[DATASET.problem_type]}):"
    assert lines[1:-1] == [f"  {value:.4f}  {name}" for name, value in shap["global_shap_values"].items()]
    assert sorted(shap["global_shap_values"]) == sorted(model.spec.features)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--id", "no-such-id"], "Error: {data}: no row with " + DATASET.record_id + " no-such-id"),
        (["--row", str(ROWS)], f"Error: --row {ROWS} is out of range: " + "{data} has rows 0 to " + str(ROWS - 1)),
        (["--row", "-1"], "Error: --row -1 is out of range: {data} has rows 0 to " + str(ROWS - 1)),
        (["--row", "0", "--all-rows"], "Error: --all-rows is for the whole file: leave it out with --row or --id"),
    ],
    ids=["unknown id", "row past the end", "negative row", "all rows and a row"],
)
def test_explain_cli_refuses_rows_it_cannot_explain_with_one_error_line(arguments, message: str, model_dir: Path):
    result = in_process.run_command("explain", "--data", SAMPLE, "--model-dir", model_dir, *arguments)
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
    result = in_process.run_command("explain", "--data", data, "--model-dir", model_dir, "--row", 0)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {data}: missing column(s) {first}, {last}; the data must have the columns listed under 'dataset' in "
        "project.yaml"
    ]


@pytest.mark.parametrize("arguments", [["--row", "3"], []], ids=["that row", "the whole file"])
def test_explain_cli_refuses_text_in_a_numeric_column(arguments, model_dir: Path, tmp_path: Path):
    data = sample_with(tmp_path, **{NUMBER: {3: "forty"}})
    result = in_process.run_command("explain", "--data", data, "--model-dir", model_dir, *arguments)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {data}: column {NUMBER!r} holds 1 value(s) that are not numbers: 'forty' (row 3); write numbers, or "
        "leave the value empty for missing"
    ]
    assert result.stdout == ""


@pytest.mark.skipif(
    CATEGORY is None,
    reason="the project has no categorical feature; unseen categories: tests/test_transforms.py::"
    "test_unseen_categories_are_counted_per_column_and_described",
)
def test_explain_cli_scores_an_unseen_category_as_missing_with_a_warning(
    model_dir: Path, model: TrainedModel, sample: pd.DataFrame, tmp_path: Path
):
    data = sample_with(tmp_path, **{CATEGORY: {3: "Astronaut"}})
    out = tmp_path / "rows.json"
    result = in_process.run_command("explain", "--data", data, "--model-dir", model_dir, "--row", 3, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Warning: {data}: column {CATEGORY!r} has 1 value(s) the model did not see in training, scored as missing: "
        "'Astronaut' (1)"
    ]
    as_missing = sample.iloc[[3]].assign(**{CATEGORY: np.nan})
    [item] = json.loads(out.read_text(encoding="utf-8"))["explanations"]
    assert item["score"] == pytest.approx(float(explained_score(model, as_missing)[0][0]), abs=1e-6)


def test_rows_needed_follows_the_standard_error_of_the_mean():
    # Feature 0 alternates 0 and 2 (mean 1, sd ~1): a standard error of 0.05 needs (sd / 0.05)^2 rows.
    per_row = np.column_stack([np.tile([0.0, 2.0], 150), np.full(300, 0.5), np.zeros(300)])
    spread = per_row[:, 0].std(ddof=1)
    assert rows_needed(per_row, 0.05) == int(np.ceil((spread / 0.05) ** 2))
    assert rows_needed(per_row, 0.5) == len(per_row)  # never fewer rows than it already has
    assert rows_needed(np.zeros((10, 3)), 0.05) == 10  # no feature matters: nothing to estimate


def test_a_sampled_global_explanation_states_its_rows_and_errors(synthetic: tuple[TrainedModel, pd.DataFrame]):
    model, _ = synthetic
    rows = synthetic_rows(model.spec.problem_type, 20_000, 4)  # random order, as a test split is
    exact = global_explanation(model, rows)["explanations"]["tree_shap"]
    sampled = global_explanation(model, rows, relative_error=0.05)["explanations"]["tree_shap"]
    assert (exact["rows"], exact["of_rows"]) == (len(rows), len(rows))
    assert PILOT_ROWS <= sampled["rows"] < len(rows) and sampled["of_rows"] == len(rows)
    largest = max(sampled["global_shap_values"].values())
    for name in list(sampled["global_shap_values"])[:TOP_FEATURES]:
        error = sampled["standard_errors"][name]
        # Sized from the first rows' spread: close to the target, and the mean near the exact one.
        assert error <= 0.05 * largest * 1.25, name
        assert abs(sampled["global_shap_values"][name] - exact["global_shap_values"][name]) <= 4 * error, name
    assert list(sampled["standard_errors"]) == list(sampled["global_shap_values"])
