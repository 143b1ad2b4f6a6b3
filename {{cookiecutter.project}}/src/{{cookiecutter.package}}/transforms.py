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

from .cpus import usable_cpus
from .errors import ProjectError

if TYPE_CHECKING:  # the endpoint imports this module; it runs on the image's packages alone
    import xgboost as xgb

    from .settings import Dataset

MISSING_TOKENS = ("", "?")  # the Adult source writes '?' for unknown
SHOWN = 5  # offending values quoted in a message


class NotANumber(ProjectError, ValueError):
    """Text in a numeric column. A ProjectError for the CLI (one line, exit 2) and a ValueError for
    the endpoint, whose container answers a ValueError from the handlers with an error response."""


@dataclass(frozen=True)
class FeatureSpec:
    label: str
    positive_label: str | int | float | bool | None  # binary: the class predicted as 1
    numeric: list[str]
    categories: dict[str, list[str]]  # known values per categorical column, fitted on training data
    # What the model predicts, so the endpoint answers with label names without project.yaml.
    problem_type: str = "binary"  # binary, multiclass or regression
    classes: list | None = None  # classification: label values as in project.yaml; index = encoded label
    cutoff: float | None = None  # binary: a score at or above it is predicted positive

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categories]

    @property
    def class_names(self) -> list:
        """The label value of each encoded class: binary 0 = the other class, 1 = positive_label."""
        if self.problem_type == "regression":
            return []
        classes = list(self.classes or [])
        if self.problem_type == "binary":
            positive = str(self.positive_label)
            other = [value for value in classes if str(value) != positive]
            return [other[0] if other else None, self.positive_label]
        return classes

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
    if values.dtype == object and _one_kind(values):
        # Text only (a CSV column with a blank, an endpoint request): each distinct text is parsed
        # once, in a few array operations, so one row costs little and a million rows no more.
        codes, texts = _distinct(values)
        read = _trimmed(texts)  # NaN: missing
        numbers = pd.to_numeric(read, errors="coerce").astype("float64")
        rows_bad = _spread(codes, ~pd.isna(read) & np.isnan(numbers), False)
        return (
            pd.Series(_spread(codes, numbers, np.nan), index=values.index),
            values[rows_bad] if rows_bad.any() else values.iloc[:0],
        )
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
        out[column] = categories_as_read(frame[column])
    return pd.DataFrame(out, index=frame.index)


def trimmed_text(values: pd.Series) -> pd.Series:
    """Each value as trimmed text, object dtype; '' and '?' (and nulls) missing, as NaN: what
    pandas, XGBoost and smclarify all accept."""
    return pd.Series(_trimmed(values), index=values.index, dtype=object)


def _trimmed(values: pd.Series | np.ndarray) -> np.ndarray:
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        # Text only, the usual case (a column's distinct values): plain Python is quickest.
        return np.array([np.nan if (text := value.strip()) in MISSING_TOKENS else text for value in values], object)
    texts = pd.Series(values, dtype=object).astype("string").str.strip()
    texts = texts.mask(texts.isin(MISSING_TOKENS))
    return texts.astype(object).where(texts.notna(), np.nan).to_numpy()


def categories_as_read(values: pd.Series) -> pd.Series:
    """A categorical column as the model reads it (trimmed_text), each distinct value converted once:
    a column of a million rows holds a few hundred categories."""
    if not _one_kind(values):
        return trimmed_text(values)
    codes, distinct = _distinct(values)
    return pd.Series(_spread(codes, _trimmed(distinct), np.nan), index=values.index, dtype=object)


