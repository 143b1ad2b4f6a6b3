"""Preprocess: clean raw rows and split them into train, validation and test sets.

Output columns: the label as 0/1 first, then the feature columns in project.yaml order, cleaned
but not encoded (encoding is fitted by the training step and travels with the model).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ..data import read_dataset
from ..errors import ProjectError
from ..settings import DEFAULT_PATH, Dataset, Split, load_settings
from ..transforms import binary_label, clean_features, require_columns

SPLITS = ("train", "validation", "test")


def split_dataset(raw: pd.DataFrame, dataset: Dataset, split: Split, where: str = "data") -> dict[str, pd.DataFrame]:
    require_columns(raw, [dataset.label, *dataset.features], where)
    labels = binary_label(raw[dataset.label], dataset.positive_label)
    frame = clean_features(raw, dataset)
    frame.insert(0, dataset.label, labels)
    frame = frame[labels.notna()].astype({dataset.label: "int8"})
    counts = frame[dataset.label].value_counts()
    if len(counts) < 2 or counts.min() < 10:
        raise ProjectError(
            f"{where}: need at least 10 rows of each class in '{dataset.label}' "
            f"(positive is {dataset.positive_label!r}); found {counts.to_dict()}"
        )
    rest, test = train_test_split(frame, test_size=split.test, stratify=frame[dataset.label], random_state=split.seed)
    train, validation = train_test_split(
        rest,
        test_size=split.validation / (1 - split.test),
        stratify=rest[dataset.label],
        random_state=split.seed,
    )
    return {"train": train, "validation": validation, "test": test}


def write_splits(splits: dict[str, pd.DataFrame], out: Path) -> None:
    """One folder per split, so each maps to its own SageMaker output and training channel."""
    for name, frame in splits.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / name / f"{name}.csv", index=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    settings = load_settings(args.settings)
    raw = read_dataset(args.input, settings.dataset)
    splits = split_dataset(raw, settings.dataset, settings.split, where=str(args.input))
    write_splits(splits, args.output)
    print(", ".join(f"{name}: {len(frame):,} rows" for name, frame in splits.items()))


if __name__ == "__main__":
    main()
