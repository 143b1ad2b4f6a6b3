"""Times the responsible-AI components in-process, imports and model training excluded.

    <project>/.venv/bin/python bench/components.py PACKAGE PROJECT_DIR ROWS_1M.csv ROWS_100K.csv

Prints one JSON object: seconds for the data checks and `data init`'s profile on the 1M-row
file, the bias metrics
(pre- and post-training, every configured facet) on the 100k-row file, global TreeSHAP on
the 100k-row file and, with the Feature Store on, the shared transforms on the 100k-row file
and the ingest rate into the project's in-memory Feature Store runtime (tests/featurestore_stub.py,
which answers at the boto3 client boundary, so the rate is the client side's ceiling).
bench/run.py calls it with the baked project's interpreter.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import pandas as pd


def seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    package, project, big, medium = (
        sys.argv[1],
        Path(sys.argv[2]),
        Path(sys.argv[3]),
        Path(sys.argv[4]),
    )
    load = importlib.import_module(f"{package}.settings").load_settings
    data = importlib.import_module(f"{package}.data")
    checks = importlib.import_module(f"{package}.checks")
    explain = importlib.import_module(f"{package}.explain")
    preprocess = importlib.import_module(f"{package}.steps.preprocess")
    train = importlib.import_module(f"{package}.steps.train")
    settings = load(project / "project.yaml")
    dataset = settings.dataset
    results = {}

    suite = checks.load_suite(project / "data_checks" / "training.json")
    frame = data.read_dataset(big, dataset)
    # With the project's dataset, as every command that checks data calls it (local run, checks
    # run, the DataChecks job, features ingest): categorical features checked as the pipeline reads them.
    checks.validate(frame.head(100), suite, dataset=dataset)  # warm up: Great Expectations' import and registry
    results["checks_1m_s"] = seconds(lambda: checks.validate(frame, suite, dataset=dataset))
    del frame
    profile = importlib.import_module(f"{package}.data_init.profile").profile
    results["profile_1m_s"] = seconds(lambda: profile(big, dataset.label))  # what `data init` reads

    frame = data.read_dataset(medium, dataset)
    splits = preprocess.split_dataset(frame, dataset, settings.split)
    model = train.train(
        splits["train"], splits["validation"], dataset, settings.model.hyperparameters
    ).model
    labelled_rows = pd.concat(splits.values())  # all 100k rows, cleaned and labelled
    if settings.bias is not None:
        bias = importlib.import_module(f"{package}.bias")
        predicted = (model.predict_proba(labelled_rows) >= 0.5).astype(int)
        results["bias_100k_s"] = seconds(
            lambda: (
                bias.pre_training(labelled_rows, dataset, settings.bias),
                bias.post_training(
                    labelled_rows, predicted, model.spec, dataset, settings.bias
                ),
            )
        )
    results["shap_100k_s"] = seconds(
        lambda: explain.global_explanation(model, labelled_rows)
    )
    results["rows_medium"] = len(labelled_rows)
    if (project / "features").is_dir():
        results.update(feature_store(package, project, settings, data.read_dataset(medium, dataset)))
    print(json.dumps(results))


def feature_store(package: str, project: Path, settings, rows: pd.DataFrame) -> dict:
    import os

    sys.path.insert(0, str(project / "tests"))
    from featurestore_stub import FeatureStoreRuntime

    definition = importlib.import_module(f"{package}.feature_store.definition")
    records = importlib.import_module(f"{package}.feature_store.records")
    ingest = importlib.import_module(f"{package}.feature_store.ingest")
    group = definition.load_group(project / "features" / "census.yaml")
    transform_s = seconds(lambda: records.transform(rows, group, settings.dataset))
    transformed = records.transform(rows, group, settings.dataset)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    context = importlib.import_module(f"{package}.context").load_context(project / "project.yaml")
    client = ingest.runtime_client(context)  # the client `features ingest` makes, at its default workers
    FeatureStoreRuntime(client.meta.events, {group.name: group.record_identifier})
    result = ingest.ingest(client, group, transformed, echo=lambda _line: None)
    if len(result.failed):
        raise SystemExit(f"ingest: {len(result.failed)} rows failed, e.g. {result.failed['error'].iloc[0]}")
    return {"transforms_100k_s": transform_s, "ingest_rows_per_s": result.rows_per_second}


if __name__ == "__main__":
    main()
