"""Data checks: the Great Expectations suites in data_checks/ against the sample and a corrupted copy of it.

Columns, values and counts come from project.yaml, the suites and the sample, so these tests hold
for any dataset `data init` set up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import in_process
from {{ cookiecutter.package }}.checks import (
    NUMBERS,
    CheckResult,
    _import_gx,
    load_suite,
    suite_path,
    validate,
    write_report,
)
from {{ cookiecutter.package }}.data import generated_ids, read_dataset, with_ids
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.settings import Settings, load_settings
from {{ cookiecutter.package }}.steps import check_data

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT / "data_checks"
SETTINGS = ROOT / "project.yaml"
DATASET = load_settings(SETTINGS).dataset
SAMPLE = ROOT / DATASET.sample
ROWS = len(pd.read_csv(SAMPLE, usecols=[0]))
LABEL, RECORD_ID = DATASET.label, DATASET.record_id


TRAINING = json.loads((SUITES / "training.json").read_text(encoding="utf-8"))["expectations"]
CHECKS = {(e["type"], e["kwargs"].get("column")): e["kwargs"] for e in TRAINING}
# The columns the corrupted copy breaks: a numeric feature the suite requires and bounds, and a
# categorical feature with a value set (the first of each in project.yaml's order; a project with
# no categorical feature has none, and test_a_value_outside_the_set_is_named covers the check).
AGE = next(
    c for c in DATASET.numeric_features
    if ("expect_column_values_to_be_between", c) in CHECKS
    and "mostly" not in CHECKS.get(("expect_column_values_to_not_be_null", c), {"mostly": 1})
)  # fmt: skip
WORKCLASS = next((c for c in DATASET.categorical_features if ("expect_column_values_to_be_in_set", c) in CHECKS), None)
TOO_BIG = int(CHECKS["expect_column_values_to_be_between", AGE]["max_value"]) * 2 + 100
UNKNOWN = "Astronaut-not-a-category"
PERCENT = f"{100 / ROWS:.2f}%"
BETWEEN = next(i for i, e in enumerate(TRAINING) if e["type"] == "expect_column_values_to_be_between")

# Rows of the sample that the corrupted copy changes, one problem each.
OUT_OF_RANGE_AGE, UNKNOWN_WORKCLASS, DUPLICATED_ID, MISSING_LABEL, NON_NUMERIC_AGE = 0, 1, 3, 4, 5
# The expectations the corrupted copy breaks, and their number.
BROKEN = sorted(
    [
        (AGE, "expect_column_values_to_be_between"),  # TOO_BIG
        (AGE, "expect_column_values_to_not_be_null"),  # 'forty' is no number either
        (AGE, NUMBERS),  # 'forty': whatever the suite says
        (LABEL, "expect_column_values_to_not_be_null"),
        (RECORD_ID, "expect_column_values_to_be_unique"),
        *([(WORKCLASS, "expect_column_values_to_be_in_set")] if WORKCLASS else []),
    ]
)
FAILED = len(BROKEN)
# One failure the report and the command's output must show, as (column, expectation, details).
if WORKCLASS:
    SHOWN = (WORKCLASS, "expect_column_values_to_be_in_set", f"1 rows ({PERCENT}) unexpected, e.g. {UNKNOWN!r}")
else:
    SHOWN = (
        AGE,
        "expect_column_values_to_be_between",
        f"1 rows ({100 / (ROWS - 1):.2f}%) unexpected, e.g. {float(TOO_BIG)!r}",  # 'forty' made the column float
    )


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(SETTINGS)


@pytest.fixture(scope="module")
def suites() -> dict[str, dict]:
    return {name: load_suite(suite_path(name, SUITES)) for name in ("training", "inference")}


@pytest.fixture(scope="module")
def sample(settings: Settings) -> pd.DataFrame:
    return generated_ids(read_dataset(SAMPLE, settings.dataset), settings.dataset, "sample")


@pytest.fixture(scope="module")
def corrupt_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample as text with five problems, written as a CSV file a user might hand in."""
    raw = with_ids(pd.read_csv(SAMPLE, dtype=str, keep_default_na=False), DATASET, "sample", generate=True)
    raw.loc[OUT_OF_RANGE_AGE, AGE] = str(TOO_BIG)
    if WORKCLASS:
        raw.loc[UNKNOWN_WORKCLASS, WORKCLASS] = UNKNOWN
    raw.loc[DUPLICATED_ID, RECORD_ID] = raw.loc[DUPLICATED_ID - 1, RECORD_ID]
    raw.loc[MISSING_LABEL, LABEL] = ""
    raw.loc[NON_NUMERIC_AGE, AGE] = "forty"
    path = tmp_path_factory.mktemp("corrupt") / "corrupt.csv"
    raw.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def duplicated_id(settings: Settings):
    """The record id the corrupted copy repeats, as the checks read it (a number or a text)."""
    raw = generated_ids(read_dataset(SAMPLE, settings.dataset), settings.dataset, "sample")
    value = raw[RECORD_ID].iloc[DUPLICATED_ID - 1]
    return value.item() if hasattr(value, "item") else value


