"""Train: the sample model clears the project's gate, keeps only its best trees, and the
SageMaker entry point takes channels and hyperparameter overrides as arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.gates import metric_value, quality_gates
from {{ cookiecutter.package }}.model import BOOSTER_FILE, SPEC_FILE, TrainedModel
from {{ cookiecutter.package }}.settings import Settings
from {{ cookiecutter.package }}.steps import train as train_step
from {{ cookiecutter.package }}.steps.evaluate import evaluate
from {{ cookiecutter.package }}.steps.train import TrainingResult


def deepest_leaf(model: TrainedModel) -> int:
    """Depth of the deepest leaf over all trees (the text dump indents each level by one tab)."""
    return max(len(line) - len(line.lstrip("\t")) for tree in model.booster.get_dump() for line in tree.splitlines())


def test_sample_model_clears_the_project_gate(
    trained: TrainingResult, splits: dict[str, pd.DataFrame], settings: Settings
):
    evaluation = evaluate(trained.model, splits["test"], settings.dataset, settings.decision)
    gates = quality_gates(evaluation, settings.gates)
    assert [gate.metric for gate in gates] == list(settings.gates.quality)
    assert all(gate.passed for gate in gates), [gate.message for gate in gates]


def test_sample_model_beats_knowing_nothing(evaluation: dict, settings: Settings):
    # Whatever the data, a model no better than a constant guess means a broken feature or label
    # encoding; the project's own limits are the gate test above. (Adult: AUC about 0.92.)
    kind = settings.dataset.problem_type
    if kind == "binary":
        assert 0.6 <= metric_value(evaluation, "auc") <= 1.0  # 0.5 is chance
    elif kind == "multiclass":  # better than always saying the most frequent class
        assert metric_value(evaluation, "accuracy") > metric_value(evaluation, "accuracy_best_constant_classifier")
    else:  # better than always saying the test set's mean
        assert metric_value(evaluation, "r2") > 0


def test_early_stopping_stopped_before_the_round_limit(trained: TrainingResult, settings: Settings):
    hp = settings.model.hyperparameters
    assert trained.best_round < hp.num_round
    assert len(trained.validation_curve) == trained.best_round + hp.early_stopping_rounds


def test_best_round_has_the_best_validation_curve(trained: TrainingResult):
    best = max if trained.metric == "auc" else min  # AUC: higher is better; log loss and RMSE: lower
    assert trained.validation_curve[trained.best_round - 1] == best(trained.validation_curve)


def test_model_holds_only_the_trees_up_to_the_best_round(trained: TrainingResult):
    assert trained.model.booster.num_boosted_rounds() == trained.best_round


def test_saved_model_holds_only_the_trees_up_to_the_best_round(trained: TrainingResult, model_dir: Path):
    loaded = TrainedModel.load(model_dir)
    assert loaded.booster.num_boosted_rounds() == trained.best_round


def test_saved_model_predicts_like_the_trained_one(
    trained: TrainingResult, model_dir: Path, splits: dict[str, pd.DataFrame]
):
    loaded = TrainedModel.load(model_dir)
    test = splits["test"]
    np.testing.assert_allclose(loaded.predict(test), trained.model.predict(test), rtol=0, atol=1e-7)


def test_model_directory_holds_booster_and_spec(model_dir: Path):
    assert sorted(path.name for path in model_dir.iterdir()) == sorted([BOOSTER_FILE, SPEC_FILE])


def test_project_hyperparameters_grow_trees_deeper_than_3(trained: TrainingResult, settings: Settings):
    # makes the override test below meaningful: without --max_depth 3 some tree is deeper
    assert settings.model.hyperparameters.max_depth > 3
    assert deepest_leaf(trained.model) > 3


def test_main_trains_from_sagemaker_style_arguments(
    tmp_path: Path, splits_dir: Path, settings_path: Path, capsys: pytest.CaptureFixture
):
    model_dir = tmp_path / "model"
    train_step.main(
        [
            "--train",
            str(splits_dir / "train"),
            "--validation",
            str(splits_dir / "validation"),
            "--model-dir",
            str(model_dir),
            "--settings",
            str(settings_path),
            "--max_depth",
            "3",
            "--num_round",
            "60",
        ]
    )
    model = TrainedModel.load(model_dir)
    assert 1 <= deepest_leaf(model) <= 3
    assert model.booster.num_boosted_rounds() <= 60
    assert capsys.readouterr().out.startswith("best round ")


def test_main_reads_channels_from_sagemaker_environment(
    tmp_path: Path, splits_dir: Path, settings_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(splits_dir / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(splits_dir / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    train_step.main(["--settings", str(settings_path), "--num_round", "5", "--early_stopping_rounds", "5"])
    model = TrainedModel.load(tmp_path / "model")
    assert 1 <= model.booster.num_boosted_rounds() <= 5


@pytest.mark.parametrize(("name", "value"), [("eta", "5"), ("max_depth", "0"), ("subsample", "1.5")])
def test_main_refuses_an_invalid_hyperparameter_override_by_name(
    tmp_path: Path, splits_dir: Path, settings_path: Path, name, value
):
    arguments = ["--train", str(splits_dir / "train"), "--validation", str(splits_dir / "validation")]
    arguments += ["--model-dir", str(tmp_path / "model"), "--settings", str(settings_path), f"--{name}", value]
    with pytest.raises(ProjectError, match=name):
        train_step.main(arguments)
    assert not (tmp_path / "model").exists()


def test_main_refuses_a_hyperparameter_of_the_wrong_type(settings_path: Path):
    with pytest.raises(SystemExit) as caught:
        train_step.main(["--settings", str(settings_path), "--max_depth", "deep"])
    assert caught.value.code == 2


def test_a_training_resumes_from_its_latest_checkpoint(splits: dict[str, pd.DataFrame], settings: Settings, tmp_path):
    """Managed spot: SageMaker restores the checkpoint folder after an interruption."""
    hp = settings.model.hyperparameters.model_copy(update={"num_round": 60, "early_stopping_rounds": 100})
    train_step.train(splits["train"], splits["validation"], settings.dataset, hp, checkpoint_dir=tmp_path)
    saved = train_step._latest_checkpoint(tmp_path).num_boosted_rounds()
    assert 50 <= saved < 60  # one every 25 rounds
    said = []
    more = hp.model_copy(update={"num_round": 80})
    result = train_step.train(splits["train"], splits["validation"], settings.dataset, more, said.append, tmp_path)
    assert any(f"resuming after round {saved}" in line for line in said)
    assert saved < result.best_round == result.model.booster.num_boosted_rounds() <= 80
    best = max if result.metric == "auc" else min  # AUC is maximised; log loss and RMSE minimised
    assert result.best_value == best(value for value in result.validation_curve if value == value)  # NaN != NaN
