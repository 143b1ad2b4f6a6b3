"""Explainability with TreeSHAP: XGBoost's exact SHAP values for tree models.

Values are in the model's raw score: for every row, expected_value + sum(shap_values) equals it.
Binary: log-odds of the positive label (the probability is its logistic); multiclass: one set of
values per class, in that class's log-odds (softmax over classes gives the probabilities);
regression: the label's own units. The JSON names its method, units and label, in the spirit of
Clarify's explanations.kernel_shap.label0.global_shap_values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import TrainedModel
from .transforms import describe_unseen, require_columns, require_numbers, to_dmatrix, unseen_categories


def check_rows(model: TrainedModel, rows: pd.DataFrame, where: str) -> list[str]:
    """Rows to explain as the model scores them: a missing feature column or text in a numeric
    column is refused (ProjectError); a category the model did not see in training is scored as
    missing, and returned as a warning line to show."""
    require_columns(rows, model.spec.features, where)
    require_numbers(rows, model.spec.numeric, where)
    return [f"{where}: {line}" for line in describe_unseen(unseen_categories(rows, model.spec))]


UNITS = {
    "binary": "log-odds of the positive label",
    "multiclass": "log-odds of each class (softmax gives the probabilities)",
    "regression": "the label's units",
}


def _units(model: TrainedModel) -> str:
    return UNITS[model.spec.problem_type]


def shap_values(model: TrainedModel, features: pd.DataFrame) -> tuple[np.ndarray, float | list[float]]:
    """Per-row, per-feature contributions and the expected value (the model's mean raw score).
    Multiclass: (rows, classes, features) and one expected value per class."""
    contributions = model.booster.predict(to_dmatrix(features, model.spec), pred_contribs=True)
    # The last column is the bias term: the same expected value on every row.
    if contributions.ndim == 3:
        expected = contributions[0, :, -1].astype(float).tolist() if len(contributions) else []
        return contributions[:, :, :-1], expected
    expected = float(contributions[0, -1]) if len(contributions) else 0.0
    return contributions[:, :-1], expected


def _ranked(names: list[str], values) -> dict:
    return {name: round(value, 6) for name, value in sorted(zip(names, values, strict=True), key=lambda i: -i[1])}


# Sampling for the global explanation: exact TreeSHAP costs ~1 ms per row, but a mean |SHAP value|
# settles long before thousands of rows. The sample grows until each top feature's mean is known
# to within RELATIVE_ERROR of the largest mean (one standard error: the chart's own scale),
# estimated from a first PILOT_ROWS rows.
PILOT_ROWS = 300
TOP_FEATURES = 5
RELATIVE_ERROR = 0.05
MAX_ROWS = 10_000  # never more rows than this, however wide the spread


def global_explanation(model: TrainedModel, features: pd.DataFrame, relative_error: float | None = None) -> dict:
    """Mean |SHAP value| per feature, with its standard error. Multiclass: per class, and summed
    over the classes. With `relative_error`, on the fewest leading rows (at least PILOT_ROWS, at
    most MAX_ROWS) for which each of the TOP_FEATURES features' standard error is at most that
    fraction of the largest mean: the rows must be in random order (a test split is). Without, on
    every row."""
    values, expected = shap_values(model, features.iloc[:PILOT_ROWS] if relative_error else features)
    if relative_error:
        needed = min(rows_needed(_per_row(values), relative_error), MAX_ROWS)
        if needed > len(values):
            more, _ = shap_values(model, features.iloc[len(values) : needed])
            values = np.concatenate([values, more])
    names = model.spec.features
    per_row = _per_row(values)
    shap: dict = {
        "label": model.spec.label,
        "positive_label": model.spec.positive_label,
        "problem_type": model.spec.problem_type,
        "units": _units(model),
        "rows": len(values),
        "of_rows": len(features),
        "expected_value": expected,
    }
    if values.ndim == 3:
        per_class = np.abs(values).mean(axis=0) if len(values) else np.zeros((len(model.spec.class_names), len(names)))
        shap["aggregation"] = "mean |SHAP value| per class, summed over the classes"
        shap["per_class_shap_values"] = {
            str(name): _ranked(names, per_class[i].tolist()) for i, name in enumerate(model.spec.class_names)
        }
    mean_abs = per_row.mean(axis=0) if len(values) else np.zeros(len(names))
    shap["global_shap_values"] = ranked = _ranked(names, mean_abs.tolist())
    errors = dict(zip(names, _standard_errors(per_row).tolist(), strict=True))
    shap["standard_errors"] = {name: round(errors[name], 6) for name in ranked}
    return {"version": "1.0", "explanations": {"tree_shap": shap}}


def _per_row(values: np.ndarray) -> np.ndarray:
    """|SHAP value| per row and feature; multiclass summed over the classes (the global ranking)."""
    return np.abs(values).sum(axis=1) if values.ndim == 3 else np.abs(values)


def _standard_errors(per_row: np.ndarray) -> np.ndarray:
    if len(per_row) < 2:
        return np.zeros(per_row.shape[1])
    return per_row.std(axis=0, ddof=1) / np.sqrt(len(per_row))


def rows_needed(per_row: np.ndarray, relative_error: float) -> int:
    """Rows for which the standard error of each top feature's mean |SHAP value| is at most
    `relative_error` of the largest mean, from the spread seen in `per_row` (se = sd / sqrt(n))."""
    if len(per_row) < 2:
        return len(per_row)
    means, spreads = per_row.mean(axis=0), per_row.std(axis=0, ddof=1)
    largest = means.max()
    if largest <= 0:
        return len(per_row)
    top = np.argsort(-means)[:TOP_FEATURES]
    return max(len(per_row), int(np.ceil((spreads[top].max() / (relative_error * largest)) ** 2)))


def explain_rows(model: TrainedModel, features: pd.DataFrame, ids: list | None = None) -> dict:
    """One explanation per row: score, expected value and each feature's value and contribution.
    Binary: the positive label's probability; multiclass: the predicted class and its probability,
    explained in that class's log-odds; regression: the predicted value."""
    values, expected = shap_values(model, features)
    predictions = model.predict(features)
    ids = list(ids) if ids is not None else list(features.index)
    rows = []
    for position, row_id in enumerate(ids):
        row_values, extra = values[position], {}
        score = predictions[position]
        if values.ndim == 3:
            chosen = int(np.argmax(score))
            row_values, score = row_values[chosen], score[chosen]
            extra = {"class": _plain(model.spec.class_names[chosen]), "expected_value": expected[chosen]}
        contributions = sorted(
            (
                {"feature": name, "value": _plain(features.iloc[position][name]), "shap_value": round(float(v), 6)}
                for name, v in zip(model.spec.features, row_values, strict=True)
            ),
            key=lambda item: -abs(item["shap_value"]),
        )
        rows.append({"id": _plain(row_id), "score": round(float(score), 6), **extra, "contributions": contributions})
    return {
        "version": "1.0",
        "method": "tree_shap",
        "label": model.spec.label,
        "positive_label": model.spec.positive_label,
        "problem_type": model.spec.problem_type,
        "units": _units(model),
        "expected_value": expected,
        "explanations": rows,
    }


def _plain(value):
    """JSON-friendly scalar: numpy numbers become Python numbers, missing becomes None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value
