"""Rows <-> Feature Store records, through the same transforms training uses.

Both directions go through transforms.clean, so a feature read back from the store is the value
training saw for the same row: the online path and the batch path cannot drift apart.
"""

from __future__ import annotations

import math

import pandas as pd

from ..data import feature_store_times
from ..settings import Dataset
from ..transforms import clean
from .definition import FeatureGroup


def _kinds(group: FeatureGroup, dataset: Dataset) -> tuple[list[str], list[str]]:
    numeric = [f.name for f in group.features if f.type != "string" and f.name in dataset.features]
    categorical = [f.name for f in group.features if f.type == "string" and f.name in dataset.features]
    return numeric, categorical


def transform(frame: pd.DataFrame, group: FeatureGroup, dataset: Dataset) -> pd.DataFrame:
    """The group's columns with the model features cleaned as training cleans them; the record
    id and label pass through as text, and a text event time in the one form the Feature Store
    takes (a date alone, 2024-01-01, is midnight UTC)."""
    numeric, categorical = _kinds(group, dataset)
    out = clean(frame, numeric, categorical)
    kinds = {feature.name: feature.type for feature in group.features}
    if kinds.get(group.event_time) == "string" and group.event_time in frame.columns:
        out[group.event_time] = feature_store_times(frame[group.event_time], f"{group.name}: {group.event_time}")
    for feature in group.features:
        if feature.name not in out.columns:
            values = frame[feature.name]
            out[feature.name] = values.astype("string").str.strip() if feature.type == "string" else values
    return out[[feature.name for feature in group.features]]


def _text(value, kind: str) -> str | None:
    """One value as Feature Store's ValueAsString; None for a missing value (left out of the record)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if kind == "integral":
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return str(int(number))
    if kind == "fractional":
        return repr(float(value))  # shortest text that reads back as the same float
    return str(value)


def to_record(row: dict, group: FeatureGroup) -> list[dict]:
    """A PutRecord record; raises ValueError naming the feature whose value does not fit its type."""
    record = []
    for feature in group.features:
        try:
            text = _text(row.get(feature.name), feature.type)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{feature.name}: {error} (type {feature.type})") from None
        if text is not None:
            record.append({"FeatureName": feature.name, "ValueAsString": text})
    return record


def from_records(records: list[list[dict]], group: FeatureGroup, dataset: Dataset) -> pd.DataFrame:
    """Records read from the store as a frame in the group's columns, cleaned like training data."""
    rows = [{item["FeatureName"]: item["ValueAsString"] for item in record} for record in records]
    frame = pd.DataFrame.from_records(rows, columns=[feature.name for feature in group.features])
    return transform(frame, group, dataset)
