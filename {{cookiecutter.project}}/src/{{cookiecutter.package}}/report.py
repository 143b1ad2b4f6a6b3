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

from . import explain
from .gates import GateResult, format_value, metric_values, metrics_section
from .settings import Settings

if TYPE_CHECKING:
    from .local import RunResults

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
            f"{settings.model.hyperparameters.num_round} (early stopping on {results.training.metric_name}). "
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
    kind = settings.dataset.problem_type
    evaluation = results.evaluation
    metrics = metrics_section(evaluation)
    # Every scalar metric evaluation.json holds, in its order: a metric added there shows here too.
    names = [name for name, entry in metrics.items() if isinstance(entry, dict) and "value" in entry]
    table = ["| metric | value |", "| --- | ---: |", *[f"| {name} | {metrics[name]['value']:.4f} |" for name in names]]
    if kind == "regression":
        _plot_regression(results, out / "curves.png")
        return "\n".join(
            [
                "## Quality on the test set",
                "",
                f"`{settings.dataset.label}` averages {evaluation['label_mean']:.4g} "
                f"over {evaluation['rows']:,} test rows.",
                "",
                *table,
                "",
                "![Predicted against actual, residuals and learning curve](curves.png)",
            ]
        )
    if kind == "multiclass":
        _plot_multiclass(evaluation, results.training, out / "curves.png")
        per_class = metrics["per_class_metrics"]
        return "\n".join(
            [
                f"## Quality on the test set ({len(per_class)} classes, {evaluation['rows']:,} rows)",
                "",
                *table,
                "",
                "| class | precision | recall | f1 | rows |",
                "| --- | ---: | ---: | ---: | ---: |",
                *[
                    f"| {name} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {m['support']:,} |"
                    for name, m in per_class.items()
                ],
                "",
                "![Confusion matrix, f1 per class and learning curve](curves.png)",
            ]
        )
    matrix = metrics["confusion_matrix"]
    _plot_curves(evaluation, results.training, out / "curves.png")
    return "\n".join(
        [
            f"## Quality on the test set (threshold {evaluation['threshold']})",
            "",
            f"Positive class `{settings.dataset.label} = {settings.dataset.positive_label}` in "
            f"{evaluation['positive_rate']:.1%} of {evaluation['rows']:,} test rows.",
            "",
            *table,
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
    from .bias import CONFIDENCE, RESAMPLES
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
    _plot_global_shap(importance, shap["standard_errors"], out / "shap_global.png")
    # Multiclass: the example is explained for its predicted class, with that class's expected value.
    expected = example.get("expected_value", results.explained_rows["expected_value"])
    _plot_example(example, expected, results.explained_rows["units"], out / "shap_example.png")
    return "\n".join(
        [
            "## Explanations (TreeSHAP)",
            "",
            f"Mean |SHAP value| per feature over {_shap_rows(shap)}, in {shap['units']}, "
            "with its standard error. Global values: [explainability.json](explainability.json); per "
            "prediction: [explained_predictions.json](explained_predictions.json).",
            "",
            "![Global feature importance](shap_global.png)",
            "",
            "| feature | mean abs SHAP | standard error |",
            "| --- | ---: | ---: |",
            *[
                f"| {name} | {value:.4f} | {shap['standard_errors'][name]:.4f} |"
                for name, value in list(importance.items())[:TOP_FEATURES]
            ],
            "",
            f"One prediction explained: record {example['id']}, score {example['score']:.3f}"
            + (f" for class {example['class']}." if "class" in example else "."),
            "",
            "![One prediction explained](shap_example.png)",
        ]
    )


def _shap_rows(shap: dict) -> str:
    """How many rows the means come from, and why that many when it is a sample."""
    if shap["rows"] == shap["of_rows"]:
        return f"all {shap['rows']:,} test rows"
    importance = shap["global_shap_values"]
    top = list(importance)[: explain.TOP_FEATURES]
    worst = max(shap["standard_errors"][name] for name in top) / max(importance.values())
    return (
        f"{shap['rows']:,} of {shap['of_rows']:,} test rows (a sample sized for each of the top {len(top)} "
        f"features' standard error to be at most {explain.RELATIVE_ERROR:.0%} of the largest mean; "
        f"here at most {worst:.1%})"
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
    _plot_learning(ax_learn, training)
    for ax in (ax_roc, ax_pr, ax_learn):
        ax.legend(loc="best")
        ax.grid(alpha=0.3)
    _save(fig, path)


def _plot_learning(ax, training) -> None:
    rounds = range(1, len(training.validation_curve) + 1)
    ax.plot(rounds, training.validation_curve, label=training.metric_name)
    ax.axvline(training.best_round, linestyle=":", color="grey", label=f"best round {training.best_round}")
    ax.set(title="Learning curve", xlabel="boosting round", ylabel=training.metric_name)


def _plot_multiclass(evaluation: dict, training, path: Path) -> None:
    metrics = evaluation["multiclass_classification_metrics"]
    names = list(metrics["confusion_matrix"])
    counts = [[metrics["confusion_matrix"][actual][guess] for guess in names] for actual in names]
    # Each row as a share of its actual class, so a small class's errors are as visible as a large one's.
    shares = [[count / max(sum(row), 1) for count in row] for row in counts]
    fig, (ax_matrix, ax_f1, ax_learn) = plt.subplots(1, 3, figsize=(15, 4.5))
    ax_matrix.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            ax_matrix.text(
                j, i, f"{count:,}", ha="center", va="center", color="black" if shares[i][j] < 0.6 else "white"
            )
    ax_matrix.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax_matrix.set_yticks(range(len(names)), names)
    ax_matrix.set(title="Confusion matrix (test; colour = share of actual)", xlabel="predicted", ylabel="actual")
    per_class = metrics["per_class_metrics"]
    ax_f1.barh(names[::-1], [per_class[name]["f1"] for name in names[::-1]])
    ax_f1.set(title="f1 per class (test)", xlabel="f1", xlim=(0, 1))
    ax_f1.grid(axis="x", alpha=0.3)
    _plot_learning(ax_learn, training)
    ax_learn.legend(loc="best")
    ax_learn.grid(alpha=0.3)
    _save(fig, path)


def _plot_regression(results: RunResults, path: Path) -> None:
    test = results.splits["test"]
    label = test.columns[0]  # preprocess writes the label first
    actual = test[label].to_numpy(dtype=float)
    predicted = results.training.model.predict(test)
    fig, (ax_scatter, ax_residuals, ax_learn) = plt.subplots(1, 3, figsize=(15, 4.5))
    ax_scatter.scatter(actual, predicted, s=6, alpha=0.4)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    ax_scatter.plot([low, high], [low, high], linestyle=":", color="grey", label="predicted = actual")
    ax_scatter.set(title="Predicted against actual (test)", xlabel=f"actual {label}", ylabel=f"predicted {label}")
    ax_scatter.legend(loc="best")
    ax_residuals.hist(actual - predicted, bins=40)
    ax_residuals.axvline(0, color="black", linewidth=0.8)
    ax_residuals.set(title="Residuals (actual - predicted, test)", xlabel="residual", ylabel="rows")
    _plot_learning(ax_learn, results.training)
    ax_learn.legend(loc="best")
    for ax in (ax_scatter, ax_residuals, ax_learn):
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


def _plot_global_shap(importance: dict, errors: dict, path: Path) -> None:
    top = list(importance.items())[:TOP_FEATURES][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1))
    # The means come from a sample of rows: the whisker shows how far another sample could move them.
    ax.barh([name for name, _ in top], [value for _, value in top], xerr=[errors[name] for name, _ in top], capsize=3)
    ax.set(title="Global importance: mean |SHAP value|", xlabel="mean |SHAP value| (whisker: ± standard error)")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _plot_example(example: dict, expected: float, units: str, path: Path) -> None:
    items = example["contributions"][:TOP_FEATURES][::-1]
    labels = [f"{item['feature']} = {item['value']}" for item in items]
    values = [item["shap_value"] for item in items]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(items) + 1.2))
    ax.barh(labels, values, color=["tab:red" if v > 0 else "tab:blue" for v in values])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(
        title=f"Record {example['id']}: score {example['score']:.3f} (base {expected:.2f})",
        xlabel=f"SHAP value ({units}; red pushes the score up)",
    )
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.set_layout_engine(None)  # tight_layout leaves a placeholder engine, for which savefig draws twice
    # zlib level 3, not Pillow's 6: 40 % less time encoding the four charts, 3 % larger files.
    fig.savefig(path, dpi=100, pil_kwargs={"compress_level": 3})
    plt.close(fig)
