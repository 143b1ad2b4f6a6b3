"""Bias metrics with smclarify, the open-source library behind SageMaker Clarify's bias metrics.

Results use the shape of Clarify's analysis.json, so a local result and a pipeline result read
the same way: {stage}_bias_metrics -> facets -> column -> [{value_or_threshold, metrics}].

The local run and the pipeline see each facet the same way (`facet_views`, in bias_facets.py with
the other names both use): a categorical facet is its own column, a numeric facet by range a
derived yes/no column. The preprocess step writes the derived columns, and audit-only facet
columns (not model inputs), into Clarify's CSV after the label and the features, and the Clarify
configs exclude them from the model's input.

The favourable outcome (bias.favourable_labels, or favourable_threshold for regression) is given
to smclarify and Clarify in the label's encoding: 0/1 for binary (1 = positive_label), the class
index (position in dataset.classes) for multiclass, the number itself for regression.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from .bias_facets import (
    IN_RANGE,
    OUT_OF_RANGE,
    FacetView,
    as_text,
    audit_columns,
    clarify_columns,
    facet_views,
    favourable_values,
    label_values_or_threshold,
)
from .errors import ProjectError
from .settings import Bias, Dataset
from .transforms import FeatureSpec, clean, encode, require_numbers

# smclarify logs a full traceback for each metric it cannot compute; the error is kept in the
# result instead (and a gated metric that errors fails the gate).
logging.getLogger("smclarify").setLevel(logging.CRITICAL)

LABEL = "label"
PREDICTED = "predicted_label"
SHOWN = 8  # values listed when a facet value is not found
GROUPS_FILE = "facet_groups.json"  # group sizes in the test split, for the min_rows rule of the bias gate
# Bootstrap confidence intervals of the gated metrics (bias_intervals.py): resamples of the rows, seeded
# with split.seed, percentile interval.
CONFIDENCE = 0.95
RESAMPLES = 1000
INTERVAL_KEY = "confidence_interval_95"


def audit_frame(raw: pd.DataFrame, dataset: Dataset, bias: Bias, where: str = "data") -> pd.DataFrame:
    """The audit-only columns, cleaned: numbers for a range facet's column, text otherwise."""
    columns = audit_columns(dataset, bias)
    _require_facet_columns(raw, columns, where)
    ranged = {facet.column for facet in bias.facets if facet.sensitive_range is not None}
    numbers = require_numbers(raw, [column for column in columns if column in ranged], where)
    text = clean(raw, [], [column for column in columns if column not in ranged])
    return pd.DataFrame({column: numbers[column] if column in ranged else text[column] for column in columns})


def clarify_frame(split: pd.DataFrame, dataset: Dataset, bias: Bias) -> pd.DataFrame:
    """A split as Clarify reads it (clarify_columns): a range facet's yes/no column is derived here,
    by the code the local analysis uses, so both judge the same rows as in the group."""
    facets = facet_frame(split, bias)
    derived = {
        view.column: facets[view.column].astype(str)
        for view in facet_views(bias)
        if view.facet.sensitive_range is not None
    }
    if dataset.problem_type == "multiclass":  # by class name (clarify_label_values)
        names = {index: as_text(value) for index, value in enumerate(dataset.classes)}
        derived[dataset.label] = split[dataset.label].astype(int).map(names)
    return split.assign(**derived)[clarify_columns(dataset, bias)]


def facet_frame(frame: pd.DataFrame, bias: Bias) -> pd.DataFrame:
    """One text column per facet view (categorical for smclarify): the facet's values as text, or
    a range facet's yes/no. A missing value is not in the sensitive group."""
    data = {}
    for view in facet_views(bias):
        values = frame[view.facet.column]
        if view.facet.sensitive_range is not None:
            numbers = pd.to_numeric(values, errors="coerce")
            low, high = view.facet.sensitive_range.min, view.facet.sensitive_range.max
            inside = numbers.notna() & (numbers >= (-math.inf if low is None else low))
            inside &= numbers < (math.inf if high is None else high)
            data[view.column] = np.where(inside, IN_RANGE, OUT_OF_RANGE)
        else:
            data[view.column] = _as_texts(values)
    return pd.DataFrame(data, index=frame.index).astype("category")


