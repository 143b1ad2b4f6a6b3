"""Reading tabular input: CSV or Parquet files, one file or a directory of them (a SageMaker
channel, or a Feature Store offline store), and point-in-time snapshots of it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ProjectError
from .settings import Dataset
from .transforms import parse_numbers

SUFFIXES = (".csv", ".parquet")
# Columns SageMaker Feature Store adds to every offline-store row.
STORE_COLUMNS = ("write_time", "api_invocation_time", "is_deleted")
# frame.attrs key: the columns read as numbers, so the data checks can report text found in them.
NUMERIC_COLUMNS = "numeric_columns"
# The event time of a row whose data has none (Feature Store off): the epoch, so the value never
# changes between runs (builds, tests and pipeline caches stay reproducible) and any --as-of
# snapshot includes every row. A file's modification time would change with each checkout.
GENERATED_EVENT_TIME = "1970-01-01T00:00:00Z"
FEATURES_DIR = Path("features")


def feature_store_enabled(features_dir: Path = FEATURES_DIR) -> bool:
    """The project keeps its data in the Feature Store: it was generated with it (its feature_store
    package exists) and features/ defines a group. Then each row's record id and event time are
    the group's identifier and time, so they must come with the data, never be made up."""
    package = importlib.util.find_spec(f"{__package__}.feature_store") is not None
    return package and any(Path(features_dir).glob("*.yaml"))


def generated_ids(frame: pd.DataFrame, dataset: Dataset, where: str) -> pd.DataFrame:
    """Without the Feature Store, the frame with any missing record id and event time generated
    (with_ids); with it, the frame as it is, for the data checks to report what is missing."""
    return frame if feature_store_enabled() else with_ids(frame, dataset, where, generate=True)


def with_ids(frame: pd.DataFrame, dataset: Dataset, where: str, generate: bool | None = None) -> pd.DataFrame:
    """The frame with dataset.record_id and dataset.event_time. A missing one is generated when the
    Feature Store is off (record id: the row number, 0-based; event time: GENERATED_EVENT_TIME);
    with it on, a missing one is refused in one line naming the column and the fix."""
    generate = not feature_store_enabled() if generate is None else generate
    missing = [column for column in (dataset.record_id, dataset.event_time) if column not in frame.columns]
    if missing and not generate:
        raise ProjectError(
            f"{where}: no {' or '.join(repr(column) for column in missing)} column; the Feature Store needs "
            "each row's record id and event time (ISO 8601 date or date-time): add the column(s) to the data, "
            "or name existing ones in project.yaml dataset.record_id / dataset.event_time"
        )
    if missing:
        frame = frame.copy()  # the caller's frame stays as it was
    if dataset.record_id in missing:
        frame.insert(0, dataset.record_id, pd.RangeIndex(len(frame)))
    if dataset.event_time in missing:
        frame.insert(1, dataset.event_time, GENERATED_EVENT_TIME)
    return frame


def data_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(file for file in path.rglob("*") if file.suffix in SUFFIXES and file.is_file())
        if not files:
            raise ProjectError(f"{path}: no .csv or .parquet files in this directory")
        return files
    if not path.exists():
        raise ProjectError(f"{path}: file not found; pass an existing CSV or Parquet file with --data")
    return [path]


def read_dataset(path: Path, dataset: Dataset, as_of: str | None = None) -> pd.DataFrame:
    """Rows in the project schema: categorical columns as text, numeric columns as numbers.

    A numeric column holding text that is not a number (blank and '?' are missing) keeps that
    text as it was written, among the numbers: nothing is silently turned into a missing value.
    The data checks report it with its rows, and training and scoring refuse it
    (transforms.NotANumber). frame.attrs[NUMERIC_COLUMNS] names the numeric columns.

    The record id and event time are left as the file has them (the training flow adds missing
    ones where it needs them: with_ids), except for a snapshot `as_of`, which needs them.

    Feature Store offline-store data (Parquet with write_time, is_deleted) and any data read
    with `as_of` become a point-in-time snapshot: one row per record, as known at that time."""
    frame = read_table(path, dataset.categorical_features)
    if as_of:
        frame = generated_ids(frame, dataset, str(path))
    if as_of or set(STORE_COLUMNS) <= set(frame.columns):
        frame = point_in_time(frame, dataset, as_of, where=str(path))
    numeric = [column for column in dataset.numeric_features if column in frame.columns]
    for column in numeric:
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            continue  # already numbers (integers stay integers)
        numbers, text = parse_numbers(frame[column])
        if len(text):
            numbers = numbers.astype(object)
            numbers[text.index] = text
        frame[column] = numbers
    frame.attrs[NUMERIC_COLUMNS] = numeric
    return frame


