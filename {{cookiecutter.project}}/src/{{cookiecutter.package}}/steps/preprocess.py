"""Preprocess: clean raw rows and split them into train, validation and test sets.

Output columns: the label as the model learns it first (binary 0/1, multiclass the class index,
regression the number), then the feature columns in project.yaml order, cleaned
but not encoded (encoding is fitted by the training step and travels with the model), then the
audit-only facet columns the bias analysis needs (never model inputs: training reads features only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ..data import cutoff, read_dataset, with_ids
from ..errors import ProjectError
from ..settings import DEFAULT_PATH, Bias, Dataset, Split, load_settings
from ..transforms import clean_features, encode_labels, require_columns, require_numbers

SPLITS = ("train", "validation", "test")
MIN_CLASS_ROWS = 10  # rows each class needs to be split three ways and learned at all


def _class_names(dataset: Dataset) -> list:
    """The label value of each encoded class (binary: 0 the other class, 1 the positive label)."""
    if dataset.problem_type == "binary":
        other = [value for value in dataset.classes if str(value) != str(dataset.positive_label)]
        return [*other, dataset.positive_label]
    return list(dataset.classes or [])


def split_dataset(
    raw: pd.DataFrame, dataset: Dataset, split: Split, where: str = "data", bias: Bias | None = None
) -> dict[str, pd.DataFrame]:
    """Refuses, before anything is trained, data a run cannot use whatever its data checks said:
    missing columns, text in numeric columns, label values outside dataset.classes (or not numbers,
    for regression), too few rows of a class, and (with `bias`) facet columns missing, sensitive
    values that do not occur or ranges no row falls in. A facet group that occurs but is small in
    the test split is left to the bias gate ("too few rows to judge")."""
    raw = with_ids(raw, dataset, where)
    require_columns(raw, [dataset.record_id, dataset.event_time, dataset.label, *dataset.features], where)
    require_numbers(raw, dataset.numeric_features, where)
    labels = encode_labels(
        raw[dataset.label], dataset.problem_type, dataset.classes, dataset.positive_label, where
    ).rename(dataset.label)
    frame = clean_features(raw, dataset)
    if bias:
        from ..bias import audit_frame  # bias.py comes with use_clarify=yes, as does the bias section

        frame = pd.concat([frame, audit_frame(raw, dataset, bias, where)], axis=1)
    frame.insert(0, dataset.label, labels)
    frame = frame[labels.notna()]
    if dataset.problem_type == "regression":
        if len(frame) < MIN_CLASS_ROWS * 2:
            raise ProjectError(
                f"{where}: need at least {MIN_CLASS_ROWS * 2} rows with a value in '{dataset.label}'; "
                f"found {len(frame)}"
            )
        strata = None  # a number has no classes to stratify by
    else:
        frame = frame.astype({dataset.label: "int8"})
        counts = frame[dataset.label].value_counts()
        names = _class_names(dataset)
        found = {str(name): int(counts.get(code, 0)) for code, name in enumerate(names)}
        if min(found.values()) < MIN_CLASS_ROWS:
            raise ProjectError(
                f"{where}: need at least {MIN_CLASS_ROWS} rows of each class in '{dataset.label}'; found {found} "
                "(more data, or fewer classes under dataset.classes in project.yaml)"
            )
        strata = frame[dataset.label]
    rest, test = train_test_split(frame, test_size=split.test, stratify=strata, random_state=split.seed)
    train, validation = train_test_split(
        rest,
        test_size=split.validation / (1 - split.test),
        stratify=None if strata is None else rest[dataset.label],
        random_state=split.seed,
    )
    if bias:
        from ..bias import check_facets

        check_facets(frame, bias, where)
    return {"train": train, "validation": validation, "test": test}


def write_splits(splits: dict[str, pd.DataFrame], out: Path) -> None:
    """One folder per split, so each maps to its own SageMaker output and training channel."""
    for name, frame in splits.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / name / f"{name}.csv", index=False)


def write_clarify_inputs(
    splits: dict[str, pd.DataFrame], out: Path, dataset: Dataset, bias: Bias | None = None
) -> None:
    """Header-less CSVs of train and test for the pipeline's Clarify jobs: the label first, then
    the features (all the model's endpoint sees), then (with `bias`) the columns Clarify excludes
    from the model's input: audit-only facet columns and each range facet's yes/no column
    (pipeline/clarify.py declares them in this order). Beside them, the test split's facet group
    sizes for the gate step's min_rows rule."""
    (out / "clarify").mkdir(parents=True, exist_ok=True)
    if bias is None:
        for name in ("train", "test"):
            splits[name].to_csv(out / "clarify" / f"{name}.csv", index=False, header=False)
        return
    from ..bias import GROUPS_FILE, clarify_frame, facet_groups

    for name in ("train", "test"):
        clarify_frame(splits[name], dataset, bias).to_csv(out / "clarify" / f"{name}.csv", index=False, header=False)
    groups = facet_groups(splits["test"], dataset, bias)
    (out / "clarify" / GROUPS_FILE).write_text(json.dumps(groups, indent=2) + "\n", encoding="utf-8")


def require_checks_passed(result_file: Path) -> None:
    """Refuse data the data-check step failed: the pipeline stops here, before any training."""
    try:
        result = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ProjectError(f"{result_file}: no readable data-check result ({error})") from None
    if not result.get("success"):
        raise ProjectError(
            f"data checks failed, so the data is not used: {result.get('summary', '')} "
            "(the data-check report is the DataChecks step's output)"
        )


def sample(raw: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """A reproducible random share of the rows, for cheap pull-request runs."""
    if not 0 < fraction <= 1:
        raise ProjectError(f"--sample-fraction must be in (0, 1], got {fraction}")
    return raw if fraction == 1 else raw.sample(frac=fraction, random_state=seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--checks", type=Path, help="the data-check step's result.json; refuse the data if it failed")
    parser.add_argument("--sample-fraction", type=float, default=1.0)
    parser.add_argument("--as-of", default="latest", help="point-in-time snapshot: each record as known then")
    args = parser.parse_args(argv)
    if args.checks:
        require_checks_passed(args.checks)
    settings = load_settings(args.settings)
    raw = read_dataset(args.input, settings.dataset, as_of=cutoff(args.as_of))
    raw = sample(raw, args.sample_fraction, settings.split.seed)
    splits = split_dataset(raw, settings.dataset, settings.split, where=str(args.input), bias=settings.bias)
    write_splits(splits, args.output)
    write_clarify_inputs(splits, args.output, settings.dataset, settings.bias)
    print(", ".join(f"{name}: {len(frame):,} rows" for name, frame in splits.items()))


if __name__ == "__main__":
    main()
