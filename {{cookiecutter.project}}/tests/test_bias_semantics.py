"""Bias semantics that fit other data: the favourable outcome, audit-only facet columns, numeric
facets by range, a minimum group size per facet, and confidence intervals of the gated metrics.

Metrics are checked on hand-built rows; the sample is used only where the whole flow (local run,
preprocess job, pipeline definition) must carry a facet, never for its numbers.
This file is removed with bias.py when the project is generated with use_clarify=no.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package }} import bias, bias_intervals
from {{ cookiecutter.package }}.bias_facets import clarify_label_values
from {{ cookiecutter.package }}.data import read_dataset
from {{ cookiecutter.package }}.gates import METRICS_KEY, bias_gates, metric_values
from {{ cookiecutter.package }}.local import run_local
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.pipeline.definition import build
from {{ cookiecutter.package }}.settings import Bias, Dataset, Facet, Limit, Range, load_settings
from {{ cookiecutter.package }}.steps import gate, job_paths, preprocess
from {{ cookiecutter.package }}.steps.preprocess import split_dataset
from {{ cookiecutter.package }}.transforms import FeatureSpec

ROOT = Path(__file__).resolve().parents[1]
PRE, POST = "pre_training_bias_metrics", "post_training_bias_metrics"
# Where a project gates no DPPL (yet), the tests that need a gated metric add this one.
ANY_DPPL = {"min": -1.0, "max": 1.0}


def with_dppl_gated(raw: dict) -> dict:
    """project.yaml (as a mapping) with DPPL computed and gated: the project's own limit, else ANY_DPPL."""
    config = raw["bias"]
    config["post_training_metrics"] = sorted({*config["post_training_metrics"], "DPPL"})
    config["thresholds"] = {**{"DPPL": ANY_DPPL}, **(config.get("thresholds") or {})}
    return raw


def passing_evaluation(settings) -> dict:
    """evaluation.json for the project's type with each gated quality metric exactly at its limit."""
    quality = {
        name: {"value": limit.min if limit.min is not None else limit.max}
        for name, limit in settings.gates.quality.items()
    }
    return {METRICS_KEY[settings.dataset.problem_type]: quality}


def dataset(**change) -> Dataset:
    fields = {
        "sample": "hand.csv",
        "label": "y",
        "classes": ["0", "1"],
        "positive_label": "1",
        "numeric_features": ["x"],
        "categorical_features": ["sex"],
    }
    return Dataset(**{**fields, **change})


BINARY = dataset()
SPEC = FeatureSpec(label="y", positive_label="1", numeric=["x"], categories={"sex": ["Female", "Male"]})


def values(analysis_json: dict) -> dict[tuple[str, str, str], float | None]:
    return {(column, group, name): value for _, column, group, name, value, _ in metric_values(analysis_json)}


def analyse(frame: pd.DataFrame, predicted, data: Dataset, config: Bias) -> dict:
    return bias.analysis(
        bias.pre_training(frame, data, config), bias.post_training(frame, np.asarray(predicted), SPEC, data, config)
    )


# -- favourable outcome ----------------------------------------------------------------------------------------------

# 4 rows of sex = Female (d), 6 of Male (a); labels and predictions as in test_bias.py.
SEX = ["Female"] * 4 + ["Male"] * 6
LABEL = [1, 0, 0, 0, 1, 1, 1, 0, 0, 0]
PREDICTED = [1, 1, 0, 0, 1, 0, 0, 0, 0, 1]


def sex_frame() -> pd.DataFrame:
    return pd.DataFrame({"y": LABEL, "x": np.arange(10.0), "sex": SEX})


def sex_bias(**change) -> Bias:
    fields = {
        "facets": [Facet(column="sex", sensitive_values=["Female"], min_rows=1)],
        "pre_training_metrics": ["CI", "DPL"],
        "post_training_metrics": ["DPPL", "DI", "AD"],
    }
    return Bias(**{**fields, **change})


