"""Preprocess: label and features cleaned, stratified reproducible splits, one folder per split."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import read_dataset
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import Settings, Split
from {{ cookiecutter.package }}.steps import preprocess
from {{ cookiecutter.package }}.steps.preprocess import split_dataset


def positive_rate(frame: pd.DataFrame) -> float:
    return float(frame["income"].mean())


def test_split_sizes_follow_the_fractions(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, Split(validation=0.15, test=0.15, seed=42))
    sizes = {name: len(frame) for name, frame in splits.items()}
    assert sizes == {"train": 3500, "validation": 750, "test": 750}


def test_splits_are_disjoint_and_cover_every_row(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, settings.split)
    indexes = [set(frame.index) for frame in splits.values()]
    assert sum(len(index) for index in indexes) == len(sample)
    assert set.union(*indexes) == set(sample.index)


def test_splits_are_stratified_by_label(sample: pd.DataFrame, settings: Settings):
    overall = float((sample["income"] == ">50K").mean())
    splits = split_dataset(sample, settings.dataset, settings.split)
    for name, frame in splits.items():
        assert positive_rate(frame) == pytest.approx(overall, abs=0.005), name


def test_same_seed_gives_the_same_splits(sample: pd.DataFrame, settings: Settings):
    first = split_dataset(sample, settings.dataset, settings.split)
    second = split_dataset(sample.copy(), settings.dataset, settings.split)
    for name in preprocess.SPLITS:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_seed_gives_other_splits(sample: pd.DataFrame, settings: Settings):
    first = split_dataset(sample, settings.dataset, Split(seed=1))
    second = split_dataset(sample, settings.dataset, Split(seed=2))
    assert set(first["test"].index) != set(second["test"].index)


def test_label_comes_first_as_0_or_1_then_the_features(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, settings.split)
    for frame in splits.values():
        assert list(frame.columns) == ["income", *settings.dataset.features]
        assert frame["income"].dtype == "int8"
        assert set(frame["income"].unique()) == {0, 1}


def test_label_is_1_exactly_for_the_positive_value(sample: pd.DataFrame, settings: Settings):
    train = split_dataset(sample, settings.dataset, settings.split)["train"]
    expected = (sample.loc[train.index, "income"] == ">50K").astype("int8")
    pd.testing.assert_series_equal(train["income"], expected)


def test_features_are_cleaned_not_encoded(sample: pd.DataFrame, settings: Settings):
    train = split_dataset(sample, settings.dataset, settings.split)["train"]
    assert train["age"].dtype == "float64"
    assert train["sex"].isin(["Male", "Female"]).all()
    assert train["workclass"].isna().any()


def test_rows_without_a_label_are_dropped(sample: pd.DataFrame, settings: Settings):
    unlabelled = sample.index[:40]
    sample.loc[unlabelled[:20], "income"] = None
    sample.loc[unlabelled[20:], "income"] = "  "
    splits = split_dataset(sample, settings.dataset, settings.split)
    kept = set().union(*(set(frame.index) for frame in splits.values()))
    assert len(kept) == len(sample) - 40
    assert kept.isdisjoint(unlabelled)


def test_too_few_rows_of_a_class_is_refused(sample: pd.DataFrame, settings: Settings):
    negatives = sample[sample["income"] == "<=50K"].head(200)
    positives = sample[sample["income"] == ">50K"].head(9)
    with pytest.raises(ProjectError) as caught:
        split_dataset(pd.concat([negatives, positives]), settings.dataset, settings.split, where="small.csv")
    message = str(caught.value)
    assert message.startswith("small.csv: need at least 10 rows of each class in 'income'")
    assert "'>50K'" in message


def test_a_label_without_the_positive_value_is_refused(sample: pd.DataFrame, settings: Settings):
    sample["income"] = sample["income"].str.replace(">50K", "high")
    expected = "holds value(s) outside dataset.classes ['<=50K', '>50K']: 'high' (1,"
    with pytest.raises(ProjectError, match=re.escape(expected)):
        split_dataset(sample, settings.dataset, settings.split)


@pytest.mark.parametrize("variant", [">50K.", ">50k", "maybe"])
def test_label_values_other_than_the_two_classes_are_refused(sample: pd.DataFrame, settings: Settings, variant):
    # Before, these rows silently became the negative class; the data checks may not list label values.
    sample.loc[sample.index[:30], "income"] = variant
    with pytest.raises(ProjectError) as caught:
        split_dataset(sample, settings.dataset, settings.split, where="in.csv")
    message = str(caught.value)
    assert message.startswith("in.csv: label column 'income' holds value(s) outside dataset.classes ['<=50K', '>50K']")
    assert f"{variant!r} (30)" in message
    assert "'<=50K' (3," in message and "'>50K' (1," in message


def test_text_in_a_numeric_column_is_refused_with_its_rows(sample: pd.DataFrame, settings: Settings):
    sample["age"] = sample["age"].astype(object)
    sample.loc[[5, 17], "age"] = ["forty", "n/a"]
    sample.loc[9, "age"] = None  # a missing value is fine
    with pytest.raises(ProjectError) as caught:
        split_dataset(sample, settings.dataset, settings.split, where="in.csv")
    assert str(caught.value) == (
        "in.csv: column 'age' holds 2 value(s) that are not numbers: 'forty' (row 5), 'n/a' (row 17); "
        "write numbers, or leave the value empty for missing"
    )


@pytest.mark.parametrize("column", ["income", "age", "native_country", "record_id", "event_time"])
def test_missing_column_is_named(sample: pd.DataFrame, settings: Settings, column):
    with pytest.raises(ProjectError) as caught:
        split_dataset(sample.drop(columns=[column]), settings.dataset, settings.split, where="in.csv")
    assert str(caught.value).startswith(f"in.csv: missing column(s) {column};")


def test_main_writes_one_folder_per_split(
    tmp_path: Path, sample_path: Path, settings_path: Path, capsys: pytest.CaptureFixture
):
    out = tmp_path / "out"
    preprocess.main(["--input", str(sample_path), "--output", str(out), "--settings", str(settings_path)])
    assert sorted(path.name for path in out.iterdir()) == ["clarify", "test", "train", "validation"]
    for name in preprocess.SPLITS:
        assert (out / name / f"{name}.csv").is_file()
    # Clarify's copies: no header row, the same rows as the split.
    clarify_test = (out / "clarify" / "test.csv").read_text().splitlines()
    split_test = (out / "test" / "test.csv").read_text().splitlines()
    assert clarify_test == split_test[1:]
    assert "train: 3,500 rows, validation: 750 rows, test: 750 rows" in capsys.readouterr().out


def test_main_output_reads_back_as_the_split(
    tmp_path: Path, sample_path: Path, settings_path: Path, sample: pd.DataFrame, settings: Settings
):
    preprocess.main(["--input", str(sample_path), "--output", str(tmp_path), "--settings", str(settings_path)])
    expected = split_dataset(sample, settings.dataset, settings.split)["test"].reset_index(drop=True)
    written = read_dataset(tmp_path / "test", settings.dataset)
    assert list(written.columns) == list(expected.columns)
    assert written["income"].tolist() == expected["income"].tolist()
    pd.testing.assert_series_equal(written["age"], expected["age"])
    assert written["workclass"].isna().tolist() == expected["workclass"].isna().tolist()


def test_main_reads_a_folder_of_csv_files(tmp_path: Path, sample: pd.DataFrame, settings_path: Path):
    folder = tmp_path / "input"
    folder.mkdir()
    sample.iloc[:2500].to_csv(folder / "part-1.csv", index=False)
    sample.iloc[2500:].to_csv(folder / "part-2.csv", index=False)
    preprocess.main(["--input", str(folder), "--output", str(tmp_path / "out"), "--settings", str(settings_path)])
    rows = sum(len(pd.read_csv(tmp_path / "out" / name / f"{name}.csv")) for name in preprocess.SPLITS)
    assert rows == len(sample)


def test_main_refuses_text_in_a_numeric_column_before_writing_anything(
    tmp_path: Path, sample_path: Path, settings_path: Path
):
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    raw.loc[3, "hours_per_week"] = "forty"
    raw.to_csv(tmp_path / "in.csv", index=False)
    arguments = ["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out")]
    with pytest.raises(ProjectError, match=r"in\.csv: column 'hours_per_week' holds 1 value\(s\) .*'forty' \(row 3\)"):
        preprocess.main([*arguments, "--settings", str(settings_path)])
    assert not (tmp_path / "out").exists()


def test_main_with_missing_input_names_the_path(tmp_path: Path, settings_path: Path):
    missing = tmp_path / "nothing.csv"
    with pytest.raises(ProjectError, match=r"nothing\.csv: file not found"):
        preprocess.main(["--input", str(missing), "--output", str(tmp_path / "out"), "--settings", str(settings_path)])
    assert not (tmp_path / "out").exists()


def test_main_reads_a_numeric_label_with_gaps(tmp_path: Path, sample: pd.DataFrame, raw_settings: dict, write_settings):
    # A 0/1 label with a few blank cells is read as float: "1.0" must still count as the positive "1".
    sample["income"] = (sample["income"] == ">50K").astype(int).astype(object)
    sample.loc[:9, "income"] = ""
    sample.to_csv(tmp_path / "numeric-label.csv", index=False)
    raw_settings["dataset"]["positive_label"] = "1"
    raw_settings["dataset"]["classes"] = [0, 1]  # YAML numbers: they match the data's 0.0 and 1.0
    if "bias" in raw_settings:
        raw_settings["bias"]["favourable_labels"] = [1]
    arguments = ["--input", str(tmp_path / "numeric-label.csv"), "--output", str(tmp_path / "out")]
    preprocess.main([*arguments, "--settings", str(write_settings(raw_settings))])
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv")
    assert train["income"].mean() == pytest.approx(0.247, abs=0.01)
