"""`data init`: profiling a file into proposals that validate, suites that pass on that file, a
feature group that matches, a sample copy, and refusals for bad input or an unforced overwrite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from {{ cookiecutter.package }}.checks import load_suite, validate
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.data import GENERATED_EVENT_TIME, feature_store_enabled, generated_ids, read_dataset
from {{ cookiecutter.package }}.data_init.profile import MAX_CATEGORIES, profile
from {{ cookiecutter.package }}.data_init.project_yaml import REPLACED, blocks, merge
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import load_settings

PROJECT_FILES = ("project.yaml", "data_checks", "features", "data/sample")


@pytest.fixture
def project(tmp_path: Path, project_root: Path, monkeypatch) -> Path:
    """A copy of this project's settings, suites, feature groups and sample, as the working folder."""
    for name in PROJECT_FILES:
        source = project_root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        elif source.exists():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def init(*arguments):
    return CliRunner().invoke(main, ["data", "init", *map(str, arguments)])


@pytest.fixture
def other_data(tmp_path: Path) -> Path:
    """A table unlike the sample: spaces in column names, a 0/1 label, no record id or event time,
    a categorical facet (made here, so the test needs no download)."""
    rows = 600
    numbers = pd.Series(range(rows))
    frame = pd.DataFrame(
        {
            "mean radius": (numbers % 37) * 0.5 + 6.0,
            "cell count": numbers % 11,
            "clinic": ["north" if i % 5 < 2 else "south" for i in range(rows)],
            "target": ((numbers % 37) > 15).astype(int),
        }
    )
    path = tmp_path / "incoming" / "my table.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


def test_init_on_the_sample_proposes_settings_and_suites_it_passes(project: Path, settings):
    dataset = settings.dataset
    facets = [facet.column for facet in settings.bias.facets] if settings.bias else []
    arguments = ["--data", dataset.sample, "--label", dataset.label, *(f for c in facets for f in ("--facet", c))]
    result = init(*arguments, "--force")
    assert result.exit_code == 0, result.output
    assert "Still to decide" in result.output
    proposed = load_settings(project / "project.yaml")
    assert proposed.dataset.label == dataset.label
    assert proposed.dataset.problem_type == dataset.problem_type
    assert sorted(map(str, proposed.dataset.classes or [])) == sorted(map(str, dataset.classes or []))
    assert set(proposed.dataset.features) <= set(dataset.features) | set(facets)
    frame = generated_ids(read_dataset(proposed.dataset.sample, proposed.dataset), proposed.dataset, "sample")
    for name in ("training", "inference"):
        suite = load_suite(project / "data_checks" / f"{name}.json")
        assert all(entry["meta"]["notes"] for entry in suite["expectations"])
        result = validate(frame, suite, data=name, dataset=proposed.dataset)
        assert result.success, result.summary()


def test_the_rest_of_project_yaml_and_its_comments_survive(project: Path, settings):
    before = (project / "project.yaml").read_text(encoding="utf-8")
    result = init("--data", settings.dataset.sample, "--label", settings.dataset.label, "--force")
    assert result.exit_code == 0, result.output
    after = (project / "project.yaml").read_text(encoding="utf-8")
    kept = [text for key, text in blocks(before) if key not in REPLACED]
    assert [key for key, _ in blocks(before) if key not in REPLACED][:2] == [None, "model"]  # the header, model
    assert all(text.strip() in after for text in kept)  # byte for byte, comments included
    assert load_settings(project / "project.yaml").model == settings.model


def test_init_on_another_table_makes_a_project_that_checks_it(project: Path, other_data: Path):
    result = init("--data", other_data, "--label", "target", "--facet", "clinic", "--force")
    assert result.exit_code == 0, result.output
    proposed = load_settings(project / "project.yaml")
    dataset = proposed.dataset
    assert (dataset.problem_type, dataset.classes, dataset.positive_label) == ("binary", [0, 1], 1)
    assert dataset.sample == Path("data/sample/my_table.csv")
    assert dataset.numeric_features == ["mean_radius", "cell_count"]
    assert dataset.categorical_features == ["clinic"]
    assert "gates.quality.auc.min is 0.7" in result.output
    if proposed.bias is not None:
        assert proposed.bias.facets[0].column == "clinic"
    frame = generated_ids(read_dataset(dataset.sample, dataset), dataset, "sample")
    assert frame[dataset.record_id].is_unique
    assert dataset.sample.stat().st_mode & 0o044 == (project / "project.yaml").stat().st_mode & 0o044  # readable
    suite = load_suite(project / "data_checks" / "training.json")
    assert validate(frame, suite, dataset=dataset).success
    if feature_store_enabled(project / "features"):
        from {{ cookiecutter.package }}.feature_store.definition import check_against, group_files, load_group

        [path] = group_files(project / "features")
        check_against(load_group(path), dataset, str(path))  # raises when it does not match
        copied = pd.read_csv(dataset.sample)
        assert copied[dataset.event_time].eq(GENERATED_EVENT_TIME).all()  # in the copy: the store needs them


