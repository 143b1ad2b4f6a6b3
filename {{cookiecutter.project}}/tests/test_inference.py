"""Endpoint handlers: every request format scores exactly like the batch path, and every bad
request fails with a message saying what was wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import load_settings
from {{ cookiecutter.package }}.steps.inference import (
    UnsupportedContentType,
    input_fn,
    model_fn,
    output_fn,
    predict_fn,
    transform_fn,
)

DATASET = load_settings(Path(__file__).resolve().parents[1] / "project.yaml").dataset
NUMBER = DATASET.numeric_features[0]
CATEGORY = (DATASET.categorical_features or [None])[0]


@pytest.fixture(scope="module")
def endpoint_model(model_dir: Path) -> TrainedModel:
    """The model as the SageMaker container loads it: model_fn on the unpacked model directory."""
    return model_fn(str(model_dir))


@pytest.fixture
def rows(sample: pd.DataFrame, endpoint_model: TrainedModel) -> pd.DataFrame:
    """Raw sample rows (some with missing values) holding only the features, in the model's order."""
    picked = pd.concat([sample.head(6), sample[sample.isna().any(axis=1)].head(4)])
    picked = picked[endpoint_model.spec.features].reset_index(drop=True)
    if not picked.isna().any(axis=None):  # a sample without gaps: make two, as requests have them
        picked[NUMBER] = picked[NUMBER].astype("float64")
        picked.loc[len(picked) - 1, NUMBER] = np.nan
        if CATEGORY:
            picked.loc[len(picked) - 2, CATEGORY] = None
    return picked


@pytest.fixture
def expected(rows: pd.DataFrame, endpoint_model: TrainedModel) -> np.ndarray:
    """What the batch path (TrainedModel.predict) says for the same rows: binary the positive label's
    probability, multiclass one probability per class, regression the predicted value."""
    return endpoint_model.predict(rows)


def as_records(rows: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects, missing values as null."""
    return rows.astype(object).where(rows.notna(), None).to_dict(orient="records")


def invoke(body: str | bytes, content_type: str, accept: str, model: TrainedModel) -> tuple[str, str]:
    """One request as the SageMaker container serves it: transform_fn chains the handlers."""
    return transform_fn(model, body, content_type, accept)


def csv_scores(body: str) -> np.ndarray:
    """One line per row: one value (binary, regression) or one probability per class (multiclass)."""
    values = np.array([[float(value) for value in line.split(",")] for line in body.splitlines()])
    return values[:, 0] if values.shape[1] == 1 else values


def json_scores(predictions: list[dict], model: TrainedModel) -> np.ndarray:
    """The numbers in a JSON response, shaped like TrainedModel.predict's."""
    kind = model.spec.problem_type
    if kind == "multiclass":
        return np.array([[p["scores"][str(name)] for name in model.spec.class_names] for p in predictions])
    return np.array([p["prediction" if kind == "regression" else "score"] for p in predictions])


def json_labels(predictions: list[dict], expected: np.ndarray, model: TrainedModel) -> None:
    """Each prediction names its label as the project's type does: binary at the model's cut-off."""
    kind, names = model.spec.problem_type, model.spec.class_names
    if kind == "regression":
        assert all(set(p) == {"prediction"} for p in predictions)
    elif kind == "multiclass":
        assert [p["predicted_label"] for p in predictions] == [names[i] for i in expected.argmax(axis=1)]
    else:
        chosen = (expected >= model.cutoff).astype(int).tolist()
        assert [p["predicted_label"] for p in predictions] == chosen
        assert [p["label"] for p in predictions] == [names[i] for i in chosen]


def test_rows_include_missing_values(rows: pd.DataFrame):
    assert rows.isna().any(axis=1).sum() >= 1


def test_model_fn_loads_the_saved_model(endpoint_model: TrainedModel, model_dir: Path):
    assert endpoint_model.spec == TrainedModel.load(model_dir).spec


def test_csv_without_header_round_trip(endpoint_model, rows, expected):
    body, content_type = invoke(rows.to_csv(header=False, index=False), "text/csv", "text/csv", endpoint_model)
    assert content_type == "text/csv"
    np.testing.assert_allclose(csv_scores(body), expected, rtol=0, atol=1e-6)


def test_csv_with_header_round_trip(endpoint_model, rows, expected):
    body, _ = invoke(rows.to_csv(header=True, index=False), "text/csv", "text/csv", endpoint_model)
    np.testing.assert_allclose(csv_scores(body), expected, rtol=0, atol=1e-6)


def test_csv_as_bytes_with_charset_round_trip(endpoint_model, rows, expected):
    request = rows.to_csv(header=False, index=False).encode("utf-8")
    body, _ = invoke(request, "text/csv; charset=utf-8", "*/*", endpoint_model)
    np.testing.assert_allclose(csv_scores(body), expected, rtol=0, atol=1e-6)


def test_csv_predictions_equal_batch_predictions_exactly(endpoint_model, rows, expected):
    scores = predict_fn(input_fn(rows.to_csv(header=False, index=False), "text/csv"), endpoint_model)
    np.testing.assert_array_equal(scores, expected)


def test_json_instances_round_trip(endpoint_model, rows, expected):
    request = json.dumps({"instances": as_records(rows)})
    body, content_type = invoke(request, "application/json", "application/json", endpoint_model)
    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    np.testing.assert_allclose(json_scores(predictions, endpoint_model), expected, rtol=0, atol=1e-6)
    json_labels(predictions, expected, endpoint_model)


def test_json_list_round_trip(endpoint_model, rows, expected):
    body, _ = invoke(json.dumps(as_records(rows)), "application/json", "application/json", endpoint_model)
    scores = json_scores(json.loads(body)["predictions"], endpoint_model)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-6)