def test_naming_the_other_class_favourable_flips_the_sign_of_dpl():
    """When the positive label is the unfavourable outcome (reoffending, default), DPL and DPPL say
    how much less often the group gets the *favourable* one: the sign flips, CI and AD do not."""
    positive = values(analyse(sex_frame(), PREDICTED, BINARY, sex_bias()))
    negative = values(analyse(sex_frame(), PREDICTED, BINARY, sex_bias(favourable_labels=["0"])))
    assert positive["sex", "Female", "DPL"] == pytest.approx(3 / 6 - 1 / 4)  # label 1: a 3/6, d 1/4
    assert negative["sex", "Female", "DPL"] == pytest.approx(3 / 6 - 3 / 4)  # label 0: a 3/6, d 3/4
    assert negative["sex", "Female", "DPPL"] == pytest.approx(4 / 6 - 2 / 4)  # predicted 0: a 4/6, d 2/4
    assert negative["sex", "Female", "DI"] == pytest.approx((2 / 4) / (4 / 6))
    for metric in ("CI", "AD"):
        assert negative["sex", "Female", metric] == pytest.approx(positive["sex", "Female", metric])
    assert bias.label_values_or_threshold(BINARY, sex_bias(favourable_labels=["0"])) == [0]
    assert bias.label_values_or_threshold(BINARY, sex_bias()) == [1]  # default: [positive_label]
    assert bias.favourable_text(BINARY, sex_bias(favourable_labels=["0"])) == "y = 0"


def test_a_multiclass_favourable_outcome_is_given_as_class_indices():
    data = dataset(problem_type="multiclass", classes=["low", "medium", "high"], positive_label=None)
    config = sex_bias(favourable_labels=["high", "medium"], post_training_metrics=["DPPL"])
    assert bias.label_values_or_threshold(data, config) == [1, 2]  # positions in dataset.classes
    assert bias.favourable_text(data, config) == "y in (high, medium)"
    # Clarify's CSV holds a multiclass label by class name, the name its predicted labels carry.
    assert clarify_label_values(data, config) == ["medium", "high"]
    as_clarify_reads = bias.clarify_frame(sex_frame().assign(y=[2, 0, 1, 0, 0, 0, 0, 0, 0, 0]), data, config)
    assert as_clarify_reads["y"].tolist()[:3] == ["high", "low", "medium"]
    # Class indices as the label: d has 1 of 4 rows in {1, 2}, a has 4 of 6.
    frame = sex_frame().assign(y=[2, 0, 0, 0, 1, 2, 1, 2, 0, 0])
    found = values(analyse(frame, [1, 1, 0, 0, 2, 0, 0, 0, 0, 1], data, config))
    assert found["sex", "Female", "DPL"] == pytest.approx(4 / 6 - 1 / 4)
    assert found["sex", "Female", "DPPL"] == pytest.approx(2 / 6 - 2 / 4)


def test_a_regression_label_above_the_favourable_threshold_is_favourable():
    data = Dataset(
        sample="hand.csv", label="y", problem_type="regression", numeric_features=["x"], categorical_features=["sex"]
    )
    config = sex_bias(favourable_threshold=40, post_training_metrics=["DPPL"])
    assert bias.label_values_or_threshold(data, config) == [40.0]  # Clarify: the exclusive lower bound
    # d: 1 of 4 above 40 (40 itself is not); a: 3 of 6.
    frame = sex_frame().assign(y=[55.0, 40.0, 10.0, 20.0, 41.0, 90.0, 60.0, 5.0, 39.9, 12.0])
    predicted = [50.0, 45.0, 30.0, 1.0, 60.0, 20.0, 20.0, 0.0, 10.0, 70.0]  # d 2 of 4, a 2 of 6
    found = values(analyse(frame, predicted, data, config))
    assert found["sex", "Female", "DPL"] == pytest.approx(3 / 6 - 1 / 4)
    assert found["sex", "Female", "DPPL"] == pytest.approx(2 / 6 - 2 / 4)


# -- numeric facets by range ------------------------------------------------------------------------------------------