@pytest.fixture(scope="module")
def corrupt_result(corrupt_path: Path, settings: Settings, suites: dict[str, dict]) -> CheckResult:
    return validate(read_dataset(corrupt_path, settings.dataset), suites["training"], data=str(corrupt_path))


def columns_checked(suite: dict) -> set[str]:
    return {e["kwargs"]["column"] for e in suite["expectations"] if "column" in e["kwargs"]}


def column_set(suite: dict) -> dict:
    [kwargs] = [e["kwargs"] for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set"]
    return kwargs


@pytest.mark.parametrize("name", ["training", "inference"])
def test_the_sample_passes_the_suite(name: str, sample: pd.DataFrame, suites: dict[str, dict]):
    result = validate(sample, suites[name], data="sample")
    assert result.success, result.summary()
    assert result.failures == []
    assert len(result.outcomes) == len(suites[name]["expectations"])
    total = len(result.outcomes)
    assert result.summary() == f"data checks '{name}' on sample ({ROWS:,} rows): {total}/{total} passed"


def test_an_inference_payload_without_label_or_ids_passes_the_inference_suite(
    sample: pd.DataFrame, settings: Settings, suites: dict[str, dict]
):
    payload = sample[settings.dataset.features].head(20)
    result = validate(payload, suites["inference"])
    assert result.success, result.summary()


@pytest.mark.parametrize("name", ["training", "inference"])
def test_every_feature_has_an_expectation(name: str, settings: Settings, suites: dict[str, dict]):
    missing = [column for column in settings.dataset.features if column not in columns_checked(suites[name])]
    assert missing == [], f"data_checks/{name}.json has no expectation for {missing}"


def test_the_training_suite_lists_exactly_the_sample_s_columns(
    settings: Settings, suites: dict[str, dict], sample: pd.DataFrame
):
    # Exactly the columns of the sample as the flow reads it (generated ids and times included):
    # every column project.yaml gives a role, and any the project leaves out (data init leaves out
    # e.g. a column with one value); a column more or less in new data fails the check.
    dataset = settings.dataset
    kwargs = column_set(suites["training"])
    assert kwargs.get("exact_match", True) is True
    assert sorted(kwargs["column_set"]) == sorted(sample.columns)
    assert {dataset.record_id, dataset.event_time, dataset.label, *dataset.features} <= set(kwargs["column_set"])
    assert {dataset.record_id, dataset.label} <= columns_checked(suites["training"])


def test_the_inference_suite_needs_every_feature_and_no_label(settings: Settings, suites: dict[str, dict]):
    kwargs = column_set(suites["inference"])
    assert sorted(kwargs["column_set"]) == sorted(settings.dataset.features)
    assert kwargs["exact_match"] is False  # record ids and other columns may come along
    assert settings.dataset.label not in columns_checked(suites["inference"])


def test_the_corrupted_sample_fails_exactly_the_expectations_it_breaks(corrupt_result: CheckResult):
    assert not corrupt_result.success
    failed = sorted((o.column, o.expectation) for o in corrupt_result.failures)
    assert failed == BROKEN


def test_text_in_a_numeric_column_is_reported_as_written_with_its_row(corrupt_result: CheckResult):
    failures = {(o.column, o.expectation): o for o in corrupt_result.failures}
    numbers = failures[AGE, NUMBERS]
    assert (numbers.unexpected_count, numbers.examples, numbers.rows) == (1, ["forty"], [NON_NUMERIC_AGE])
    assert numbers.line == f"{AGE}: {NUMBERS}: 1 rows ({PERCENT}) unexpected, e.g. 'forty' (row {NON_NUMERIC_AGE})"
    # The suite's own expectation on the column shows the text too, not the 'nan' it was read as.
    assert failures[AGE, "expect_column_values_to_not_be_null"].examples == ["forty"]
    assert not re.search(r"\bnan\b", corrupt_result.summary())


def test_text_in_a_numeric_column_fails_a_suite_that_does_not_check_the_column(corrupt_path: Path, settings):
    suite = {"name": "rows", "expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {}}]}
    result = validate(read_dataset(corrupt_path, settings.dataset), suite)
    assert [(o.column, o.expectation) for o in result.failures] == [(AGE, NUMBERS)]


def test_failed_outcomes_carry_unexpected_counts_and_examples(corrupt_result: CheckResult, duplicated_id: int):
    failures = {(o.column, o.expectation): o for o in corrupt_result.failures}
    age = failures[AGE, "expect_column_values_to_be_between"]
    assert (age.unexpected_count, age.examples) == (1, [TOO_BIG])
    assert age.unexpected_percent == pytest.approx(100 / (ROWS - 1))  # of the non-missing values
    if WORKCLASS:
        workclass = failures[WORKCLASS, "expect_column_values_to_be_in_set"]
        assert (workclass.unexpected_count, workclass.examples) == (1, [UNKNOWN])
    unique = failures[RECORD_ID, "expect_column_values_to_be_unique"]
    assert (unique.unexpected_count, unique.examples) == (2, [duplicated_id, duplicated_id])
    for column in (AGE, LABEL):
        missing = failures[column, "expect_column_values_to_not_be_null"]
        assert missing.unexpected_count == 1
        assert missing.unexpected_percent == pytest.approx(100 / ROWS)
    assert all(o.error is None for o in corrupt_result.outcomes)
    assert all(o.notes for o in corrupt_result.failures), "every expectation says why it matters"


def test_the_summary_names_each_failure_with_counts_and_examples(
    corrupt_result: CheckResult, corrupt_path: Path, duplicated_id: int
):
    lines = corrupt_result.summary().splitlines()
    total = len(corrupt_result.outcomes)
    assert lines[0] == f"data checks 'training' on {corrupt_path} ({ROWS:,} rows): {total - FAILED}/{total} passed"
    assert sorted(lines[1:]) == sorted(f"  FAILED {o.line}" for o in corrupt_result.failures)
    summary = "\n".join(lines)
    assert (
        f"FAILED {AGE}: expect_column_values_to_be_between: 1 rows ({100 / (ROWS - 1):.2f}%) unexpected, e.g. "
        in summary
    )
    if WORKCLASS:
        assert (
            f"FAILED {WORKCLASS}: expect_column_values_to_be_in_set: 1 rows ({PERCENT}) unexpected, e.g. {UNKNOWN!r}"
            in summary
        )
    assert (
        f"FAILED {RECORD_ID}: expect_column_values_to_be_unique: 2 rows ({200 / ROWS:.2f}%) unexpected, "
        f"e.g. {duplicated_id!r}, {duplicated_id!r}" in summary
    )
    assert f"FAILED {LABEL}: expect_column_values_to_not_be_null: 1 rows ({PERCENT}) unexpected\n" in summary + "\n"


def test_an_expectation_on_a_missing_column_fails_with_the_reason(sample: pd.DataFrame):
    suite = {
        "name": "typo",
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "agee"}}],
    }
    result = validate(sample, suite)
    [outcome] = result.outcomes
    assert not result.success
    assert "agee" in outcome.error
    assert outcome.line.startswith("agee: expect_column_values_to_not_be_null: could not be evaluated: ")


