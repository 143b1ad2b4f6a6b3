"""Preprocess: label and features cleaned, stratified reproducible splits, one folder per split.

Columns, label values and sizes come from project.yaml and the sample (any dataset data init set up)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import read_dataset
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import Settings, Split, load_settings
from {{ cookiecutter.package }}.steps import preprocess
from {{ cookiecutter.package }}.steps.preprocess import split_dataset

DATASET = load_settings(Path(__file__).resolve().parents[1] / "project.yaml").dataset
LABEL, NUMBER, LAST_NUMBER = DATASET.label, DATASET.numeric_features[0], DATASET.numeric_features[-1]
POSITIVE = str(DATASET.positive_label)
OTHER = next((str(value) for value in DATASET.classes or [] if str(value) != POSITIVE), None)
binary_only = pytest.mark.skipif(DATASET.problem_type != "binary", reason="a binary label's encoding")


def positive_rate(frame: pd.DataFrame) -> float:
    return float(frame[LABEL].mean())


def labels(sample: pd.DataFrame) -> pd.Series:
    """The sample's labels as text (a CSV's 1, 1.0 and "1" alike)."""
    values = sample[LABEL]
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("string").str.strip()


def split_sizes(rows: int, split: Split) -> dict[str, int]:
    """scikit-learn's train_test_split sizes: the held-out part rounded up, twice."""
    test = math.ceil(rows * split.test)
    validation = math.ceil((rows - test) * (split.validation / (1 - split.test)))
    return {"train": rows - test - validation, "validation": validation, "test": test}


def test_split_sizes_follow_the_fractions(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, Split(validation=0.15, test=0.15, seed=42))
    sizes = {name: len(frame) for name, frame in splits.items()}
    assert sizes == split_sizes(len(sample), Split(validation=0.15, test=0.15, seed=42))


def test_splits_are_disjoint_and_cover_every_row(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, settings.split)
    indexes = [set(frame.index) for frame in splits.values()]
    assert sum(len(index) for index in indexes) == len(sample)
    assert set.union(*indexes) == set(sample.index)


@binary_only
def test_splits_are_stratified_by_label(sample: pd.DataFrame, settings: Settings):
    overall = float((labels(sample) == POSITIVE).mean())
    splits = split_dataset(sample, settings.dataset, settings.split)
    for name, frame in splits.items():
        assert positive_rate(frame) == pytest.approx(overall, abs=1 / len(frame) + 0.001), name


def test_same_seed_gives_the_same_splits(sample: pd.DataFrame, settings: Settings):
    first = split_dataset(sample, settings.dataset, settings.split)
    second = split_dataset(sample.copy(), settings.dataset, settings.split)
    for name in preprocess.SPLITS:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_seed_gives_other_splits(sample: pd.DataFrame, settings: Settings):
    first = split_dataset(sample, settings.dataset, Split(seed=1))
    second = split_dataset(sample, settings.dataset, Split(seed=2))
    assert set(first["test"].index) != set(second["test"].index)


@binary_only
def test_label_comes_first_as_0_or_1_then_the_features(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, settings.split)
    for frame in splits.values():
        assert list(frame.columns) == [LABEL, *settings.dataset.features]
        assert frame[LABEL].dtype == "int8"
        assert set(frame[LABEL].unique()) == {0, 1}


@binary_only
def test_label_is_1_exactly_for_the_positive_value(sample: pd.DataFrame, settings: Settings):
    train = split_dataset(sample, settings.dataset, settings.split)["train"]
    expected = (labels(sample).loc[train.index] == POSITIVE).astype("int8").rename(LABEL)
    pd.testing.assert_series_equal(train[LABEL], expected)


def test_features_are_cleaned_not_encoded(sample: pd.DataFrame, settings: Settings):
    train = split_dataset(sample, settings.dataset, settings.split)["train"]
    for column in settings.dataset.numeric_features:
        assert train[column].dtype == "float64"
    for column in settings.dataset.categorical_features:
        known = set(sample[column].dropna().astype(str).str.strip())
        assert train[column].dropna().isin(known).all()  # the values as written, trimmed: not codes


def test_rows_without_a_label_are_dropped(sample: pd.DataFrame, settings: Settings):
    unlabelled = sample.index[:40]
    sample[LABEL] = sample[LABEL].astype(object)
    sample.loc[unlabelled[:20], LABEL] = None
    sample.loc[unlabelled[20:], LABEL] = "  "
    splits = split_dataset(sample, settings.dataset, settings.split)
    kept = set().union(*(set(frame.index) for frame in splits.values()))
    assert len(kept) == len(sample) - 40
    assert kept.isdisjoint(unlabelled)


@binary_only
def test_too_few_rows_of_a_class_is_refused(sample: pd.DataFrame, settings: Settings):
    negatives = sample[labels(sample) == OTHER].head(200)
    positives = sample[labels(sample) == POSITIVE].head(9)
    with pytest.raises(ProjectError) as caught:
        split_dataset(pd.concat([negatives, positives]), settings.dataset, settings.split, where="small.csv")
    message = str(caught.value)
    assert message.startswith(f"small.csv: need at least 10 rows of each class in {LABEL!r}")
    assert repr(POSITIVE) in message or repr(DATASET.positive_label) in message


