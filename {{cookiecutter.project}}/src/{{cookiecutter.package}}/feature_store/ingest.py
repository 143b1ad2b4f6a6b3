"""Ingest rows into a feature group: batches written concurrently, failed records retried, and
every record that still did not land reported with its reason, never dropped silently."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from .definition import FeatureGroup
from .records import to_record

# Worth another try: throttling and service-side faults. Validation errors are not.
RETRYABLE = {"ThrottlingException", "ServiceUnavailable", "InternalFailure", "ResourceLimitExceeded"}
WORKERS = 8  # threads sending at once (`features ingest --workers`)


@dataclass(frozen=True)
class IngestResult:
    rows: int
    failed: pd.DataFrame  # the rows that did not land, with an `error` column saying why
    seconds: float

    @property
    def ingested(self) -> int:
        return self.rows - len(self.failed)

    @property
    def rows_per_second(self) -> float:
        return self.ingested / self.seconds if self.seconds else 0.0


def runtime_client(context, workers: int = WORKERS):
    """The client ingest writes through: a connection per worker thread, and no check by botocore
    of each record against the API model. Every record comes from `to_record`, in the one shape
    tests/test_feature_store.py checks against that model; checking each of them again was 40 % of
    the client's CPU per record, which is what caps the rate one machine sends at."""
    return context.client("sagemaker-featurestore-runtime", connections=workers, checked=False)


def _put(runtime, group: str, record: list[dict]) -> tuple[str | None, bool]:
    """(error, retryable) for one PutRecord; (None, False) when it landed."""
    try:
        runtime.put_record(FeatureGroupName=group, Record=record)
        return None, False
    except ClientError as error:
        code = error.response["Error"]["Code"]
        return f"{code}: {error.response['Error'].get('Message', '')}", code in RETRYABLE
    except BotoCoreError as error:  # connection trouble: worth another try
        return f"{type(error).__name__}: {error}", True


def _put_batch(runtime, group: str, batch: list[tuple[int, list[dict]]]) -> dict[int, tuple[str, bool]]:
    failures = {}
    for position, record in batch:
        error, retryable = _put(runtime, group, record)
        if error:
            failures[position] = (error, retryable)
    return failures


def ingest(
    runtime,
    group: FeatureGroup,
    rows: pd.DataFrame,
    *,
    batch_size: int = 200,
    workers: int = WORKERS,
    attempts: int = 3,
    backoff: float = 1.0,
    echo: Callable[[str], None] = print,
) -> IngestResult:
    """Write `rows` (already checked and transformed) to the group's stores. Rows that do not fit
    their feature types fail before any call; retryable failures get `attempts` tries in all."""
    started = time.perf_counter()
    errors: dict[int, str] = {}
    pending: list[tuple[int, list[dict]]] = []
    for position, row in enumerate(rows.to_dict("records")):
        try:
            pending.append((position, to_record(row, group)))
        except ValueError as error:
            errors[position] = str(error)
    for attempt in range(1, attempts + 1):
        if not pending:
            break
        if attempt > 1:
            echo(f"{group.name}: retrying {len(pending):,} record(s), attempt {attempt} of {attempts}")
            time.sleep(backoff * 2 ** (attempt - 2))
        failures = _send(runtime, group.name, pending, batch_size, workers, echo)
        for position, _record in pending:
            if position in failures:
                errors[position] = failures[position][0]
            else:
                errors.pop(position, None)  # landed on this attempt
        pending = [(position, record) for position, record in pending if failures.get(position, ("", False))[1]]
    failed = rows.iloc[sorted(errors)].copy()
    failed["error"] = [errors[position] for position in sorted(errors)]
    return IngestResult(rows=len(rows), failed=failed, seconds=time.perf_counter() - started)


def _send(runtime, name: str, pending, batch_size: int, workers: int, echo) -> dict[int, tuple[str, bool]]:
    """One pass over `pending` in concurrent batches, with a progress line every few seconds."""
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
    failures: dict[int, tuple[str, bool]] = {}
    sent, last_report = 0, time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_put_batch, runtime, name, batch): len(batch) for batch in batches}
        for future in as_completed(futures):
            failures.update(future.result())
            sent += futures[future]
            if time.monotonic() - last_report > 2 or sent == len(pending):
                echo(f"{name}: {sent:,}/{len(pending):,} records sent, {len(failures):,} failed")
                last_report = time.monotonic()
    return failures
