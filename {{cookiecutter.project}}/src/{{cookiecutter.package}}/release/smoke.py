"""The smoke test after every deploy: sample rows through the live endpoint, checking the
response shape, the score range and the latency."""

from __future__ import annotations

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


def smoke(runtime, endpoint: str, body: str, rows: int, max_latency_ms: float) -> SmokeResult:
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
        try:
            scores = [float(line) for line in lines]
        except ValueError:
            problems.append(f"scores are not numbers: {text[:80]!r}")
        else:
            if not all(0 <= score <= 1 for score in scores):
                problems.append(f"scores outside [0, 1]: {scores}")
    if latency > max_latency_ms:
        problems.append(f"latency {latency:.0f} ms > {max_latency_ms} ms")
    return SmokeResult(endpoint, rows, latency, problems)
