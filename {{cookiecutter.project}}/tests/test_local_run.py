"""The local run: the whole flow in-process, written to the output directory only when it finishes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

import in_process
from {{ cookiecutter.package }}.cli import conclude
from {{ cookiecutter.package }}.data import feature_store_enabled
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.gates import format_value, metric_value, metrics_section
from {{ cookiecutter.package }}.local import LocalRun, run_local
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import METRIC_RANGES, QUALITY_METRICS, Limit, Settings

PNG = b"\x89PNG\r\n\x1a\n"
# How the evaluate stage's summary names each problem type's headline metric.
HEADLINE = {"binary": ("AUC", "auc"), "multiclass": ("accuracy", "accuracy"), "regression": ("RMSE", "rmse")}


def stage_names(settings: Settings) -> list[str]:
    names = ["read data", "data checks", "preprocess", "train", "evaluate", "bias", "explain", "report"]
    return names if settings.bias else [name for name in names if name != "bias"]


def read_evaluation(run: LocalRun) -> dict:
    return json.loads((run.out / "evaluation.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def unmet(local_run, settings: Settings) -> tuple[str, float, Limit]:
    """A quality metric (the project's gated ones first), the value the passing run reached, and a
    limit beyond it (halfway to perfect, or half the error): the same training cannot meet it."""
    run, _ = local_run
    evaluation = read_evaluation(run)
    for name in [*settings.gates.quality, *QUALITY_METRICS[settings.dataset.problem_type]]:
        value, high = metric_value(evaluation, name), METRIC_RANGES[name][1]
        if value is None:
            continue  # expected_cost without decision.costs
        if high is None and value > 0:  # an error or cost: lower is better
            return name, value, Limit(max=round(value / 2, 6))
        if high is not None and value < high:
            return name, value, Limit(min=round((value + high) / 2, 6))
    raise AssertionError(f"every quality metric is already perfect: {metrics_section(evaluation)}")


@pytest.fixture(scope="module")
def failing(unmet, settings_path: Path, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """`local run` (the command, in this process) with a quality gate the model cannot meet, into a
    directory an earlier run left behind: the command's result and its output directory."""
    name, _, limit = unmet
    base = tmp_path_factory.mktemp("local")
    raw = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    raw["gates"]["quality"] = {name: limit.model_dump(exclude_none=True)}
    stricter = base / "project.yaml"
    stricter.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = base / "run"
    out.mkdir()
    (out / "report.md").write_text("an earlier run's report", encoding="utf-8")
    (out / "stale.txt").write_text("from an earlier run", encoding="utf-8")
    return in_process.run_command("local", "run", "--settings", stricter, "--out", out), out


def test_run_writes_the_report_charts_evaluation_model_and_data(local_run):
    run, _ = local_run
    names = {path.name for path in run.out.iterdir()}
    assert {"report.md", "curves.png", "evaluation.json", "model", "data", "data_checks.md"} <= names


def test_run_writes_explanations_and_their_charts(local_run):
    run, _ = local_run
    names = {path.name for path in run.out.iterdir()}
    assert {"explainability.json", "explained_predictions.json", "shap_global.png", "shap_example.png"} <= names


def test_run_writes_bias_results_only_when_configured(local_run, settings: Settings):
    run, _ = local_run
    assert (run.out / "bias.json").is_file() == (settings.bias is not None)
    assert (run.out / "bias.png").is_file() == (settings.bias is not None)


def test_run_writes_the_splits_and_a_loadable_model(local_run, settings: Settings):
    run, _ = local_run
    for name in ["train", "validation", "test"]:
        assert (run.out / "data" / name / f"{name}.csv").is_file()
    model = TrainedModel.load(run.out / "model")
    assert model.spec.features == settings.dataset.features


def test_charts_are_png_images(local_run):
    run, _ = local_run
    charts = sorted(run.out.glob("*.png"))
    assert len(charts) >= 3
    for chart in charts:
        assert chart.read_bytes()[:8] == PNG, chart.name


def test_run_passes_every_gate(local_run, settings: Settings):
    run, _ = local_run
    assert run.passed
    evaluation = read_evaluation(run)
    quality = [gate for gate in run.gates if gate.gate == "quality"]
    assert [gate.metric for gate in quality] == list(settings.gates.quality)
    for gate in quality:
        assert gate.value == metric_value(evaluation, gate.metric), gate.metric
        assert settings.gates.quality[gate.metric].allows(gate.value), gate.message
    assert {gate.gate for gate in run.gates} >= {"data", "quality"}


def test_progress_lines_start_and_finish_each_stage_in_order(local_run, settings: Settings):
    _, lines = local_run
    names = stage_names(settings)
    total = len(names)
    expected = []
    for number, name in enumerate(names, start=1):
        expected += [f"[{number}/{total}] {name} ...", f"[{number}/{total}] {name}: "]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line
    assert lines[-1].endswith(" s)")


def test_progress_lines_summarise_each_stage(local_run, sample: pd.DataFrame, settings: Settings):
    run, lines = local_run
    summaries = "\n".join(lines)
    assert f"read data: {len(sample):,} rows from" in summaries
    sizes = {
        name: len(pd.read_csv(run.out / "data" / name / f"{name}.csv")) for name in ("train", "validation", "test")
    }
    assert sum(sizes.values()) == len(sample)
    assert "preprocess: " + ", ".join(f"{name} {rows:,}" for name, rows in sizes.items()) in summaries
    assert "train: best round" in summaries
    shown, name = HEADLINE[settings.dataset.problem_type]
    assert f"evaluate: test {shown} {metric_value(read_evaluation(run), name):.4f}" in summaries
    assert "report: report.md with charts" in summaries


def test_report_states_the_decision_and_links_the_charts(local_run, settings: Settings):
    run, _ = local_run
    report = (run.out / "report.md").read_text(encoding="utf-8")
    assert "**Decision: the model may be registered.**" in report
    for name in settings.gates.quality:
        assert f"| quality | {name} |" in report
    assert "](curves.png)" in report
    assert "FAIL" not in report


def test_the_reports_quality_table_shows_every_metric_evaluation_json_holds(local_run):
    run, _ = local_run
    report = (run.out / "report.md").read_text(encoding="utf-8")
    table = report.split("## Quality on the test set", 1)[1]
    for name, entry in metrics_section(read_evaluation(run)).items():
        if isinstance(entry, dict) and "value" in entry:
            assert f"| {name} | {entry['value']:.4f} |" in table, name


def test_a_passing_run_ends_with_its_gates_report_and_decision(local_run, capsys):
    """What `local run` prints last (stdout), after its progress lines (stderr)."""
    run, _ = local_run
    conclude(run)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Gates: ") and "FAILED" not in "\n".join(lines)
    assert lines[-2:] == [f"Report: {run.out / 'report.md'}", "Decision: the model may be registered."]


def test_no_partial_directory_is_left_after_a_run(local_run):
    run, _ = local_run
    assert sorted(path.name for path in run.out.parent.iterdir() if path.name.startswith(f".{run.out.name}.")) == []


def test_an_unmet_quality_gate_fails_the_run(failing, unmet):
    """Exit 1 (a refused gate), the gate named with its value, limit and setting, the decision last."""
    result, _ = failing
    name, value, limit = unmet
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Gates: ") and len([line for line in lines if "gate FAILED" in line]) == 1
    assert lines[1].startswith(f"quality gate FAILED: {name} {format_value(value)}, expected {limit}; ")
    assert f"gates.quality.{name}" in lines[1]
    assert "Decision: the model may be registered." not in result.stdout
    assert result.stderr.splitlines()[-1] == "Decision: the model must not be registered."


def test_an_unmet_quality_gate_report_says_fail(failing, unmet):
    name, _, limit = unmet
    report = (failing[1] / "report.md").read_text(encoding="utf-8")
    assert "**Decision: the model must not be registered.**" in report
    assert f"| quality | {name} |" in report
    assert f"| {limit} | **FAIL** |" in report
    assert "may be registered" not in report


def test_failing_run_still_writes_its_evidence(failing):
    assert (failing[1] / "evaluation.json").is_file()
    assert (failing[1] / "model").is_dir()


def test_a_run_replaces_the_previous_output(failing):
    assert not (failing[1] / "stale.txt").exists()
    assert (failing[1] / "report.md").is_file()


def test_data_that_fails_its_checks_stops_before_training(
    settings: Settings, sample: pd.DataFrame, suites_dir: Path, tmp_path: Path
):
    bad = tmp_path / "bad.csv"
    column = settings.dataset.features[0]
    sample.drop(columns=[column]).to_csv(bad, index=False)
    lines: list[str] = []
    run = run_local(settings, data=bad, out=tmp_path / "run", suites=suites_dir, echo=lines.append)
    assert not run.passed
    assert [gate.gate for gate in run.gates] == ["data"]
    assert "Stopping before training: the data failed its checks." in lines
    assert not (run.out / "model").exists()
    assert not (run.out / "evaluation.json").exists()
    report = (run.out / "report.md").read_text(encoding="utf-8")
    assert "**Decision: the model must not be registered.**" in report
    assert "Training did not run" in report
    assert column in (run.out / "data_checks.md").read_text(encoding="utf-8")


def test_unreadable_data_raises_and_leaves_the_existing_output_untouched(
    settings: Settings, suites_dir: Path, tmp_path: Path
):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00 not text")
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.md").write_text("the previous report", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"bad\.csv: not a readable CSV file"):
        run_local(settings, data=bad, out=out, suites=suites_dir, echo=lambda _: None)
    assert [path.name for path in out.iterdir()] == ["report.md"]
    assert (out / "report.md").read_text(encoding="utf-8") == "the previous report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.csv", "run"]  # nothing built aside is left