def test_write_report_lists_failures_first_in_a_markdown_table(corrupt_result: CheckResult, tmp_path: Path):
    path = write_report(corrupt_result, tmp_path / "nested" / "data_checks.md")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    total = len(corrupt_result.outcomes)
    assert lines[0] == "# Data checks 'training': FAILED"
    assert f"{ROWS:,} rows, {total - FAILED} of {total} expectations met." in text
    header = lines.index("| result | column | expectation | why it matters | details |")
    assert lines[header + 1] == "| --- | --- | --- | --- | --- |"
    rows = [line for line in lines[header + 2 :] if line.startswith("|")]
    assert len(rows) == total
    assert all(row.count("|") == 6 for row in rows), "a '|' in a value must not break the table"
    verdicts = [row.split("|")[1].strip() for row in rows]
    assert verdicts == ["**FAIL**"] * FAILED + ["pass"] * (total - FAILED)
    column, expectation, details = SHOWN
    assert f"| **FAIL** | {column} | {expectation} | " in text
    assert f"{details} |" in text


def test_write_report_of_a_passing_result(sample: pd.DataFrame, suites: dict[str, dict], tmp_path: Path):
    path = write_report(validate(sample, suites["inference"], data="sample"), tmp_path / "report.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Data checks 'inference': passed\n")
    assert "FAIL" not in text