def _one_kind(values: pd.Series) -> bool:
    """Values pandas tells apart as their texts do: text only, or a numeric or boolean dtype. (In a
    column of mixed types 1, 1.0 and True are one value to factorize, and three texts.)"""
    return values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(each row's code, the distinct values as an object array); a null's code is -1."""
    codes, distinct = pd.factorize(values.to_numpy())
    return codes, np.asarray(distinct, dtype=object)


def _spread(codes: np.ndarray, converted: np.ndarray, null) -> np.ndarray:
    """What each distinct value was converted to, back over the rows; `null` for a null."""
    return np.append(converted, null)[codes] if (codes == -1).any() else converted[codes]


def clean_features(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    return clean(frame, dataset.numeric_features, dataset.categorical_features)


def _text(value) -> str:
    return str(value).strip()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def same_label(data_value, declared) -> bool:
    """A label value in the data equals a declared one (project.yaml) when their texts agree,
    stripped; both numbers compare as numbers (YAML 1, CSV "1" and a float column's 1.0 agree),
    both booleans case-blind (YAML true, "True", "true")."""
    data_text, declared_text = _text(data_value), _text(declared)
    if data_text == declared_text:
        return True
    if data_text.lower() in ("true", "false") and declared_text.lower() in ("true", "false"):
        return data_text.lower() == declared_text.lower()
    data_number, declared_number = _number(data_text), _number(declared_text)
    return data_number is not None and declared_number is not None and data_number == declared_number


def _label_missing(values: pd.Series) -> pd.Series:
    return _mapped(values, _is_missing, null=True).astype(bool)


def _mapped(values: pd.Series, function, null=None) -> pd.Series:
    """values.map(function), with function called once per distinct value where the values are of
    one kind (_one_kind): a label column of a million rows holds a few values. `null` is what a
    null maps to."""
    if not _one_kind(values):
        return values.map(function)
    codes, distinct = _distinct(values)
    mapped = pd.Series([function(value) for value in distinct], dtype=object).infer_objects()  # bool, int...
    return pd.Series(_spread(codes, mapped.to_numpy(), null), index=values.index)


def encode_labels(
    values: pd.Series, problem_type: str, classes: list | None, positive_label=None, where: str = "data"
) -> pd.Series:
    """The label as the model learns it, NaN where missing: binary 1 for positive_label and 0
    for the other class; multiclass the class's position in `classes`; regression the number.

    A value outside the declared classes (e.g. '>50K.' next to '>50K') is refused, naming the
    values seen with their counts: it never silently counts as another class."""
    column = f"label column '{values.name}'" if values.name is not None else "the label column"
    missing = _label_missing(values)
    if missing.all():
        raise ProjectError(f"{where}: {column} has no values; rows without a label cannot be learned from")
    if problem_type == "regression":
        numbers, bad = parse_numbers(values)
        if len(bad):
            counts = bad.map(_text).value_counts()
            raise ProjectError(
                f"{where}: {column} holds {len(bad):,} value(s) that are not numbers: {_counted(counts)}; "
                "a regression label is a number: correct the labels, or dataset.problem_type in project.yaml"
            )
        return numbers
    declared = list(classes or [])
    given = values[~missing]
    counts = _mapped(given, _text).value_counts()
    index_of = {}
    for text in counts.index:
        matches = [position for position, value in enumerate(declared) if same_label(text, value)]
        if matches:
            index_of[text] = matches[0]
    outside = counts[[text not in index_of for text in counts.index]]
    if len(outside):
        raise ProjectError(
            f"{where}: {column} holds value(s) outside dataset.classes {declared}: {_counted(outside)} "
            f"(all values seen: {_counted(counts)}); list every label value under dataset.classes in "
            "project.yaml, or correct the labels"
        )
    codes = _mapped(given, lambda value: index_of[_text(value)])
    if problem_type == "binary":
        positive = next(position for position, value in enumerate(declared) if same_label(positive_label, value))
        seen = set(codes.unique())
        if positive not in seen:
            raise ProjectError(
                f"{where}: {column} never holds the positive label {positive_label!r}; values seen: "
                f"{_counted(counts)}; correct the labels, or dataset.positive_label in project.yaml"
            )
        if len(seen) == 1:
            raise ProjectError(
                f"{where}: {column} holds only the positive label {positive_label!r} ({len(codes):,} rows); "
                "binary classification needs rows of the other class too"
            )
        codes = (codes == positive).astype(int)
    return codes.astype("float64").reindex(values.index)


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
        values = categories_as_read(features[column])
        new = values.notna().to_numpy() & (pd.Index(known).get_indexer(values) < 0)
        if new.any():
            unseen[column] = values[new].value_counts()
    return unseen


def describe_unseen(unseen: dict[str, pd.Series]) -> list[str]:
    """One line per column: the values the model did not see in training, scored as missing."""
    return [
        f"column '{column}' has {len(counts):,} value(s) the model did not see in training, "
        f"scored as missing: {_counted(counts)}"
        for column, counts in unseen.items()
    ]


def fit(train_features: pd.DataFrame, dataset: Dataset, cutoff: float = 0.5) -> FeatureSpec:
    categories = {
        column: sorted(train_features[column].dropna().unique().tolist()) for column in dataset.categorical_features
    }
    return FeatureSpec(
        label=dataset.label,
        positive_label=dataset.positive_label,
        numeric=list(dataset.numeric_features),
        categories=categories,
        problem_type=dataset.problem_type,
        classes=None if dataset.classes is None else list(dataset.classes),
        cutoff=cutoff if dataset.problem_type == "binary" else None,
    )


# Extension point, a feature transform: derive the column here (fitted state, such as a scale,
# goes into FeatureSpec through `fit`) and name it in FeatureSpec.features, so training, evaluation,
# SHAP and the endpoint all compute it from the same code.
def encode(features: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """A float32 matrix: numbers as they are, categories as their index in the spec (an unseen or
    missing category becomes NaN, which XGBoost routes down the learned default branch)."""
    cleaned = clean(features, spec.numeric, list(spec.categories))
    columns = [cleaned[column].to_numpy(dtype="float32") for column in spec.numeric]
    for column, known in spec.categories.items():
        codes = pd.Index(known).get_indexer(cleaned[column]).astype("float32")  # -1: missing, or unseen
        codes[codes < 0] = np.nan
        columns.append(codes)
    return np.column_stack(columns) if columns else np.empty((len(features), 0), "float32")


def to_dmatrix(features: pd.DataFrame, spec: FeatureSpec, label=None) -> xgb.DMatrix:
    import xgboost as xgb  # here, not above: the data checks read numbers with this module (1 s less)

    return xgb.DMatrix(
        encode(features, spec),
        label=None if label is None else np.asarray(label, dtype="float32"),
        feature_names=spec.features,
        feature_types=["q"] * len(spec.numeric) + ["c"] * len(spec.categories),
        enable_categorical=True,
        missing=np.nan,
        nthread=usable_cpus(),
    )
