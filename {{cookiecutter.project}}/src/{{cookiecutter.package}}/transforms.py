"""Feature transformations: the one code path from raw rows to model input.

Training, evaluation, batch scoring and the endpoint all call these functions, so a feature is
computed the same way wherever it is used (no training/serving skew). Fitted state, the known
categories of each categorical column, lives in a FeatureSpec saved next to the model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xgboost as xgb

from .errors import ProjectError

if TYPE_CHECKING:  # the endpoint imports this module; it runs on the image's packages alone
    from .settings import Dataset

MISSING_TOKENS = ("", "?")  # the Adult source writes '?' for unknown
SHOWN = 5  # offending values quoted in a message


class NotANumber(ProjectError, ValueError):
    """Text in a numeric column. A ProjectError for the CLI (one line, exit 2) and a ValueError for
    the endpoint, whose container answers a ValueError from the handlers with an error response."""


@dataclass(frozen=True)
class FeatureSpec:
    label: str
    positive_label: str
    numeric: list[str]
    categories: dict[str, list[str]]  # known values per categorical column, fitted on training data

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categories]

    def save(self, path: Path) -> None:
        # Key order is feature order: never sort it.
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FeatureSpec:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ProjectError(
            f"{where}: missing column(s) {', '.join(missing)}; the data must have the columns "
            "listed under 'dataset' in project.yaml"
        )


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(the values as float64, the values that are not numbers, as given). A blank, '?' or null
    is missing (NaN), not an error; text, booleans and anything else that is not a number are
    errors, never silently missing."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64"), values.iloc[:0]
    missing = values.map(_is_missing).astype(bool)
    numbers = pd.Series(np.nan, index=values.index, dtype="float64")
    given = values[~missing]
    plain = given.map(lambda v: isinstance(v, (str, int, float, np.number)) and not isinstance(v, (bool, np.bool_)))
    candidates = given[plain.astype(bool)]
    if len(candidates):
        text = candidates.map(lambda v: v.strip() if isinstance(v, str) else v).astype(object)
        numbers[candidates.index] = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers, values[~missing & numbers.isna()]


def _is_missing(value) -> bool:
    if isinstance(value, str):
        return value.strip() in MISSING_TOKENS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or a mapping: a value, just not a number
        return False


def describe_not_numbers(column: str, bad: pd.Series) -> str:
    """What is wrong with a numeric column, in one line: a few values as given, with their rows."""
    shown = ", ".join(f"{value!r} (row {row})" for row, value in bad.head(SHOWN).items())
    more = f" and {len(bad) - SHOWN:,} more" if len(bad) > SHOWN else ""
    return (
        f"column '{column}' holds {len(bad):,} value(s) that are not numbers: {shown}{more}; "
        "write numbers, or leave the value empty for missing"
    )


def require_numbers(frame: pd.DataFrame, columns: list[str], where: str | None = None) -> dict[str, pd.Series]:
    """The numeric columns as float64; text in any of them is refused with NotANumber, naming each
    column and a few values with their rows (the frame's row labels: from 0 in a file as read)."""
    numbers, problems = {}, []
    for column in columns:
        if column in frame.columns:
            numbers[column], bad = parse_numbers(frame[column])
            if len(bad):
                problems.append(describe_not_numbers(column, bad))
    if problems:
        raise NotANumber((f"{where}: " if where else "") + "; ".join(problems))
    return numbers


def clean(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """Feature columns in a fixed order: numbers as float (text in a numeric column is refused
    with NotANumber: it is never silently missing), trimmed strings (unknown -> NaN). Idempotent,
    so already-clean data passes through unchanged."""
    out = require_numbers(frame[list(numeric)], numeric)
    for column in categorical:
        values = frame[column].astype("string").str.strip()
        values = values.mask(values.isin(MISSING_TOKENS))
        # object dtype with NaN for missing: what pandas, XGBoost and smclarify all accept
        out[column] = values.astype(object).where(values.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def clean_features(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    return clean(frame, dataset.numeric_features, dataset.categorical_features)


def binary_label(values: pd.Series, positive_label: str, where: str = "data") -> pd.Series:
    """1 for the positive class, 0 for the other class, NaN where the label is missing.

    Binary classification needs exactly two label values: the positive label and one other. Any
    other set is refused, naming the values seen, so that a variant of the positive label
    ('>50K.', '>50k') never silently counts as the negative class."""
    if pd.api.types.is_numeric_dtype(values):  # e.g. a 0/1 label read as float because of blanks
        keys, positive = values, pd.to_numeric(positive_label, errors="coerce")
        missing = values.isna()
    else:
        keys, positive = values.astype("string").str.strip(), positive_label
        missing = keys.isna() | (keys == "")
    counts = keys[~missing].value_counts()
    column = f"label column '{values.name}'" if values.name is not None else "the label column"
    fix = "correct the labels, or dataset.positive_label in project.yaml"
    if counts.empty:
        raise ProjectError(f"{where}: {column} has no values; rows without a label cannot be learned from")
    if positive not in counts.index:
        raise ProjectError(
            f"{where}: {column} never holds the positive label {positive_label!r}; "
            f"values seen: {_counted(counts)}; {fix}"
        )
    if len(counts) == 1:
        raise ProjectError(
            f"{where}: {column} holds only the positive label {positive_label!r} ({counts.iloc[0]:,} rows); "
            "binary classification needs rows of one other value too"
        )
    if len(counts) > 2:
        raise ProjectError(
            f"{where}: {column} holds {len(counts)} distinct values, but binary classification takes two, "
            f"the positive label {positive_label!r} and one other: {_counted(counts)}; {fix}"
        )
    return (keys == positive).astype("Int8").mask(missing)


def _counted(counts: pd.Series, shown: int = SHOWN) -> str:
    """'a' (3,771), 'b' (1,229) and 2 more: the most frequent values first."""
    text = ", ".join(f"{_shown(value)} ({count:,})" for value, count in counts.head(shown).items())
    return text + (f" and {len(counts) - shown:,} more" if len(counts) > shown else "")


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else repr(value)


def unseen_categories(features: pd.DataFrame, spec: FeatureSpec) -> dict[str, pd.Series]:
    """Per categorical column, the values training never saw, with their row counts. They are
    scored as missing (XGBoost's learned default branch): callers warn about them."""
    unseen = {}
    for column, known in spec.categories.items():
        if column not in features.columns:
            continue
        values = features[column].astype("string").str.strip()
        values = values[values.notna() & ~values.isin(MISSING_TOKENS) & ~values.isin(known)]
        if len(values):
            unseen[column] = values.value_counts()
    return unseen


def describe_unseen(unseen: dict[str, pd.Series]) -> list[str]:
    """One line per column: the values the model did not see in training, scored as missing."""
    return [
        f"column '{column}' has {len(counts):,} value(s) the model did not see in training, "
        f"scored as missing: {_counted(counts)}"
        for column, counts in unseen.items()
    ]


def fit(train_features: pd.DataFrame, dataset: Dataset) -> FeatureSpec:
    categories = {
        column: sorted(train_features[column].dropna().unique().tolist()) for column in dataset.categorical_features
    }
    return FeatureSpec(
        label=dataset.label,
        positive_label=dataset.positive_label,
        numeric=list(dataset.numeric_features),
        categories=categories,
    )


def encode(features: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """A float32 matrix: numbers as they are, categories as their index in the spec (an unseen or
    missing category becomes NaN, which XGBoost routes down the learned default branch)."""
    cleaned = clean(features, spec.numeric, list(spec.categories))
    columns = [cleaned[column].to_numpy(dtype="float32") for column in spec.numeric]
    for column, known in spec.categories.items():
        codes = pd.Categorical(cleaned[column], categories=known).codes.astype("float32")
        codes[codes < 0] = np.nan
        columns.append(codes)
    return np.column_stack(columns) if columns else np.empty((len(features), 0), "float32")


def to_dmatrix(features: pd.DataFrame, spec: FeatureSpec, label=None) -> xgb.DMatrix:
    return xgb.DMatrix(
        encode(features, spec),
        label=None if label is None else np.asarray(label, dtype="float32"),
        feature_names=spec.features,
        feature_types=["q"] * len(spec.numeric) + ["c"] * len(spec.categories),
        enable_categorical=True,
        missing=np.nan,
    )
