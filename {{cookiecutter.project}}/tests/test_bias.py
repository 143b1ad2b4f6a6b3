"""Bias: Clarify's metrics (via smclarify) checked by hand, the bias gate, and the bias settings.

Clarify's conventions, as in smclarify (the library behind Clarify) and
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html:
facet d ("disadvantaged") is the rows whose facet value is one of the sensitive values; facet a is everyone else.
  CI   = (n_a - n_d) / (n_a + n_d)          positive when d is under-represented
  DPL  = q_a - q_d                          q = share of positive labels; positive when d gets fewer positives
  DPPL = q^_a - q^_d                        the same with predicted labels
  DI   = q^_d / q^_a                        a ratio: 1 is parity, below 1 disfavours d
  AD   = accuracy_a - accuracy_d            negative when the model is more accurate for d
  RD   = recall_a - recall_d                negative when the model finds d's positives more often
This file is removed with bias.py when the project is generated with use_clarify=no.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package }} import bias
from {{ cookiecutter.package }}.data import read_dataset
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.gates import METRICS_KEY, bias_gates, metric_values
from {{ cookiecutter.package }}.local import LocalRun, predicted_labels, run_local
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import (
    Bias,
    Dataset,
    Facet,
    Hyperparameters,
    Limit,
    Settings,
    load_settings,
)
from {{ cookiecutter.package }}.steps.preprocess import split_dataset
from {{ cookiecutter.package }}.steps.train import train
from {{ cookiecutter.package }}.transforms import FeatureSpec

ROOT = Path(__file__).resolve().parents[1]
# The project's own data and bias settings: the tests below that read them mean the same on any data.
RAW = yaml.safe_load((ROOT / "project.yaml").read_text(encoding="utf-8"))
DATASET = load_settings(ROOT / "project.yaml").dataset
SAMPLE = ROOT / DATASET.sample
LABEL, CLASSES = DATASET.label, [str(value) for value in DATASET.classes or []]
# A group of label values, as a facet would name it: a class, or a range of a regression label.
LABEL_GROUP = {"sensitive_values": CLASSES[-1:]} if CLASSES else {"sensitive_range": {"max": 1}}
NUMERIC = DATASET.numeric_features[0] if DATASET.numeric_features else "a_number"
# A categorical facet of the project (the first one), or else its first categorical feature.
CATEGORICAL = next(
    (facet["column"] for facet in RAW["bias"]["facets"] if facet.get("sensitive_values")),
    next(iter(DATASET.categorical_features), "a_category"),
)
PRE, POST = "pre_training_bias_metrics", "post_training_bias_metrics"
# A DPPL limit no model can meet (DPPL lies in [-1, 1]): the strict run's bias gate always fails.
IMPOSSIBLE = {"DPPL": {"min": 1.01}}

# A hand-made data set: 4 rows of facet d (Female), 6 of facet a (Male).
#          d (Female)     a (Male)
# label    1 0 0 0        1 1 1 0 0 0
# predicted 1 1 0 0       1 0 0 0 0 1
HAND_SEX = ["Female"] * 4 + ["Male"] * 6
HAND_LABEL = [1, 0, 0, 0, 1, 1, 1, 0, 0, 0]
HAND_PREDICTED = [1, 1, 0, 0, 1, 0, 0, 0, 0, 1]
# Counts: n_d = 4, n_a = 6; positive labels d 1/4, a 3/6; predicted positives d 2/4, a 2/6.
# d: TP 1, FP 1, TN 2, FN 0 -> accuracy 3/4, recall 1/1.  a: TP 1, FP 1, TN 2, FN 2 -> accuracy 3/6, recall 1/3.
BY_HAND = {
    "CI": (6 - 4) / (6 + 4),  # 0.2
    "DPL": 3 / 6 - 1 / 4,  # 0.25
    "DPPL": 2 / 6 - 2 / 4,  # -1/6: the model now favours d
    "DI": (2 / 4) / (2 / 6),  # 1.5
    "AD": 3 / 6 - 3 / 4,  # -0.25
    "RD": 1 / 3 - 1 / 1,  # -2/3
}
# The 10 rows as they are: bias.py passes labels as categories, so smclarify never mistakes a small 0/1 column for
# a continuous score (it would for 40 rows or fewer if given plain integers).
REPEAT = 1

HAND_DATASET = Dataset(
    sample="hand.csv",
    record_id="id",
    event_time="time",
    label="y",
    classes=["0", "1"],
    positive_label="1",
    numeric_features=["x"],
    categorical_features=["sex"],
)
HAND_SPEC = FeatureSpec(label="y", positive_label="1", numeric=["x"], categories={"sex": ["Female", "Male"]})
HAND_BIAS = Bias(
    facets=[Facet(column="sex", sensitive_values=["Female"], min_rows=1)],
    pre_training_metrics=["CI", "DPL"],
    post_training_metrics=["DPPL", "DI", "AD", "RD"],
    thresholds={"DPPL": Limit(min=-0.1, max=0.1), "DI": Limit(min=0.8)},
)


def hand_frame() -> pd.DataFrame:
    rows = len(HAND_LABEL) * REPEAT
    return pd.DataFrame({"y": HAND_LABEL * REPEAT, "x": np.arange(rows, dtype=float), "sex": HAND_SEX * REPEAT})


def groups_of(frame: pd.DataFrame, config: Bias = HAND_BIAS, dataset: Dataset = HAND_DATASET) -> dict:
    return bias.facet_groups(frame, dataset, config)


def values(analysis_json: dict) -> dict[tuple[str, str, str], float | None]:
    """(facet column, facet value, metric) -> value, over both stages."""
    return {(column, group, name): value for _, column, group, name, value, _ in metric_values(analysis_json)}


@pytest.fixture(scope="module")
def hand_analysis() -> dict:
    frame = hand_frame()
    pre = bias.pre_training(frame, HAND_DATASET, HAND_BIAS)
    post = bias.post_training(frame, np.array(HAND_PREDICTED * REPEAT), HAND_SPEC, HAND_DATASET, HAND_BIAS)
    return bias.analysis(pre, post)


@pytest.fixture(scope="module")
def settings() -> Settings:
    settings = load_settings(ROOT / "project.yaml")
    assert settings.bias is not None, "project.yaml has no bias section, but bias.py was generated"
    return settings


@pytest.fixture(scope="module")
def splits(settings: Settings) -> dict[str, pd.DataFrame]:
    return split_dataset(read_dataset(SAMPLE, settings.dataset), settings.dataset, settings.split, bias=settings.bias)


@pytest.fixture(scope="module")
def strict_run(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> LocalRun:
    """The local run with the project's model and a DPPL limit no real model meets (max 0.01)."""
    chosen = {"post_training_metrics": sorted({*settings.bias.post_training_metrics, "DPPL"})}
    strict = Bias.model_validate({**settings.bias.model_dump(), **chosen, "thresholds": IMPOSSIBLE})
    out = tmp_path_factory.mktemp("bias") / "run"
    return run_local(
        settings.model_copy(update={"bias": strict}), data=SAMPLE, out=out, suites=ROOT / "data_checks", echo=print
    )