def test_json_single_object_round_trip(endpoint_model, rows, expected):
    body, _ = invoke(json.dumps(as_records(rows)[0]), "application/json", "application/json", endpoint_model)
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 1
    np.testing.assert_allclose(json_scores(predictions, endpoint_model), expected[:1], rtol=0, atol=1e-6)


def test_json_predictions_equal_batch_predictions_exactly(endpoint_model, rows, expected):
    scores = predict_fn(input_fn(json.dumps({"instances": as_records(rows)}), "application/json"), endpoint_model)
    np.testing.assert_array_equal(scores, expected)


def test_json_with_extra_fields_and_any_key_order_scores_the_same(endpoint_model, rows, expected):
    records = [{"record_id": i, **dict(reversed(list(r.items())))} for i, r in enumerate(as_records(rows))]
    scores = predict_fn(input_fn(json.dumps({"instances": records}), "application/json"), endpoint_model)
    np.testing.assert_array_equal(scores, expected)


def test_csv_response_is_one_probability_per_line():
    body, content_type = output_fn(np.array([0.25, 0.5]), "text/csv")
    assert body == "0.250000\n0.500000\n"
    assert content_type == "text/csv"


def test_json_response_labels_at_the_threshold():
    body, _ = output_fn(np.array([0.4999, 0.5]), "application/json")
    assert json.loads(body) == {
        "predictions": [dict(score=0.4999, predicted_label=0, label=0), dict(score=0.5, predicted_label=1, label=1)]
    }


def test_csv_row_with_too_few_values_is_refused(endpoint_model, rows):
    short = ",".join(str(value) for value in rows.iloc[0].tolist()[:-1])
    with pytest.raises(ValueError) as caught:
        predict_fn(input_fn(short, "text/csv"), endpoint_model)
    features = endpoint_model.spec.features
    assert f"expected {len(features)} values per CSV row" in str(caught.value)
    assert f"got {len(features) - 1}" in str(caught.value)
    assert ", ".join(features) in str(caught.value)


def test_csv_row_with_too_many_values_is_refused(endpoint_model, rows):
    long = rows.head(1).assign(extra="x").to_csv(header=False, index=False)
    with pytest.raises(ValueError, match=r"expected \d+ values per CSV row .* got \d+"):
        predict_fn(input_fn(long, "text/csv"), endpoint_model)


def test_json_missing_feature_is_named(endpoint_model, rows):
    records = as_records(rows)
    for record in records:
        del record[NUMBER]
    with pytest.raises(ValueError, match=rf"^missing feature\(s\) {NUMBER}$"):
        predict_fn(input_fn(json.dumps({"instances": records}), "application/json"), endpoint_model)


def test_unsupported_content_type_is_refused():
    with pytest.raises(UnsupportedContentType) as caught:
        input_fn("<rows/>", "application/xml")
    assert "'application/xml' is not supported" in str(caught.value)
    assert "text/csv" in str(caught.value)
    assert "application/json" in str(caught.value)


def test_unsupported_accept_type_is_refused():
    with pytest.raises(UnsupportedContentType) as caught:
        output_fn(np.array([0.5]), "application/x-protobuf")
    assert "accept type 'application/x-protobuf' is not supported" in str(caught.value)


@pytest.mark.parametrize("content_type", ["text/csv", "application/json"])
def test_text_in_a_numeric_feature_is_refused_naming_feature_value_and_row(endpoint_model, rows, content_type):
    rows = rows.astype(object)
    rows.loc[2, NUMBER] = "forty"
    if content_type == "text/csv":
        body = rows.to_csv(header=True, index=False)  # rows count from 0 after the header line
    else:
        body = json.dumps({"instances": as_records(rows)})
    with pytest.raises(ValueError) as caught:
        predict_fn(input_fn(body, content_type), endpoint_model)
    assert str(caught.value) == (
        f"request: column {NUMBER!r} holds 1 value(s) that are not numbers: 'forty' (row 2); "
        "write numbers, or leave the value empty for missing"
    )


@pytest.mark.skipif(
    CATEGORY is None,
    reason="the project has no categorical feature; unseen categories: tests/test_transforms.py::"
    "test_unseen_categories_are_counted_per_column_and_described",
)
def test_an_unseen_category_is_scored_as_missing_with_a_log_line(endpoint_model, rows, caplog):
    changed = rows.head(2).assign(**{CATEGORY: ["Astronaut", rows[CATEGORY].iloc[1]]})
    request = input_fn(json.dumps({"instances": as_records(changed)}), "application/json")
    with caplog.at_level("WARNING"):
        scores = predict_fn(request, endpoint_model)
    as_missing = changed.assign(**{CATEGORY: [np.nan, changed[CATEGORY].iloc[1]]})
    np.testing.assert_array_equal(scores, endpoint_model.predict(as_missing))
    assert [record.getMessage() for record in caplog.records] == [
        f"request: column {CATEGORY!r} has 1 value(s) the model did not see in training, scored as missing: "
        "'Astronaut' (1)"
    ]
    assert caplog.records[0].levelname == "WARNING"
