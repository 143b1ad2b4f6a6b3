"""Profiling a data file for `data init`: each column's kind, range, values and nulls, and the label.

Vectorised pandas only (one read, one pass per column), so a million rows take seconds. The
result is plain data; plan.py turns it into project.yaml sections, suites and a feature group.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import read_table
from ..errors import ProjectError
from ..transforms import MISSING_TOKENS

# A label with at most this many distinct whole numbers is a set of classes, not a quantity.
MAX_CLASSES = 20
# A text column with more distinct values than this (and than half the rows) is an identifier or
# free text: no use as a category, and a suite listing every value would be unreadable.
MAX_CATEGORIES = 200
# Feature Store, XGBoost and YAML all take these names as they are (SageMaker's feature-name rule).
SAFE_NAME = re.compile(r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$")


@dataclass
class Column:
    name: str
    kind: str  # "numeric" or "categorical"
    null_rate: float
    integral: bool = False  # numeric: every value a whole number
    minimum: float | None = None
    maximum: float | None = None
    values: list = field(default_factory=list)  # categorical: the MAX_CATEGORIES most frequent values
    distinct: int = 0
    excluded: str | None = None  # why the column is not proposed as a feature

    @property
    def value_set(self) -> list | None:
        """Categorical: every value, for a suite's value set; None when there are too many to list."""
        return self.values if self.kind == "categorical" and self.distinct <= MAX_CATEGORIES else None


@dataclass
class Profile:
    path: Path
    rows: int
    columns: dict[str, Column]
    label: str
    problem_type: str
    classes: list = field(default_factory=list)  # classification: label values, in a fixed order
    positive_label: object = None
    label_nulls: int = 0
    renamed: dict[str, str] = field(default_factory=dict)  # original column name -> safe name
    frame: pd.DataFrame | None = field(default=None, repr=False)  # the rows, renamed (for the copy)


def safe_name(name: str) -> str:
    """A column name as a Feature Store feature name: letters, digits, '_' (e.g. 'mean radius' -> mean_radius)."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip()).strip("_").lower() or "column"
    return ("c_" + text if not text[0].isalnum() else text)[:64]


def _renames(columns: list[str]) -> dict[str, str]:
    renamed, taken = {}, set()
    for column in columns:
        new = column if SAFE_NAME.match(str(column)) else safe_name(column)
        base, number = new, 2
        while new in taken:
            new, number = f"{base}_{number}", number + 1
        taken.add(new)
        if new != column:
            renamed[column] = new
    return renamed


def profile(path: Path, label: str, problem_type: str | None = None, positive_label: str | None = None) -> Profile:
    """Read `path` once and describe it; ProjectError (one line) for a file or label that cannot work."""
    path = Path(path)
    if not path.exists():
        raise ProjectError(f"--data {path}: file not found; pass an existing CSV or Parquet file")
    frame = read_table(path)
    if label not in frame.columns:
        near = ", ".join(map(str, list(frame.columns)[:12]))
        raise ProjectError(f"--label {label!r}: no such column in {path}; its columns: {near}")
    renamed = _renames([str(column) for column in frame.columns])
    frame = frame.rename(columns=renamed)
    label = renamed.get(label, label)
    columns = {name: _column(frame[name], len(frame)) for name in frame.columns if name != label}
    result = Profile(path=path, rows=len(frame), columns=columns, label=label, problem_type="", renamed=renamed)
    _label(result, frame[label], problem_type, positive_label)
    result.frame = frame
    return result


def _text(values: pd.Series) -> pd.Series:
    """Values as trimmed text, missing (blank, '?', null) as <NA>, as transforms.clean reads them."""
    text = values.astype("string").str.strip()
    return text.mask(text.isin(MISSING_TOKENS))


def distinct_counts(values: pd.Series) -> pd.Series:
    """Row counts per distinct trimmed text value, most frequent first (equal counts in the order
    the file first has them), missing ones left out. Counted on the raw values first (one hash
    pass), so trimming touches each distinct value once: a million rows of a few hundred values
    take milliseconds, not seconds. With factorize and a bincount: on a million distinct texts (a
    date-time column) pandas' value_counts takes four times as long."""
    codes, uniques = pd.factorize(values)  # missing values get code -1
    raw = pd.Series(np.bincount(codes[codes >= 0], minlength=len(uniques)), index=uniques)
    text = _text(raw.index.to_series(index=range(len(raw))))
    counts = pd.Series(raw.to_numpy(), index=text.to_numpy())
    counts = counts[text.notna().to_numpy()]
    if counts.index.has_duplicates:  # trimming made values equal: add up their rows
        counts = counts.groupby(level=0, sort=False).sum()
    return counts.sort_values(ascending=False, kind="stable")


def _numbers(values: pd.Index) -> pd.Series | None:
    """Distinct text values as numbers, or None when one is not a number. A few are tried first:
    a column of dates or identifiers (a million distinct values) is refused without parsing each."""
    for candidates in (values[:100], values):
        numbers = pd.to_numeric(pd.Series(candidates, dtype=object), errors="coerce")
        if numbers.isna().any() or not len(numbers):
            return None
    return numbers