# age < 25 is the first four rows: 24.9 is in, 25 is not (min <= value < max); a missing age is not.
AGE = [19, 21, 23, 24.9, 25, 30, 35, 40, 45, 50, 55, None]
AGE_LABEL = [0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1]
AGE_PREDICTED = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1]
AGE_BY_HAND = {  # d: 4 rows, a: 8 rows
    "CI": (8 - 4) / 12,
    "DPL": 6 / 8 - 1 / 4,  # labels 1: a 6/8, d 1/4
    "DPPL": 5 / 8 - 2 / 4,  # predicted 1: a 5/8, d 2/4
    "DI": (2 / 4) / (5 / 8),
    "AD": 7 / 8 - 3 / 4,  # accuracy: a 7/8, d 3/4
}


def age_frame() -> pd.DataFrame:
    return pd.DataFrame({"y": AGE_LABEL, "x": np.arange(12.0), "sex": ["Male"] * 12, "age": AGE})


def age_bias(**change) -> Bias:
    fields = {
        "facets": [Facet(column="age", sensitive_range=Range(max=25), min_rows=1)],
        "pre_training_metrics": ["CI", "DPL"],
        "post_training_metrics": ["DPPL", "DI", "AD"],
        "thresholds": {"DPPL": Limit(min=-0.1, max=0.1)},
    }
    return Bias(**{**fields, **change})


def test_a_range_facet_is_a_readable_derived_column():
    views = bias.facet_views(Bias(facets=[
        Facet(column="age", sensitive_range=Range(max=25)),
        Facet(column="age", sensitive_range=Range(min=30, max=50)),
        Facet(column="age", sensitive_range=Range(min=65)),
        Facet(column="race", sensitive_values=["Black", "Other"]),
    ]))  # fmt: skip
    assert [view.column for view in views] == ["age<25", "30<=age<50", "age>=65", "race"]
    assert [view.group for view in views] == ["age < 25", "30 <= age < 50", "age >= 65", "race = Black, Other"]
    assert [view.values for view in views] == [["yes"], ["yes"], ["yes"], ["Black", "Other"]]


@pytest.mark.parametrize("metric", sorted(AGE_BY_HAND))
def test_a_range_facet_metric_equals_the_hand_computed_value(metric: str):
    found = values(analyse(age_frame(), AGE_PREDICTED, BINARY, age_bias()))
    assert found["age<25", "yes", metric] == pytest.approx(AGE_BY_HAND[metric])


def test_the_clarify_csv_carries_the_same_range_group_the_local_analysis_uses(tmp_path: Path):
    """What Clarify reads (the preprocess step's CSV, with the DataConfig's headers, the BiasConfig's
    facet and label values) gives the local analysis's numbers: the same rows are in the group."""
    from smclarify.bias import report

    # Four copies of the rows: Clarify, like smclarify, reads a 0/1 label column of 40 rows or fewer
    # as a continuous score ("label > 1"); the metrics are ratios, so copies leave them unchanged.
    frame, config = pd.concat([age_frame()] * 4, ignore_index=True), age_bias()
    data = dataset(numeric_features=["x"], categorical_features=["sex"])  # age is audit-only here
    clarify = bias.clarify_frame(frame, data, config)
    assert list(clarify.columns) == ["y", "x", "sex", "age", "age<25"] == bias.clarify_columns(data, config)
    assert clarify["age<25"].tolist() == (["yes"] * 4 + ["no"] * 8) * 4
    clarify.to_csv(tmp_path / "train.csv", index=False, header=False)
    read = pd.read_csv(tmp_path / "train.csv", header=None, names=bias.clarify_columns(data, config))
    labels = bias.label_values_or_threshold(data, config)
    result = report.bias_report(
        read[["age<25", "y"]],
        report.FacetColumn("age<25", ["yes"]),
        report.LabelColumn("y", read["y"], labels),
        report.StageType.PRE_TRAINING,
        metrics=["CI", "DPL"],
    )
    by_clarify = {metric["name"]: metric["value"] for metric in result[0]["metrics"]}
    local = values(bias.analysis(bias.pre_training(frame, data, config)))
    assert by_clarify == pytest.approx({name: local["age<25", "yes", name] for name in ("CI", "DPL")})
    assert by_clarify["DPL"] == pytest.approx(AGE_BY_HAND["DPL"])