@pytest.mark.parametrize("metric", ["CI", "DPL", "DPPL", "DI", "AD", "RD"])
def test_metric_equals_the_hand_computed_value(metric: str, hand_analysis: dict):
    assert values(hand_analysis)["sex", "Female", metric] == pytest.approx(BY_HAND[metric])


def test_the_analysis_has_the_shape_of_clarify_analysis_json(hand_analysis: dict):
    assert hand_analysis["version"] == "1.0"
    assert set(hand_analysis) == {"version", PRE, POST}
    for stage, metrics in [(PRE, ["CI", "DPL"]), (POST, ["AD", "DI", "DPPL", "RD"])]:
        result = hand_analysis[stage]
        assert (result["label"], result["label_value_or_threshold"]) == ("y", "y = 1")
        assert list(result["facets"]) == ["sex"]
        [group] = result["facets"]["sex"]
        assert group["value_or_threshold"] == "Female"
        assert sorted(metric["name"] for metric in group["metrics"]) == metrics
        for metric in group["metrics"]:
            assert isinstance(metric["value"], float), metric
            assert metric["description"].endswith(f"({metric['name']})")
            assert "error" not in metric
    assert json.loads(json.dumps(hand_analysis)) == hand_analysis


def test_metric_values_flattens_both_stages(hand_analysis: dict):
    rows = metric_values(hand_analysis)
    assert [(stage, name) for stage, _, _, name, _, _ in rows] == [
        (PRE, "CI"),
        (PRE, "DPL"),
        (POST, "AD"),
        (POST, "DI"),
        (POST, "DPPL"),
        (POST, "RD"),
    ]
    assert all(row[1:3] == ("sex", "Female") and row[5] is None for row in rows)