def _as_texts(values: pd.Series) -> np.ndarray:
    """as_text of every value, missing as "": each distinct value converted once."""
    codes, uniques = pd.factorize(values)
    texts = np.array([*(as_text(value) if not _missing(value) else "" for value in uniques), ""], dtype=object)
    return texts[codes]  # code -1 (missing) takes the last ""


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def sensitive(facets: pd.DataFrame, view: FacetView) -> np.ndarray:
    return facets[view.column].isin(view.values).to_numpy(dtype=bool)


def check_facets(labelled: pd.DataFrame, bias: Bias, where: str = "data") -> None:
    """Refuse, before training, a facet the bias analysis cannot measure at all: a sensitive value
    or range no row holds (a typo would otherwise end in smclarify tracebacks after training). A
    group that occurs but is small is judged by the bias gate instead ("too few rows to judge")."""
    _require_values(labelled, bias, where)


def _require_values(frame: pd.DataFrame, bias: Bias, where: str) -> None:
    """Every categorical facet's sensitive values occur in the frame, and every range facet splits it in two."""
    _require_facet_columns(frame, [facet.column for facet in bias.facets], where)
    facets = facet_frame(frame, bias)
    for view in facet_views(bias):
        facet = view.facet
        if facet.sensitive_range is not None:
            inside = int(sensitive(facets, view).sum())
            if inside in (0, len(frame)):
                numbers = pd.to_numeric(frame[facet.column], errors="coerce")
                raise ProjectError(
                    f"{where}: bias facet '{facet.column}': {'no' if inside == 0 else 'every'} row has {view.group} "
                    f"(values from {numbers.min():g} to {numbers.max():g}), so there is no group to compare; "
                    f"correct bias.facets.{view.position}.sensitive_range in project.yaml"
                )
            continue
        counts = facets[view.column].value_counts()
        counts = counts[counts > 0]
        absent = [value for value in view.values if value not in counts.index]
        if absent:
            present = ", ".join(f"{value!r} ({count:,})" for value, count in counts.head(SHOWN).items())
            more = f" and {len(counts) - SHOWN:,} more" if len(counts) > SHOWN else ""
            raise ProjectError(
                f"{where}: bias facet '{facet.column}': {', '.join(map(repr, absent))} does not occur in the data "
                f"(values present: {present or 'none'}{more}); "
                f"correct bias.facets.{view.position}.sensitive_values in project.yaml"
            )


def _require_facet_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    if missing:
        raise ProjectError(
            f"{where}: bias facet column(s) {', '.join(missing)} not in the data; correct bias.facets in project.yaml"
        )


def favourable_text(dataset: Dataset, bias: Bias) -> str:
    """The favourable outcome, readable: 'income = >50K', 'risk in (low, medium)', 'price > 40'."""
    if dataset.problem_type == "regression":
        return f"{dataset.label} > {bias.favourable_threshold:g}"
    values = [as_text(value) for value in favourable_values(dataset, bias)]
    if len(values) == 1:
        return f"{dataset.label} = {values[0]}"
    return f"{dataset.label} in (" + ", ".join(values) + ")"


def favourable_index(encoded: pd.Series | np.ndarray, dataset: Dataset, bias: Bias) -> np.ndarray:
    """Rows whose (encoded) label or predicted label is favourable, as Clarify reads it."""
    values = np.asarray(encoded)
    if dataset.problem_type == "regression":
        return values.astype(float) > bias.favourable_threshold
    return np.isin(values.astype(int), label_values_or_threshold(dataset, bias))


def facet_groups(test: pd.DataFrame, dataset: Dataset, bias: Bias) -> dict:
    """Each facet's group sizes in the test split against its min_rows: what the bias gate needs
    to say "too few rows to judge" (Clarify's analysis.json does not report group sizes)."""
    facets = facet_frame(test, bias)
    groups = []
    for view in facet_views(bias):
        rows = int(sensitive(facets, view).sum())
        groups.append(
            {
                "position": view.position,
                "column": view.column,
                "value_or_threshold": view.value_or_threshold,
                "group": view.group,
                "rows": rows,
                "others": len(test) - rows,
                "min_rows": view.facet.min_rows,
            }
        )
    return {"favourable": favourable_text(dataset, bias), "groups": groups}