def test_missing_data_file_raises_and_leaves_nothing_behind(settings: Settings, suites_dir: Path, tmp_path: Path):
    with pytest.raises(ProjectError, match="file not found"):
        run_local(settings, data=tmp_path / "missing.csv", out=tmp_path / "run", suites=suites_dir, echo=print)
    assert list(tmp_path.iterdir()) == []


def test_missing_suite_raises_naming_it(settings: Settings, sample_path: Path, tmp_path: Path):
    with pytest.raises(ProjectError, match="no data-check suite named 'training'"):
        run_local(settings, data=sample_path, out=tmp_path / "run", suites=tmp_path, echo=lambda _: None)
    assert list(tmp_path.iterdir()) == []  # nothing built aside is left


def test_refuses_to_replace_a_directory_that_is_not_run_output(settings: Settings, sample_path: Path, tmp_path: Path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ProjectError, match="not the output of an earlier run"):
        run_local(settings, data=sample_path, out=notes)
    assert (notes / "todo.txt").read_text(encoding="utf-8") == "keep me"


def test_refuses_the_current_directory_as_output(settings: Settings, sample_path: Path, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectError, match="current directory"):
        run_local(settings, data=sample_path, out=Path("."))


def test_text_in_a_numeric_column_fails_the_data_checks_with_the_text_shown(
    settings: Settings, sample_path: Path, suites_dir: Path, tmp_path: Path
):
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    column = settings.dataset.numeric_features[0]
    raw.loc[5, column] = "forty"
    raw.to_csv(tmp_path / "in.csv", index=False)
    lines: list[str] = []
    run = run_local(settings, data=tmp_path / "in.csv", out=tmp_path / "run", suites=suites_dir, echo=lines.append)
    assert [(gate.gate, gate.passed) for gate in run.gates] == [("data", False)]
    assert any(f"FAILED {column}: numbers only" in line and "e.g. 'forty' (row 5)" in line for line in lines), lines
    report = (run.out / "data_checks.md").read_text(encoding="utf-8")
    assert "'forty' (row 5)" in report
    assert not re.search(r"\bnan\b", report, re.IGNORECASE), "the text is shown as written, never as nan"
    assert not (run.out / "model").exists()