def test_the_bias_gate_checks_every_thresholded_metric(hand_analysis: dict):
    gates = {gate.metric: gate for gate in bias_gates(metric_values(hand_analysis), HAND_BIAS, groups_of(hand_frame()))}
    assert sorted(gates) == ["DI[sex = Female]", "DPPL[sex = Female]"]
    dppl = gates["DPPL[sex = Female]"]  # -1/6 is below the minimum -0.1
    assert not dppl.passed
    assert dppl.message.startswith("bias gate FAILED: DPPL[sex = Female] -0.166667, expected in [-0.1, 0.1]; ")
    assert "investigate the group sex = Female (favourable outcome y = 1; see the bias section" in dppl.message
    assert "bias.thresholds.DPPL" in dppl.message
    assert gates["DI[sex = Female]"].passed  # 1.5 >= 0.8
    assert gates["DI[sex = Female]"].message == "bias gate passed: DI[sex = Female] 1.5, expected >= 0.8"


def test_a_metric_that_cannot_be_computed_fails_the_gate():
    # What _guarded records when smclarify cannot compute a facet's metrics.
    failed = [{"name": name, "value": None, "error": "facet is empty"} for name in ["DPPL", "DI"]]
    analysis_json = {POST: {"facets": {"sex": [{"value_or_threshold": "Female", "metrics": failed}]}}}
    rows = metric_values(analysis_json)
    assert all(value is None and error for *_, value, error in rows)
    gates = bias_gates(rows, HAND_BIAS, groups_of(hand_frame()))
    assert len(gates) == 2
    for gate in gates:
        assert not gate.passed
        assert " not computed, expected " in gate.message
        assert "the metric could not be computed (" in gate.message
        assert "empty" in gate.message


@pytest.mark.parametrize("stage", ["pre", "post"])
def test_a_facet_value_absent_from_the_rows_is_refused_not_left_to_smclarify(stage: str):
    frame = hand_frame().assign(sex="Male")  # no row of the sensitive group
    with pytest.raises(ProjectError) as error:
        if stage == "pre":
            bias.pre_training(frame, HAND_DATASET, HAND_BIAS)
        else:
            bias.post_training(frame, np.array(HAND_PREDICTED * REPEAT), HAND_SPEC, HAND_DATASET, HAND_BIAS)
    assert str(error.value) == (
        "bias analysis of 10 rows: bias facet 'sex': 'Female' does not occur in the data (values present: "
        "'Male' (10)); correct bias.facets.0.sensitive_values in project.yaml"
    )


def with_facet(settings: Settings, column: str, values: list[str]) -> Settings:
    facets = [{"column": column, "sensitive_values": values}]
    return settings.model_copy(update={"bias": Bias.model_validate({**settings.bias.model_dump(), "facets": facets})})


def facet_counts(settings: Settings) -> pd.Series:
    """CATEGORICAL's values in the sample, as text, most frequent first (as the refusal lists them)."""
    values = read_dataset(SAMPLE, settings.dataset)[CATEGORICAL].dropna().map(bias.as_text)
    return values[values != ""].value_counts()


def absent_value(counts: pd.Series) -> str:
    """A near miss of the most frequent value (a typo, a wrong case) that no row holds."""
    top = str(counts.index[0])
    return next(value for value in (top[:-1], top.swapcase(), top + "x") if value and value not in counts.index)


def test_a_misspelt_facet_value_stops_the_local_run_before_training(settings: Settings, tmp_path: Path):
    # Before, training ran and smclarify then failed with three chained tracebacks.
    lines: list[str] = []
    counts = facet_counts(settings)
    typo = absent_value(counts)
    misspelt = with_facet(settings, CATEGORICAL, [typo])
    with pytest.raises(ProjectError) as error:
        run_local(misspelt, data=SAMPLE, out=tmp_path / "run", suites=ROOT / "data_checks", echo=lines.append)
    assert str(error.value).startswith(
        f"{SAMPLE}: bias facet '{CATEGORICAL}': {typo!r} does not occur in the data (values present: "
        f"{counts.index[0]!r} ({counts.iloc[0]:,})"
    )
    assert str(error.value).endswith("; correct bias.facets.0.sensitive_values in project.yaml")
    assert not any(line.startswith("[4/8] train") for line in lines)
    assert not (tmp_path / "run").exists()