def _column(values: pd.Series, rows: int) -> Column:
    name = str(values.name)
    counts = None
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        present = values.dropna().astype("float64")
    else:
        counts = distinct_counts(values)
        present = _numbers(counts.index)
    if present is not None:
        known = int(counts.sum()) if counts is not None else len(present)
        distinct = present.nunique()
        column = Column(name, "numeric", null_rate=1 - known / rows, distinct=distinct)
        if len(present):
            column.minimum, column.maximum = float(present.min()), float(present.max())
            column.integral = bool((present % 1 == 0).all())
        if distinct <= 1:
            column.excluded = "a single value: it cannot inform the model"
        return column
    column = Column(name, "categorical", null_rate=1 - int(counts.sum()) / rows, distinct=len(counts))
    column.values = [str(value) for value in counts.index[:MAX_CATEGORIES]]
    if column.distinct <= 1:
        column.excluded = "a single value: it cannot inform the model"
    elif column.distinct > MAX_CATEGORIES and column.distinct > rows / 2:
        column.excluded = f"{column.distinct:,} distinct values: an identifier or free text, not a category"
    return column


def _plain(value):
    """A label value as YAML and project.yaml take it: int, float, bool or str."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _label(result: Profile, values: pd.Series, problem_type: str | None, positive_label: str | None) -> None:
    where = f"--label {result.label!r} in {result.path}"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    plain = numeric or pd.api.types.is_bool_dtype(values)
    counts = values.value_counts(dropna=True) if plain else distinct_counts(values)
    result.label_nulls = int(len(values) - counts.sum())
    distinct = counts.index
    if len(distinct) < 2:
        seen = f"only {_plain(distinct[0])!r}" if len(distinct) else "no values"
        raise ProjectError(f"{where}: the label holds {seen}; a model needs at least two label values")
    whole = numeric and bool((pd.Series(distinct) % 1 == 0).all())
    if problem_type is None:
        if len(distinct) == 2:
            problem_type = "binary"
        elif numeric and (not whole or len(distinct) > MAX_CLASSES):
            problem_type = "regression"
        elif len(distinct) <= MAX_CLASSES:
            problem_type = "multiclass"
        else:
            raise ProjectError(
                f"{where}: {len(distinct):,} distinct text values; a label is a few classes or a number "
                "(pass --problem-type, or choose another --label)"
            )
    result.problem_type = problem_type
    if positive_label is not None and problem_type != "binary":
        raise ProjectError(f"{where}: --positive-label is for binary labels; this one is {problem_type}")
    if problem_type == "regression":
        if not numeric:
            raise ProjectError(
                f"{where}: --problem-type regression needs numbers; the label holds text, e.g. {distinct[0]!r}"
            )
        return
    if len(distinct) > 100:
        raise ProjectError(f"{where}: {len(distinct):,} distinct values is too many classes for {problem_type}")
    if problem_type == "binary" and len(counts) != 2:
        raise ProjectError(f"{where}: binary needs exactly two label values; found {len(counts)}")
    if problem_type == "multiclass" and len(counts) < 3:
        raise ProjectError(f"{where}: multiclass needs three or more label values; found {len(counts)} (use binary)")
    ordered = sorted(counts.index, key=lambda value: (str(type(_plain(value))), _plain(value)))
    classes = [_plain(value) for value in ordered]
    if problem_type == "binary":
        positive = _positive(classes, counts, positive_label, where)
        classes = [value for value in classes if str(value) != str(positive)] + [positive]
        result.positive_label = positive
    result.classes = classes


def _positive(classes: list, counts: pd.Series, chosen: str | None, where: str):
    """The positive class: --positive-label, else 1/true/yes when the label has it, else the rarer
    class (the event a model usually looks for: default, churn, fraud)."""
    if chosen is not None:
        match = [value for value in classes if str(value) == str(chosen) or str(value).lower() == str(chosen).lower()]
        if not match:
            raise ProjectError(f"{where}: --positive-label {chosen!r} is not a label value; values: {classes}")
        return match[0]
    for value in classes:
        if str(value).lower() in ("1", "true", "yes", "y", "positive"):
            return value
    rarer = counts.sort_values(kind="stable").index[0]
    return _plain(rarer)


def margin(column: Column) -> tuple[float, float]:
    """The column's range widened by 10% of its width on each side (a value just beyond what
    the sample shows is normal); a column that never goes below zero keeps 0 as its floor."""
    low, high = column.minimum, column.maximum
    width = (high - low) or abs(high) or 1.0
    lower, upper = low - 0.1 * width, high + 0.1 * width
    if low >= 0:
        lower = max(lower, 0.0)
    if column.integral:
        return float(math.floor(lower)), float(math.ceil(upper))
    return _round(lower, math.floor), _round(upper, math.ceil)


def _round(value: float, direction) -> float:
    """`value` rounded outward to 3 significant digits, so a suite reads 1.23 not 1.2345678."""
    if value == 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(abs(value))) - 2)
    return direction(value / scale) * scale if scale >= 1 else round(direction(value / scale) * scale, 12)
