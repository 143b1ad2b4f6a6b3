"""Both proposed data-check suites (Great Expectations 1.x JSON): what the profile saw, with
a margin, each expectation with a meta.notes line.
"""

from __future__ import annotations

import pandas as pd

from .profile import Column, Profile, margin

ISO_8601 = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"


def _expect(kind: str, notes: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": dict(notes=notes)}


def _column_expectations(column: Column, source: str) -> list[dict]:
    name, out = column.name, []
    if column.null_rate == 0:
        out.append(_expect("expect_column_values_to_not_be_null", f"{name} is always known", column=name))
    else:
        mostly = max(0.0, int((1 - 2 * column.null_rate) * 100) / 100)  # twice the nulls seen is a change worth a look
        if mostly > 0:
            out.append(
                _expect(
                    "expect_column_values_to_not_be_null",
                    f"{name} is known in at least {mostly:.0%} of rows ({1 - column.null_rate:.1%} in {source})",
                    column=name,
                    mostly=mostly,
                )
            )
    if column.excluded or (column.kind == "numeric" and column.minimum is None):
        return out
    if column.kind == "numeric":
        low, high = margin(column)
        low, high = (int(low), int(high)) if column.integral else (low, high)
        seen = f"{number_text(column.minimum)} to {number_text(column.maximum)}"
        out.append(
            _expect(
                "expect_column_values_to_be_between",
                f"{name} within the range seen in {source} ({seen}), with a 10% margin",
                column=name,
                min_value=low,
                max_value=high,
            )
        )
    elif column.value_set is not None:  # too many to list: nulls only (plan.py's checklist says so)
        out.append(
            _expect(
                "expect_column_values_to_be_in_set",
                f"{name} is one of the {column.distinct} values seen in {source}; add new legitimate values here",
                column=name,
                value_set=column.value_set,
            )
        )
    return out


def suites(profile: Profile, dataset: dict, features: dict, id_column: str, time_column: str) -> tuple[dict, dict]:
    source = profile.path.name
    all_columns = [id_column, time_column, *profile.columns, profile.label]
    feature_columns = [*dataset["numeric_features"], *dataset["categorical_features"]]
    minimum = min(1000, profile.rows)
    training = [
        _expect(
            "expect_table_columns_to_match_set",
            f"exactly the columns of {source}: a column added, renamed or lost is a change to review",
            column_set=all_columns,
            exact_match=True,
        ),
        _expect(
            "expect_table_row_count_to_be_between",
            f"enough rows to train and evaluate (PLACEHOLDER from data init; {source} has {profile.rows:,})",
            min_value=minimum,
        ),
        _expect("expect_column_values_to_not_be_null", "every row has a record id", column=id_column),
        _expect(
            "expect_column_values_to_be_unique",
            "record ids identify rows (the feature-group record identifier)",
            column=id_column,
        ),
        _expect("expect_column_values_to_not_be_null", "every row has an event time", column=time_column),
        _expect(
            "expect_column_values_to_match_regex",
            "event time is an ISO 8601 date (2024-01-01) or date-time (2024-01-01T12:00:00Z)",
            column=time_column,
            regex=ISO_8601,
        ),
    ]
    inference = [
        _expect(
            "expect_table_columns_to_match_set",
            "every feature the model needs (other columns are allowed)",
            column_set=feature_columns,
            exact_match=False,
        ),
        _expect("expect_table_row_count_to_be_between", "at least one row", min_value=1),
    ]
    for name, column in profile.columns.items():
        expectations = _column_expectations(column, source)
        training += expectations
        if name in features:
            inference += expectations
    label = profile.label
    if profile.label_nulls:
        share = 1 - profile.label_nulls / profile.rows
        notes = f"rows are labelled ({share:.1%} in {source}); the values must be dataset.classes (checked from there)"
        mostly = int(share * 100) / 100
        training.append(_expect("expect_column_values_to_not_be_null", notes, column=label, mostly=mostly))
    else:
        training.append(
            _expect(
                "expect_column_values_to_not_be_null",
                "every row is labelled; the values must be dataset.classes in project.yaml (checked from there)",
                column=label,
            )
        )
    if profile.problem_type == "regression":
        numbers = pd.to_numeric(profile.frame[label], errors="coerce").dropna()
        column = Column(
            label,
            "numeric",
            0.0,
            integral=bool((numbers % 1 == 0).all()),
            minimum=float(numbers.min()),
            maximum=float(numbers.max()),
        )
        training += _column_expectations(column, source)[1:]
    head = f"written by data init from {source}; edit freely (rerun data init with --force to start again)"
    return (
        {
            "name": "training",
            "meta": {"notes": f"Raw training data: run before preprocessing; {head}."},
            "expectations": training,
        },
        {"name": "inference", "meta": {"notes": f"A batch to score (no label); {head}."}, "expectations": inference},
    )


def number_text(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"