def test_a_facet_group_too_small_in_the_test_split_is_left_to_the_gate(settings: Settings):
    """Before, a small group stopped the run before training; now the bias gate judges it, with
    'too few rows to judge' (tests/test_bias_semantics.py makes that fire)."""
    frame = read_dataset(SAMPLE, settings.dataset)
    rarest = str(facet_counts(settings).index[-1])
    rare = frame.index[frame[CATEGORICAL].map(bias.as_text) == rarest]
    keep = rare[:10]  # 10 rows of the group: about 10 * split.test in the test split
    if settings.dataset.problem_type != "regression":
        # ...and 10 of each class within it, so every class can still be split (nearly every wife is
        # a woman: multiclass predicts relationship).
        labels = frame.loc[rare, settings.dataset.label]
        keep = keep.union(labels.groupby(labels).head(10).index)
    few = frame.drop(rare.difference(keep))
    other = with_facet(settings, CATEGORICAL, [rarest]).bias
    splits = split_dataset(few, settings.dataset, settings.split, where="few.csv", bias=other)
    [group] = bias.facet_groups(splits["test"], settings.dataset, other)["groups"]
    assert group["group"] == f"{CATEGORICAL} = {rarest}"
    assert group["rows"] < group["min_rows"]


def test_the_preprocess_job_refuses_a_facet_value_absent_from_the_data(
    settings: Settings, settings_path: Path, tmp_path: Path
):
    from {{ cookiecutter.package }}.steps import preprocess

    typo = absent_value(facet_counts(settings))
    raw = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    raw["bias"]["facets"].append({"column": CATEGORICAL, "sensitive_values": [typo]})
    settings_file = tmp_path / "project.yaml"
    settings_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    arguments = ["--input", str(SAMPLE), "--output", str(tmp_path / "out"), "--settings", str(settings_file)]
    expected = f"facet '{CATEGORICAL}': {typo!r} does not occur in the data (values present: "
    with pytest.raises(ProjectError, match=re.escape(expected)):
        preprocess.main(arguments)
    assert not (tmp_path / "out").exists()


def test_infinite_values_are_numbers_that_fail_a_bounded_limit():
    # smclarify returns inf for a ratio over zero; bias.json stores it as JSON's Infinity
    written = '{"post_training_bias_metrics": {"facets": {"sex": [{"value_or_threshold": "Female", '
    written += '"metrics": [{"name": "DI", "value": Infinity}]}]}}}'
    rows = metric_values(json.loads(written))
    assert rows == [(POST, "sex", "Female", "DI", float("inf"), None)]
    groups = groups_of(hand_frame())
    [gate] = bias_gates(rows, HAND_BIAS, groups)
    assert gate.value == float("inf")
    assert not bias_gates(rows, HAND_BIAS.model_copy(update={"thresholds": {"DI": Limit(max=2)}}), groups)[0].passed
    assert gate.passed  # DI >= 0.8 has no upper bound


def test_the_default_model_passes_the_project_bias_gate(strict_run: LocalRun, settings: Settings, splits):
    model = TrainedModel.load(strict_run.out / "model")
    test = splits["test"]
    predicted = predicted_labels(model, test, settings)
    pre = bias.pre_training(pd.concat(splits.values()), settings.dataset, settings.bias)
    post = bias.post_training(test, predicted, model.spec, settings.dataset, settings.bias)
    groups = bias.facet_groups(test, settings.dataset, settings.bias)
    gates = bias_gates(metric_values(bias.analysis(pre, post)), settings.bias, groups)
    assert len(gates) == len(settings.bias.facets) * len(settings.bias.thresholds)
    assert [gate.message for gate in gates if not gate.passed] == []


def favourable_and_not(settings: Settings) -> tuple[float, float]:
    """A favourable and an unfavourable label in the label's encoding: binary 0/1, multiclass the
    class index, regression a value either side of favourable_threshold."""
    if settings.dataset.problem_type == "regression":
        return settings.bias.favourable_threshold + 1, settings.bias.favourable_threshold - 1
    favourable = bias.label_values_or_threshold(settings.dataset, settings.bias)
    codes = range(len(settings.dataset.classes))
    return favourable[0], next(code for code in codes if code not in favourable)


def in_first_group(frame: pd.DataFrame, settings: Settings) -> np.ndarray:
    """Rows of the first facet's sensitive group (a range facet's too)."""
    return bias.sensitive(bias.facet_frame(frame, settings.bias), bias.facet_views(settings.bias)[0])


