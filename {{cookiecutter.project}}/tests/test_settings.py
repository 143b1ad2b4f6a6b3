"""project.yaml validation: the real file loads, and each kind of mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import METRIC_RANGES, QUALITY_METRICS, Settings, load_settings

# The project's own quality metrics first (then its type's others): the range cases below use the
# first with an upper bound and the first with a lower bound, so they name metrics of this project.
OWN = load_settings(Path(__file__).resolve().parents[1] / "project.yaml")
METRICS = [*OWN.gates.quality, *QUALITY_METRICS[OWN.dataset.problem_type]]
HIGH = next(name for name in METRICS if METRIC_RANGES[name][1] is not None)
LOW = next(name for name in METRICS if METRIC_RANGES[name][0] is not None)


def shown_range(metric: str) -> str:
    low, high = METRIC_RANGES[metric]
    return f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"


def error_for(path: Path) -> str:
    with pytest.raises(ProjectError) as caught:
        load_settings(path)
    return str(caught.value)


def test_real_project_yaml_loads(settings: Settings):
    dataset = settings.dataset
    assert dataset.label and dataset.features and dataset.sample.suffix in (".csv", ".parquet")
    assert dataset.problem_type != "binary" or str(dataset.positive_label) in map(str, dataset.classes)
    limits = settings.gates.quality.values()
    assert limits and all(limit.min is not None or limit.max is not None for limit in limits)


def test_features_are_numeric_then_categorical(settings: Settings):
    dataset = settings.dataset
    assert dataset.features == [*dataset.numeric_features, *dataset.categorical_features]


def test_a_rewritten_copy_of_the_real_file_loads_the_same(raw_settings: dict, write_settings, settings: Settings):
    assert load_settings(write_settings(raw_settings)) == settings


def test_settings_are_frozen(settings: Settings):
    with pytest.raises(ValueError, match="frozen"):
        settings.gates.quality = {}


def test_unknown_key_is_named_with_its_path(raw_settings: dict, write_settings):
    raw_settings["split"]["sead"] = raw_settings["split"].pop("seed")
    path = write_settings(raw_settings)
    message = error_for(path)
    assert str(path) in message
    assert "split.sead: unknown key" in message


def test_unknown_top_level_section_is_named(raw_settings: dict, write_settings):
    raw_settings["gate"] = raw_settings["gates"]
    message = error_for(write_settings(raw_settings))
    assert "gate: unknown key" in message


def test_wrong_type_is_named_with_the_value_given(raw_settings: dict, write_settings):
    raw_settings["split"]["seed"] = "forty-two"
    path = write_settings(raw_settings)
    message = error_for(path)
    assert str(path) in message
    assert "split.seed:" in message
    assert "valid integer" in message
    assert "'forty-two'" in message


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        (
            "gates",
            "quality",
            {HIGH: {"min": METRIC_RANGES[HIGH][1] + 0.5}},
            f"gates.quality.{HIGH}.min: {METRIC_RANGES[HIGH][1] + 0.5:g} is outside {HIGH}'s range {shown_range(HIGH)}",
        ),
        (
            "gates",
            "quality",
            {LOW: {"min": METRIC_RANGES[LOW][0] - 0.1}},
            f"gates.quality.{LOW}.min: {METRIC_RANGES[LOW][0] - 0.1:g} is outside {LOW}'s range {shown_range(LOW)}",
        ),
        ("gates", "quality", {LOW: {"min": 0.8, "max": 0.7}}, f"gates.quality.{LOW}: min 0.8 is greater than max 0.7"),
        ("split", "test", 0.7, "split.test: Input should be less than 0.5 (got 0.7)"),
        ("split", "validation", 0.0, "split.validation: Input should be greater than 0 (got 0.0)"),
    ],
)
def test_out_of_range_value_is_named(raw_settings: dict, write_settings, section, key, value, expected):
    raw_settings[section][key] = value
    path = write_settings(raw_settings)
    message = error_for(path)
    assert str(path) in message
    assert expected in message


def test_out_of_range_hyperparameter_is_named(raw_settings: dict, write_settings):
    raw_settings["model"]["hyperparameters"]["eta"] = 5
    message = error_for(write_settings(raw_settings))
    assert "model.hyperparameters.eta: Input should be less than or equal to 1 (got 5)" in message


def test_every_problem_is_listed(raw_settings: dict, write_settings):
    raw_settings["gates"]["quality"] = {HIGH: {"min": METRIC_RANGES[HIGH][1] + 0.5}}
    raw_settings["split"]["test"] = 0.7
    message = error_for(write_settings(raw_settings))
    assert "2 invalid settings" in message
    assert f"gates.quality.{HIGH}.min" in message
    assert "split.test" in message


def test_column_listed_twice_is_named(raw_settings: dict, write_settings):
    column = raw_settings["dataset"]["numeric_features"][0]
    raw_settings["dataset"]["categorical_features"].append(column)
    path = write_settings(raw_settings)
    message = error_for(path)
    assert str(path) in message
    assert "dataset:" in message
    assert f"column {column!r} is listed twice" in message


def test_label_used_as_a_feature_is_refused(raw_settings: dict, write_settings):
    raw_settings["dataset"]["numeric_features"].append(raw_settings["dataset"]["label"])
    message = error_for(write_settings(raw_settings))
    assert f"column {raw_settings['dataset']['label']!r} is listed twice" in message


def test_no_feature_columns_is_refused(raw_settings: dict, write_settings):
    raw_settings["dataset"]["numeric_features"] = []
    raw_settings["dataset"]["categorical_features"] = []
    message = error_for(write_settings(raw_settings))
    assert "dataset: list at least one column" in message


@pytest.mark.parametrize("section", ["dataset", "gates"])
def test_missing_required_section_is_named(raw_settings: dict, write_settings, section):
    del raw_settings[section]
    path = write_settings(raw_settings)
    message = error_for(path)
    assert str(path) in message
    assert f"{section}: Field required" in message


def test_missing_required_key_is_named(raw_settings: dict, write_settings):
    del raw_settings["dataset"]["label"]
    message = error_for(write_settings(raw_settings))
    assert "dataset.label: Field required" in message


def test_optional_sections_take_their_defaults(raw_settings: dict, write_settings):
    minimal = {"dataset": raw_settings["dataset"], "gates": raw_settings["gates"]}
    settings = load_settings(write_settings(minimal))
    assert settings.split.test == 0.15
    assert settings.model.hyperparameters.num_round >= 1


def test_file_not_found_names_the_file(tmp_path: Path):
    path = tmp_path / "missing.yaml"
    message = error_for(path)
    assert str(path) in message
    assert "not found" in message
    assert "--settings" in message


def test_invalid_yaml_names_the_file(write_settings):
    path = write_settings("dataset: [age, sex\ngates: {quality: {auc: {min: 0.9}}}\n")
    message = error_for(path)
    assert str(path) in message
    assert "not valid YAML" in message


@pytest.mark.parametrize("text", ["- dataset\n- gates\n", "just a sentence\n", ""])
def test_top_level_must_be_a_mapping(write_settings, text):
    path = write_settings(text)
    message = error_for(path)
    assert str(path) in message
    assert "expected a mapping" in message
