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


def global_explanation(model: TrainedModel, features: pd.DataFrame) -> dict:
    """Mean |SHAP value| per feature. Multiclass: per class, and summed over the classes."""
    values, expected = shap_values(model, features)
    names = model.spec.features
    shap: dict = {
        "label": model.spec.label,
        "positive_label": model.spec.positive_label,
        "problem_type": model.spec.problem_type,
        "units": _units(model),
        "rows": len(features),
        "expected_value": expected,
    }
    if values.ndim == 3:
        per_class = np.abs(values).mean(axis=0) if len(values) else np.zeros((len(model.spec.class_names), len(names)))
        shap["aggregation"] = "mean |SHAP value| per class, summed over the classes"
        shap["global_shap_values"] = _ranked(names, per_class.sum(axis=0).tolist())
        shap["per_class_shap_values"] = {
            str(name): _ranked(names, per_class[i].tolist()) for i, name in enumerate(model.spec.class_names)
        }
    else:
        mean_abs = np.abs(values).mean(axis=0) if len(values) else np.zeros(len(names))
        shap["global_shap_values"] = _ranked(names, mean_abs.tolist())
    return {"version": "1.0", "explanations": {"tree_shap": shap}}


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