def test_a_suite_file_that_is_not_json_names_its_path(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "broken", "expectations": [', encoding="utf-8")
    with pytest.raises(ProjectError, match="not valid JSON") as error:
        load_suite(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("content", [{"name": "empty"}, {"expectations": "all of them"}, ["not", "an", "object"]])
def test_a_suite_without_an_expectations_list_names_its_path(content, tmp_path: Path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ProjectError, match="a list of 'expectations'") as error:
        load_suite(path)
    assert str(path) in str(error.value)


def test_a_suite_takes_its_name_from_the_file_when_it_has_none(tmp_path: Path):
    path = tmp_path / "nightly.json"
    rows = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    path.write_text(json.dumps({"expectations": [rows]}), encoding="utf-8")
    assert load_suite(path)["name"] == "nightly"


def test_a_suite_without_expectations_is_refused_naming_its_file(tmp_path: Path, sample: pd.DataFrame):
    # It would pass any data ("0/0 passed") and open the data gate.
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"name": "empty", "expectations": []}), encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        load_suite(path)
    assert str(error.value).startswith(f"{path}: the suite has no expectations, so it would pass any data;")
    with pytest.raises(ProjectError, match="data-check suite 'empty': the suite has no expectations"):
        validate(sample, {"name": "empty", "expectations": []})


def typo_suite(tmp_path: Path) -> Path:
    """The training suite with one expectation type misspelt."""
    suite = json.loads((SUITES / "training.json").read_text(encoding="utf-8"))
    suite["expectations"][BETWEEN]["type"] = "expect_column_values_to_be_betwen"
    path = tmp_path / "training.json"
    path.write_text(json.dumps(suite), encoding="utf-8")
    return path


def test_an_unknown_expectation_type_is_refused_naming_file_expectation_and_types(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
):
    path = typo_suite(tmp_path)
    with pytest.raises(ProjectError) as error:
        load_suite(path)
    message = str(error.value)
    assert message.startswith(
        f"{path}: expectations.{BETWEEN}.type: unknown expectation type 'expect_column_values_to_be_betwen'; "
        "did you mean 'expect_column_values_to_be_between'? Great Expectations "
    )
    assert message.endswith("types, listed at https://greatexpectations.io/expectations/")
    assert capfd.readouterr().err == "", "no Great Expectations traceback or log line"


def test_checks_run_with_an_unknown_expectation_type_prints_one_line(tmp_path: Path):
    typo_suite(tmp_path)
    result = in_process.run_command("checks", "run", "--suite", "training", "--suites-dir", tmp_path, "--data", SAMPLE)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"Error: {tmp_path / 'training.json'}: expectations.{BETWEEN}.type: unknown expectation type "
    )


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {}}, "column: field required"),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "mni_value": 1}}, "mni_value"),
        ({"kwargs": {"column": "age"}}, "an expectation is an object with a 'type' and its 'kwargs'"),
        ("expect_column_values_to_not_be_null", "an expectation is an object with a 'type' and its 'kwargs'"),
    ],
    ids=["no column", "misspelt argument", "no type", "not an object"],
)
def test_an_expectation_that_does_not_fit_its_type_is_refused(expectation, message: str, tmp_path: Path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"expectations": [expectation]}), encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        load_suite(path)
    assert str(error.value).startswith(f"{path}: expectations.0")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_unknown_suite_name_lists_the_known_suites():
    with pytest.raises(ProjectError) as error:
        suite_path("trainig", SUITES)
    message = str(error.value)
    assert message.startswith(f"{SUITES / 'trainig.json'}: no data-check suite named 'trainig'")
    assert "inference" in message
    assert "training" in message


