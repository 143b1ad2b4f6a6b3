"""Train: fit the feature encoding and an XGBoost model for the problem type, with early stopping.

In SageMaker this is the script-mode entry point of the XGBoost framework container: channels
arrive as SM_CHANNEL_* directories, hyperparameters as --name value arguments that override
project.yaml, and the model goes to SM_MODEL_DIR. On several instances (TrainingInstanceCount > 1)
each trains as one worker of a distributed XGBoost on its shard of the channels (distributed.py).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xgboost as xgb
from pydantic import ValidationError

from ..cpus import training_threads
from ..distributed import collective, from_first, read_share, shared_encoding
from ..errors import ProjectError
from ..model import TrainedModel
from ..settings import DEFAULT_PATH, Dataset, Hyperparameters, describe_errors, load_settings
from ..shards import training_cluster
from ..transforms import clean_features, fit, to_dmatrix

CHECKPOINT = "checkpoint"
# Per problem type: the loss XGBoost minimises and the validation metric early stopping watches.
OBJECTIVES = {
    "binary": {"objective": "binary:logistic", "eval_metric": "auc"},
    "multiclass": {"objective": "multi:softprob", "eval_metric": "mlogloss"},
    "regression": {"objective": "reg:squarederror", "eval_metric": "rmse"},
}
METRIC_NAMES = {"auc": "AUC", "mlogloss": "log loss", "rmse": "RMSE"}


def objective(dataset: Dataset) -> dict:
    params = {**OBJECTIVES[dataset.problem_type], "tree_method": "hist"}
    if dataset.problem_type == "multiclass":
        params["num_class"] = len(dataset.classes)
    return params


@dataclass
class TrainingResult:
    model: TrainedModel
    best_round: int
    validation_curve: list[float]  # the validation metric per boosting round, for the learning curve
    metric: str = "auc"  # XGBoost's name of that metric (auc, mlogloss, rmse)

    @property
    def metric_name(self) -> str:
        return f"validation {METRIC_NAMES[self.metric]}"

    @property
    def best_value(self) -> float:
        return self.validation_curve[self.best_round - 1]


class _ReportProgress(xgb.callback.TrainingCallback):
    """Prints the round and validation metric at most every `every` seconds, for long trainings."""

    def __init__(self, echo: Callable[[str], None], total: int, metric: str, every: float = 10.0) -> None:
        self.echo, self.total, self.metric, self.every = echo, total, metric, every
        self.last = time.monotonic()

    def after_iteration(self, model, epoch: int, evals_log: dict) -> bool:
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            value = evals_log["validation"][self.metric][-1]
            self.echo(f"  round {epoch + 1}/{self.total}: validation {METRIC_NAMES[self.metric]} {value:.4f}")
        return False  # never stop training from here


def _latest_checkpoint(folder: Path) -> xgb.Booster | None:
    # XGBoost 3 writes checkpoints as UBJSON (checkpoint_25.ubj); earlier versions wrote .json.
    written = [*folder.glob(f"{CHECKPOINT}_*.ubj"), *folder.glob(f"{CHECKPOINT}_*.json")]
    saved = sorted(written, key=lambda path: int(path.stem.rsplit("_", 1)[1]))
    return xgb.Booster(model_file=str(saved[-1])) if saved else None


# Extension point, the estimator: another learner returns a TrainedModel here too; model.py then
# saves, loads and predicts it, containers/images.yaml names its image, and explain.py's TreeSHAP
# needs a tree model (or another explainer).
def train(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    dataset: Dataset,
    hp: Hyperparameters,
    progress: Callable[[str], None] | None = None,
    checkpoint_dir: Path | None = None,
    cutoff: float = 0.5,
) -> TrainingResult:
    """`cutoff` (binary: settings.cutoff) is saved with the model for the endpoint's labels."""
    train_features = clean_features(train, dataset)
    spec = shared_encoding(fit(train_features, dataset, cutoff))  # distributed: every worker's categories
    dtrain = to_dmatrix(train_features, spec, train[dataset.label])
    dvalidation = to_dmatrix(validation, spec, validation[dataset.label])
    params = {
        **objective(dataset),
        **hp.model_dump(exclude={"num_round", "early_stopping_rounds"}),
        "nthread": training_threads(),
    }
    metric = params["eval_metric"]
    history: dict = {}
    callbacks: list = [_ReportProgress(progress, hp.num_round, metric)] if progress else []
    resume, rounds = None, hp.num_round
    if checkpoint_dir:
        # Managed spot: SageMaker restores this folder after an interruption; continue from it.
        resume = from_first(_latest_checkpoint(checkpoint_dir))  # distributed: the first worker's
        if resume:
            rounds = max(hp.num_round - resume.num_boosted_rounds(), 1)
            if progress:
                progress(f"  resuming after round {resume.num_boosted_rounds()} from {checkpoint_dir}")
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        callbacks.append(xgb.callback.TrainingCheckPoint(directory=checkpoint_dir, name=CHECKPOINT, interval=25))
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        xgb_model=resume,
        evals=[(dvalidation, "validation")],
        early_stopping_rounds=hp.early_stopping_rounds,
        evals_result=history,
        verbose_eval=False,
        callbacks=callbacks or None,
    )
    best = booster.best_iteration
    # Rounds restored from a checkpoint have no validation history here: NaN keeps the curve's
    # positions the rounds' numbers (best_value reads it by round).
    curve = [float("nan")] * (resume.num_boosted_rounds() if resume else 0) + history["validation"][metric]
    # Keep only the trees up to the best round, so every consumer predicts with the best model.
    return TrainingResult(TrainedModel(booster[: best + 1], spec), best + 1, curve, metric)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--train", type=Path, default=Path(os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=Path(os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
    )
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--checkpoint-dir", type=Path, help="save checkpoints here and resume from the latest")
    for name, field in Hyperparameters.model_fields.items():
        parser.add_argument(f"--{name}", type=field.annotation, default=None)
    args = parser.parse_args(argv)
    settings = load_settings(args.settings)
    overrides = {name: getattr(args, name) for name in Hyperparameters.model_fields if getattr(args, name) is not None}
    try:
        hp = Hyperparameters.model_validate({**settings.model.hyperparameters.model_dump(), **overrides})
    except ValidationError as error:
        raise ProjectError(describe_errors("hyperparameter arguments", error)) from None
    dataset, cluster = settings.dataset, training_cluster()
    with collective(cluster):
        result = train(
            read_share(args.train, dataset, cluster),
            read_share(args.validation, dataset, cluster),
            dataset,
            hp,
            progress=print,
            checkpoint_dir=args.checkpoint_dir,
            cutoff=settings.cutoff,
        )
    if cluster.is_leader:  # every worker holds the same model; one copy is the job's model
        result.model.save(args.model_dir)
    print(f"best round {result.best_round}, {result.metric_name} {result.best_value:.4f}")


if __name__ == "__main__":
    main()
