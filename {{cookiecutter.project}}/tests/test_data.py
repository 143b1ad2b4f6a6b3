"""Reading input: CSV and Parquet, and point-in-time snapshots of data with history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import NUMERIC_COLUMNS, point_in_time, read_dataset
from {{ cookiecutter.package }}.errors import ProjectError


@pytest.fixture
def history(sample: pd.DataFrame) -> pd.DataFrame:
    """Three records as a Feature Store offline store holds them: every write, with its times."""
    rows = sample.head(3).copy()

    def at(day: str) -> dict:
        return {"event_time": f"2024-01-{day}T00:00:00Z", "write_time": pd.Timestamp(f"2024-01-{day}", tz="UTC")}

    first = rows.assign(**at("01"))
    # Record 0 changes on Jan 10; record 1 is deleted on Jan 5; record 2 appears only on Jan 20.
    update = rows.iloc[[0]].assign(age=99, **at("10"))
    delete = rows.iloc[[1]].assign(**at("05"))
    late = rows.iloc[[2]].assign(**at("20"))
    frames = [first.iloc[[0, 1]], update, delete, late]
    deleted = [False, False, False, True, False]
    return pd.concat(frames, ignore_index=True).assign(is_deleted=deleted, api_invocation_time=pd.NaT)


def test_each_record_is_seen_as_it_was_at_the_cutoff(history: pd.DataFrame, settings):
    ids = history["record_id"].unique().tolist()
    before = point_in_time(history, settings.dataset, "2024-01-04T00:00:00Z")
    assert before["record_id"].tolist() == ids[:2]  # record 2 did not exist yet
    assert before.loc[before["record_id"] == ids[0], "age"].item() != 99  # the Jan 10 update is in the future
    later = point_in_time(history, settings.dataset, "2024-01-15")
    assert later["record_id"].tolist() == [ids[0]]  # record 1 deleted, record 2 not yet there
    assert later["age"].item() == 99
    latest = point_in_time(history, settings.dataset, None)
    assert sorted(latest["record_id"]) == sorted([ids[0], ids[2]])
    assert not {"write_time", "is_deleted", "api_invocation_time"} & set(latest.columns)


def test_offline_store_parquet_is_read_as_a_snapshot(history: pd.DataFrame, settings, tmp_path: Path):
    store = tmp_path / "store" / "year=2024" / "month=01"
    store.mkdir(parents=True)
    history.iloc[:3].to_parquet(store / "part-1.parquet")
    history.iloc[3:].to_parquet(store / "part-2.parquet")
    frame = read_dataset(tmp_path / "store", settings.dataset)
    assert len(frame) == 2 and frame["record_id"].is_unique
    assert frame["sex"].dtype == "string"  # categorical columns read as text, as from CSV
    assert len(read_dataset(tmp_path / "store", settings.dataset, as_of="2024-01-02")) == 2


def test_bad_times_are_refused(history: pd.DataFrame, settings):
    with pytest.raises(ProjectError, match="--as-of 'yesterday': not a time; use ISO 8601"):
        point_in_time(history, settings.dataset, "yesterday")
    broken = history.assign(event_time=["2024-01-01T00:00:00Z", "soon", *history["event_time"][2:]])
    with pytest.raises(ProjectError, match=r"1 event time\(s\) are not ISO 8601 times or epoch seconds, e.g. 'soon'"):
        point_in_time(broken, settings.dataset, None)


def test_epoch_seconds_are_event_times_too(history: pd.DataFrame, settings):
    epoch = history.assign(event_time=pd.to_datetime(history["event_time"], utc=True).astype("int64") // 10**9)
    assert len(point_in_time(epoch, settings.dataset, "2024-01-15")) == 1


def test_a_directory_without_data_files_is_refused(tmp_path: Path, settings):
    (tmp_path / "notes.txt").write_text("no data here")
    with pytest.raises(ProjectError, match=r"no \.csv or \.parquet files in this directory"):
        read_dataset(tmp_path, settings.dataset)


def test_text_in_a_numeric_column_is_kept_as_written_not_made_missing(sample_path: Path, settings, tmp_path: Path):
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    raw.loc[[5, 6, 7], "age"] = ["forty", "", "?"]
    raw.to_csv(tmp_path / "in.csv", index=False)
    frame = read_dataset(tmp_path / "in.csv", settings.dataset)
    assert frame.loc[5, "age"] == "forty"  # for the data checks to show and training to refuse
    assert frame["age"].iloc[[6, 7]].isna().all()  # blank and '?' are missing
    assert frame.loc[4, "age"] == float(raw.loc[4, "age"])
    assert frame["fnlwgt"].dtype == "int64"  # columns without text are plain numbers
    assert frame.attrs[NUMERIC_COLUMNS] == settings.dataset.numeric_features
