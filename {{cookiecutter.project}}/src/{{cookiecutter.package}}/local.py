"""The whole model flow in-process on one machine: the same step functions SageMaker runs.

Writes into the output directory only when the run finishes (it builds a sibling '.partial'
directory first), so a failed run never leaves a half-written result behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import report
from .data import read_csv
from .gates import GateResult, quality_gate
from .progress import Stages
from .settings import Settings
from .steps.evaluate import auc, evaluate, write_evaluation
from .steps.preprocess import split_dataset, write_splits
from .steps.train import train

DEFAULT_DATA = Path("data/sample/adult.csv")
DEFAULT_OUT = Path("build/local")


@dataclass
class LocalRun:
    out: Path
    gates: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)


def run_local(
    settings: Settings, data: Path = DEFAULT_DATA, out: Path = DEFAULT_OUT, echo: Callable[[str], None] | None = None
) -> LocalRun:
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        gates = _run(settings, data, partial, Stages(total=5, echo=echo))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return LocalRun(out=out, gates=gates)


def _run(settings: Settings, data: Path, out: Path, stages: Stages) -> list[GateResult]:
    dataset = settings.dataset
    with stages.stage("read data") as summary:
        raw = read_csv(data, dataset.categorical_features)
        summary.append(f"{len(raw):,} rows from {data}")
    with stages.stage("preprocess") as summary:
        splits = split_dataset(raw, dataset, settings.split, where=str(data))
        write_splits(splits, out / "data")
        summary.append(", ".join(f"{name} {len(frame):,}" for name, frame in splits.items()))
    with stages.stage("train") as summary:
        result = train(splits["train"], splits["validation"], dataset, settings.model.hyperparameters)
        result.model.save(out / "model")
        best_auc = result.validation_auc[result.best_round - 1]
        summary.append(f"best round {result.best_round}, validation AUC {best_auc:.4f}")
    with stages.stage("evaluate") as summary:
        evaluation = evaluate(result.model, splits["test"], dataset)
        write_evaluation(evaluation, out)
        summary.append(f"test AUC {auc(evaluation):.4f}")
    gates = [quality_gate(evaluation, settings.gates)]
    with stages.stage("report") as summary:
        path = report.write(out, settings, data, splits, result, evaluation, gates)
        summary.append(f"{path.name} with charts")
    return gates
