"""Explainability with TreeSHAP: XGBoost's exact SHAP values for tree models.

Values are in log-odds: for every row, expected_value + sum(shap_values) equals the model's raw
score, and the probability is its logistic. The JSON names its method, units and label, in the
spirit of Clarify's explanations.kernel_shap.label0.global_shap_values.
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


def shap_values(model: TrainedModel, features: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Per-row, per-feature contributions and the expected value (the model's mean raw score)."""
    contributions = model.booster.predict(to_dmatrix(features, model.spec), pred_contribs=True)
    # The last column is the bias term: the same expected value on every row.
    expected = float(contributions[0, -1]) if len(contributions) else 0.0
    return contributions[:, :-1], expected


def global_explanation(model: TrainedModel, features: pd.DataFrame) -> dict:
    values, expected = shap_values(model, features)
    mean_abs = np.abs(values).mean(axis=0) if len(values) else np.zeros(len(model.spec.features))
    ranked = sorted(zip(model.spec.features, mean_abs.tolist(), strict=True), key=lambda item: -item[1])
    return {
        "version": "1.0",
        "explanations": {
            "tree_shap": {
                "label": model.spec.label,
                "positive_label": model.spec.positive_label,
                "units": "log-odds of the positive label",
                "rows": len(features),
                "expected_value": expected,
                "global_shap_values": {name: round(value, 6) for name, value in ranked},
            }
        },
    }


def explain_rows(model: TrainedModel, features: pd.DataFrame, ids: list | None = None) -> dict:
    """One explanation per row: score, expected value and each feature's value and contribution."""
    values, expected = shap_values(model, features)
    scores = model.predict_proba(features)
    ids = list(ids) if ids is not None else list(features.index)
    rows = []
    for position, row_id in enumerate(ids):
        contributions = sorted(
            (
                {"feature": name, "value": _plain(features.iloc[position][name]), "shap_value": round(float(v), 6)}
                for name, v in zip(model.spec.features, values[position], strict=True)
            ),
            key=lambda item: -abs(item["shap_value"]),
        )
        rows.append({"id": _plain(row_id), "score": round(float(scores[position]), 6), "contributions": contributions})
    return {
        "version": "1.0",
        "method": "tree_shap",
        "label": model.spec.label,
        "positive_label": model.spec.positive_label,
        "units": "log-odds of the positive label",
        "expected_value": expected,
        "explanations": rows,
    }


def _plain(value):
    """JSON-friendly scalar: numpy numbers become Python numbers, missing becomes None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if isinstance(value, np.generic) else value
