"""Evaluate: metrics equal hand-computed values, evaluation.json has SageMaker's model-quality shape,
and the job reads the model.tar.gz a training job leaves."""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.gates import METRICS_KEY, metric_value, metrics_section
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import METRIC_RANGES, QUALITY_METRICS, Dataset, Hyperparameters, Settings
from {{ cookiecutter.package }}.steps import evaluate as evaluate_step
from {{ cookiecutter.package }}.steps.evaluate import CURVE_POINTS, auc, evaluate, write_evaluation
from {{ cookiecutter.package }}.steps.train import TrainingResult, train

TINY = Dataset(
    sample="tiny.csv",
    record_id="id",
    event_time="time",
    label="y",
    classes=[0, 1],
    positive_label="1",
    numeric_features=["x"],
    categorical_features=[],
)


@pytest.fixture(scope="module")
def step_model() -> TrainedModel:
    """A one-split model: rows with x < 5 score low (< 0.5), rows with x >= 5 score high (>= 0.5)."""
    rows = pd.DataFrame({"y": [0] * 10 + [1] * 10, "x": [*range(5), *range(5), *range(5, 10), *range(5, 10)]})
    hp = Hyperparameters(num_round=3, early_stopping_rounds=3, max_depth=1, eta=1.0)
    return train(rows, rows, TINY, hp).model


@pytest.fixture
def hand_case() -> pd.DataFrame:
    # x:      1  2  3  8  9  7  6   -> predicted 0 0 0 1 1 1 1
    # truth:  0  0  1  1  1  0  0   -> tn 2, fn 1, tp 2, fp 2
    return pd.DataFrame({"y": [0, 0, 1, 1, 1, 0, 0], "x": [1, 2, 3, 8, 9, 7, 6]})


def metric(evaluation: dict, name: str) -> float:
    return evaluation["binary_classification_metrics"][name]["value"]


def test_step_model_scores_two_levels_either_side_of_the_threshold(step_model: TrainedModel, hand_case):
    scores = step_model.predict_proba(hand_case)
    low, high = sorted(set(scores.tolist()))
    assert low < 0.5 <= high
    assert (scores >= 0.5).tolist() == [False, False, False, True, True, True, True]


def test_confusion_matrix_by_hand(step_model: TrainedModel, hand_case):
    matrix = evaluate(step_model, hand_case, TINY)["binary_classification_metrics"]["confusion_matrix"]
    assert matrix == {"0": {"0": 2, "1": 2}, "1": {"0": 1, "1": 2}}


def test_threshold_metrics_by_hand(step_model: TrainedModel, hand_case):
    evaluation = evaluate(step_model, hand_case, TINY)
    assert metric(evaluation, "accuracy") == pytest.approx(4 / 7, abs=1e-6)
    assert metric(evaluation, "precision") == pytest.approx(2 / 4, abs=1e-6)
    assert metric(evaluation, "recall") == pytest.approx(2 / 3, abs=1e-6)
    assert metric(evaluation, "f1") == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3), abs=1e-6)
    assert metric(evaluation, "true_positive_rate") == pytest.approx(2 / 3, abs=1e-6)
    assert metric(evaluation, "true_negative_rate") == pytest.approx(2 / 4, abs=1e-6)
    assert metric(evaluation, "false_positive_rate") == pytest.approx(2 / 4, abs=1e-6)
    assert metric(evaluation, "false_negative_rate") == pytest.approx(1 / 3, abs=1e-6)


def test_auc_by_hand_counts_ties_as_half(step_model: TrainedModel, hand_case):
    # 3 positives x 4 negatives = 12 pairs. High positives (8, 9) beat low negatives (1, 2): 4 wins;
    # they tie with high negatives (7, 6): 4 ties; the low positive (3) ties low negatives: 2 ties.
    # AUC = (4 + 6 / 2) / 12
    assert auc(evaluate(step_model, hand_case, TINY)) == pytest.approx(7 / 12, abs=1e-6)


def test_auc_is_1_when_every_positive_outscores_every_negative(step_model: TrainedModel):
    case = pd.DataFrame({"y": [0, 0, 1, 1], "x": [0, 4, 5, 9]})
    assert auc(evaluate(step_model, case, TINY)) == 1.0
    assert metric(evaluate(step_model, case, TINY), "accuracy") == 1.0


def test_rows_and_positive_rate_by_hand(step_model: TrainedModel, hand_case):
    evaluation = evaluate(step_model, hand_case, TINY)
    assert evaluation["rows"] == 7
    assert evaluation["positive_rate"] == pytest.approx(3 / 7, abs=1e-6)
    assert evaluation["threshold"] == 0.5


# A quality metric that is not reported without decision.costs (the session's evaluation has none).
NEEDS_COSTS = {"expected_cost"}
# How main's one line names each problem type's headline metric.
HEADLINE = {"binary": ("AUC", "auc"), "multiclass": ("accuracy", "accuracy"), "regression": ("RMSE", "rmse")}


def test_evaluation_has_sagemaker_model_quality_shape(evaluation: dict, settings: Settings):
    kind = settings.dataset.problem_type
    assert [key for key in METRICS_KEY.values() if key in evaluation] == [METRICS_KEY[kind]]
    metrics = evaluation[METRICS_KEY[kind]]
    extra = ["false_positive_rate"] if kind == "binary" else []
    for name in [*(n for n in QUALITY_METRICS[kind] if n not in NEEDS_COSTS), *extra]:
        assert set(metrics[name]) == {"value", "standard_deviation"}, name
        assert isinstance(metrics[name]["value"], float), name
        assert metrics[name]["standard_deviation"] == "NaN", name
        low, high = METRIC_RANGES.get(name, (0.0, 1.0))
        assert (low is None or low <= metrics[name]["value"]) and (high is None or metrics[name]["value"] <= high), name


