"""Reading tabular input: one CSV file, or a directory of CSV files (a SageMaker channel)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import ProjectError
from .settings import Dataset


def csv_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.csv"))
        if not files:
            raise ProjectError(f"{path}: no .csv files in this directory")
        return files
    if not path.exists():
        raise ProjectError(f"{path}: file not found; pass an existing CSV with --data")
    return [path]


def read_dataset(path: Path, dataset: Dataset) -> pd.DataFrame:
    """Rows in the project schema: categorical columns as text, numeric columns as numbers (a
    value that is not a number becomes missing, which the data checks then report)."""
    frame = read_csv(path, dataset.categorical_features)
    for column in dataset.numeric_features:
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def read_csv(path: Path, text_columns: list[str] = ()) -> pd.DataFrame:
    """All CSV rows under `path`; `text_columns` are kept as strings (no '01' -> 1 surprises)."""
    frames = []
    for file in csv_files(path):
        try:
            frames.append(
                pd.read_csv(file, dtype={c: "string" for c in text_columns}, keep_default_na=False, na_values=[""])
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ProjectError(f"{file}: not a readable CSV file ({error})") from None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
