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
from {{ cookiecutter.package }}.settings import Dataset, Settings, Split, load_settings
from {{ cookiecutter.package }}.steps import preprocess
from {{ cookiecutter.package }}.steps.preprocess import split_dataset

SETTINGS = load_settings(Path(__file__).resolve().parents[1] / "project.yaml")
DATASET = SETTINGS.dataset
LABEL, NUMBER, LAST_NUMBER = DATASET.label, DATASET.numeric_features[0], DATASET.numeric_features[-1]
KIND = DATASET.problem_type
CLASSES = [str(value) for value in DATASET.classes or []]
# The encoded classes in order: binary 0 the other class and 1 the positive label, multiclass the
# position in dataset.classes; none for regression.
if KIND == "binary":
    NAMES = [*(value for value in CLASSES if value != str(DATASET.positive_label)), str(DATASET.positive_label)]
else:
    NAMES = CLASSES
classified = pytest.mark.skipif(
    KIND == "regression",
    reason="a regression label has no classes to stratify by or encode (its encoding, text in it and too few rows: "
    "test_a_regression_label_is_the_number; tests/test_problem_types.py trains and evaluates regression)",
)


def labels(sample: pd.DataFrame) -> pd.Series:
    """The sample's labels as text (a CSV's 1, 1.0 and "1" alike)."""
    values = sample[LABEL]
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("string").str.strip()


def expected_labels(sample: pd.DataFrame) -> pd.Series:
    """The label as preprocess encodes it: the class's code (binary 0/1, multiclass the position),
    or the number (regression)."""
    if KIND == "regression":
        return pd.to_numeric(sample[LABEL]).astype("float64")
    return labels(sample).map({name: code for code, name in enumerate(NAMES)}).astype("int8")


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


@classified
def test_splits_are_stratified_by_label(sample: pd.DataFrame, settings: Settings):
    overall = expected_labels(sample).value_counts(normalize=True)
    splits = split_dataset(sample, settings.dataset, settings.split)
    for name, frame in splits.items():
        shares = frame[LABEL].value_counts(normalize=True).reindex(overall.index, fill_value=0)
        assert shares.to_numpy() == pytest.approx(overall.to_numpy(), abs=1 / len(frame) + 0.001), name


def test_same_seed_gives_the_same_splits(sample: pd.DataFrame, settings: Settings):
    first = split_dataset(sample, settings.dataset, settings.split)
    second = split_dataset(sample.copy(), settings.dataset, settings.split)
    for name in preprocess.SPLITS:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_seed_gives_other_splits(sample: pd.DataFrame, settings: Settings):
    first = split_dataset(sample, settings.dataset, Split(seed=1))
    second = split_dataset(sample, settings.dataset, Split(seed=2))
    assert set(first["test"].index) != set(second["test"].index)


def test_label_comes_first_encoded_then_the_features(sample: pd.DataFrame, settings: Settings):
    splits = split_dataset(sample, settings.dataset, settings.split)
    for frame in splits.values():
        assert list(frame.columns) == [LABEL, *settings.dataset.features]
        if KIND == "regression":
            assert frame[LABEL].dtype == "float64"
        else:  # every class in every split (stratified; each class has 10 rows or more)
            assert frame[LABEL].dtype == "int8"
            assert set(frame[LABEL].unique()) == set(range(len(NAMES)))


def test_label_is_the_code_of_its_class_or_the_number(sample: pd.DataFrame, settings: Settings):
    # binary: 1 exactly for the positive label; multiclass: the class's position; regression: the value
    train = split_dataset(sample, settings.dataset, settings.split)["train"]
    expected = expected_labels(sample).loc[train.index].rename(LABEL)
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


@classified
def test_too_few_rows_of_a_class_is_refused(sample: pd.DataFrame, settings: Settings):
    # The last class keeps 9 rows, every other class its rows as they are.
    scarce = NAMES[-1]
    few = pd.concat([sample[labels(sample) != scarce], sample[labels(sample) == scarce].head(9)])
    with pytest.raises(ProjectError) as caught:
        split_dataset(few, settings.dataset, settings.split, where="small.csv")
    message = str(caught.value)
    assert message.startswith(f"small.csv: need at least 10 rows of each class in {LABEL!r}")
    assert f"{scarce!r}: 9" in message


