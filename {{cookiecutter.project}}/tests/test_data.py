"""Reading input: CSV and Parquet, and point-in-time snapshots of data with history."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import (
    GENERATED_EVENT_TIME,
    NUMERIC_COLUMNS,
    event_times,
    feature_store_enabled,
    feature_store_times,
    point_in_time,
    read_dataset,
    with_ids,
)
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import load_settings

DATASET = load_settings(Path(__file__).resolve().parents[1] / "project.yaml").dataset
RECORD_ID, EVENT_TIME = DATASET.record_id, DATASET.event_time
NUMBER = DATASET.numeric_features[0]  # a numeric feature of the project's data


@pytest.fixture
def history(sample: pd.DataFrame) -> pd.DataFrame:
    """Three records as a Feature Store offline store holds them: every write, with its times."""
    rows = sample.head(3).copy()

    def at(day: str) -> dict:
        return {EVENT_TIME: f"2024-01-{day}T00:00:00Z", "write_time": pd.Timestamp(f"2024-01-{day}", tz="UTC")}

    first = rows.assign(**at("01"))
    # Record 0 changes on Jan 10; record 1 is deleted on Jan 5; record 2 appears only on Jan 20.
    update = rows.iloc[[0]].assign(**{NUMBER: 99}, **at("10"))
    delete = rows.iloc[[1]].assign(**at("05"))
    late = rows.iloc[[2]].assign(**at("20"))
    frames = [first.iloc[[0, 1]], update, delete, late]
    deleted = [False, False, False, True, False]
    return pd.concat(frames, ignore_index=True).assign(is_deleted=deleted, api_invocation_time=pd.NaT)


def test_each_record_is_seen_as_it_was_at_the_cutoff(history: pd.DataFrame, settings):
    ids = history[RECORD_ID].unique().tolist()
    before = point_in_time(history, settings.dataset, "2024-01-04T00:00:00Z")
    assert before[RECORD_ID].tolist() == ids[:2]  # record 2 did not exist yet
    assert before.loc[before[RECORD_ID] == ids[0], NUMBER].item() != 99  # the Jan 10 update is in the future
    later = point_in_time(history, settings.dataset, "2024-01-15")
    assert later[RECORD_ID].tolist() == [ids[0]]  # record 1 deleted, record 2 not yet there
    assert later[NUMBER].item() == 99
    latest = point_in_time(history, settings.dataset, None)
    assert sorted(latest[RECORD_ID]) == sorted([ids[0], ids[2]])
    assert not {"write_time", "is_deleted", "api_invocation_time"} & set(latest.columns)


def test_offline_store_parquet_is_read_as_a_snapshot(history: pd.DataFrame, settings, tmp_path: Path):
    store = tmp_path / "store" / "year=2024" / "month=01"
    store.mkdir(parents=True)
    history.iloc[:3].to_parquet(store / "part-1.parquet")
    history.iloc[3:].to_parquet(store / "part-2.parquet")
    frame = read_dataset(tmp_path / "store", settings.dataset)
    assert len(frame) == 2 and frame[RECORD_ID].is_unique
    for column in DATASET.categorical_features:
        assert frame[column].dtype == "string"  # categorical columns read as text, as from CSV
    assert len(read_dataset(tmp_path / "store", settings.dataset, as_of="2024-01-02")) == 2


def test_bad_times_are_refused(history: pd.DataFrame, settings):
    with pytest.raises(ProjectError, match="--as-of 'yesterday': not a time; use ISO 8601"):
        point_in_time(history, settings.dataset, "yesterday")
    broken = history.assign(**{EVENT_TIME: ["2024-01-01T00:00:00Z", "soon", *history[EVENT_TIME][2:]]})
    with pytest.raises(ProjectError, match=r"1 event time\(s\) are not ISO 8601 times or epoch seconds, e.g. 'soon'"):
        point_in_time(broken, settings.dataset, None)


def test_epoch_seconds_are_event_times_too(history: pd.DataFrame, settings):
    epoch = history.assign(**{EVENT_TIME: pd.to_datetime(history[EVENT_TIME], utc=True).astype("int64") // 10**9})
    assert len(point_in_time(epoch, settings.dataset, "2024-01-15")) == 1


def test_a_directory_without_data_files_is_refused(tmp_path: Path, settings):
    (tmp_path / "notes.txt").write_text("no data here")
    with pytest.raises(ProjectError, match=r"no \.csv or \.parquet files in this directory"):
        read_dataset(tmp_path, settings.dataset)


def test_text_in_a_numeric_column_is_kept_as_written_not_made_missing(sample_path: Path, settings, tmp_path: Path):
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    raw.loc[[5, 6, 7], NUMBER] = ["forty", "", "?"]
    raw.to_csv(tmp_path / "in.csv", index=False)
    frame = read_dataset(tmp_path / "in.csv", settings.dataset)
    assert frame.loc[5, NUMBER] == "forty"  # for the data checks to show and training to refuse
    assert frame[NUMBER].iloc[[6, 7]].isna().all()  # blank and '?' are missing
    assert frame.loc[4, NUMBER] == float(raw.loc[4, NUMBER])
    for column in settings.dataset.numeric_features[1:]:
        assert pd.api.types.is_numeric_dtype(frame[column])  # columns without text are plain numbers
    assert frame.attrs[NUMERIC_COLUMNS] == settings.dataset.numeric_features


def _without_ids(sample_path: Path, settings, folder: Path) -> Path:
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    path = folder / "no-ids.csv"
    ids = [settings.dataset.record_id, settings.dataset.event_time]
    raw.drop(columns=ids, errors="ignore").to_csv(path, index=False)
    return path


def test_without_the_feature_store_missing_ids_and_times_are_generated(tmp_path, sample_path, settings, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no features/ here: the Feature Store is off
    assert not feature_store_enabled()
    path = _without_ids(sample_path, settings, tmp_path)
    dataset = settings.dataset
    frame = with_ids(read_dataset(path, dataset), dataset, str(path))
    assert frame[dataset.record_id].tolist() == list(range(len(frame)))
    assert frame[dataset.event_time].eq(GENERATED_EVENT_TIME).all()
    pd.testing.assert_frame_equal(frame, with_ids(read_dataset(path, dataset), dataset, str(path)))  # reproducible
    assert len(read_dataset(path, dataset, as_of="2000-01-01")) == len(frame)  # a snapshot generates them too
    assert len(point_in_time(frame, dataset, "2000-01-01")) == len(frame)  # any --as-of keeps every row


@pytest.mark.skipif(importlib.util.find_spec("{{ cookiecutter.package }}.feature_store") is None, reason="no Feature Store")
def test_with_the_feature_store_missing_ids_are_refused_in_one_line(tmp_path, sample_path, settings, monkeypatch):
    from {{ cookiecutter.package }}.steps.preprocess import split_dataset

    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "group.yaml").write_text("name: g\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert feature_store_enabled()
    path = _without_ids(sample_path, settings, tmp_path)
    frame = read_dataset(path, settings.dataset)
    assert settings.dataset.record_id not in frame.columns
    refusals = [
        lambda: with_ids(frame, settings.dataset, str(path)),
        lambda: split_dataset(frame, settings.dataset, settings.split, where=str(path)),
    ]
    for refuse in refusals:
        with pytest.raises(ProjectError) as error:
            refuse()
        [line] = str(error.value).splitlines()
        assert line.startswith(f"{path}: no {settings.dataset.record_id!r} or {settings.dataset.event_time!r} column;")
        assert "add the column(s) to the data" in line


def test_date_only_event_times_are_read_checked_and_stored_as_the_feature_store_takes_them(
    sample, settings, suites_dir
):
    from {{ cookiecutter.package }}.checks import load_suite, validate

    dataset = settings.dataset
    times = pd.Series(["2024-01-01", "2024-01-02T03:04:05Z", "2024-01-03T03:04:05.250+02:00"])
    expected = ["2024-01-01T00:00:00Z", "2024-01-02T03:04:05Z", "2024-01-03T01:04:05.250Z"]
    assert event_times(times, "t").tolist() == [pd.Timestamp(text) for text in expected]
    assert feature_store_times(times, "t").tolist() == expected
    frame = sample.assign(**{dataset.event_time: "2024-01-01"})
    suite = load_suite(suites_dir / "training.json")
    time_checks = [e for e in suite["expectations"] if e.get("kwargs", {}).get("column") == dataset.event_time]
    result = validate(frame, {**suite, "expectations": time_checks}, dataset=dataset)
    assert result.success, result.summary()
    wrong = validate(frame.assign(**{dataset.event_time: "01/02/2024"}), {**suite, "expectations": time_checks})
    assert not wrong.success
