"""The UCI Adult census file in the generated project's schema, and the bundled sample.

Becker, B. & Kohavi, R. (1996). Adult. UCI Machine Learning Repository.
https://doi.org/10.24432/C5XW20 (CC BY 4.0).

The raw file has no header, pads values with a space and writes '?' for unknown. The project
schema names the columns in snake_case, leaves unknown values empty and adds two columns a
feature group needs: `record_id` (the 1-based line number in the source file, so every row can
be traced back) and `event_time` (synthetic, one minute apart from 2024-01-01T00:00:00Z).

    python dataset/adult.py sample  ../shared/data/adult/adult.data  OUT.csv   # the bundled sample
    python dataset/adult.py full    ../shared/data/adult/adult.data  OUT.csv   # all 32,561 rows
    python dataset/adult.py upsample ../shared/data/adult/adult.data OUT.csv --rows 1000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip
SAMPLE_ROWS = 5000
SEED = 1996  # the dataset's publication year; any fixed seed keeps the sample reproducible
EPOCH = pd.Timestamp("2024-01-01T00:00:00Z")


def read_raw(path: Path) -> pd.DataFrame:
    """The source file as published, one row per line, strings trimmed, '?' as missing."""
    frame = pd.read_csv(
        path, header=None, names=COLUMNS, skipinitialspace=True, na_values="?", dtype=str
    ).dropna(how="all")
    return frame


def to_project_schema(raw: pd.DataFrame, record_ids: np.ndarray) -> pd.DataFrame:
    """Prefix record_id and event_time; keep every source column as it was."""
    out = raw.reset_index(drop=True).copy()
    event_time = EPOCH + pd.to_timedelta(record_ids, unit="min")
    out.insert(0, "event_time", event_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.insert(0, "record_id", record_ids)
    return out


def full(path: Path) -> pd.DataFrame:
    raw = read_raw(path)
    return to_project_schema(raw, np.arange(1, len(raw) + 1))


def sample(path: Path, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """A uniform random sample without replacement, in source-file order."""
    everything = full(path)
    picked = np.sort(np.random.default_rng(SEED).choice(len(everything), rows, replace=False))
    return everything.iloc[picked].reset_index(drop=True)


def upsample(path: Path, rows: int) -> pd.DataFrame:
    """Rows drawn with replacement, renumbered 1..rows: a bigger file with the same distribution."""
    raw = read_raw(path)
    picked = np.random.default_rng(SEED).integers(0, len(raw), rows)
    return to_project_schema(raw.iloc[picked], np.arange(1, rows + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["sample", "full", "upsample"])
    parser.add_argument("source", type=Path, help="adult.data from the UCI repository")
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for 'upsample'")
    args = parser.parse_args()
    if args.kind == "sample":
        frame = sample(args.source)
    elif args.kind == "full":
        frame = full(args.source)
    else:
        frame = upsample(args.source, args.rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame):,} rows to {args.out}")


if __name__ == "__main__":
    main()
