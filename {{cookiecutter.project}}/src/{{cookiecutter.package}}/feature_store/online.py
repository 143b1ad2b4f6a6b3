"""Read features from the online store for inference: the latest record per id, cleaned by the
same transforms as training data, ready for the model (or an endpoint request)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from botocore.exceptions import ClientError

from ..errors import ProjectError
from ..settings import Dataset
from .definition import FeatureGroup
from .records import from_records

BATCH_LIMIT = 100  # record identifiers per BatchGetRecord call


@dataclass(frozen=True)
class Lookup:
    found: pd.DataFrame  # one row per id found, in the group's columns, in request order
    missing: list[str]  # ids the online store has no (live) record for


def get_records(runtime, group: FeatureGroup, dataset: Dataset, ids: list[str], attempts: int = 3) -> Lookup:
    if not group.online_store.enabled:
        raise ProjectError(f"feature group {group.name} has no online store (online_store.enabled is false)")
    wanted = list(dict.fromkeys(str(i) for i in ids))
    records: dict[str, list[dict]] = {}
    for start in range(0, len(wanted), BATCH_LIMIT):
        todo = wanted[start : start + BATCH_LIMIT]
        for _ in range(attempts):
            response = _batch_get(runtime, group.name, todo)
            for item in response.get("Records", []):
                records[item["RecordIdentifierValueAsString"]] = item["Record"]
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise ProjectError(
                    f"feature group {group.name}: reading {len(errors)} record(s) failed, e.g. "
                    f"{first['RecordIdentifierValueAsString']}: {first['ErrorCode']} {first['ErrorMessage']}"
                )
            unprocessed = response.get("UnprocessedIdentifiers", [])
            todo = [i for entry in unprocessed for i in entry["RecordIdentifiersValueAsString"]]
            if not todo:
                break
        else:
            raise ProjectError(f"feature group {group.name}: {len(todo)} id(s) unprocessed after {attempts} tries")
    found_ids = [i for i in wanted if i in records]
    frame = from_records([records[i] for i in found_ids], group, dataset)
    return Lookup(found=frame, missing=[i for i in wanted if i not in records])


def get_record(runtime, group: FeatureGroup, dataset: Dataset, record_id: str) -> pd.DataFrame | None:
    """One record by id (GetRecord: the single-entity read an inference request makes), or None."""
    if not group.online_store.enabled:
        raise ProjectError(f"feature group {group.name} has no online store (online_store.enabled is false)")
    request = {"FeatureGroupName": group.name, "RecordIdentifierValueAsString": str(record_id)}
    response = _call(group.name, runtime.get_record, **request)
    if not response.get("Record"):
        return None
    return from_records([response["Record"]], group, dataset)


def _batch_get(runtime, name: str, ids: list[str]) -> dict:
    identifiers = [{"FeatureGroupName": name, "RecordIdentifiersValueAsString": ids}]
    return _call(name, runtime.batch_get_record, Identifiers=identifiers)


def _call(name: str, operation, **request) -> dict:
    """One runtime call; a group that does not exist becomes one clear message."""
    try:
        return operation(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ResourceNotFound", "ValidationError"):
            raise ProjectError(
                f"feature group {name}: {error.response['Error']['Message']} (run `features apply` first)"
            ) from None
        raise