def test_evaluation_counts_every_test_row(evaluation: dict, splits: dict[str, pd.DataFrame], settings: Settings):
    dataset, test = settings.dataset, splits["test"]
    truth = test[dataset.label]
    assert evaluation["rows"] == len(test)
    if dataset.problem_type == "regression":
        assert evaluation["label_mean"] == pytest.approx(truth.mean(), abs=1e-6)
        return
    # actual class -> predicted class -> rows: each actual class's row holds its rows in the test split
    matrix = metrics_section(evaluation)["confusion_matrix"]
    names = ["0", "1"] if dataset.problem_type == "binary" else [str(name) for name in dataset.classes]
    assert sorted(matrix) == sorted(names)
    assert sum(sum(row.values()) for row in matrix.values()) == len(test)
    counts = np.bincount(truth.to_numpy(dtype=int), minlength=len(names))
    assert [sum(matrix[name].values()) for name in names] == counts.tolist()


@pytest.fixture(scope="module")
def noisy_evaluation() -> dict:
    """A binary model with many score levels on rows it did not see (x drives y, with noise)."""
    rng = np.random.default_rng(7)

    def rows(count: int) -> pd.DataFrame:
        x = rng.uniform(0, 10, count)
        return pd.DataFrame({"y": (x + rng.normal(0, 2, count) >= 5).astype(int), "x": x})

    hp = Hyperparameters(num_round=20, early_stopping_rounds=5, max_depth=3, eta=0.3)
    return evaluate(train(rows(400), rows(200), TINY, hp).model, rows(300), TINY)


def test_curves_are_resampled_to_a_fixed_grid(noisy_evaluation: dict):
    metrics = noisy_evaluation["binary_classification_metrics"]
    roc = metrics["receiver_operating_characteristic_curve"]
    pr = metrics["precision_recall_curve"]
    for points in [*roc.values(), *pr.values()]:
        assert len(points) == CURVE_POINTS
    assert roc["false_positive_rates"][0] == 0.0
    assert roc["false_positive_rates"][-1] == 1.0
    assert roc["true_positive_rates"][-1] == 1.0
    assert roc["true_positive_rates"] == sorted(roc["true_positive_rates"])


def test_write_evaluation_writes_json_that_reads_back(tmp_path: Path, evaluation: dict):
    path = write_evaluation(evaluation, tmp_path / "evaluation")
    assert path == tmp_path / "evaluation" / "evaluation.json"
    assert json.loads(path.read_text(encoding="utf-8")) == evaluation


def make_sagemaker_archive(model_dir: Path, into: Path) -> Path:
    """model.tar.gz as SageMaker packs /opt/ml/model: the directory's files at the archive root."""
    into.mkdir(parents=True)
    with tarfile.open(into / "model.tar.gz", "w:gz") as archive:
        for file in sorted(model_dir.iterdir()):
            archive.add(file, arcname=file.name)
    return into


def test_main_reads_model_tar_gz_and_writes_evaluation_json(
    tmp_path: Path,
    model_dir: Path,
    splits_dir: Path,
    settings_path: Path,
    trained: TrainingResult,
    splits: dict[str, pd.DataFrame],
    settings: Settings,
    capsys: pytest.CaptureFixture,
):
    archive_dir = make_sagemaker_archive(model_dir, tmp_path / "model")
    out = tmp_path / "evaluation"
    evaluate_step.main(
        [
            "--model-dir",
            str(archive_dir),
            "--test",
            str(splits_dir / "test"),
            "--output",
            str(out),
            "--settings",
            str(settings_path),
        ]
    )
    written = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    expected = evaluate(trained.model, splits["test"], settings.dataset, settings.decision)
    assert written == json.loads(json.dumps(expected))  # the same model on the same rows, via the files
    shown, name = HEADLINE[settings.dataset.problem_type]
    rows = len(splits["test"])
    assert capsys.readouterr().out.startswith(f"test {shown} {metric_value(expected, name):.4f} on {rows:,} rows")


def test_main_reads_a_plain_model_directory(
    tmp_path: Path, model_dir: Path, splits_dir: Path, settings_path: Path, evaluation: dict, settings: Settings
):
    arguments = ["--model-dir", str(model_dir), "--test", str(splits_dir / "test"), "--output", str(tmp_path)]
    evaluate_step.main([*arguments, "--settings", str(settings_path)])
    written = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    # The session's evaluation used no decision: compare a metric the cut-off does not change.
    name = HEADLINE[settings.dataset.problem_type][1]
    assert metric_value(written, name) == pytest.approx(metric_value(evaluation, name), abs=1e-6)
    assert written["rows"] == evaluation["rows"]


def test_a_model_read_from_its_archive_leaves_no_unpacked_copy_behind(
    tmp_path: Path, model_dir: Path, trained: TrainingResult, monkeypatch: pytest.MonkeyPatch
):
    archive_dir = make_sagemaker_archive(model_dir, tmp_path / "model")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the archive is unpacked
    loaded = TrainedModel.load(archive_dir)
    assert loaded.booster.num_boosted_rounds() == trained.model.booster.num_boosted_rounds()
    assert loaded.spec == trained.model.spec
    assert list(scratch.iterdir()) == []


def test_an_archive_without_a_model_is_named_in_the_error(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "notes.txt", arcname="notes.txt")
    with pytest.raises(ProjectError) as caught:
        TrainedModel.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'model.tar.gz'}: holds no trained model")


def test_loading_from_a_directory_without_a_model_says_what_to_do(tmp_path: Path):
    with pytest.raises(ProjectError) as caught:
        TrainedModel.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}: no trained model here")
    assert "run the training step first" in str(caught.value)