@pytest.mark.parametrize(
    ("facet", "message"),
    [
        (
            Facet(column="age", sensitive_range=Range(max=2.5)),
            "hand.csv: bias facet 'age': no row has age < 2.5 (values from 19 to 55), so there is no group to "
            "compare; correct bias.facets.0.sensitive_range in project.yaml",
        ),
        (
            Facet(column="age", sensitive_range=Range(min=0)),
            "hand.csv: bias facet 'age': every row has age >= 0",
        ),
        (
            Facet(column="zodiac", sensitive_values=["Leo"]),
            "hand.csv: bias facet column(s) zodiac not in the data; correct bias.facets in project.yaml",
        ),
    ],
    ids=["range holds no row", "range holds every row", "facet column missing"],
)
def test_a_facet_that_cannot_be_measured_is_refused_before_training(facet: Facet, message: str):
    from {{ cookiecutter.package }}.errors import ProjectError

    frame = age_frame().dropna()
    with pytest.raises(ProjectError) as error:
        bias.check_facets(frame, Bias(facets=[facet]), "hand.csv")
    assert str(error.value).startswith(message)


# -- min_rows: too few rows to judge ----------------------------------------------------------------------------------


def test_a_group_below_min_rows_fails_the_gate_as_too_few_rows_to_judge():
    frame = sex_frame()
    config = sex_bias(
        facets=[Facet(column="sex", sensitive_values=["Female"], min_rows=5)],
        thresholds={"DPPL": Limit(min=-1, max=1), "DI": Limit(min=0.8)},
    )
    rows = metric_values(analyse(frame, PREDICTED, BINARY, config))
    gates = bias_gates(rows, config, bias.facet_groups(frame, BINARY, config))
    assert [result.metric for result in gates] == ["DI[sex = Female]", "DPPL[sex = Female]"]
    for result in gates:  # DPPL -1/6 lies in [-1, 1], but 4 rows cannot tell: the gate fails, whatever the value
        assert not result.passed
        assert result.value is None
        assert result.reading == "too few rows to judge (4 rows, minimum 5)"
        assert result.message.startswith(
            f"bias gate FAILED: {result.metric} too few rows to judge (4 rows, minimum 5), "
        )
        assert result.message.endswith(
            "; the group sex = Female has 4 row(s) in the test split, too few for a stable "
            f"{result.metric[: result.metric.index('[')]}; judge it on more data or a larger split.test, "
            "or lower bias.facets.0.min_rows in project.yaml after review"
        )
    enough = config.model_copy(update={"facets": [Facet(column="sex", sensitive_values=["Female"], min_rows=4)]})
    assert all(result.passed for result in bias_gates(rows, enough, bias.facet_groups(frame, BINARY, enough)))


def test_everyone_else_below_min_rows_is_named_so():
    frame = sex_frame()
    config = sex_bias(
        facets=[Facet(column="sex", sensitive_values=["Male"], min_rows=5)], thresholds={"DI": Limit(min=0)}
    )
    rows = metric_values(analyse(frame, PREDICTED, BINARY, config))
    [result] = bias_gates(rows, config, bias.facet_groups(frame, BINARY, config))
    assert result.reading == "too few rows to judge (4 rows, minimum 5)"
    assert "the group everyone but sex = Male has 4 row(s) in the test split" in result.message


