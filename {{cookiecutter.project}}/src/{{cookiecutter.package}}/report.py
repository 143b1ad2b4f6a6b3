"""The human-readable result of a local run: report.md with PNG charts beside it."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt
import pandas as pd

from .gates import GateResult
from .settings import Settings
from .steps.train import TrainingResult

QUALITY_METRICS = ["auc", "pr_auc", "accuracy", "precision", "recall", "f1", "false_positive_rate"]
TOP_FEATURES = 15


def write(
    out: Path,
    settings: Settings,
    data: Path,
    splits: dict[str, pd.DataFrame],
    training: TrainingResult,
    evaluation: dict,
    gates: list[GateResult],
) -> Path:
    importance = _importance(training)
    _plot_curves(evaluation, training, out / "curves.png")
    _plot_importance(importance, out / "importance.png")
    label = settings.dataset.label
    metrics = evaluation["binary_classification_metrics"]
    matrix = metrics["confusion_matrix"]
    passed = all(gate.passed for gate in gates)
    lines = [
        "# Local run report",
        "",
        f"Data: `{data}`, {sum(len(f) for f in splits.values()):,} labelled rows "
        f"(train {len(splits['train']):,}, validation {len(splits['validation']):,}, test {len(splits['test']):,}); "
        f"positive class `{label} = {settings.dataset.positive_label}` "
        f"in {evaluation['positive_rate']:.1%} of test rows.",
        "",
        "## Decision",
        "",
        "| gate | metric | value | limit | result |",
        "| --- | --- | ---: | ---: | --- |",
        *[f"| {g.gate} | {g.metric} | {g.value:.4f} | {g.comparison} {g.limit:g} | {_verdict(g)} |" for g in gates],
        "",
        "**The model may be registered.**"
        if passed
        else "**The model must not be registered:** " + "; ".join(g.message for g in gates if not g.passed),
        "",
        f"## Test-set metrics (threshold {evaluation['threshold']})",
        "",
        "| metric | value |",
        "| --- | ---: |",
        *[f"| {name} | {metrics[name]['value']:.4f} |" for name in QUALITY_METRICS],
        "",
        "| | predicted 0 | predicted 1 |",
        "| --- | ---: | ---: |",
        f"| actual 0 | {matrix['0']['0']:,} | {matrix['0']['1']:,} |",
        f"| actual 1 | {matrix['1']['0']:,} | {matrix['1']['1']:,} |",
        "",
        "![ROC, precision-recall and learning curves](curves.png)",
        "",
        f"## Feature importance (total gain, top {min(TOP_FEATURES, len(importance))})",
        "",
        "![Feature importance](importance.png)",
        "",
        "| feature | share of gain |",
        "| --- | ---: |",
        *[f"| {name} | {share:.1%} |" for name, share in importance.head(TOP_FEATURES).items()],
        "",
        f"## Training\n\nBest boosting round {training.best_round} of at most "
        f"{settings.model.hyperparameters.num_round} (early stopping on validation AUC).",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _verdict(gate: GateResult) -> str:
    return "pass" if gate.passed else "**FAIL**"


def _importance(training: TrainingResult) -> pd.Series:
    gain = training.model.booster.get_score(importance_type="total_gain")
    series = pd.Series(gain, dtype="float64").reindex(training.model.spec.features, fill_value=0.0)
    return (series / series.sum()).sort_values(ascending=False)


def _plot_curves(evaluation: dict, training: TrainingResult, path: Path) -> None:
    metrics = evaluation["binary_classification_metrics"]
    roc = metrics["receiver_operating_characteristic_curve"]
    pr = metrics["precision_recall_curve"]
    fig, (ax_roc, ax_pr, ax_learn) = plt.subplots(1, 3, figsize=(13, 4))
    ax_roc.plot(roc["false_positive_rates"], roc["true_positive_rates"], label=f"AUC {metrics['auc']['value']:.3f}")
    ax_roc.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax_roc.set(title="ROC curve (test)", xlabel="false positive rate", ylabel="true positive rate")
    ax_pr.plot(pr["recalls"], pr["precisions"], label=f"PR AUC {metrics['pr_auc']['value']:.3f}")
    ax_pr.set(title="Precision-recall (test)", xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    rounds = range(1, len(training.validation_auc) + 1)
    ax_learn.plot(rounds, training.validation_auc, label="validation AUC")
    ax_learn.axvline(training.best_round, linestyle=":", color="grey", label=f"best round {training.best_round}")
    ax_learn.set(title="Learning curve", xlabel="boosting round", ylabel="AUC")
    for ax in (ax_roc, ax_pr, ax_learn):
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_importance(importance: pd.Series, path: Path) -> None:
    top = importance.head(TOP_FEATURES)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1))
    ax.barh(top.index, top.values)
    ax.set(title="Feature importance (share of total gain)", xlabel="share of gain")
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