@pytest.fixture
def lenient_suites(tmp_path: Path) -> Path:
    """A training suite that checks only the row count: what the data checks do not catch, the run must."""
    directory = tmp_path / "suites"
    directory.mkdir()
    rows = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    (directory / "training.json").write_text(json.dumps({"name": "training", "expectations": [rows]}))
    return directory


@pytest.mark.skipif(not feature_store_enabled(), reason="without the Feature Store, ids and times are generated")
@pytest.mark.parametrize("roles", [["record_id"], ["event_time"], ["record_id", "event_time"]])
def test_with_the_feature_store_data_without_id_or_time_columns_is_refused_before_training(
    roles: list[str], settings: Settings, sample: pd.DataFrame, lenient_suites: Path, tmp_path: Path
):
    # Before, training succeeded and the explain stage then failed with a KeyError.
    columns = [getattr(settings.dataset, role) for role in roles]
    data = tmp_path / "in.csv"
    sample.drop(columns=columns).to_csv(data, index=False)
    lines: list[str] = []
    with pytest.raises(ProjectError) as caught:
        run_local(settings, data=data, out=tmp_path / "run", suites=lenient_suites, echo=lines.append)
    named = " or ".join(repr(column) for column in columns)
    assert str(caught.value).startswith(f"{data}: no {named} column; the Feature Store needs each row's record id")
    assert not any(" train" in line for line in lines)
    assert not (tmp_path / "run").exists()


def test_label_values_the_problem_type_cannot_learn_stop_the_run_before_training(
    settings: Settings, sample: pd.DataFrame, lenient_suites: Path, tmp_path: Path
):
    """Classification: a value outside dataset.classes (a near-miss of a class) is refused; regression:
    text in the label fails the data checks' numbers-only check, which every suite gets."""
    data = tmp_path / "in.csv"
    dataset = settings.dataset
    label, classes = dataset.label, dataset.classes
    variant = "high" if classes is None else f"{classes[-1]}x"
    sample[label] = sample[label].astype(object)
    sample.loc[sample.index[:25], label] = variant
    sample.to_csv(data, index=False)
    if dataset.problem_type == "regression":
        lines: list[str] = []
        run = run_local(settings, data=data, out=tmp_path / "run", suites=lenient_suites, echo=lines.append)
        assert [(gate.gate, gate.passed) for gate in run.gates] == [("data", False)]
        assert any(
            f"FAILED {label}: numbers only" in line and "25 rows" in line and f"e.g. {variant!r} (row 0)" in line
            for line in lines
        ), lines
        assert "Stopping before training: the data failed its checks." in lines
        assert not (run.out / "model").exists()
        return
    with pytest.raises(ProjectError) as caught:
        run_local(settings, data=data, out=tmp_path / "run", suites=lenient_suites, echo=lambda _: None)
    message = str(caught.value)
    assert message.startswith(f"{data}: label column {label!r} holds value(s) outside dataset.classes {classes}")
    assert f": {variant!r} (25) (all values seen:" in message
    assert "list every label value under dataset.classes in project.yaml" in message