def test_the_pipeline_gate_step_judges_too_few_rows_alike(tmp_path: Path, settings_path: Path):
    """The gate step reads the preprocess step's facet_groups.json beside Clarify's analysis.json."""
    settings_path_ = tmp_path / "project.yaml"
    settings_path_.write_text(yaml.safe_dump(with_dppl_gated(yaml.safe_load(settings_path.read_text()))))
    settings_path = settings_path_
    settings = load_settings(settings_path)
    facet = settings.bias.facets[0]
    [view] = [view for view in bias.facet_views(settings.bias) if view.position == 0]
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps(passing_evaluation(settings)))
    analysis = tmp_path / "model_bias"
    analysis.mkdir()
    metrics = [{"name": name, "value": 0.0} for name in settings.bias.thresholds]
    facets = {view.column: [{"value_or_threshold": view.value_or_threshold, "metrics": metrics}]}
    (analysis / "analysis.json").write_text(json.dumps({POST: {"facets": facets}}))
    groups = {"favourable": bias.favourable_text(settings.dataset, settings.bias), "groups": [
        {"position": 0, "column": view.column, "value_or_threshold": view.value_or_threshold, "group": view.group,
         "rows": facet.min_rows - 1, "others": 700, "min_rows": facet.min_rows},
    ]}  # fmt: skip
    (tmp_path / "facet_groups.json").write_text(json.dumps(groups))
    out = tmp_path / "gates"
    gate.main([
        "--evaluation", str(evaluation), "--bias-analysis", str(analysis),
        "--facet-groups", str(tmp_path / "facet_groups.json"), "--output", str(out), "--settings", str(settings_path),
    ])  # fmt: skip
    result = json.loads((out / "gates.json").read_text())
    assert result["passed"] is False
    reading = f"too few rows to judge ({facet.min_rows - 1} rows, minimum {facet.min_rows})"
    assert f"bias gate FAILED: DPPL[{view.group}] {reading}" in result["message"]
    assert "quality gate FAILED" not in result["message"]


# -- confidence intervals ---------------------------------------------------------------------------------------------


