"""The floors the bench compares against: the least each measured thing could cost on this machine.

    <project>/.venv/bin/python bench/floors.py PACKAGE PROJECT_DIR RUN_OUT DATA.csv [DATA_1M.csv]

Measured in the same bench run as the thing itself, because these machines drift: a ratio to a
floor measured a minute earlier means more than seconds compared with last week's. RUN_OUT is a
finished `local run --out` on DATA.csv: its model, test split and SHAP row count size the floors.

- read: pandas reading the file, nothing else;
- train: XGBoost alone (the project's hyperparameters, as many rounds as the run trained, early
  stopping included) on matrices built beforehand;
- explain: XGBoost's exact TreeSHAP on as many rows as the run explained;
- checks: each expectation of the training suite as the plain pandas operation behind it (nulls,
  ranges, sets, uniqueness, the regex), on the same frame;
- charts: the report's four PNGs as bare pyplot bar charts of the same sizes;
- imports: a fresh interpreter importing the package's __init__ and the libraries a local run
  cannot do without;
- pipeline imports: the same with the SageMaker SDK modules `pipeline build` uses.

Prints one JSON object of seconds.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def seconds(work, repeats: int = 3) -> float:
    """The best of `repeats`: a floor is what the machine can do, not what it did while busy."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def imports_floor(python: str, package: str) -> float:
    """The package first (its __init__ alone: OpenMP's wait policy and the garbage-collection
    setting that keeps the collector off the libraries' objects), as every command imports it."""
    code = f"import {package}, pandas, xgboost, sklearn.metrics, great_expectations, matplotlib.pyplot, smclarify.bias.report"
    return seconds(lambda: subprocess.run([python, "-c", code], check=True), repeats=2)


# What `pipeline build` imports from the SageMaker SDK: its floor is a fresh interpreter doing only that.
SDK_MODULES = (
    "sagemaker.core.processing, sagemaker.core.clarify, sagemaker.core.workflow.functions, sagemaker.train, "
    "sagemaker.serve, sagemaker.mlops.workflow.pipeline, sagemaker.mlops.workflow.steps, "
    "sagemaker.mlops.workflow.clarify_check_step"
)


def pipeline_imports_floor(python: str, package: str, region: str) -> float:
    env = {**os.environ, "AWS_DEFAULT_REGION": region, "SAGEMAKER_VALIDATE_ROLE": "false"}
    code = f"import {package}, {SDK_MODULES}"  # the package's __init__ first, as in imports_floor
    return seconds(lambda: subprocess.run([python, "-c", code], check=True, env=env), repeats=2)


def checks_floor(frame: pd.DataFrame, suite: dict, dataset) -> float:
    """The suite's expectations as the pandas operations they come down to, over the same frame."""
    operations = []
    for entry in suite["expectations"]:
        kwargs, kind = entry["kwargs"], entry["type"]
        column = frame[kwargs["column"]] if "column" in kwargs else None
        if kind == "expect_column_values_to_not_be_null":
            operations.append(lambda c=column: int(c.isna().sum()))
        elif kind == "expect_column_values_to_be_between":
            low, high = kwargs.get("min_value", -np.inf), kwargs.get("max_value", np.inf)
            numbers = pd.to_numeric(column, errors="coerce")
            operations.append(lambda c=numbers, lo=low, hi=high: int(((c < lo) | (c > hi)).sum()))
        elif kind == "expect_column_values_to_be_in_set":
            operations.append(lambda c=column, s=kwargs["value_set"]: int((~c.dropna().isin(s)).sum()))
        elif kind == "expect_column_values_to_be_unique":
            operations.append(lambda c=column: int(c.duplicated().sum()))
        elif kind == "expect_column_values_to_match_regex":
            pattern = re.compile(kwargs["regex"])
            operations.append(lambda c=column, p=pattern: int((~c.dropna().astype(str).str.contains(p)).sum()))
        else:  # table-level: columns and row count
            operations.append(lambda: (list(frame.columns), len(frame)))
    label = frame[dataset.label].astype(str)
    operations.append(lambda: int((~label.isin([str(c) for c in dataset.classes or []])).sum()))
    return seconds(lambda: [operation() for operation in operations])


