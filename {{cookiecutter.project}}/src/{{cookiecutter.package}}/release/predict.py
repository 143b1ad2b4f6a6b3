"""Scores from a stage's live endpoint: rows of raw features sent as the JSON request the endpoint's
handlers take (steps/inference.py), one prediction back per row."""

from __future__ import annotations

import json

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ProjectError
from ..settings import Dataset
from ..transforms import require_columns


def request_body(rows: pd.DataFrame, dataset: Dataset, where: str) -> str:
    """{"instances": [{feature: value, ...}, ...]} in the model's features; a missing value is null."""
    require_columns(rows, dataset.features, where)
    return json.dumps({"instances": json.loads(rows[dataset.features].to_json(orient="records"))})


def predict(runtime, endpoint: str, body: str, rows: int) -> list[dict]:
    """[{"score": ..., "predicted_label": ...}, ...], one per row, or one clear error."""
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="application/json", Accept="application/json", Body=body
        )
        text = response["Body"].read().decode("utf-8")
    except (ClientError, BotoCoreError) as error:
        raise ProjectError(f"endpoint {endpoint}: {error}") from None
    try:
        predictions = json.loads(text)["predictions"]
    except (ValueError, KeyError, TypeError):
        predictions = None
    if not isinstance(predictions, list) or len(predictions) != rows:
        raise ProjectError(f"endpoint {endpoint}: expected {rows} predictions as JSON, got {text[:120]!r}")
    return predictions


def table(rows: pd.DataFrame, predictions: list[dict], dataset: Dataset) -> pd.DataFrame:
    """Each row's record id (or position) with its prediction."""
    ids = rows[dataset.record_id] if dataset.record_id in rows.columns else pd.Series(range(len(rows)))
    scored = pd.DataFrame.from_records(predictions)
    return pd.concat([ids.astype(str).rename(dataset.record_id).reset_index(drop=True), scored], axis=1)
