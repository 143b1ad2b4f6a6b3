"""The human-readable result of a local run: report.md with PNG charts beside it.

Ordered for a reviewer: the decision first, then why (quality, bias, explanations).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt

from .gates import GateResult, format_value
from .settings import Settings

if TYPE_CHECKING:
    from .local import RunResults

QUALITY_METRICS = ["auc", "pr_auc", "accuracy", "precision", "recall", "f1", "false_positive_rate"]
TOP_FEATURES = 15
STAGE_TITLES = {
    "pre_training_bias_metrics": "Pre-training (data)",
    "post_training_bias_metrics": "Post-training (model)",
}


def write(out: Path, settings: Settings, results: RunResults) -> Path:
    sections = [_decision(results)]
    if results.evaluation is None:
        sections.append("Training did not run: the data failed its checks. Details: [data_checks.md](data_checks.md).")
    else:
        sections.append(_quality(out, settings, results))
        if results.bias is not None:
            sections.append(_bias(out, settings, results))
        sections.append(_explanations(out, results))
        sections.append(
            f"## Training\n\nBest boosting round {results.training.best_round} of at most "
            f"{settings.model.hyperparameters.num_round} (early stopping on validation AUC). "
            f"Data checks: {len(results.checks.outcomes)} expectations met ([data_checks.md](data_checks.md))."
        )
    path = out / "report.md"
    path.write_text("# Local run report\n\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    return path


def _decision(results: RunResults) -> str:
    failed = [gate for gate in results.gates if not gate.passed]
    verdict = (
        "**Decision: the model may be registered.**"
        if not failed
        else "**Decision: the model must not be registered.**\n\n" + "\n".join(f"- {g.message}" for g in failed)
    )
    rows = [
        f"| {g.gate} | {g.metric} | {g.reading or _number(g.value)} | {g.expected} | {_verdict(g)} |"
        for g in results.gates
    ]
    splits = results.splits
    data_line = f"Data: `{results.data}`, {results.checks.rows:,} rows"
    if splits:
        data_line += " (" + ", ".join(f"{name} {len(frame):,}" for name, frame in splits.items()) + ")"
    header = ["| gate | metric | value | limit | result |", "| --- | --- | ---: | --- | --- |"]
    return "\n".join([data_line + ".", "", verdict, "", *header, *rows])


def _quality(out: Path, settings: Settings, results: RunResults) -> str:
    evaluation = results.evaluation
    metrics = evaluation["binary_classification_metrics"]
    matrix = metrics["confusion_matrix"]
    _plot_curves(evaluation, results.training, out / "curves.png")
    return "\n".join(
        [
            f"## Quality on the test set (threshold {evaluation['threshold']})",
            "",
            f"Positive class `{settings.dataset.label} = {settings.dataset.positive_label}` in "
            f"{evaluation['positive_rate']:.1%} of {evaluation['rows']:,} test rows.",
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
        ]
    )


def _bias(out: Path, settings: Settings, results: RunResults) -> str:
    from .bias import CONFIDENCE, RESAMPLES, metric_values
    from .bias_intervals import interval_of

    rows = metric_values(results.bias)
    thresholds = settings.bias.thresholds
    groups = results.bias_groups or {"groups": []}
    intervals = interval_of(results.bias)
    verdicts = {gate.metric: gate for gate in results.gates if gate.gate == "bias"}
    _plot_bias(rows, thresholds, groups, intervals, verdicts, out / "bias.png")
    table = []
    for stage, column, value_or_threshold, name, value, error in rows:
        shown = _group_name(groups, column, value_or_threshold)
        gate = verdicts.get(f"{name}[{shown}]")
        bounds = intervals.get((stage, column, value_or_threshold, name))
        reading = gate.reading if gate and gate.reading else _number(value)
        table.append(
            f"| {STAGE_TITLES[stage]} | {shown} | {name} | {reading} | "
            f"{_interval(bounds) if name in thresholds else ''} | {thresholds.get(name, '')} | "
            f"{_metric_verdict(name, value, error, thresholds, gate)} |"
        )
    sizes = [
        f"- {group['group']}: {group['rows']:,} test rows, everyone else {group['others']:,} "
        f"(min_rows {group['min_rows']:,})"
        for group in groups["groups"]
    ]
    return "\n".join(
        [
            "## Bias",
            "",
            f"Favourable outcome: {groups.get('favourable', '')}. Each group is compared with everyone else; "
            "a positive difference (DPL, DPPL) means the group gets the favourable outcome less often.",
            "",
            *sizes,
            "",
            "Clarify's metrics computed with smclarify (pre-training on all labelled rows, post-training on "
            "the test set's predictions). Full values: [bias.json](bias.json), in Clarify's analysis.json shape. "
            f"{CONFIDENCE:.0%} CI: a bootstrap interval over {RESAMPLES:,} resamples of the rows; a limit inside "
            "it means another sample of the same size could well land on the other side of the limit.",
            "",
            "![Bias metrics against their limits](bias.png)",
            "",
            f"| stage | group | metric | value | {CONFIDENCE:.0%} CI | limit | result |",
            "| --- | --- | --- | ---: | --- | --- | --- |",
            *table,
        ]
    )


def _group_name(groups: dict, column: str, value_or_threshold) -> str:
    from .gates import group_of

    group = group_of(groups, column, value_or_threshold)
    return group["group"] if group else f"{column} = {value_or_threshold}"


def _interval(bounds: list[float] | None) -> str:
    return "" if bounds is None else f"[{_number(bounds[0])}, {_number(bounds[1])}]"


def _explanations(out: Path, results: RunResults) -> str:
    shap = results.explanation["explanations"]["tree_shap"]
    importance = shap["global_shap_values"]
    example = results.explained_rows["explanations"][0]
    _plot_global_shap(importance, out / "shap_global.png")
    _plot_example(example, results.explained_rows["expected_value"], out / "shap_example.png")
    return "\n".join(
        [
            "## Explanations (TreeSHAP)",
            "",
            f"Mean |SHAP value| per feature over {shap['rows']:,} test rows, in {shap['units']}. "
            "Global values: [explainability.json](explainability.json); per prediction: "
            "[explained_predictions.json](explained_predictions.json).",
            "",
            "![Global feature importance](shap_global.png)",
            "",
            "| feature | mean abs SHAP |",
            "| --- | ---: |",
            *[f"| {name} | {value:.4f} |" for name, value in list(importance.items())[:TOP_FEATURES]],
            "",
            f"One prediction explained: record {example['id']}, score {example['score']:.3f}.",
            "",
            "![One prediction explained](shap_example.png)",
        ]
    )


def _number(value: float | None) -> str:
    return format_value(value)


def _verdict(gate: GateResult) -> str:
    return "pass" if gate.passed else "**FAIL**"


def _metric_verdict(name: str, value: float | None, error: str | None, thresholds: dict, gate=None) -> str:
    if gate is not None and gate.reading:
        return "**FAIL**"
    if error:
        return f"not computed: {error}"
    if name not in thresholds:
        return "reported"
    return "pass" if value is not None and thresholds[name].allows(value) else "**FAIL**"


def _plot_curves(evaluation: dict, training, path: Path) -> None:
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
    _save(fig, path)


def _plot_bias(rows: list[tuple], thresholds: dict, groups: dict, intervals: dict, verdicts: dict, path: Path) -> None:
    """The gated metrics against their allowed ranges, with their confidence intervals (all values
    are in the table). A group with too few rows to judge is grey, whatever its value."""
    gated = [row for row in rows if row[3] in thresholds] or rows
    gated = gated[::-1]
    metrics = [(name, _group_name(groups, column, group)) for _, column, group, name, _, _ in gated]
    labels = [f"{name} [{shown}]" for name, shown in metrics]
    judged = [not getattr(verdicts.get(f"{name}[{shown}]"), "reading", None) for name, shown in metrics]
    finite = [value is not None and math.isfinite(value) for *_, value, _ in gated]
    values = [value if ok else 0.0 for ok, (*_, value, _) in zip(finite, gated, strict=True)]
    limits = [thresholds.get(name) for _, _, _, name, _, _ in gated]
    colors = [
        "grey" if limit is None or not fair else ("tab:blue" if ok and limit.allows(value) else "tab:red")
        for limit, ok, value, fair in zip(limits, finite, values, judged, strict=True)
    ]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(gated) + 1.2))
    ax.barh(range(len(values)), values, color=colors, height=0.6, zorder=2)
    for position, (stage, column, group, name, _, _) in enumerate(gated):
        bounds = intervals.get((stage, column, group, name))
        if bounds is not None and all(math.isfinite(bound) for bound in bounds):
            ax.plot(bounds, [position, position], color="black", linewidth=1.2, marker="|", zorder=3)
    labels = [
        label if not fair else (label if ok else f"{label} (n/a)")
        for label, ok, fair in zip(labels, finite, judged, strict=True)
    ]
    labels = [label if fair else f"{label} (too few rows)" for label, fair in zip(labels, judged, strict=True)]
    ax.set_yticks(range(len(values)), labels)
    for position, limit in enumerate(limits):
        if limit is not None:  # the allowed range as a band behind the bar
            low = limit.min if limit.min is not None else min([*values, 0]) - 0.1
            high = limit.max if limit.max is not None else max([*values, 0]) + 0.1
            ax.plot([low, high], [position, position], color="green", alpha=0.25, linewidth=12, zorder=1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title="Bias gate: value, 95% interval (line), allowed range (green)", xlabel="metric value")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _plot_global_shap(importance: dict, path: Path) -> None:
    top = list(importance.items())[:TOP_FEATURES][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1))
    ax.barh([name for name, _ in top], [value for _, value in top])
    ax.set(title="Global importance: mean |SHAP value| (log-odds)", xlabel="mean |SHAP value|")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _plot_example(example: dict, expected: float, path: Path) -> None:
    items = example["contributions"][:TOP_FEATURES][::-1]
    labels = [f"{item['feature']} = {item['value']}" for item in items]
    values = [item["shap_value"] for item in items]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(items) + 1.2))
    ax.barh(labels, values, color=["tab:red" if v > 0 else "tab:blue" for v in values])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(
        title=f"Record {example['id']}: score {example['score']:.3f} (base log-odds {expected:.2f})",
        xlabel="SHAP value (log-odds; red pushes towards the positive label)",
    )
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