def pre_training(frame: pd.DataFrame, dataset: Dataset, bias: Bias) -> dict:
    """Data bias of labelled rows (the label encoded as the preprocess step writes it). A facet
    value that does not occur in them is refused (ProjectError), not left to smclarify."""
    from smclarify.bias import report

    _require_values(frame, bias, f"bias analysis of {len(frame):,} rows")
    data = _analysis_frame(frame, dataset, bias)
    label = report.LabelColumn(LABEL, data[LABEL], label_values_or_threshold(dataset, bias))
    facets = _by_facet(
        bias,
        bias.pre_training_metrics,
        lambda view: report.bias_report(
            data,
            report.FacetColumn(view.column, view.values),
            label,
            report.StageType.PRE_TRAINING,
            metrics=list(bias.pre_training_metrics),
            group_variable=_group(data, bias),
        ),
    )
    return _stage(dataset, bias, facets)


def post_training(frame: pd.DataFrame, predicted: np.ndarray, spec: FeatureSpec, dataset: Dataset, bias: Bias) -> dict:
    """Model bias: the same rows with the model's predicted labels in the label's encoding (binary
    0/1 at the decision cut-off, multiclass the class index, regression the predicted value)."""
    from smclarify.bias import report

    _require_values(frame, bias, f"bias analysis of {len(frame):,} rows")
    data = _analysis_frame(frame, dataset, bias)
    others = flip_features(frame, spec, bias)
    favourable = label_values_or_threshold(dataset, bias)
    predicted_labels = _as_label(pd.Series(predicted, index=frame.index), dataset)
    facets = _by_facet(
        bias,
        bias.post_training_metrics,
        lambda view: report.bias_report(
            pd.concat([others, data[[view.column, LABEL]]], axis=1),
            report.FacetColumn(view.column, view.values),
            report.LabelColumn(LABEL, data[LABEL], favourable),
            report.StageType.POST_TRAINING,
            predicted_label_column=report.LabelColumn(PREDICTED, predicted_labels, favourable),
            metrics=list(bias.post_training_metrics),
            group_variable=_group(data, bias),
        ),
    )
    return _stage(dataset, bias, facets)


def flip_features(frame: pd.DataFrame, spec: FeatureSpec, bias: Bias) -> pd.DataFrame:
    """What FT's k-nearest-neighbours compares: the encoded features but the facets' own columns."""
    encoded = pd.DataFrame(encode(frame, spec), columns=spec.features, index=frame.index).fillna(-1.0)
    return encoded.drop(columns=[f.column for f in bias.facets if f.column in encoded])


def _by_facet(bias: Bias, metrics: list[str], report_for) -> dict[str, list]:
    """Each facet's smclarify report (guarded: an error is kept on its metrics), by column; a range
    facet reports under its derived yes/no column."""
    facets: dict[str, list] = {}
    for view in facet_views(bias):
        facets.setdefault(view.column, []).extend(_guarded(metrics, view, lambda view=view: report_for(view)))
    return facets


def analysis(pre: dict, post: dict | None = None) -> dict:
    result = {"version": "1.0", "pre_training_bias_metrics": pre}
    if post is not None:
        result["post_training_bias_metrics"] = post
    return result


def _guarded(metrics: list[str], view: FacetView, compute) -> list[dict]:
    """smclarify raises for a whole facet on degenerate input (e.g. no predicted positives);
    record the reason on every metric instead, so the gate fails with it rather than crashing."""
    try:
        return compute()
    except ValueError as error:
        failed = [{"name": name, "value": None, "error": str(error)} for name in metrics]
        return [{"value_or_threshold": view.value_or_threshold, "metrics": failed}]


def _as_label(values: pd.Series, dataset: Dataset) -> pd.Series:
    # Classification labels as a category: smclarify reads an integer column with many distinct
    # values per row (a small frame) as a continuous score, which silently changes the metrics.
    # A regression label is a number, compared with favourable_threshold.
    if dataset.problem_type == "regression":
        return values.astype(float)
    return values.astype(int).astype("category")


def _analysis_frame(frame: pd.DataFrame, dataset: Dataset, bias: Bias) -> pd.DataFrame:
    data = facet_frame(frame, bias)
    if bias.group_variable:
        group = frame[bias.group_variable]
        data[bias.group_variable] = group.astype(object).where(group.notna(), "")
    data[LABEL] = _as_label(pd.Series(frame[dataset.label].to_numpy(), index=frame.index), dataset)
    return data


def _group(data: pd.DataFrame, bias: Bias) -> pd.Series | None:
    return data[bias.group_variable] if bias.group_variable else None


def _stage(dataset: Dataset, bias: Bias, facets: dict) -> dict:
    return {"label": dataset.label, "label_value_or_threshold": favourable_text(dataset, bias), "facets": facets}
