"""The smoke test after every deploy: sample rows through the live endpoint, checking the
response shape (one line per row, in the problem type's form), the values and the latency."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ..settings import Dataset


@dataclass(frozen=True)
class SmokeResult:
    endpoint: str
    rows: int
    latency_ms: float
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED: " + "; ".join(self.problems)
        return f"smoke test on {self.endpoint}: {self.rows} rows in {self.latency_ms:.0f} ms, {verdict}"


def payload(sample: pd.DataFrame, dataset: Dataset, rows: int) -> str:
    """Header-less CSV of raw feature values in the model's feature order (what the endpoint's
    text/csv handler and Clarify send)."""
    features = sample[dataset.features].head(rows)
    return features.to_csv(header=False, index=False)


def smoke(runtime, endpoint: str, body: str, rows: int, max_latency_ms: float, dataset: Dataset) -> SmokeResult:
    started = time.perf_counter()
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body)
        text = response["Body"].read().decode("utf-8")
    except (ClientError, BotoCoreError) as error:
        return SmokeResult(endpoint, rows, (time.perf_counter() - started) * 1000, [f"invoke failed: {error}"])
    latency = (time.perf_counter() - started) * 1000
    problems = []
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) != rows:
        problems.append(f"expected {rows} scores, one per line, got {len(lines)}: {text[:80]!r}")
    else:
        problems.extend(_answer_problems(lines, dataset, text))
    if latency > max_latency_ms:
        problems.append(f"latency {latency:.0f} ms > {max_latency_ms} ms")
    return SmokeResult(endpoint, rows, latency, problems)


def _answer_problems(lines: list[str], dataset: Dataset, text: str) -> list[str]:
    """What is wrong with the endpoint's text/csv lines (steps/inference.py's output_fn): binary
    one probability per line, multiclass one per class (summing to 1), regression one number."""
    width = len(dataset.classes or []) if dataset.problem_type == "multiclass" else 1
    try:
        values = [[float(value) for value in line.split(",")] for line in lines]
    except ValueError:
        return [f"scores are not numbers: {text[:80]!r}"]
    if any(len(row) != width for row in values):
        return [f"expected {width} value(s) per line, got {text[:80]!r}"]
    if dataset.problem_type == "regression":
        return [] if all(math.isfinite(row[0]) for row in values) else [f"predictions are not finite: {text[:80]!r}"]
    if not all(0 <= value <= 1 for row in values for value in row):
        return [f"scores outside [0, 1]: {text[:80]!r}"]
    if width > 1 and not all(abs(sum(row) - 1) <= 1e-3 for row in values):
        return [f"class probabilities do not sum to 1: {text[:80]!r}"]
    return []