def test_the_processing_job_exits_1_on_bad_data_and_still_writes_its_report(
    corrupt_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    output = tmp_path / "output"
    arguments = ["--data", str(corrupt_path), "--suite", str(SUITES / "training.json")]
    with pytest.raises(SystemExit) as exit_info:
        check_data.main([*arguments, "--output", str(output), "--settings", str(SETTINGS)])
    assert exit_info.value.code == 1
    assert (output / "report.md").read_text(encoding="utf-8").startswith("# Data checks 'training': FAILED")
    result = json.loads((output / "result.json").read_text(encoding="utf-8"))
    assert result["suite"] == "training"
    assert result["rows"] == ROWS
    failed = sorted(o["column"] for o in result["outcomes"] if not o["success"])
    assert failed == sorted(column for column, _ in BROKEN)
    assert f"FAILED {SHOWN[0]}: {SHOWN[1]}" in capsys.readouterr().out
    report = (output / "report.md").read_text(encoding="utf-8")
    assert f"| **FAIL** | {AGE} | {NUMBERS} | " in report
    assert f"1 rows ({PERCENT}) unexpected, e.g. 'forty' (row {NON_NUMERIC_AGE}) |" in report
    assert not re.search(r"\bnan\b", report)


def test_the_processing_job_passes_on_the_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    output = tmp_path / "output"
    arguments = ["--data", str(SAMPLE), "--suite", str(SUITES / "training.json")]
    check_data.main([*arguments, "--output", str(output), "--settings", str(SETTINGS)])  # no SystemExit
    result = json.loads((output / "result.json").read_text(encoding="utf-8"))
    assert all(o["success"] for o in result["outcomes"])
    assert "# Data checks 'training': passed" in (output / "report.md").read_text(encoding="utf-8")
    assert " passed" in capsys.readouterr().out


def test_checks_run_exits_1_on_the_corrupted_file(corrupt_path: Path, tmp_path: Path):
    report = tmp_path / "checks.md"
    result = in_process.run_command("checks", "run", "--suite", "training", "--data", corrupt_path, "--report", report)
    assert result.returncode == 1, result.stderr
    assert f"FAILED {SHOWN[0]}: {SHOWN[1]}" in result.stdout
    assert f"Report: {report}" in result.stdout
    assert "Traceback" not in result.stderr
    assert report.read_text(encoding="utf-8").startswith("# Data checks 'training': FAILED")


def test_checks_run_exits_0_on_the_sample():
    result = in_process.run_command("checks", "run", "--suite", "inference", "--data", SAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"data checks 'inference' on {SAMPLE} ({ROWS:,} rows): ")
    assert "FAILED" not in result.stdout


def test_checks_run_with_an_unknown_suite_exits_2_with_one_error_line():
    result = in_process.run_command("checks", "run", "--suite", "nope", "--data", SAMPLE)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: data_checks/nope.json: no data-check suite named 'nope'")


def test_an_unknown_expectation_type_is_refused_not_dropped(sample: pd.DataFrame):
    # Great Expectations silently drops a type it does not know; a typo must not switch a check off.
    suite = {
        "name": "typo",
        "expectations": [{"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "age", "min_value": 0}}],
    }
    with pytest.raises(ProjectError, match="expect_column_values_to_be_betwen"):
        validate(sample, suite)


def test_a_value_outside_the_set_is_named():
    # A frame and suite of the test's own: the corrupted sample breaks a value set only when the
    # project has a categorical feature with one.
    frame = pd.DataFrame({"colour": ["red", "blue", "mauve", "red", None]})
    suite = {
        "name": "colours",
        "expectations": [
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "colour", "value_set": ["red", "blue"]}}
        ],
    }
    result = validate(frame, suite, data="colours")
    [outcome] = result.failures
    assert (outcome.column, outcome.unexpected_count, outcome.examples) == ("colour", 1, ["mauve"])
    assert outcome.line == "colour: expect_column_values_to_be_in_set: 1 rows (25.00%) unexpected, e.g. 'mauve'"


def test_categorical_values_are_checked_as_the_pipeline_reads_them(tiny_frame: pd.DataFrame, tiny_dataset):
    """Trimmed, with '' and '?' missing (transforms.clean): a value set's 'Self-emp-not-inc' is the
    file's ' Self-emp-not-inc ', and '?' fails a null check rather than the value set."""
    suite = {
        "name": "workclass",
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "workclass", "value_set": ["State-gov", "Self-emp-not-inc"]},
            },
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "workclass"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "occupation", "mostly": 0.75}},
        ],
    }
    result = validate(tiny_frame, suite, dataset=tiny_dataset)
    [outcome] = result.failures
    assert (outcome.expectation, outcome.column, outcome.unexpected_count) == (
        "expect_column_values_to_not_be_null",
        "workclass",
        2,
    )