@binary_only
def test_a_label_without_the_positive_value_is_refused(sample: pd.DataFrame, settings: Settings):
    sample[LABEL] = labels(sample).replace(POSITIVE, "high").astype(object)
    expected = f"holds value(s) outside dataset.classes {DATASET.classes}: 'high' ("
    with pytest.raises(ProjectError, match=re.escape(expected)):
        split_dataset(sample, settings.dataset, settings.split)


@binary_only
@pytest.mark.parametrize("variant", ["{}x", "_{}", "maybe"])
def test_label_values_other_than_the_two_classes_are_refused(sample: pd.DataFrame, settings: Settings, variant):
    # Before, these rows silently became the negative class; the data checks may not list label values.
    variant = variant.format(POSITIVE)
    sample[LABEL] = sample[LABEL].astype(object)
    sample.loc[sample.index[:30], LABEL] = variant
    with pytest.raises(ProjectError) as caught:
        split_dataset(sample, settings.dataset, settings.split, where="in.csv")
    message = str(caught.value)
    assert message.startswith(
        f"in.csv: label column {LABEL!r} holds value(s) outside dataset.classes {DATASET.classes}"
    )
    assert f"{variant!r} (30)" in message


def test_text_in_a_numeric_column_is_refused_with_its_rows(sample: pd.DataFrame, settings: Settings):
    sample[NUMBER] = sample[NUMBER].astype(object)
    sample.loc[[5, 17], NUMBER] = ["forty", "n/a"]
    sample.loc[9, NUMBER] = None  # a missing value is fine
    with pytest.raises(ProjectError) as caught:
        split_dataset(sample, settings.dataset, settings.split, where="in.csv")
    assert str(caught.value) == (
        f"in.csv: column {NUMBER!r} holds 2 value(s) that are not numbers: 'forty' (row 5), 'n/a' (row 17); "
        "write numbers, or leave the value empty for missing"
    )


@pytest.mark.parametrize("column", [LABEL, *DATASET.features[:1], *DATASET.features[-1:]])
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
    sizes = split_sizes(len(pd.read_csv(sample_path, usecols=[0])), load_settings(settings_path).split)
    assert ", ".join(f"{name}: {rows:,} rows" for name, rows in sizes.items()) in capsys.readouterr().out


def test_main_output_reads_back_as_the_split(
    tmp_path: Path, sample_path: Path, settings_path: Path, sample: pd.DataFrame, settings: Settings
):
    preprocess.main(["--input", str(sample_path), "--output", str(tmp_path), "--settings", str(settings_path)])
    expected = split_dataset(sample, settings.dataset, settings.split)["test"].reset_index(drop=True)
    written = read_dataset(tmp_path / "test", settings.dataset)
    assert list(written.columns) == list(expected.columns)
    assert written[LABEL].tolist() == expected[LABEL].tolist()
    pd.testing.assert_series_equal(written[NUMBER], expected[NUMBER])
    for column in settings.dataset.categorical_features:
        assert written[column].isna().tolist() == expected[column].isna().tolist()


def test_main_reads_a_folder_of_csv_files(tmp_path: Path, sample: pd.DataFrame, settings_path: Path):
    folder = tmp_path / "input"
    folder.mkdir()
    sample.iloc[: len(sample) // 2].to_csv(folder / "part-1.csv", index=False)
    sample.iloc[len(sample) // 2 :].to_csv(folder / "part-2.csv", index=False)
    preprocess.main(["--input", str(folder), "--output", str(tmp_path / "out"), "--settings", str(settings_path)])
    rows = sum(len(pd.read_csv(tmp_path / "out" / name / f"{name}.csv")) for name in preprocess.SPLITS)
    assert rows == len(sample)


def test_main_refuses_text_in_a_numeric_column_before_writing_anything(
    tmp_path: Path, sample_path: Path, settings_path: Path
):
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    raw.loc[3, LAST_NUMBER] = "forty"
    raw.to_csv(tmp_path / "in.csv", index=False)
    arguments = ["--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out")]
    with pytest.raises(ProjectError, match=rf"in\.csv: column '{LAST_NUMBER}' holds 1 value\(s\) .*'forty' \(row 3\)"):
        preprocess.main([*arguments, "--settings", str(settings_path)])
    assert not (tmp_path / "out").exists()


def test_main_with_missing_input_names_the_path(tmp_path: Path, settings_path: Path):
    missing = tmp_path / "nothing.csv"
    with pytest.raises(ProjectError, match=r"nothing\.csv: file not found"):
        preprocess.main(["--input", str(missing), "--output", str(tmp_path / "out"), "--settings", str(settings_path)])
    assert not (tmp_path / "out").exists()


@binary_only
def test_main_reads_a_numeric_label_with_gaps(tmp_path: Path, sample: pd.DataFrame, raw_settings: dict, write_settings):
    # A 0/1 label with a few blank cells is read as float: "1.0" must still count as the positive "1".
    positive = labels(sample) == POSITIVE
    sample[LABEL] = positive.astype(int).astype(object)
    sample.loc[:9, LABEL] = ""
    sample.to_csv(tmp_path / "numeric-label.csv", index=False)
    raw_settings["dataset"].update(classes=[0, 1], positive_label=1)
    if raw_settings.get("bias", {}).get("favourable_labels"):
        raw_settings["bias"]["favourable_labels"] = [1]
    arguments = ["--input", str(tmp_path / "numeric-label.csv"), "--output", str(tmp_path / "out")]
    preprocess.main([*arguments, "--settings", str(write_settings(raw_settings))])
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv")
    assert train[LABEL].mean() == pytest.approx(positive.iloc[10:].mean(), abs=0.01)