def charts_floor(out: Path) -> float:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw() -> None:
        for index, size in enumerate([(11, 4), (8, 6), (8, 5.5), (8, 3)]):  # curves, bias, SHAP global, example
            fig, ax = plt.subplots(figsize=size)
            ax.barh([f"feature {i}" for i in range(14)], np.arange(14))
            fig.savefig(out / f"floor-{index}.png", dpi=100, pil_kwargs={"compress_level": 3})  # as report.py
            plt.close(fig)

    return seconds(draw)


def main() -> None:
    package, project, run_out, data = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    million = Path(sys.argv[5]) if len(sys.argv) > 5 else None
    importlib.import_module(package)  # first, as in the project: it sets OpenMP's wait policy before xgboost loads
    import xgboost as xgb

    settings = importlib.import_module(f"{package}.settings").load_settings(project / "project.yaml")
    checks = importlib.import_module(f"{package}.checks")
    model_module = importlib.import_module(f"{package}.model")
    train_module = importlib.import_module(f"{package}.steps.train")
    transforms = importlib.import_module(f"{package}.transforms")
    dataset, hp = settings.dataset, settings.model.hyperparameters

    train_only = bool(os.environ.get("BENCH_TRAIN_ONLY"))
    floors = {} if train_only else {
        "imports_s": imports_floor(sys.executable, package),
        "pipeline_imports_s": pipeline_imports_floor(sys.executable, package, settings.aws.region),
        "read_s": seconds(lambda: pd.read_csv(data)),
    }
    suite = checks.load_suite(project / "data_checks" / "training.json")
    frame = importlib.import_module(f"{package}.data").read_dataset(data, dataset)
    if not train_only:
        floors["checks_s"] = checks_floor(frame, suite, dataset)
    if million is not None and not train_only:
        big = importlib.import_module(f"{package}.data").read_dataset(million, dataset)
        floors["checks_1m_s"] = checks_floor(big, suite, dataset)
        del big

    model = model_module.TrainedModel.load(run_out / "model")
    splits = {name: pd.read_csv(run_out / "data" / name / f"{name}.csv") for name in ("train", "validation", "test")}
    labels = {name: split[dataset.label] for name, split in splits.items()}
    dtrain = transforms.to_dmatrix(splits["train"], model.spec, labels["train"])
    dvalidation = transforms.to_dmatrix(splits["validation"], model.spec, labels["validation"])
    params = {
        **train_module.objective(dataset),
        **hp.model_dump(exclude={"num_round", "early_stopping_rounds"}),
    }
    rounds = min(model.booster.num_boosted_rounds() + hp.early_stopping_rounds, hp.num_round)
    floors["train_s"] = seconds(
        lambda: xgb.train(params, dtrain, rounds, evals=[(dvalidation, "validation")], verbose_eval=False)
    )
    if os.environ.get("BENCH_TRAIN_ONLY"):  # under a busy neighbour: one thread against the project's choice
        ours = {**params, "nthread": importlib.import_module(f"{package}.cpus").training_threads()}
        floors["train_s"] = seconds(
            lambda: xgb.train(ours, dtrain, rounds, evals=[(dvalidation, "validation")], verbose_eval=False)
        )
        one = {**params, "nthread": 1}
        floors["train_1_thread_s"] = seconds(
            lambda: xgb.train(one, dtrain, rounds, evals=[(dvalidation, "validation")], verbose_eval=False)
        )
        print(json.dumps(floors))
        return
    shap = json.loads((run_out / "explainability.json").read_text())["explanations"]["tree_shap"]
    explained = transforms.to_dmatrix(splits["test"].iloc[: shap["rows"]], model.spec)
    floors["explain_s"] = seconds(lambda: model.booster.predict(explained, pred_contribs=True))
    with tempfile.TemporaryDirectory() as charts:
        floors["charts_s"] = charts_floor(Path(charts))
    print(json.dumps(floors))


if __name__ == "__main__":
    main()