def test_batches_are_not_fingerprinted():
    """checks switches off GE's batch fingerprint (a hash of every value, unused here, slower than
    the checks on large files). This fails when a GE upgrade stops reading the switch."""
    gx = _import_gx()
    from great_expectations.execution_engine import pandas_execution_engine as engine

    frame = pd.DataFrame({"x": [1, 2]})
    batches = gx.get_context(mode="ephemeral").data_sources.add_pandas("p").add_dataframe_asset("a")
    whole = batches.add_batch_definition_whole_dataframe("all")
    assert "pandas_data_fingerprint" not in whole.get_batch(batch_parameters={"dataframe": frame}).batch_markers
    switched_off, engine.HASH_THRESHOLD = engine.HASH_THRESHOLD, 1e9  # GE's own default
    try:
        assert "pandas_data_fingerprint" in whole.get_batch(batch_parameters={"dataframe": frame}).batch_markers
    finally:
        engine.HASH_THRESHOLD = switched_off


def test_a_validation_builds_each_expectation_s_configuration_once(
    sample: pd.DataFrame, suites: dict[str, dict], monkeypatch
):
    """GE rebuilds an expectation's configuration (one pydantic dump each) whenever it reads one of
    its arguments: about 128 dumps an expectation in a validation of the sample, 16 with checks'
    memo. This fails when a GE upgrade stops going through what checks wraps."""
    from great_expectations.expectations.expectation import Expectation

    validate(sample, suites["training"])  # GE imported and checks' memo in place
    dumps = []
    dump = Expectation.dict
    monkeypatch.setattr(Expectation, "dict", lambda self, *args, **kw: dumps.append(1) or dump(self, *args, **kw))
    result = validate(sample, suites["training"])
    assert result.success, result.summary()
    assert len(dumps) < 30 * len(result.outcomes), f"{len(dumps)} configurations built for {len(result.outcomes)}"


def test_a_validation_builds_each_expectation_from_its_configuration_a_few_times_only(
    sample: pd.DataFrame, suites: dict[str, dict], monkeypatch
):
    """GE builds an expectation (a pydantic model) from its configuration for each metric it asks
    the arguments of: about 16 builds an expectation in a validation of the sample, 5 with checks'
    memo. This fails when a GE upgrade stops going through what checks wraps."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    validate(sample, suites["training"])  # GE imported and checks' memo in place
    builds = []
    implementation = ExpectationConfiguration._get_expectation_impl  # each build looks its class up once
    monkeypatch.setattr(
        ExpectationConfiguration, "_get_expectation_impl", lambda self: builds.append(1) or implementation(self)
    )
    result = validate(sample, suites["training"])
    assert result.success, result.summary()
    assert len(builds) < 8 * len(result.outcomes), f"{len(builds)} expectations built for {len(result.outcomes)}"


def test_metric_ids_are_those_ge_s_own_converter_gives(sample: pd.DataFrame, suites: dict[str, dict], monkeypatch):
    """checks converts metric arguments of JSON's own types itself for GE's metric ids (GE's
    converter probes each value through pydantic, pandas and numpy first): the same JSON, so the
    same ids, for every metric of a validation of the sample. This fails when the two differ or a
    GE upgrade stops going through what checks replaces."""
    from great_expectations import util
    from great_expectations.core import id_dict

    validate(sample, suites["training"])  # GE imported and checks' converter in place
    ours, differ, seen = id_dict.convert_to_json_serializable, [], []

    def compared(data):
        converted = ours(data)
        seen.append(data)
        if json.dumps(converted, sort_keys=True) != json.dumps(util.convert_to_json_serializable(data), sort_keys=True):
            differ.append(data)
        return converted

    monkeypatch.setattr(id_dict, "convert_to_json_serializable", compared)
    result = validate(sample, suites["training"])
    assert result.success, result.summary()
    assert len(seen) > len(result.outcomes) and not differ, differ[:3]
    edges = {"nan": float("nan"), "inf": float("inf"), 1: (True, None, 2.5, "x"), "numpy": [{"k": np.int64(3)}]}
    compared(edges)  # NaN, keys that are not text, a tuple, a value only GE's converter knows
    assert not differ, differ
