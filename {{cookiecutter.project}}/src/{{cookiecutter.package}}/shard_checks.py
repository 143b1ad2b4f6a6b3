"""Data checks over several instances: each instance validates its shard of the data's files and
writes result-<host>.json (steps/check_data.py); the step that uses the verdict merges them here
into the verdict on the whole data.

How each expectation is judged on the whole data:
- exactly, from the shards' partial results:
  - row-level (column map) expectations without `mostly`: a row breaks one on whichever instance
    reads it, so the data passes when every shard does (unexpected rows are summed);
  - not-null with `mostly`: missing values counted over all rows;
  - the table's columns: every file must have them;
  - the row count: the shards' rows summed, against the suite's bounds;
  - unique values (expect_column_values_to_be_unique): each instance also writes a 64-bit hash
    of each value (unique-<n>-<host>.npy), and duplicates are counted over all instances' hashes.
- on each shard, every other expectation: every shard must pass on its own. For other `mostly`
  fractions, means, medians, minimums, maximums and value sets that is stricter than judging the
  whole data (a pass on every shard is a pass on the whole); for sums, standard deviations and
  counts of distinct values it is no check of the whole data: keep ProcessingInstanceCount at 1
  for a suite that relies on those.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .checks import EXAMPLES, NUMBERS, CheckResult, Outcome
from .data import data_files
from .errors import ProjectError
from .shards import Cluster, as_text

RESULT = "result"  # result.json on one instance; result-<host>.json on each of several
ROW_COUNT = ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal")
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"


def read_verdict(path: Path) -> dict:
    """The data-check verdict in `path`: one result file, or the folder the step wrote (its
    result.json, or every instance's result-<host>.json, merged)."""
    path = Path(path)
    files = sorted(path.glob(f"{RESULT}*.json")) if path.is_dir() else [path]
    if not files:
        raise ProjectError(f"{path}: no data-check result here ({RESULT}.json or {RESULT}-<host>.json)")
    results = [_read(file) for file in files]
    if len(results) == 1 and "host" not in results[0]:
        return results[0]
    return merge(results, path if path.is_dir() else path.parent)


def _read(file: Path) -> dict:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ProjectError(f"{file}: no readable data-check result ({error})") from None


def file_columns(path: Path) -> set[str]:
    """The columns the data's files hold (the first file's header), before any id is generated."""
    first = data_files(path)[0]
    if first.suffix == ".parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(first).names)
    return set(pd.read_csv(first, nrows=0).columns)


def write_unique_keys(frame: pd.DataFrame, suite: dict, present: set[str], out: Path, cluster: Cluster) -> dict:
    """For each column the suite expects unique and the files hold (a generated record id is a row
    number within one instance's files): a 64-bit hash of each value, for merge to count
    duplicates across instances. Returns {column: file name}."""
    written = {}
    for position, entry in enumerate(suite["expectations"]):
        column = entry.get("kwargs", {}).get("column")
        if entry.get("type") != UNIQUE or column not in present or column not in frame.columns or column in written:
            continue
        values = frame[[column]][frame[column].notna()]
        name = cluster.file_name(f"unique-{position}", ".npy")
        np.save(out / name, pd.util.hash_pandas_object(as_text(values), index=False).to_numpy())
        written[column] = name
    return written


def merge(results: list[dict], folder: Path) -> dict:
    """One verdict from every instance's result, in the shape of one instance's result.json."""
    rows = sum(result["rows"] for result in results)
    shards = [result for result in results if result["rows"]]
    if not shards:
        return {"success": False, "failed": 1, "rows": 0, "summary": "no rows in any instance's share of the data"}
    expectations = shards[0].get("expectations", [])
    keyed: dict[tuple, list[tuple[str, dict]]] = {}
    for result in shards:
        seen: Counter = Counter()
        for outcome in result["outcomes"]:
            key = (outcome["expectation"], outcome["column"], outcome["notes"])
            keyed.setdefault((*key, seen[key]), []).append((result["host"], outcome))
            seen[key] += 1
    outcomes = [
        _merged(key, parts, rows, _kwargs(expectations, key), shards, folder)
        for key, parts in sorted(keyed.items(), key=lambda item: item[0][0] != NUMBERS)
    ]
    hosts = ", ".join(result["host"] for result in results)
    merged = CheckResult(suite=shards[0]["suite"], data=f"{shards[0]['data']} on {hosts}", rows=rows, outcomes=outcomes)
    return {"success": merged.success, "failed": len(merged.failures), "summary": merged.summary(), "rows": rows}


def _kwargs(expectations: list[dict], key: tuple) -> dict:
    """The suite's arguments of the key's expectation (its n-th of that type and column)."""
    kind, column, _notes, occurrence = key
    same = [
        entry.get("kwargs", {})
        for entry in expectations
        if entry.get("type") == kind and entry.get("kwargs", {}).get("column") == column
    ]
    return same[occurrence] if occurrence < len(same) else {}


def _merged(key: tuple, parts: list[tuple[str, dict]], rows: int, kwargs: dict, shards: list[dict], folder: Path):
    kind, column, notes, _ = key
    counts = [outcome["unexpected_count"] for _, outcome in parts if outcome["unexpected_count"] is not None]
    unexpected = sum(counts) if counts else None
    success = all(outcome["success"] for _, outcome in parts)  # every shard passes: exact or stricter
    observed = _observed(parts)
    if kind in ROW_COUNT:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if kind == ROW_COUNT[1]:
            low = high = kwargs.get("value")
        success, observed = (low is None or rows >= low) and (high is None or rows <= high), rows
    elif kind == NOT_NULL and kwargs.get("mostly") is not None:
        success = 1 - (unexpected or 0) / rows >= kwargs["mostly"]
    elif kind == UNIQUE and all(column in shard.get("unique_keys", {}) for shard in shards):
        hashes = np.concatenate([np.load(folder / shard["unique_keys"][column]) for shard in shards])
        _, repeats = np.unique(hashes, return_counts=True)
        unexpected = int(repeats[repeats > 1].sum())  # as GE counts: every row whose value repeats
        success = unexpected <= (1 - kwargs.get("mostly", 1.0)) * len(hashes)
    examples = [value for _, outcome in parts for value in outcome["examples"]][:EXAMPLES]
    errors = [f"{host}: {outcome['error']}" for host, outcome in parts if outcome["error"]]
    return Outcome(
        expectation=kind,
        column=column,
        notes=notes,
        success=success and not errors,
        unexpected_count=unexpected,
        unexpected_percent=None if unexpected is None else 100 * unexpected / rows,
        examples=examples,
        observed=observed,
        error=errors[0] if errors else None,
    )


def _observed(parts: list[tuple[str, dict]]):
    """The shards' observed value when they agree, else each shard's (a statistic per shard)."""
    values = {host: outcome["observed"] for host, outcome in parts}
    distinct = {json.dumps(value, sort_keys=True, default=str) for value in values.values()}
    return next(iter(values.values())) if len(distinct) == 1 else values
