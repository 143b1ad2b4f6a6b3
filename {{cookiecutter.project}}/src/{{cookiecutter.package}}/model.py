"""A trained model as one self-contained directory: XGBoost booster + the fitted FeatureSpec.

This is what the training job writes to /opt/ml/model (SageMaker tars it as model.tar.gz) and
what evaluation, explanation and the endpoint load.
"""

from __future__ import annotations

import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from .cpus import usable_cpus
from .errors import ProjectError
from .transforms import FeatureSpec, to_dmatrix

BOOSTER_FILE = "xgboost-model.json"
SPEC_FILE = "feature_spec.json"
ARCHIVE = "model.tar.gz"


@dataclass
class TrainedModel:
    booster: xgb.Booster
    spec: FeatureSpec

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """What the model says for each row of raw (or cleaned) feature columns: binary the
        probability of the positive class (n,), multiclass the probability of each class (n, K)
        in FeatureSpec.classes order, regression the predicted value (n,)."""
        return self.booster.predict(to_dmatrix(features, self.spec))

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Classification: binary the positive class's probability, multiclass one per class."""
        if self.spec.problem_type == "regression":
            raise ProjectError("a regression model predicts values, not probabilities: use predict()")
        return self.predict(features)

    def classes_of(self, predictions: np.ndarray) -> np.ndarray:
        """Classification: the encoded class of each prediction (binary: score >= the cut-off)."""
        if self.spec.problem_type == "binary":
            return (predictions >= self.cutoff).astype(int)
        return np.asarray(predictions).argmax(axis=1)

    @property
    def cutoff(self) -> float:
        return 0.5 if self.spec.cutoff is None else self.spec.cutoff

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / BOOSTER_FILE)
        self.spec.save(directory / SPEC_FILE)

    @classmethod
    def load(cls, directory: Path) -> TrainedModel:
        """Load from a model directory, or from one holding SageMaker's model.tar.gz."""
        directory = Path(directory)
        if not (directory / BOOSTER_FILE).exists() and (directory / ARCHIVE).exists():
            with tempfile.TemporaryDirectory(prefix="model-") as extracted:  # both files are read whole
                with tarfile.open(directory / ARCHIVE) as archive:
                    archive.extractall(extracted, filter="data")
                if not (Path(extracted) / BOOSTER_FILE).exists():
                    raise ProjectError(
                        f"{directory / ARCHIVE}: holds no trained model (expected {BOOSTER_FILE} and {SPEC_FILE} "
                        "at its root, as a training job packs /opt/ml/model)"
                    )
                return cls.load(Path(extracted))
        if not (directory / BOOSTER_FILE).exists():
            raise ProjectError(
                f"{directory}: no trained model here (expected {BOOSTER_FILE} and {SPEC_FILE}); "
                "run the training step first or point to its output directory"
            )
        booster = xgb.Booster()
        booster.load_model(directory / BOOSTER_FILE)
        booster.set_param({"nthread": usable_cpus()})  # a saved model keeps no thread count
        return cls(booster=booster, spec=FeatureSpec.load(directory / SPEC_FILE))
