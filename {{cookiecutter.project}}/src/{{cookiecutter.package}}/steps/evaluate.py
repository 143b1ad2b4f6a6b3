"""Evaluate: score the held-out test set and write evaluation.json.

The file follows SageMaker's model-quality statistics shape for the problem type
(binary_classification_metrics, multiclass_classification_metrics or regression_metrics: each
metric as {"value", "standard_deviation"}), so one file feeds the pipeline's PropertyFile (the
quality gate), the registered ModelMetrics and the local report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics

from ..data import read_dataset
from ..gates import METRICS_KEY, auc, metric_value  # noqa: F401  (auc: read by callers of this module)
from ..model import TrainedModel
from ..settings import DEFAULT_PATH, Dataset, Decision, load_settings
from .job_paths import EVALUATION, EVALUATION_FILE, MODEL, TEST, input_dir, output_dir

CURVE_POINTS = 101  # curves are resampled to this many points to keep the file small
HEADLINE = {"binary": "auc", "multiclass": "accuracy", "regression": "rmse"}  # the one metric a log line shows


def _metric(value: float) -> dict:
    return {"value": round(float(value), 6), "standard_deviation": "NaN"}


# Extension point, a metric: add it to its problem type's section below ({"value": ...}, as
# _metric writes it) and name it in settings.QUALITY_METRICS so a gate may limit it.
def evaluate(model: TrainedModel, test: pd.DataFrame, dataset: Dataset, decision: Decision | None = None) -> dict:
    """evaluation.json for the dataset's problem type; `decision` (binary) sets the cut-off and
    the costs behind expected_cost."""
    kind = dataset.problem_type
    if kind == "regression":
        return _regression(model, test, dataset)
    if kind == "multiclass":
        return _multiclass(model, test, dataset)
    return _binary(model, test, dataset, decision or Decision())


def _binary(model: TrainedModel, test: pd.DataFrame, dataset: Dataset, decision: Decision) -> dict:
    truth = test[dataset.label].to_numpy(dtype=int)
    scores = model.predict(test)
    cutoff = decision.cutoff
    predicted = (scores >= cutoff).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
    fpr, tpr, _ = metrics.roc_curve(truth, scores)
    precision, recall, _ = metrics.precision_recall_curve(truth, scores)
    grid = np.linspace(0, 1, CURVE_POINTS)
    quality = {
        "auc": _metric(metrics.roc_auc_score(truth, scores)),
        "pr_auc": _metric(metrics.average_precision_score(truth, scores)),
        "accuracy": _metric(metrics.accuracy_score(truth, predicted)),
        "balanced_accuracy": _metric(metrics.balanced_accuracy_score(truth, predicted)),
        "precision": _metric(metrics.precision_score(truth, predicted, zero_division=0)),
        "recall": _metric(metrics.recall_score(truth, predicted, zero_division=0)),
        "f1": _metric(metrics.f1_score(truth, predicted, zero_division=0)),
        "true_positive_rate": _metric(tp / max(tp + fn, 1)),
        "true_negative_rate": _metric(tn / max(tn + fp, 1)),
        "false_positive_rate": _metric(fp / max(fp + tn, 1)),
        "false_negative_rate": _metric(fn / max(fn + tp, 1)),
    }
    if decision.costs is not None:
        # Mean cost per test row at the cut-off, in the unit of decision.costs.
        costs = decision.costs
        quality["expected_cost"] = _metric((fp * costs.false_positive + fn * costs.false_negative) / max(len(truth), 1))
    quality |= {
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
    }
    return {
        "binary_classification_metrics": quality,
        "threshold": cutoff,
        "rows": len(truth),
        "positive_rate": round(float(truth.mean()), 6),
    }


def _multiclass(model: TrainedModel, test: pd.DataFrame, dataset: Dataset) -> dict:
    truth = test[dataset.label].to_numpy(dtype=int)
    probabilities = model.predict(test)
    predicted = probabilities.argmax(axis=1)
    names = [str(value) for value in dataset.classes]
    codes = list(range(len(names)))
    matrix = metrics.confusion_matrix(truth, predicted, labels=codes)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        truth, predicted, labels=codes, zero_division=0
    )

    def averaged(function, average: str) -> dict:
        return _metric(function(truth, predicted, labels=codes, average=average, zero_division=0))

    quality = {
        "accuracy": _metric(metrics.accuracy_score(truth, predicted)),
        "balanced_accuracy": _metric(_balanced_accuracy(recall, support)),
        "weighted_f1": averaged(metrics.f1_score, "weighted"),
        "macro_f1": averaged(metrics.f1_score, "macro"),
        "weighted_precision": averaged(metrics.precision_score, "weighted"),
        "weighted_recall": averaged(metrics.recall_score, "weighted"),
        "log_loss": _metric(metrics.log_loss(truth, probabilities, labels=codes)),
        # The share a model that always says the most frequent class would get right.
        "accuracy_best_constant_classifier": _metric(np.bincount(truth, minlength=len(codes)).max() / len(truth)),
        # actual class -> predicted class -> rows, keyed by the class names of dataset.classes
        "confusion_matrix": {
            actual: {guess: int(matrix[i, j]) for j, guess in enumerate(names)} for i, actual in enumerate(names)
        },
        "per_class_metrics": {
            name: {
                "precision": round(float(precision[i]), 6),
                "recall": round(float(recall[i]), 6),
                "f1": round(float(f1[i]), 6),
                "support": int(support[i]),
            }
            for i, name in enumerate(names)
        },
    }
    return {"multiclass_classification_metrics": quality, "classes": names, "rows": len(truth)}


def _balanced_accuracy(recall: np.ndarray, support: np.ndarray) -> float:
    """Mean recall over the classes present in the test set (sklearn's definition)."""
    present = support > 0
    return float(recall[present].mean()) if present.any() else 0.0


def _regression(model: TrainedModel, test: pd.DataFrame, dataset: Dataset) -> dict:
    truth = test[dataset.label].to_numpy(dtype=float)
    predicted = model.predict(test).astype(float)
    mse = metrics.mean_squared_error(truth, predicted)
    residuals = truth - predicted
    quality = {
        "mae": _metric(metrics.mean_absolute_error(truth, predicted)),
        "mse": _metric(mse),
        "rmse": _metric(np.sqrt(mse)),
        "r2": _metric(metrics.r2_score(truth, predicted)),
        # sklearn's MAPE (a fraction, not a percentage); a true value of 0 makes it very large.
        "mape": _metric(metrics.mean_absolute_percentage_error(truth, predicted)),
        "residuals": {  # for the report's histogram: truth - prediction
            "mean": round(float(residuals.mean()), 6),
            "quantiles": {
                str(q): round(float(v), 6)
                for q, v in zip((0.05, 0.5, 0.95), np.quantile(residuals, [0.05, 0.5, 0.95]), strict=False)
            },
        },
    }
    return {"regression_metrics": quality, "rows": len(truth), "label_mean": round(float(truth.mean()), 6)}


def headline(evaluation: dict) -> str:
    """'test AUC 0.9210', 'test accuracy 0.8123' or 'test RMSE 10.52': the type's one-line summary."""
    kind = next(kind for kind, key in METRICS_KEY.items() if key in evaluation)
    name = HEADLINE[kind]
    return f"test {name.upper() if name in ('auc', 'rmse') else name} {metric_value(evaluation, name):.4f}"


def write_evaluation(evaluation: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / EVALUATION_FILE
    path.write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    return path


def argument_parser() -> argparse.ArgumentParser:
    """The job's options. Where SageMaker mounts a path, that folder (job_paths) is its default."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, default=Path(input_dir(MODEL)))
    parser.add_argument("--test", type=Path, default=Path(input_dir(TEST)))
    parser.add_argument("--output", type=Path, default=Path(output_dir(EVALUATION)))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    settings = load_settings(args.settings)
    test = read_dataset(args.test, settings.dataset)
    evaluation = evaluate(TrainedModel.load(args.model_dir), test, settings.dataset, settings.decision)
    write_evaluation(evaluation, args.output)
    print(f"{headline(evaluation)} on {evaluation['rows']:,} rows")


if __name__ == "__main__":
    main()