def test_a_model_blind_to_one_group_fires_the_disparate_impact_gate(strict_run: LocalRun, settings: Settings, splits):
    """The project's model, with every prediction for the first facet's sensitive group forced to
    an unfavourable class."""
    view = bias.facet_views(settings.bias)[0]
    model = TrainedModel.load(strict_run.out / "model")
    test = splits["test"]
    sensitive = in_first_group(test, settings)
    predicted = np.array(predicted_labels(model, test, settings), copy=True)
    predicted[sensitive] = favourable_and_not(settings)[1]
    four_fifths = settings.bias.model_copy(
        update={
            "facets": [view.facet],
            "pre_training_metrics": ["CI"],
            "post_training_metrics": ["DPPL", "DI"],
            "thresholds": {"DI": Limit(min=0.8)},  # the four-fifths rule
        }
    )
    pre = bias.pre_training(test, settings.dataset, four_fifths)
    analysis = bias.analysis(pre, bias.post_training(test, predicted, model.spec, settings.dataset, four_fifths))
    found = values(analysis)
    q_a = bias.favourable_index(predicted[~sensitive], settings.dataset, four_fifths).mean()
    assert q_a > 0, "the model predicts no favourable outcome for anyone: DI is undefined"
    assert found[view.column, view.value_or_threshold, "DI"] == 0.0
    assert found[view.column, view.value_or_threshold, "DPPL"] == pytest.approx(q_a)  # q^_a - 0
    [gate] = bias_gates(metric_values(analysis), four_fifths, bias.facet_groups(test, settings.dataset, four_fifths))
    assert not gate.passed
    assert gate.message.startswith(f"bias gate FAILED: DI[{view.group}] 0, expected >= 0.8; ")


def test_a_model_trained_on_labels_set_by_the_facet_fires_the_project_bias_gate(settings: Settings, splits):
    view = bias.facet_views(settings.bias)[0]
    dataset = settings.dataset
    favourable, unfavourable = favourable_and_not(settings)
    # The project's DPPL limit; a project that gates no DPPL (yet) is checked against +-0.25.
    config = settings.bias
    if "DPPL" not in config.thresholds:
        config = config.model_copy(update={"thresholds": {**config.thresholds, "DPPL": Limit(min=-0.25, max=0.25)}})
    if "DPPL" not in config.post_training_metrics:
        config = config.model_copy(update={"post_training_metrics": [*config.post_training_metrics, "DPPL"]})

    def biased(frame: pd.DataFrame) -> pd.DataFrame:
        # a favourable label for everyone outside the sensitive group, an unfavourable one for everyone in it
        label = np.where(in_first_group(frame, settings), unfavourable, favourable)
        return frame.assign(**{dataset.label: label if dataset.problem_type == "regression" else label.astype("int8")})

    # The facet decides the label, so training converges at once: a large step makes the first tree decisive.
    quick = Hyperparameters(num_round=20, early_stopping_rounds=5, max_depth=3, eta=1.0, seed=1)
    model = train(biased(splits["train"]), biased(splits["validation"]), dataset, quick).model
    test = biased(splits["test"])
    predicted = predicted_labels(model, test, settings)
    post = bias.post_training(test, predicted, model.spec, dataset, config)
    analysis = bias.analysis(bias.pre_training(test, dataset, config), post)
    # every a favourable, every d not
    assert values(analysis)[view.column, view.value_or_threshold, "DPPL"] == pytest.approx(1.0)
    groups = bias.facet_groups(test, dataset, config)
    failed = [gate for gate in bias_gates(metric_values(analysis), config, groups) if not gate.passed]
    dppl = next(gate for gate in failed if gate.metric == f"DPPL[{view.group}]")
    limit = config.thresholds["DPPL"]
    assert dppl.message.startswith(f"bias gate FAILED: DPPL[{view.group}] 1, expected {limit}; ")
    assert "bias.thresholds.DPPL in project.yaml" in dppl.message


def test_the_local_run_with_a_strict_limit_is_refused(strict_run: LocalRun, settings: Settings):
    assert not strict_run.passed
    failed = [gate for gate in strict_run.gates if not gate.passed]
    assert [gate.gate for gate in failed] == ["bias"] * len(settings.bias.facets)
    assert {gate.metric for gate in failed} == {f"DPPL[{view.group}]" for view in bias.facet_views(settings.bias)}
    assert all(gate.expected == ">= 1.01" for gate in failed)
    assert {gate.gate for gate in strict_run.gates if gate.passed} == {"data", "quality"}


