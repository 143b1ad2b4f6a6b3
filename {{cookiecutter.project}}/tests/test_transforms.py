"""Feature transformations shared by training and serving: cleaning, the fitted spec, encoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import Dataset, Settings
from {{ cookiecutter.package }}.transforms import (
    FeatureSpec,
    NotANumber,
    categories_as_read,
    clean,
    clean_features,
    describe_unseen,
    encode,
    encode_labels,
    fit,
    parse_numbers,
    require_columns,
    to_dmatrix,
    unseen_categories,
)


def test_clean_returns_the_feature_columns_in_settings_order(tiny_frame: pd.DataFrame, tiny_dataset: Dataset):
    cleaned = clean_features(tiny_frame, tiny_dataset)
    assert list(cleaned.columns) == tiny_dataset.features
    assert cleaned.index.equals(tiny_frame.index)


def test_clean_is_idempotent(tiny_frame: pd.DataFrame, tiny_dataset: Dataset):
    once = clean_features(tiny_frame, tiny_dataset)
    twice = clean_features(once, tiny_dataset)
    pd.testing.assert_frame_equal(once, twice)


def test_clean_is_idempotent_on_the_sample(sample: pd.DataFrame, settings: Settings):
    once = clean_features(sample, settings.dataset)
    pd.testing.assert_frame_equal(once, clean_features(once, settings.dataset))


def test_question_mark_and_empty_categories_become_missing(tiny_frame: pd.DataFrame):
    cleaned = clean(tiny_frame, [], ["workclass", "occupation"])
    assert cleaned["workclass"].isna().tolist() == [False, False, True, True]
    assert cleaned["occupation"].isna().tolist() == [False, False, False, True]


def test_missing_categories_are_nan_in_an_object_column(tiny_frame: pd.DataFrame):
    cleaned = clean(tiny_frame, [], ["workclass"])
    assert cleaned["workclass"].dtype == object
    missing = cleaned["workclass"].iloc[2]
    assert isinstance(missing, float)
    assert np.isnan(missing)


def test_categories_are_trimmed(tiny_frame: pd.DataFrame):
    cleaned = clean(tiny_frame, [], ["workclass"])
    assert cleaned["workclass"].iloc[1] == "Self-emp-not-inc"


def test_padded_question_mark_is_missing():
    cleaned = clean(pd.DataFrame({"c": [" ? ", "  "]}), [], ["c"])
    assert cleaned["c"].isna().all()


def test_numbers_become_float_and_blanks_and_question_marks_missing(tiny_frame: pd.DataFrame):
    cleaned = clean(tiny_frame, ["age", "fnlwgt"], [])
    assert cleaned["age"].dtype == "float64"
    assert cleaned["fnlwgt"].dtype == "float64"
    np.testing.assert_array_equal(cleaned["age"].to_numpy(), [39.0, 50.0, np.nan, np.nan])
    assert cleaned["fnlwgt"].iloc[0] == 77516.0


def test_text_in_a_numeric_column_is_refused_not_made_missing():
    frame = pd.DataFrame({"age": ["39", "forty", "", "?", "n/a", None, " 7 "], "n": [1, 2, 3, 4, 5, 6, 7]})
    with pytest.raises(NotANumber) as caught:
        clean(frame, ["age", "n"], [])
    assert str(caught.value) == (
        "column 'age' holds 2 value(s) that are not numbers: 'forty' (row 1), 'n/a' (row 4); "
        "write numbers, or leave the value empty for missing"
    )
    assert isinstance(caught.value, ProjectError)  # one line and exit 2 from the CLI
    assert isinstance(caught.value, ValueError)  # an error response from the endpoint's container


def test_a_refusal_lists_a_few_values_and_counts_the_rest():
    frame = pd.DataFrame({"n": [f"x{i}" for i in range(8)]}, index=range(10, 18))
    with pytest.raises(NotANumber, match=r"holds 8 value\(s\) .*'x0' \(row 10\), .*'x4' \(row 14\) and 3 more;"):
        clean(frame, ["n"], [])


@pytest.mark.parametrize(
    ("value", "number"),
    [("1e3", 1000.0), (" -2.5 ", -2.5), (7, 7.0), (np.int64(3), 3.0), ("", None), ("?", None), (None, None)],
)
def test_parse_numbers_reads_numbers_and_treats_blanks_as_missing(value, number):
    numbers, bad = parse_numbers(pd.Series([value], dtype=object))
    assert bad.empty
    np.testing.assert_array_equal(numbers.to_numpy(), [np.nan if number is None else number])


@pytest.mark.parametrize("value", ["forty", "NaN", True, {"years": 40}, [40]], ids=str)
def test_parse_numbers_refuses_what_is_not_a_number(value):
    _, bad = parse_numbers(pd.Series(["39", value], dtype=object))
    assert bad.index.tolist() == [1]


def test_a_text_column_reads_as_each_of_its_values_alone():
    """A column of text (a CSV's, a request's) is read per distinct value: the same numbers,
    refusals and categories, row for row, as the path for a column of mixed types, which reads
    value by value."""
    texts = ["39", " 39", "forty", "", "39", None, "?", "forty", " 1e3 ", "NaN", " Male "]
    index = list(range(100, 100 + len(texts)))
    numbers, bad = parse_numbers(pd.Series(texts, index=index, dtype=object))
    mixed_numbers, mixed_bad = parse_numbers(pd.Series([*texts, 0], index=[*index, 0], dtype=object))  # 0: mixed
    np.testing.assert_array_equal(numbers.to_numpy(), mixed_numbers.to_numpy()[:-1])
    assert bad.to_dict() == mixed_bad.to_dict() == {102: "forty", 107: "forty", 109: "NaN", 110: " Male "}
    categories = categories_as_read(pd.Series(texts, index=index, dtype=object))
    mixed = categories_as_read(pd.Series([*texts, 0], index=[*index, 0], dtype=object))
    assert categories.dtype == mixed.dtype == object
    assert categories.equals(mixed.iloc[:-1])
    assert categories.fillna("(missing)").tolist() == [
        "39", "39", "forty", "(missing)", "39", "(missing)", "(missing)", "forty", "1e3", "NaN", "Male"
    ]  # fmt: skip


def test_category_that_looks_like_a_number_stays_text():
    cleaned = clean(pd.DataFrame({"zip": ["01234", 42]}), [], ["zip"])
    assert cleaned["zip"].tolist() == ["01234", "42"]


def binary_label(values: pd.Series, positive, where: str = "data", classes=("<=50K", ">50K")) -> pd.Series:
    return encode_labels(values, "binary", list(classes), positive, where)


def test_binary_label_maps_positive_other_and_missing():
    labels = binary_label(pd.Series([">50K", "<=50K", " >50K ", "", None, "<=50K"]), ">50K")
    assert labels.iloc[:3].tolist() == [1, 0, 1]
    assert labels.iloc[3:5].isna().all()
    assert labels.iloc[5] == 0


def test_a_text_label_column_encodes_as_its_values_do_one_by_one():
    """Labels of text are read once per distinct value; a column of mixed types row by row: both
    give the same codes, missing values included."""
    text = pd.Series(["1", " 0", None, "1", "?", "0", "1"], index=range(10, 17), dtype=object)
    mixed = text.copy()
    mixed[13] = 1  # an int among the texts: the row-by-row path
    codes = encode_labels(text, "binary", [0, 1], 1)
    np.testing.assert_array_equal(codes.to_numpy(), [1, 0, np.nan, 1, np.nan, 0, 1])
    pd.testing.assert_series_equal(codes, encode_labels(mixed, "binary", [0, 1], 1))


@pytest.mark.parametrize("variant", [">50K.", ">50k", "maybe"])
def test_a_label_value_outside_the_classes_is_refused_not_counted_as_negative(variant: str):
    values = pd.Series([">50K"] * 3 + ["<=50K"] * 5 + [variant] * 2, name="income")
    with pytest.raises(ProjectError) as caught:
        binary_label(values, ">50K", where="in.csv")
    assert str(caught.value) == (
        f"in.csv: label column 'income' holds value(s) outside dataset.classes ['<=50K', '>50K']: {variant!r} (2) "
        f"(all values seen: '<=50K' (5), '>50K' (3), {variant!r} (2)); list every label value under "
        "dataset.classes in project.yaml, or correct the labels"
    )


def test_a_label_without_the_positive_value_is_refused_naming_the_values_seen():
    with pytest.raises(ProjectError) as caught:
        binary_label(pd.Series(["low", "low"], name="income"), "high", where="in.csv", classes=("low", "high"))
    assert str(caught.value).startswith("in.csv: label column 'income' never holds the positive label 'high'")


def test_a_label_with_one_value_is_refused():
    with pytest.raises(ProjectError, match=r"holds only the positive label '>50K' \(2 rows\); binary classification"):
        binary_label(pd.Series([">50K", ">50K", None], name="income"), ">50K")
    with pytest.raises(ProjectError, match=r"label column 'income' has no values"):
        binary_label(pd.Series(["", None], name="income"), ">50K")


@pytest.mark.parametrize(
    ("data", "classes", "positive"),
    [
        ([0.0, 1.0, np.nan, 1.0], [0, 1], 1),  # a float column (blanks) against YAML integers
        (["0", "1", "", "1"], [0, 1], "1"),  # CSV text against YAML integers, positive as text
        ([0, 1, None, 1], ["0", "1"], 1.0),
        ([False, True, None, True], [False, True], True),  # booleans, as YAML true
        (["false", "True", "", "TRUE"], [False, True], True),
    ],
)
def test_label_values_compare_by_their_text_or_number(data, classes, positive):
    labels = encode_labels(pd.Series(data, dtype=object), "binary", classes, positive)
    assert labels.iloc[[0, 1, 3]].tolist() == [0, 1, 1]
    assert pd.isna(labels.iloc[2])


def test_multiclass_labels_are_the_class_position():
    values = pd.Series(["b", " c", "a", None, "b"], name="kind")
    assert encode_labels(values, "multiclass", ["a", "b", "c"]).tolist()[:3] == [1, 2, 0]
    with pytest.raises(ProjectError) as caught:
        encode_labels(pd.Series(["a", "b", "d", "d", "c"], name="kind"), "multiclass", ["a", "b", "c"], where="x.csv")
    assert str(caught.value).startswith("x.csv: label column 'kind' holds value(s) outside dataset.classes")
    assert "'d' (2)" in str(caught.value) and "dataset.classes in project.yaml" in str(caught.value)


def test_a_regression_label_must_be_numbers():
    assert encode_labels(pd.Series(["1.5", " 2 ", "", None]), "regression", None).tolist()[:2] == [1.5, 2.0]
    with pytest.raises(ProjectError) as caught:
        encode_labels(pd.Series(["1.5", "many", "many", "3"], name="hours"), "regression", None, where="x.csv")
    assert str(caught.value) == (
        "x.csv: label column 'hours' holds 2 value(s) that are not numbers: 'many' (2); a regression label is a "
        "number: correct the labels, or dataset.problem_type in project.yaml"
    )


def test_unseen_categories_are_counted_per_column_and_described():
    spec = FeatureSpec(label="y", positive_label="1", numeric=["n"], categories={"c": ["a", "b"], "d": ["x"]})
    frame = pd.DataFrame({"n": [1, 2, 3, 4], "c": ["a", " zzz ", "zzz", "?"], "d": ["x", "x", None, "x"]})
    unseen = unseen_categories(frame, spec)
    assert list(unseen) == ["c"]
    assert unseen["c"].to_dict() == {"zzz": 2}
    assert describe_unseen(unseen) == [
        "column 'c' has 1 value(s) the model did not see in training, scored as missing: 'zzz' (2)"
    ]


def test_fit_learns_sorted_known_categories_without_missing(tiny_frame: pd.DataFrame, tiny_dataset: Dataset):
    spec = fit(clean_features(tiny_frame, tiny_dataset), tiny_dataset)
    assert spec.categories["workclass"] == ["Self-emp-not-inc", "State-gov"]
    assert spec.categories["occupation"] == ["Adm-clerical", "Exec-managerial", "Handlers-cleaners"]
    assert spec.numeric == tiny_dataset.numeric_features
    assert spec.label == "income"
    assert spec.positive_label == ">50K"


def test_spec_features_are_in_settings_order(tiny_frame: pd.DataFrame, tiny_dataset: Dataset):
    spec = fit(clean_features(tiny_frame, tiny_dataset), tiny_dataset)
    assert spec.features == tiny_dataset.features


def test_encode_maps_known_categories_to_their_index_and_unseen_to_nan():
    spec = FeatureSpec(label="y", positive_label="1", numeric=["n"], categories={"c": ["a", "b"]})
    matrix = encode(pd.DataFrame({"n": [1.5, "2", None, 4], "c": ["b", "a", "zzz", "?"]}), spec)
    assert matrix.dtype == np.float32
    assert matrix.shape == (4, 2)
    np.testing.assert_array_equal(matrix[:, 0], [1.5, 2.0, np.nan, 4.0])
    np.testing.assert_array_equal(matrix[:, 1], [1.0, 0.0, np.nan, np.nan])


def test_encode_cleans_raw_values_itself():
    spec = FeatureSpec(label="y", positive_label="1", numeric=["n"], categories={"c": ["a", "b"]})
    raw = pd.DataFrame({"n": [" 3 "], "c": [" b "]})
    np.testing.assert_array_equal(encode(raw, spec), [[3.0, 1.0]])


def test_encode_ignores_extra_columns():
    spec = FeatureSpec(label="y", positive_label="1", numeric=["n"], categories={"c": ["a"]})
    frame = pd.DataFrame({"extra": ["x"], "c": ["a"], "n": [1], "y": [1]})
    np.testing.assert_array_equal(encode(frame, spec), [[1.0, 0.0]])


def test_to_dmatrix_names_and_types_the_features():
    spec = FeatureSpec(label="y", positive_label="1", numeric=["n"], categories={"c": ["a", "b"]})
    matrix = to_dmatrix(pd.DataFrame({"n": [1, 2], "c": ["a", "b"]}), spec, label=[0, 1])
    assert matrix.feature_names == ["n", "c"]
    assert matrix.feature_types == ["q", "c"]
    assert matrix.get_label().tolist() == [0.0, 1.0]


def test_feature_spec_round_trips_through_a_file(tmp_path: Path, sample: pd.DataFrame, settings: Settings):
    spec = fit(clean_features(sample, settings.dataset), settings.dataset)
    spec.save(tmp_path / "spec.json")
    loaded = FeatureSpec.load(tmp_path / "spec.json")
    assert loaded == spec
    # the column order is the model's input order: it must survive the round trip too
    assert loaded.features == spec.features
    assert list(loaded.categories) == list(spec.categories)


def test_loaded_spec_encodes_exactly_like_the_fitted_one(tmp_path: Path, sample: pd.DataFrame, settings: Settings):
    spec = fit(clean_features(sample, settings.dataset), settings.dataset)
    spec.save(tmp_path / "spec.json")
    loaded = FeatureSpec.load(tmp_path / "spec.json")
    np.testing.assert_array_equal(encode(sample.head(50), loaded), encode(sample.head(50), spec))


def test_require_columns_names_every_missing_column_and_where(tiny_frame: pd.DataFrame):
    with pytest.raises(ProjectError) as caught:
        require_columns(tiny_frame.drop(columns=["age", "sex"]), ["age", "race", "sex"], "data/x.csv")
    message = str(caught.value)
    assert message.startswith("data/x.csv: missing column(s) age, sex;")
    assert "race" not in message.split(";")[0]


def test_require_columns_accepts_a_complete_frame(tiny_frame: pd.DataFrame, tiny_dataset: Dataset):
    require_columns(tiny_frame, tiny_dataset.features, "data")
