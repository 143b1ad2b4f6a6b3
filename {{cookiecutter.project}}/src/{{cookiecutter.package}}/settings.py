"""project.yaml: the one place a new dataset, model or threshold is configured.

Loaded and validated here only; every error names the file, the key path and what is expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ProjectError

# SageMaker jobs set PROJECT_SETTINGS to where the pipeline puts project.yaml.
DEFAULT_PATH = Path(os.environ.get("PROJECT_SETTINGS", "project.yaml"))
Fraction = Annotated[float, Field(gt=0, lt=0.5)]


class Strict(BaseModel):
    # A typo in a key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dataset(Strict):
    record_id: str
    event_time: str
    label: str
    positive_label: str
    numeric_features: list[str] = Field(min_length=0)
    categorical_features: list[str] = Field(min_length=0)

    @property
    def features(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_features]

    @model_validator(mode="after")
    def _columns_are_distinct(self) -> Dataset:
        if not self.features:
            raise ValueError("list at least one column in numeric_features or categorical_features")
        seen: set[str] = set()
        for column in [self.record_id, self.event_time, self.label, *self.features]:
            if column in seen:
                raise ValueError(f"column {column!r} is listed twice; each column has one role")
            seen.add(column)
        return self


class Split(Strict):
    validation: Fraction = 0.15
    test: Fraction = 0.15
    seed: int = 42


class Hyperparameters(Strict):
    """XGBoost training parameters (https://xgboost.readthedocs.io/en/stable/parameter.html)."""

    num_round: int = Field(300, ge=1)
    early_stopping_rounds: int = Field(30, ge=1)
    max_depth: int = Field(6, ge=1, le=20)
    eta: float = Field(0.1, gt=0, le=1)
    min_child_weight: float = Field(1.0, ge=0)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    max_cat_to_onehot: int = Field(4, ge=1)
    seed: int = 42


class Model(Strict):
    hyperparameters: Hyperparameters = Hyperparameters()


class Gates(Strict):
    min_auc: float = Field(ge=0, le=1)


class Settings(Strict):
    dataset: Dataset
    split: Split = Split()
    model: Model = Model()
    gates: Gates


def load_settings(path: Path | str = DEFAULT_PATH) -> Settings:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            f"{path}: settings file not found; run from the project root or pass --settings PATH"
        ) from None
    except yaml.YAMLError as error:
        raise ProjectError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: expected a mapping of settings at the top level")
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise ProjectError(_describe(path, error)) from None


def _describe(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} invalid setting(s):"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and indentation)"
        elif "input" in problem and problem["type"] != "missing":
            message += f" (got {problem['input']!r})"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)