def test_a_category_with_more_values_than_a_set_lists_is_checked_for_nulls_only(project: Path, tmp_path: Path):
    """More distinct values than data init lists in a value set, yet no identifier (fewer than
    half the rows): a set of some of them would fail the very data it came from."""
    rows, postcodes = 1000, MAX_CATEGORIES + 100
    frame = pd.DataFrame(
        {
            "postcode": [f"P{number % postcodes:04d}" for number in range(rows)],
            "income": [(number * 7919) % 1000 for number in range(rows)],
            "target": [number % 3 == 0 for number in range(rows)],
        }
    )
    frame.to_csv(tmp_path / "postcodes.csv", index=False)
    result = init("--data", tmp_path / "postcodes.csv", "--label", "target", "--force")
    assert result.exit_code == 0, result.output
    assert f"Column 'postcode' has {postcodes:,} distinct values, more than a value set lists" in result.output
    dataset = load_settings(project / "project.yaml").dataset
    assert dataset.categorical_features == ["postcode"]
    sample = generated_ids(read_dataset(dataset.sample, dataset), dataset, "sample")
    for name in ("training", "inference"):
        suite = load_suite(project / "data_checks" / f"{name}.json")
        checks = {entry["type"] for entry in suite["expectations"] if entry["kwargs"].get("column") == "postcode"}
        assert checks == {"expect_column_values_to_not_be_null"}
        assert validate(sample, suite, data=name, dataset=dataset).success

{%- if cookiecutter.use_feature_store == "yes" %}


def test_a_feature_group_without_an_owner_goes_to_the_projects_author(project: Path, other_data: Path):
    """Not to a made-up name: to the author answered when the project was generated."""
    import yaml

    [group] = (project / "features").glob("*.yaml")
    author = yaml.safe_load(group.read_text())["owner"]
    group.write_text("".join(line for line in group.read_text().splitlines(True) if not line.startswith("owner:")))
    assert init("--data", other_data, "--label", "target", "--force").exit_code == 0
    [written] = (project / "features").glob("*.yaml")
    assert yaml.safe_load(written.read_text())["owner"] == author
{%- endif %}


def test_a_label_value_outside_dataset_classes_fails_the_training_suite(project: Path, other_data: Path):
    assert init("--data", other_data, "--label", "target", "--force").exit_code == 0
    dataset = load_settings(project / "project.yaml").dataset
    frame = generated_ids(read_dataset(dataset.sample, dataset), dataset, "sample")
    frame.loc[3, dataset.label] = 2
    result = validate(frame, load_suite(project / "data_checks" / "training.json"), dataset=dataset)
    [failure] = result.failures
    assert (failure.column, failure.expectation) == (dataset.label, "expect_column_values_to_be_in_set")
    assert failure.examples == ["2"]


def test_without_force_nothing_is_overwritten_and_the_diff_is_shown(project: Path, other_data: Path):
    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
    result = init("--data", other_data, "--label", "target")
    assert result.exit_code == 2
    assert "--- project.yaml\n+++ project.yaml\n" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: data init would replace project.yaml")
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before
    dry = init("--data", other_data, "--label", "target", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing written." in dry.output
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--data", "nope.csv", "--label", "target"], "--data nope.csv: file not found"),
        (["--label", "nope"], "--label 'nope': no such column in"),
        (["--label", "constant"], "the label holds only 'same'; a model needs at least two label values"),
        (["--label", "target", "--facet", "nope"], "--facet 'nope': no such column"),
        (["--label", "target", "--problem-type", "regression", "--positive-label", "1"], "--positive-label is for"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(project: Path, other_data: Path, arguments, message):
    frame = pd.read_csv(other_data).assign(constant="same")
    frame.to_csv(other_data, index=False)
    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
    if "--data" not in arguments:
        arguments = ["--data", other_data, *arguments]
    result = init(*arguments, "--force")
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ") and message in line, line
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before


def test_profile_infers_the_problem_type_and_it_can_be_overridden(other_data: Path):
    frame = pd.read_csv(other_data)
    frame["grade"] = frame["cell count"] % 4
    frame["price"] = frame["mean radius"] * 1.37
    frame.to_csv(other_data, index=False)
    assert profile(other_data, "target").problem_type == "binary"
    assert profile(other_data, "grade").problem_type == "multiclass"
    assert profile(other_data, "grade").classes == [0, 1, 2, 3]
    assert profile(other_data, "price").problem_type == "regression"
    assert profile(other_data, "grade", problem_type="regression").problem_type == "regression"
    with pytest.raises(ProjectError, match="multiclass needs three or more label values"):
        profile(other_data, "target", problem_type="multiclass")


def test_a_text_column_is_numeric_only_when_every_value_is_a_number(tmp_path: Path):
    """The profile tries a few distinct values (the most frequent) as numbers first: a text after
    the first hundred still makes the column categorical. Values trimmed to the same text are
    counted as one."""
    numbers = [str(number) for number in range(300)] * 2
    frame = pd.DataFrame(
        {
            "late_text": [*numbers[:-1], "n/a-late"],  # the least frequent value: tried last
            "colour": ["red", " red ", "blue"] * 200,
            "label": [0, 1] * 300,
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    columns = profile(tmp_path / "data.csv", "label").columns
    assert columns["late_text"].kind == "categorical" and columns["late_text"].distinct == 301
    assert (columns["colour"].distinct, columns["colour"].values) == (2, ["red", "blue"])


def test_merge_replaces_only_the_named_blocks():
    text = "# head\n\ndataset:\n  a: 1\n\n# about the model\nmodel:\n  b: 2  # kept\n\n# old bias\nbias:\n  c: 3\n"
    merged = merge(text, {"dataset": "dataset:\n  a: 9\n", "bias": None, "gates": "gates:\n  g: 1\n"})
    assert merged == "# head\n\ndataset:\n  a: 9\n\ngates:\n  g: 1\n\n# about the model\nmodel:\n  b: 2  # kept\n"


def test_suites_written_are_valid_great_expectations_json(project: Path, other_data: Path):
    assert init("--data", other_data, "--label", "target", "--force").exit_code == 0
    for name in ("training", "inference"):
        raw = json.loads((project / "data_checks" / f"{name}.json").read_text(encoding="utf-8"))
        assert raw["name"] == name and raw["expectations"]
        load_suite(project / "data_checks" / f"{name}.json")  # refuses a type or argument GE does not know
