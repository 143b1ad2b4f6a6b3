"""Bias metrics with smclarify, the open-source library behind SageMaker Clarify's bias metrics.

Results use the shape of Clarify's analysis.json, so a local result and a pipeline result read
the same way: {stage}_bias_metrics -> facets -> column -> [{value_or_threshold, metrics}].
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .errors import ProjectError
from .settings import Bias, Dataset
from .transforms import FeatureSpec, encode

# smclarify logs a full traceback for each metric it cannot compute; the error is kept in the
# result instead (and a gated metric that errors fails the gate).
logging.getLogger("smclarify").setLevel(logging.CRITICAL)

LABEL = "label"
PREDICTED = "predicted_label"
# Rows each facet group (the sensitive values, and everyone else) needs in the test split before
# its post-training metrics mean anything: with fewer, one row moves a metric by 0.1 or more.
MIN_GROUP_ROWS = 10
SHOWN = 8  # values listed when a facet value is not found


def check_facets(labelled: pd.DataFrame, test: pd.DataFrame, bias: Bias, where: str = "data") -> None:
    """Refuse, before training, facets the bias analysis cannot measure: a sensitive value that
    does not occur in the data (a typo would otherwise end in smclarify tracebacks after
    training), or a group with fewer than MIN_GROUP_ROWS rows in the test split."""
    _require_values(labelled, bias, where)
    for facet in bias.facets:
        sensitive = int(test[facet.column].isin(facet.sensitive_values).sum())
        named = f"{facet.column}={','.join(facet.sensitive_values)}"
        for group, rows in {named: sensitive, f"everyone but {named}": len(test) - sensitive}.items():
            if rows < MIN_GROUP_ROWS:
                raise ProjectError(
                    f"{where}: bias facet '{facet.column}': the group {group} has {rows} row(s) in the test split, "
                    f"fewer than the {MIN_GROUP_ROWS} its bias metrics need to be stable; use more data, a larger "
                    "split.test, or other sensitive values (bias.facets in project.yaml)"
                )


def _require_values(frame: pd.DataFrame, bias: Bias, where: str) -> None:
    """Every sensitive value of every facet occurs in the frame (else smclarify fails with tracebacks)."""
    for position, facet in enumerate(bias.facets):
        counts = frame[facet.column].value_counts()
        absent = [value for value in facet.sensitive_values if value not in counts.index]
        if absent:
            present = ", ".join(f"{value!r} ({count:,})" for value, count in counts.head(SHOWN).items())
            more = f" and {len(counts) - SHOWN:,} more" if len(counts) > SHOWN else ""
            raise ProjectError(
                f"{where}: bias facet '{facet.column}': {', '.join(map(repr, absent))} does not occur in the data "
                f"(values present: {present or 'none'}{more}); "
                f"correct bias.facets.{position}.sensitive_values in project.yaml"
            )


def pre_training(frame: pd.DataFrame, dataset: Dataset, bias: Bias) -> dict:
    """Data bias of labelled rows (label column 0/1, feature columns as cleaned). A facet value
    that does not occur in them is refused (ProjectError), not left to smclarify."""
    from smclarify.bias import report

    _require_values(frame, bias, f"bias analysis of {len(frame):,} rows")
    data = _facet_frame(frame, dataset, bias)
    label = report.LabelColumn(LABEL, data[LABEL], [1])
    facets = {
        facet.column: _guarded(
            bias.pre_training_metrics,
            facet,
            lambda facet=facet: report.bias_report(
                data,
                report.FacetColumn(facet.column, facet.sensitive_values),
                label,
                report.StageType.PRE_TRAINING,
                metrics=list(bias.pre_training_metrics),
                group_variable=_group(data, bias),
            ),
        )
        for facet in bias.facets
    }
    return _stage(dataset, facets)


def post_training(frame: pd.DataFrame, predicted: np.ndarray, spec: FeatureSpec, dataset: Dataset, bias: Bias) -> dict:
    """Model bias: the same rows with the model's predicted labels (0/1)."""
    from smclarify.bias import report

    _require_values(frame, bias, f"bias analysis of {len(frame):,} rows")
    data = _facet_frame(frame, dataset, bias)
    # FT (flip test) runs k-nearest-neighbours on the other features: give it the encoded numbers.
    encoded = pd.DataFrame(encode(frame, spec), columns=spec.features, index=frame.index).fillna(-1.0)
    others = encoded.drop(columns=[f.column for f in bias.facets if f.column in encoded])
    predicted_labels = pd.Series(predicted, index=frame.index).astype("category")
    facets = {}
    for facet in bias.facets:
        facets[facet.column] = _guarded(
            bias.post_training_metrics,
            facet,
            lambda facet=facet: report.bias_report(
                pd.concat([others, data[[facet.column, LABEL]]], axis=1),
                report.FacetColumn(facet.column, facet.sensitive_values),
                report.LabelColumn(LABEL, data[LABEL], [1]),
                report.StageType.POST_TRAINING,
                predicted_label_column=report.LabelColumn(PREDICTED, predicted_labels, [1]),
                metrics=list(bias.post_training_metrics),
                group_variable=_group(data, bias),
            ),
        )
    return _stage(dataset, facets)


def analysis(pre: dict, post: dict | None = None) -> dict:
    result = {"version": "1.0", "pre_training_bias_metrics": pre}
    if post is not None:
        result["post_training_bias_metrics"] = post
    return result


def metric_values(analysis_json: dict) -> list[tuple[str, str, str, str, float | None, str | None]]:
    """(stage, facet column, facet value, metric, value, error) for every computed metric."""
    rows = []
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for column, groups in analysis_json.get(stage, {}).get("facets", {}).items():
            for group in groups:
                for metric in group["metrics"]:
                    rows.append(
                        (
                            stage,
                            column,
                            group["value_or_threshold"],
                            metric["name"],
                            _number(metric.get("value")),
                            metric.get("error"),
                        )
                    )
    return rows


def _number(value) -> float | None:
    """smclarify writes an infinite ratio (e.g. TE with no false positives) as "Infinity"."""
    return None if value is None else float(value)


def _guarded(metrics: list[str], facet, compute) -> list[dict]:
    """smclarify raises for a whole facet on degenerate input (e.g. no predicted positives);
    record the reason on every metric instead, so the gate fails with it rather than crashing."""
    try:
        return compute()
    except ValueError as error:
        failed = [{"name": name, "value": None, "error": str(error)} for name in metrics]
        return [{"value_or_threshold": ",".join(facet.sensitive_values), "metrics": failed}]


def _facet_frame(frame: pd.DataFrame, dataset: Dataset, bias: Bias) -> pd.DataFrame:
    # smclarify wants string facets as object dtype; missing facet values count as "not sensitive".
    columns = {facet.column for facet in bias.facets} | ({bias.group_variable} if bias.group_variable else set())
    data = frame[sorted(columns)].astype(object).where(frame[sorted(columns)].notna(), "")
    # As a category: smclarify reads an integer column with many distinct values per row (a small
    # frame) as a continuous score, which silently changes the metrics.
    data[LABEL] = pd.Series(frame[dataset.label].astype(int).to_numpy(), index=frame.index).astype("category")
    return data


def _group(data: pd.DataFrame, bias: Bias) -> pd.Series | None:
    return data[bias.group_variable] if bias.group_variable else None


def _stage(dataset: Dataset, facets: dict) -> dict:
    return {"label": dataset.label, "label_value_or_threshold": dataset.positive_label, "facets": facets}