def random_rows(rows: int, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose label and prediction depend on the facet and a feature, so no metric is trivial."""
    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(rows) < 0.35, "Female", "Male")
    x = rng.normal(size=rows)
    label = (x + (sex == "Male") * 0.5 + rng.normal(size=rows) > 0.6).astype(int)
    predicted = (x + (sex == "Male") * 0.3 + rng.normal(scale=0.5, size=rows) > 0.5).astype(int)
    return pd.DataFrame({"y": label, "x": x, "sex": sex}), predicted


def test_each_directly_computed_metric_equals_smclarify():
    """The bootstrap recomputes the metrics from counts; on all rows they must be smclarify's values."""
    frame, predicted = random_rows(400)
    config = sex_bias(pre_training_metrics=list(bias_intervals.PRE_TRAINING), post_training_metrics=[
        name for name in bias_intervals.POST_TRAINING
    ])  # fmt: skip
    by_smclarify = values(analyse(frame, predicted, BINARY, config))
    d = frame["sex"].eq("Female").to_numpy()
    y, p = frame["y"].astype(bool).to_numpy(), predicted.astype(bool)
    everything = np.arange(len(frame))[None, :]
    flips = bias_intervals.flip_votes(bias.flip_features(frame, SPEC, config), d, p)
    pre = bias_intervals.metrics_from_counts(bias_intervals.counts(d, y, y, everything))
    post = bias_intervals.metrics_from_counts(bias_intervals.counts(d, y, p, everything), flips[everything].sum(axis=1))
    direct = {name: pre[name][0] for name in bias_intervals.PRE_TRAINING}
    direct |= {name: post[name][0] for name in bias_intervals.POST_TRAINING}
    assert direct == pytest.approx({name: by_smclarify["sex", "Female", name] for name in bias_intervals.DIRECT})


def test_direct_metrics_follow_smclarify_at_the_edges():
    """No false positives in either group: TE's ratios are infinite in both, and smclarify says 0."""
    frame = sex_frame()
    config = sex_bias(post_training_metrics=["TE", "DCA", "DAR"])
    predicted = np.array(LABEL)  # a perfect model
    by_smclarify = values(analyse(frame, predicted, BINARY, config))
    d, y = frame["sex"].eq("Female").to_numpy(), frame["y"].astype(bool).to_numpy()
    direct = bias_intervals.metrics_from_counts(bias_intervals.counts(d, y, y, np.arange(10)[None, :]))
    for name in ("TE", "DCA", "DAR"):
        assert direct[name][0] == pytest.approx(by_smclarify["sex", "Female", name])


def test_the_intervals_of_750_test_rows_are_fast_reproducible_and_hold_the_value():
    labelled, _ = random_rows(5000, seed=1)
    test, predicted = random_rows(750, seed=2)
    config = sex_bias(
        post_training_metrics=["DPPL", "DI", "AD", "FT"],
        thresholds={name: Limit(min=-10, max=10) for name in ("DPL", "DPPL", "DI", "AD", "FT")},
    )
    flip_frame = bias.flip_features(test, SPEC, config)
    started = time.perf_counter()
    intervals = bias_intervals.confidence_intervals(labelled, test, predicted, flip_frame, BINARY, config, seed=3)
    elapsed = time.perf_counter() - started
    print(f"intervals of 5 gated metrics ({bias_intervals.RESAMPLES} resamples): {elapsed:.3f} s")
    assert elapsed < 1.5
    assert intervals == bias_intervals.confidence_intervals(labelled, test, predicted, flip_frame, BINARY, config, 3)
    found = values(bias.analysis(bias.pre_training(labelled, BINARY, config), bias.post_training(
        test, predicted, SPEC, BINARY, config
    )))  # fmt: skip
    assert sorted(name for *_, name in intervals) == ["AD", "DI", "DPL", "DPPL", "FT"]
    for (_stage, column, group, name), (low, high) in intervals.items():
        assert low <= found[column, group, name] <= high, (name, low, high)
        assert 0 < high - low < 1


# -- audit-only and range facets through the whole flow ---------------------------------------------------------------


SETTINGS = load_settings(ROOT / "project.yaml")
# The facet the switched settings audit only: the project's first categorical facet that is a feature.
AUDITED = next(
    facet
    for facet in SETTINGS.bias.facets
    if facet.sensitive_values is not None and facet.column in SETTINGS.dataset.categorical_features
)


def range_facet() -> dict:
    """A range facet on a numeric feature, below its median, so both groups have rows."""
    frame = read_dataset(ROOT / SETTINGS.dataset.sample, SETTINGS.dataset)
    for column in SETTINGS.dataset.numeric_features:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        median = float(numbers.median())
        if (numbers < median).any() and (numbers >= median).any():
            return {"column": column, "sensitive_range": {"max": median}, "min_rows": 100_000}
    raise AssertionError("no numeric feature with two values to split a range facet on")


RANGE = range_facet()
RANGE_COLUMN, HIGH = RANGE["column"], RANGE["sensitive_range"]["max"]


@pytest.fixture(scope="module")
def switched(settings_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's settings with one facet column audited only (no longer a model input) and a
    range facet on a numeric feature whose group can never reach its min_rows in the test split;
    the other facets are kept (min_rows 1) and DPPL is gated."""
    raw = with_dppl_gated(yaml.safe_load(settings_path.read_text(encoding="utf-8")))
    raw["dataset"]["categorical_features"].remove(AUDITED.column)
    others = [{**facet, "min_rows": 1} for facet in raw["bias"]["facets"] if facet["column"] != AUDITED.column]
    audited = {"column": AUDITED.column, "sensitive_values": list(AUDITED.sensitive_values), "min_rows": 1}
    raw["bias"]["facets"] = [*others, RANGE, audited]
    path = tmp_path_factory.mktemp("switched") / "project.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def view_of(settings, column: str) -> bias.FacetView:
    [view] = [view for view in bias.facet_views(settings.bias) if view.facet.column == column]
    return view


@pytest.fixture(scope="module")
def switched_run(switched: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("run") / "local"
    settings = load_settings(switched)
    return settings, run_local(settings, data=ROOT / settings.dataset.sample, out=out, suites=ROOT / "data_checks")


def test_an_audit_only_facet_is_analysed_but_never_a_model_input(switched_run):
    settings, run = switched_run
    spec = TrainedModel.load(run.out / "model").spec
    assert AUDITED.column not in spec.features
    assert spec.features == settings.dataset.features
    analysis = json.loads((run.out / "bias.json").read_text(encoding="utf-8"))
    assert sorted(analysis[POST]["facets"]) == sorted({view.column for view in bias.facet_views(settings.bias)})
    audited = [gate for gate in run.gates if gate.metric.endswith(f"[{view_of(settings, AUDITED.column).group}]")]
    assert len(audited) == len(settings.bias.thresholds) and all(gate.value is not None for gate in audited)


def test_the_local_run_reads_a_small_range_group_as_too_few_rows(switched_run):
    settings, run = switched_run
    ranged = view_of(settings, RANGE_COLUMN)
    groups = json.loads((run.out / "facet_groups.json").read_text(encoding="utf-8"))
    [group] = [group for group in groups["groups"] if group["column"] == ranged.column]
    failed = [gate for gate in run.gates if not gate.passed]
    assert {gate.metric for gate in failed} == {f"{name}[{ranged.group}]" for name in settings.bias.thresholds}
    reading = f"too few rows to judge ({group['rows']:,} rows, minimum 100,000)"
    assert all(gate.reading == reading for gate in failed)
    report = (run.out / "report.md").read_text(encoding="utf-8")
    assert f"- bias gate FAILED: DPPL[{ranged.group}] {reading}, expected " in report
    assert f"Favourable outcome: {bias.favourable_text(settings.dataset, settings.bias)}." in report
    assert (
        f"- {ranged.group}: {group['rows']:,} test rows, everyone else {group['others']:,} (min_rows 100,000)" in report
    )
    assert "| 95% CI |" in report
    audited = view_of(settings, AUDITED.column).group
    dppl = next(
        line for line in report.splitlines() if line.startswith(f"| Post-training (model) | {audited} | DPPL |")
    )
    assert dppl.split(" | ")[4].startswith("[")  # the interval beside the value and the limit


def test_the_preprocess_job_writes_the_clarify_columns_and_group_sizes(switched: Path, tmp_path: Path):
    settings = load_settings(switched)
    ranged = view_of(settings, RANGE_COLUMN)
    sample = ROOT / settings.dataset.sample
    preprocess.main(["--input", str(sample), "--output", str(tmp_path), "--settings", str(switched)])
    columns = [settings.dataset.label, *settings.dataset.features, AUDITED.column, ranged.column]
    assert bias.clarify_columns(settings.dataset, settings.bias) == columns
    clarify = pd.read_csv(
        tmp_path / "clarify" / "test" / "test.csv", header=None, names=columns, dtype=str, keep_default_na=False
    )
    test = split_dataset(read_dataset(sample, settings.dataset), settings.dataset, settings.split, bias=settings.bias)[
        "test"
    ]
    written = clarify[AUDITED.column].map(bias.as_text).tolist()
    assert written == test[AUDITED.column].fillna("").map(bias.as_text).tolist()
    in_range = pd.to_numeric(test[RANGE_COLUMN]).lt(HIGH).map({True: "yes", False: "no"}).tolist()
    assert clarify[ranged.column].tolist() == in_range
    groups = json.loads((tmp_path / "clarify" / "facet_groups" / bias.GROUPS_FILE).read_text(encoding="utf-8"))
    assert groups == bias.facet_groups(test, settings.dataset, settings.bias)
    [group] = [group for group in groups["groups"] if group["column"] == ranged.column]
    assert group["rows"] == in_range.count("yes")


def test_the_pipeline_clarify_configs_exclude_audit_and_range_columns(switched: Path):
    settings = load_settings(switched)
    ranged = view_of(settings, RANGE_COLUMN)
    built = build(settings, root=ROOT)
    steps = {step["Name"]: step for step in built.parsed["Steps"]}
    columns = [settings.dataset.label, *settings.dataset.features, AUDITED.column, ranged.column]
    for name in ("DataBias", "ModelBias", "Explainability"):
        uri = steps[name]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
        config = json.loads(built.uploads[uri.split("/", 3)[3]])
        assert config["headers"] == columns, name
        # never sent to the model's endpoint
        assert config["excluded_columns"] == [AUDITED.column, ranged.column], name
        if name != "Explainability":
            assert config["label_values_or_threshold"] == clarify_label_values(settings.dataset, settings.bias)
            assert config["facet"] == [
                {"name_or_index": view.column, "value_or_threshold": view.values}
                for view in bias.facet_views(settings.bias)
            ]
    arguments = steps["Gates"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    # the folder of facet_groups.json files, one per preprocessing instance
    assert arguments[arguments.index("--facet-groups") + 1] == job_paths.input_dir(job_paths.FACET_GROUPS)