def read_table(path: Path, text_columns: list[str] = ()) -> pd.DataFrame:
    """All rows under `path`; `text_columns` are kept as strings (no '01' -> 1 surprises)."""
    frames = [_read_file(file, text_columns) for file in data_files(path)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_file(file: Path, text_columns) -> pd.DataFrame:
    try:
        if file.suffix == ".parquet":
            frame = pd.read_parquet(file)
            for column in set(text_columns) & set(frame.columns):
                frame[column] = frame[column].astype("string")
            return frame
        frame = pd.read_csv(file, dtype={c: "string" for c in text_columns}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as error:
        raise ProjectError(f"{file}: not a readable {file.suffix[1:].upper()} file ({error})") from None
    _check_shape(frame, file)
    return frame


def _check_shape(frame: pd.DataFrame, file: Path) -> None:
    """A CSV that parsed but cannot be the data: another separator, or no rows."""
    if frame.shape[1] == 1:
        name = str(frame.columns[0])
        separator = next((s for s in (";", "\t", "|") if s in name), None)
        if separator:
            raise ProjectError(
                f"{file}: one column named {name[:60]!r}: the values seem separated by {separator!r}; "
                "save the file as comma-separated CSV"
            )
    if frame.empty:
        raise ProjectError(f"{file}: has a header but no rows")


def cutoff(argument: str | None) -> str | None:
    """A step's --as-of argument: "latest" (the pipeline's default) or empty means no cutoff."""
    return None if argument in (None, "", "latest") else argument


def parse_time(value: str, what: str = "--as-of") -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ProjectError(f"{what} {value!r}: not a time; use ISO 8601, e.g. 2024-06-30 or 2024-06-30T00:00:00Z")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def event_times(values: pd.Series, where: str) -> pd.Series:
    """Event times as UTC timestamps: ISO 8601 text (a date such as 2024-01-01, midnight UTC, or a
    date-time), or seconds since the epoch."""
    if pd.api.types.is_numeric_dtype(values):
        times = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    else:
        times = pd.to_datetime(values.astype("string"), utc=True, format="ISO8601", errors="coerce")
    bad = values[times.isna()]
    if len(bad):
        raise ProjectError(
            f"{where}: {len(bad):,} event time(s) are not ISO 8601 times or epoch seconds, e.g. {bad.iloc[0]!r}"
        )
    return times


def feature_store_times(values: pd.Series, where: str) -> pd.Series:
    """Event times as the Feature Store takes them as text: yyyy-MM-ddTHH:mm:ssZ, with .SSS when a
    time has fractions of a second (a date alone, 2024-01-01, becomes 2024-01-01T00:00:00Z)."""
    times = event_times(values, where)
    utc = times.dt.tz_localize(None).to_numpy()  # event_times are UTC
    # numpy formats ISO 8601 in C: ten times faster than strftime on a column of distinct times.
    fraction = times.dt.microsecond.to_numpy() != 0
    text = np.where(fraction, np.datetime_as_string(utc, unit="ms"), np.datetime_as_string(utc, unit="s"))
    return pd.Series(np.char.add(text.astype(str), "Z"), index=values.index, dtype=object)


def point_in_time(frame: pd.DataFrame, dataset: Dataset, as_of: str | None, where: str = "data") -> pd.DataFrame:
    """Each record's latest row with an event time at or before `as_of` (default: all rows), so
    nothing observed later leaks into training. Ties go to the latest write; a record whose latest
    row is a deletion is left out. Feature Store's own columns are dropped."""
    missing = [c for c in (dataset.record_id, dataset.event_time) if c not in frame.columns]
    if missing:
        raise ProjectError(f"{where}: a point-in-time snapshot needs the column(s) {', '.join(missing)}")
    times = event_times(frame[dataset.event_time], where)
    rows = frame.assign(_event=times)
    if as_of:
        rows = rows[rows["_event"] <= parse_time(as_of)]
    order = ["_event", "write_time"] if "write_time" in rows.columns else ["_event"]
    latest = rows.sort_values(order, kind="stable").drop_duplicates(dataset.record_id, keep="last")
    if "is_deleted" in latest.columns:
        latest = latest[~latest["is_deleted"].astype(bool)]
    dropped = ["_event", *(c for c in STORE_COLUMNS if c in latest.columns)]
    return latest.drop(columns=dropped).sort_index().reset_index(drop=True)