@classified
def test_a_label_without_a_declared_value_is_refused(sample: pd.DataFrame, settings: Settings):
    sample[LABEL] = labels(sample).replace(NAMES[-1], "high").astype(object)
    expected = f"holds value(s) outside dataset.classes {DATASET.classes}: 'high' ("
    with pytest.raises(ProjectError, match=re.escape(expected)):
        split_dataset(sample, settings.dataset, settings.split)


def test_a_regression_label_is_the_number():
    # A fixture of its own: any project's preprocess reads a regression label as a number and
    # refuses text in it.
    data = Dataset(
        sample="r.csv", label="y", problem_type="regression", numeric_features=["x"], categorical_features=[]
    )
    frame = pd.DataFrame({"y": [f"{value * 1.5:g}" for value in range(40)], "x": range(40)})
    frame = frame.assign(record_id=range(40), event_time="2024-01-01")  # needed with the Feature Store
    splits = split_dataset(frame, data, Split(seed=1))
    assert pd.concat(splits.values())["y"].sort_values().tolist() == [value * 1.5 for value in range(40)]
    with pytest.raises(ProjectError, match=r"^r\.csv: need at least 20 rows with a value in 'y'; found 19$"):
        split_dataset(frame.head(19), data, Split(seed=1), where="r.csv")
    frame.loc[[3, 7], "y"] = ["lots", "n/a"]
    with pytest.raises(ProjectError, match=r"label column 'y' holds 2 value\(s\) that are not numbers: "):
        split_dataset(frame, data, Split(seed=1), where="r.csv")


@classified
@pytest.mark.parametrize("variant", ["{}x", "_{}", "maybe"])
def test_label_values_other_than_the_classes_are_refused(sample: pd.DataFrame, settings: Settings, variant):
    # Before, these rows silently became the negative class; the data checks may not list label values.
    variant = variant.format(NAMES[-1])
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
    # Clarify's copies: no header row, the same rows as the split, the label first (multiclass by
    # class name), then the features as written.
    split_test = pd.read_csv(out / "test" / "test.csv", dtype=str, keep_default_na=False)
    clarify_test = pd.read_csv(out / "clarify" / "test" / "test.csv", header=None, dtype=str, keep_default_na=False)
    assert len(clarify_test) == len(split_test)
    features = split_test[DATASET.features].to_numpy()
    assert (clarify_test.iloc[:, 1 : 1 + len(DATASET.features)].to_numpy() == features).all()
    codes = split_test[LABEL]
    names = codes.map(lambda code: NAMES[int(code)]) if KIND == "multiclass" else codes
    assert clarify_test.iloc[:, 0].tolist() == names.tolist()
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


def test_main_reads_a_numeric_label_with_gaps(tmp_path: Path, sample: pd.DataFrame, raw_settings: dict, write_settings):
    # A 0/1 label with a few blank cells is read as float: "1.0" must still count as the positive "1".
    # The project's sample made binary: its own label's first class (or, for a number, the values
    # above the median) against the rest.
    if KIND == "regression":
        numbers = pd.to_numeric(sample[LABEL])
        positive = numbers > numbers.median()
    else:
        positive = labels(sample) == NAMES[-1]
    raw_settings["dataset"]["problem_type"] = "binary"
    raw_settings["gates"]["quality"] = {"auc": {"min": 0.5}}  # the project's own may name another type's metric
    if raw_settings.get("bias"):
        raw_settings["bias"].pop("favourable_threshold", None)
        raw_settings["bias"]["favourable_labels"] = [1]
    sample[LABEL] = positive.astype(int).astype(object)
    sample.loc[:9, LABEL] = ""
    sample.to_csv(tmp_path / "numeric-label.csv", index=False)
    raw_settings["dataset"].update(classes=[0, 1], positive_label=1)
    arguments = ["--input", str(tmp_path / "numeric-label.csv"), "--output", str(tmp_path / "out")]
    preprocess.main([*arguments, "--settings", str(write_settings(raw_settings))])
    train = pd.read_csv(tmp_path / "out" / "train" / "train.csv")
    assert train[LABEL].mean() == pytest.approx(positive.iloc[10:].mean(), abs=0.01)
