"""Multiclass and regression models, whatever project.yaml's own problem type: the objective,
evaluation.json's shape and values, the quality gates, the endpoint's answers and the pipeline
definition. Synthetic rows keep it independent of the project's data and fast."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package }}.gates import quality_gates
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.pipeline.definition import build
from {{ cookiecutter.package }}.pipeline.render import steps
from {{ cookiecutter.package }}.settings import QUALITY_METRICS, Dataset, Gates, Hyperparameters, load_settings
from {{ cookiecutter.package }}.steps.evaluate import evaluate
from {{ cookiecutter.package }}.steps.inference import transform_fn
from {{ cookiecutter.package }}.steps.train import train

CLASSES = ["low", "mid", "high"]
MULTICLASS = Dataset(
    sample="synthetic.csv",
    label="y",
    problem_type="multiclass",
    classes=CLASSES,
    numeric_features=["x"],
    categorical_features=["c"],
)
REGRESSION = Dataset(
    sample="synthetic.csv",
    label="y",
    problem_type="regression",
    numeric_features=["x"],
    categorical_features=["c"],
)
QUICK = Hyperparameters(num_round=30, early_stopping_rounds=5, max_depth=3, eta=0.5, seed=1)


def rows(kind: str, count: int, seed: int) -> pd.DataFrame:
    """x in [0, 10): multiclass y is its third (as a class position), regression y = 3x + noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, count)
    c = rng.choice(["p", "q", "r"], count)
    y = np.minimum(x // (10 / 3), 2).astype(int) if kind == "multiclass" else 3 * x + rng.normal(0, 1, count)
    return pd.DataFrame({"y": y, "x": x, "c": c})


@pytest.fixture(scope="module")
def multiclass_model() -> TrainedModel:
    result = train(rows("multiclass", 300, 1), rows("multiclass", 100, 2), MULTICLASS, QUICK)
    assert (result.metric, result.metric_name) == ("mlogloss", "validation log loss")
    return result.model


@pytest.fixture(scope="module")
def regression_model() -> TrainedModel:
    result = train(rows("regression", 300, 1), rows("regression", 100, 2), REGRESSION, QUICK)
    assert (result.metric, result.metric_name) == ("rmse", "validation RMSE")
    return result.model


def booster_setting(model: TrainedModel, *path: str):
    config = json.loads(model.booster.save_config())["learner"]
    for key in path:
        config = config[key]
    return config


def test_the_objective_follows_the_problem_type(multiclass_model: TrainedModel, regression_model: TrainedModel):
    assert booster_setting(multiclass_model, "objective", "name") == "multi:softprob"
    assert booster_setting(multiclass_model, "learner_model_param", "num_class") == "3"
    assert booster_setting(regression_model, "objective", "name") == "reg:squarederror"
    assert multiclass_model.spec.class_names == CLASSES
    assert multiclass_model.predict(rows("multiclass", 5, 3)).shape == (5, 3)
    assert regression_model.predict(rows("regression", 5, 3)).shape == (5,)


def test_multiclass_evaluation_has_sagemaker_s_shape_and_hand_checked_values(multiclass_model: TrainedModel):
    test = rows("multiclass", 200, 4)
    evaluation = evaluate(multiclass_model, test, MULTICLASS)
    metrics = evaluation["multiclass_classification_metrics"]
    assert set(QUALITY_METRICS["multiclass"]) <= set(metrics)
    assert (evaluation["classes"], evaluation["rows"]) == (CLASSES, 200)
    predicted = multiclass_model.predict(test).argmax(axis=1)
    truth = test["y"].to_numpy()
    assert metrics["accuracy"]["value"] == pytest.approx((predicted == truth).mean(), abs=1e-6)
    matrix = metrics["confusion_matrix"]
    assert list(matrix) == CLASSES and all(list(row) == CLASSES for row in matrix.values())
    assert sum(sum(row.values()) for row in matrix.values()) == 200
    assert matrix["high"]["high"] == int(((truth == 2) & (predicted == 2)).sum())
    assert [metrics["per_class_metrics"][name]["support"] for name in CLASSES] == np.bincount(truth).tolist()
    assert metrics["accuracy"]["value"] > 0.9  # the classes are x's thirds: easy to learn


def test_regression_evaluation_has_sagemaker_s_shape_and_hand_checked_values(regression_model: TrainedModel):
    test = rows("regression", 200, 4)
    evaluation = evaluate(regression_model, test, REGRESSION)
    metrics = evaluation["regression_metrics"]
    assert set(QUALITY_METRICS["regression"]) <= set(metrics)
    errors = test["y"].to_numpy() - regression_model.predict(test)
    assert metrics["rmse"]["value"] == pytest.approx(np.sqrt((errors**2).mean()), abs=1e-5)
    assert metrics["mae"]["value"] == pytest.approx(np.abs(errors).mean(), abs=1e-5)
    assert metrics["r2"]["value"] > 0.9
    assert evaluation["label_mean"] == pytest.approx(test["y"].mean(), abs=1e-5)


def test_quality_gates_read_the_type_s_metrics(multiclass_model: TrainedModel, regression_model: TrainedModel):
    multiclass = evaluate(multiclass_model, rows("multiclass", 200, 4), MULTICLASS)
    results = quality_gates(multiclass, Gates(quality={"accuracy": {"min": 0.9}, "macro_f1": {"min": 0.99999}}))
    assert [(result.metric, result.passed) for result in results] == [("accuracy", True), ("macro_f1", False)]
    assert "change gates.quality.macro_f1 in project.yaml" in results[1].message
    regression = evaluate(regression_model, rows("regression", 200, 4), REGRESSION)
    [rmse] = quality_gates(regression, Gates(quality={"rmse": {"max": 0.01}}))
    assert not rmse.passed and rmse.expected == "<= 0.01"


def test_the_endpoint_answers_class_probabilities_for_multiclass(multiclass_model: TrainedModel):
    body = "x,c\n1.0,p\n9.5,q\n"
    answer, content_type = transform_fn(multiclass_model, body, "text/csv", "application/json")
    assert content_type == "application/json"
    first, second = json.loads(answer)["predictions"]
    assert list(first["scores"]) == CLASSES
    assert sum(first["scores"].values()) == pytest.approx(1, abs=1e-5)
    assert (first["predicted_label"], second["predicted_label"]) == ("low", "high")
    csv, content_type = transform_fn(multiclass_model, body, "text/csv", "text/csv")
    lines = csv.strip().split("\n")
    assert content_type == "text/csv" and len(lines) == 2
    assert [len(line.split(",")) for line in lines] == [3, 3]  # one probability per class: Clarify's label_headers


def test_the_endpoint_answers_the_predicted_value_for_regression(regression_model: TrainedModel):
    answer, _ = transform_fn(regression_model, "x,c\n2.0,p\n", "text/csv", "application/json")
    [prediction] = json.loads(answer)["predictions"]
    assert list(prediction) == ["prediction"]
    assert prediction["prediction"] == pytest.approx(6, abs=1.5)  # y = 3x + noise
    csv, _ = transform_fn(regression_model, "x,c\n2.0,p\n", "text/csv", "text/csv")
    assert float(csv) == pytest.approx(prediction["prediction"], abs=1e-5)


def switched(raw: dict, kind: str) -> dict:
    """project.yaml's settings with the label turned into a multiclass or regression one."""
    dataset = raw["dataset"]
    dataset["problem_type"] = kind
    dataset.pop("positive_label", None)
    raw.pop("decision", None)
    if kind == "multiclass":
        dataset["classes"] = CLASSES
        raw["gates"] = {"quality": {"accuracy": {"min": 0.7}, "macro_f1": {"min": 0.45}}}
    else:
        dataset.pop("classes", None)
        raw["gates"] = {"quality": {"r2": {"min": 0.15}, "rmse": {"max": 12.0}}}
    if raw.get("bias"):
        raw["bias"].pop("favourable_labels", None)
        raw["bias"].pop("favourable_threshold", None)
        raw["bias"] |= {"favourable_labels": ["high"]} if kind == "multiclass" else {"favourable_threshold": 40}
    return raw


@pytest.mark.parametrize(
    ("kind", "section", "limits"),
    [
        ("multiclass", "multiclass_classification_metrics", {"MinAccuracy": 0.7, "MinMacroF1": 0.45}),
        ("regression", "regression_metrics", {"MinR2": 0.15, "MaxRmse": 12.0}),
    ],
)
def test_the_pipeline_gates_the_type_s_metrics(kind, section, limits, raw_settings, write_settings, project_root):
    path = write_settings(switched(raw_settings, kind))
    built = build(load_settings(path), root=project_root, settings_file=path)
    definition = built.parsed
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}
    assert {name: defaults.get(name) for name in limits} == limits
    assert "MinAuc" not in defaults
    by_name = {step["Name"]: step for step in steps(definition)}
    arguments = by_name["Gates"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    options = [argument for argument in arguments if isinstance(argument, str) and argument.startswith("--m")]
    expected = {"multiclass": ["--min-accuracy", "--min-macro-f1"], "regression": ["--min-r2", "--max-rmse"]}
    assert options == expected[kind]
    conditions = by_name["CheckGates"]["Arguments"]["Conditions"]
    paths = [c["LeftValue"]["Std:JsonGet"]["Path"] for c in conditions if "Std:JsonGet" in c["LeftValue"]]
    names = {"multiclass": ["accuracy", "macro_f1"], "regression": ["r2", "rmse"]}
    assert paths == [*(f"{section}.{name}.value" for name in names[kind]), "passed"]
    if raw_settings.get("bias"):
        configs = [
            json.loads(content) for key, content in built.uploads.items() if key.endswith("analysis_config.json")
        ]
        [model_bias] = [c for c in configs if "post_training_bias" in c.get("methods", {})]
        if kind == "multiclass":  # Clarify names the endpoint's probabilities and compares class names
            assert model_bias["predictor"]["label_headers"] == CLASSES
            assert model_bias["label_values_or_threshold"] == ["high"]
        else:  # the predicted value as it is, against the favourable threshold
            assert "label_headers" not in model_bias["predictor"]
            assert model_bias["label_values_or_threshold"] == [40]  # the schema takes a list
        assert model_bias.get("probability_threshold") is None
    assert yaml.safe_load(path.read_text())["dataset"]["problem_type"] == kind
