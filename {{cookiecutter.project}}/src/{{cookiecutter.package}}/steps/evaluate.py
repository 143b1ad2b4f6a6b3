"""Evaluate: score the held-out test set and write evaluation.json.

The file follows SageMaker's model-quality statistics shape, so one file feeds the pipeline's
PropertyFile (the quality gate), the registered ModelMetrics and the local report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics

from ..data import read_dataset
from ..model import THRESHOLD, TrainedModel
from ..settings import DEFAULT_PATH, Dataset, load_settings

CURVE_POINTS = 101  # curves are resampled to this many points to keep the file small


def _metric(value: float) -> dict:
    return {"value": round(float(value), 6), "standard_deviation": "NaN"}


def evaluate(model: TrainedModel, test: pd.DataFrame, dataset: Dataset) -> dict:
    truth = test[dataset.label].to_numpy(dtype=int)
    scores = model.predict_proba(test)
    predicted = (scores >= THRESHOLD).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
    fpr, tpr, _ = metrics.roc_curve(truth, scores)
    precision, recall, _ = metrics.precision_recall_curve(truth, scores)
    grid = np.linspace(0, 1, CURVE_POINTS)
    return {
        "binary_classification_metrics": {
            "auc": _metric(metrics.roc_auc_score(truth, scores)),
            "pr_auc": _metric(metrics.average_precision_score(truth, scores)),
            "accuracy": _metric(metrics.accuracy_score(truth, predicted)),
            "precision": _metric(metrics.precision_score(truth, predicted, zero_division=0)),
            "recall": _metric(metrics.recall_score(truth, predicted, zero_division=0)),
            "f1": _metric(metrics.f1_score(truth, predicted, zero_division=0)),
            "true_positive_rate": _metric(tp / max(tp + fn, 1)),
            "true_negative_rate": _metric(tn / max(tn + fp, 1)),
            "false_positive_rate": _metric(fp / max(fp + tn, 1)),
            "false_negative_rate": _metric(fn / max(fn + tp, 1)),
            "confusion_matrix": {
                "0": {"0": int(tn), "1": int(fp)},
                "1": {"0": int(fn), "1": int(tp)},
            },
            "receiver_operating_characteristic_curve": {
                "false_positive_rates": grid.round(4).tolist(),
                "true_positive_rates": np.interp(grid, fpr, tpr).round(4).tolist(),
            },
            "precision_recall_curve": {
                "recalls": grid.round(4).tolist(),
                # precision_recall_curve returns recall in decreasing order; interp needs increasing
                "precisions": np.interp(grid, recall[::-1], precision[::-1]).round(4).tolist(),
            },
        },
        "threshold": THRESHOLD,
        "rows": len(truth),
        "positive_rate": round(float(truth.mean()), 6),
    }


def auc(evaluation: dict) -> float:
    return evaluation["binary_classification_metrics"]["auc"]["value"]


def write_evaluation(evaluation: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "evaluation.json"
    path.write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    settings = load_settings(args.settings)
    test = read_dataset(args.test, settings.dataset)
    evaluation = evaluate(TrainedModel.load(args.model_dir), test, settings.dataset)
    write_evaluation(evaluation, args.output)
    print(f"test AUC {auc(evaluation):.4f} on {evaluation['rows']:,} rows")


if __name__ == "__main__":
    main()
