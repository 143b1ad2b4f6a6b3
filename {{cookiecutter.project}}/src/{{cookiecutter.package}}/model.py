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

from .errors import ProjectError
from .transforms import FeatureSpec, to_dmatrix

BOOSTER_FILE = "xgboost-model.json"
SPEC_FILE = "feature_spec.json"
ARCHIVE = "model.tar.gz"
THRESHOLD = 0.5  # probability at or above which a row is predicted positive


@dataclass
class TrainedModel:
    booster: xgb.Booster
    spec: FeatureSpec

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for each row of raw (or cleaned) feature columns."""
        return self.booster.predict(to_dmatrix(features, self.spec))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / BOOSTER_FILE)
        self.spec.save(directory / SPEC_FILE)

    @classmethod
    def load(cls, directory: Path) -> TrainedModel:
        """Load from a model directory, or from one holding SageMaker's model.tar.gz."""
        directory = Path(directory)
        if not (directory / BOOSTER_FILE).exists() and (directory / ARCHIVE).exists():
            extracted = Path(tempfile.mkdtemp(prefix="model-"))
            with tarfile.open(directory / ARCHIVE) as archive:
                archive.extractall(extracted, filter="data")
            directory = extracted
        if not (directory / BOOSTER_FILE).exists():
            raise ProjectError(
                f"{directory}: no trained model here (expected {BOOSTER_FILE} and {SPEC_FILE}); "
                "run the training step first or point to its output directory"
            )
        booster = xgb.Booster()
        booster.load_model(directory / BOOSTER_FILE)
        return cls(booster=booster, spec=FeatureSpec.load(directory / SPEC_FILE))