def test_the_refused_run_reports_the_failure_with_its_chart(strict_run: LocalRun, settings: Settings):
    report = (strict_run.out / "report.md").read_text(encoding="utf-8")
    assert "**Decision: the model must not be registered.**" in report
    view = bias.facet_views(settings.bias)[0]
    assert f"- bias gate FAILED: DPPL[{view.group}] " in report
    assert f"| bias | DPPL[{view.group}] | " in report
    assert "| >= 1.01 | **FAIL** |" in report
    assert "## Bias" in report
    assert "![Bias metrics against their limits](bias.png)" in report
    assert (strict_run.out / "bias.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    analysis = json.loads((strict_run.out / "bias.json").read_text(encoding="utf-8"))
    assert set(analysis) == {"version", PRE, POST}
    assert sorted(analysis[POST]["facets"]) == sorted({view.column for view in bias.facet_views(settings.bias)})


# The favourable outcome: some of the classes for a classifier, a threshold for regression.
NEEDS_THRESHOLD = "bias: a regression label needs favourable_threshold"
if DATASET.problem_type == "regression":
    FAVOURABLE = {
        "favourable labels on a regression": ({"favourable_labels": [1]}, NEEDS_THRESHOLD),
        "no favourable threshold": ({"favourable_threshold": None}, NEEDS_THRESHOLD),
    }
else:
    FAVOURABLE = {
        "every class favourable": ({"favourable_labels": DATASET.classes}, "list some classes, not all"),
        "favourable label not a class": (
            {"favourable_labels": [CLASSES[-1] + "k"]},
            f"bias.favourable_labels: {[CLASSES[-1] + 'k']!r} not among dataset.classes",
        ),
        "favourable threshold on a classifier": ({"favourable_threshold": 40}, "is for regression"),
    }
FAVOURABLE_CASES, FAVOURABLE_IDS = list(FAVOURABLE.values()), list(FAVOURABLE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"thresholds": {"SD": {"max": 0.1}}}, "bias: thresholds for metrics that are not computed: SD"),
        (
            {"post_training_metrics": ["DPPL"], "thresholds": {"DPPL": {"max": 0.2}, "AD": {"max": 0.1}}},
            "bias: thresholds for metrics that are not computed: AD",
        ),
        (
            {"facets": [{"column": LABEL, **LABEL_GROUP}]},
            f"bias.facets.0.column: {LABEL!r} is the label, id or time column",
        ),
        (
            {"facets": [{"column": CATEGORICAL, "sensitive_range": {"max": 1}}]},
            f"bias.facets.0: {CATEGORICAL!r} is categorical; use sensitive_values, not sensitive_range",
        ),
        (
            {"facets": [{"column": NUMERIC, "sensitive_range": {"min": 40, "max": 25}}]},
            "bias.facets.0.sensitive_range: min 40.0 must be less than max 25.0",
        ),
        (
            {"facets": [{"column": NUMERIC, "sensitive_values": [30], "sensitive_range": {"max": 25}}]},
            "bias.facets.0: give either sensitive_values (categories) or sensitive_range (numbers), not both",
        ),
        (
            {"facets": [{"column": CATEGORICAL, "sensitive_values": ["x"], "min_rows": 0}]},
            "bias.facets.0.min_rows: Input should be greater than or equal to 1",
        ),
        *FAVOURABLE_CASES,
        (
            {"facets": [{"column": CATEGORICAL, "sensitive_values": []}]},
            "bias.facets.0.sensitive_values: List should have",
        ),
        ({"facets": []}, "bias.facets: List should have at least 1 item"),
        ({"pre_training_metrics": ["CI", "CDDL"]}, "bias: CDDL and CDDPL need group_variable"),
        ({"post_training_metrics": ["DPPL", "CDDPL"], "thresholds": {}}, "bias: CDDL and CDDPL need group_variable"),
        (
            {"pre_training_metrics": ["CDDL"], "group_variable": LABEL},
            f"bias.group_variable: {LABEL!r} is the label, id or time column",
        ),
        ({"thresholds": {"DPPL": {"min": 0.3, "max": -0.3}}}, "bias.thresholds.DPPL: min 0.3 is greater than max -0.3"),
        ({"thresholds": {"DPPL": {}}}, "bias.thresholds.DPPL: give min, max or both"),
        ({"thresholds": {"DPPL": {"minimum": 0.1}}}, "bias.thresholds.DPPL.minimum: unknown key"),
        ({"pre_training_metrics": ["CI", "XYZ"]}, "bias.pre_training_metrics.1: Input should be"),
    ],
    ids=[
        "threshold on a metric not computed",
        "threshold on a metric dropped from the list",
        "facet is the label",
        "range on a categorical facet",
        "range with min above max",
        "values and range",
        "min_rows below 1",
        *FAVOURABLE_IDS,
        "facet without sensitive values",
        "no facets",
        "CDDL without group_variable",
        "CDDPL without group_variable",
        "group_variable is the label",
        "limit min above max",
        "limit without bounds",
        "limit with a misspelt key",
        "unknown metric",
    ],
)
def test_settings_reject_an_inconsistent_bias_section(change: dict, message: str, tmp_path: Path):
    raw = yaml.safe_load((ROOT / "project.yaml").read_text(encoding="utf-8"))
    raw["bias"] = {**raw["bias"], **change}
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ProjectError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}: bias")  # one problem: one line, naming the key
    assert message in str(error.value)


def test_settings_accept_cddl_with_a_feature_as_group_variable(tmp_path: Path):
    raw = yaml.safe_load((ROOT / "project.yaml").read_text(encoding="utf-8"))
    column = DATASET.features[-1]
    raw["bias"] = {**raw["bias"], "pre_training_metrics": ["CI", "CDDL"], "group_variable": column}
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_settings(path).bias.group_variable == column


def test_a_limit_with_min_above_max_is_rejected():
    with pytest.raises(ValueError, match=r"min 0\.5 is greater than max 0\.1"):
        Limit(min=0.5, max=0.1)


def test_pipeline_gate_step_applies_bias_thresholds_to_clarify_analysis(tmp_path, settings_path):
    """The pipeline's gate step reads Clarify's analysis.json and applies project.yaml's limits."""
    import json

    from {{ cookiecutter.package }}.steps import gate

    settings = load_settings(settings_path)
    # An evaluation of the project's type exactly at its quality limits (they pass), and the
    # project's DPPL limit (or +-0.25 where it gates no DPPL) with a value just outside it.
    limit = settings.bias.thresholds.get("DPPL", Limit(min=-0.25, max=0.25))
    raw = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    raw["bias"]["thresholds"] = {**raw["bias"]["thresholds"], "DPPL": limit.model_dump(exclude_none=True)}
    raw["bias"]["post_training_metrics"] = sorted({*raw["bias"]["post_training_metrics"], "DPPL"})
    settings_path = tmp_path / "project.yaml"
    settings_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    dppl = limit.max + 0.06 if limit.max is not None else limit.min - 0.06
    quality = {
        name: {"value": bound.min if bound.min is not None else bound.max}
        for name, bound in settings.gates.quality.items()
    }
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({METRICS_KEY[settings.dataset.problem_type]: quality}))
    first = bias.facet_views(settings.bias)[0]
    analysis = tmp_path / "model_bias"
    analysis.mkdir()
    facets = {
        first.column: [{"value_or_threshold": first.value_or_threshold, "metrics": [{"name": "DPPL", "value": dppl}]}]
    }
    (analysis / "analysis.json").write_text(json.dumps({"post_training_bias_metrics": {"facets": facets}}))
    groups_file = tmp_path / "facet_groups.json"  # what the preprocess step writes beside Clarify's CSVs
    groups = {"favourable": bias.favourable_text(settings.dataset, settings.bias), "groups": []}
    for view in bias.facet_views(settings.bias):
        group = {"column": view.column, "value_or_threshold": view.value_or_threshold, "group": view.group}
        groups["groups"].append({**group, "position": view.position, "rows": 200, "others": 550, "min_rows": 30})
    groups_file.write_text(json.dumps(groups))
    out = tmp_path / "gates"
    gate.main(
        [
            *("--evaluation", str(evaluation), "--bias-analysis", str(analysis)),
            *("--facet-groups", str(groups_file)),
            *("--output", str(out), "--settings", str(settings_path)),
        ]
    )
    result = json.loads((out / "gates.json").read_text())
    assert result["passed"] is False
    assert f"bias gate FAILED: DPPL[{first.group}] {dppl:g}, expected {limit}" in result["message"]
    assert "quality gate FAILED" not in result["message"]
