"""An in-memory Feature Store runtime, answering at the boto3 client boundary.

moto has no featurestore runtime (PutRecord, GetRecord, BatchGetRecord), so this answers those
calls through botocore's `before-parameter-build` and `before-call` events, the hooks
botocore.stub.Stubber also uses: requests are validated against the real service model by any
client that checks them (ingest's does not; tests/test_feature_store.py checks its records), and
errors come back as real ClientErrors.
Unlike Stubber it keeps state, so writes can be read back and calls may run on many threads.
"""

from __future__ import annotations

import threading
from collections import Counter


class _Http:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict = {}


class FeatureStoreRuntime:
    def __init__(self, events, groups: dict[str, str]) -> None:
        """`events`: a client's (client.meta.events) or a session's event system, whose clients
        created afterwards all answer from this store; `groups` maps each known group name to
        its record identifier feature."""
        self.groups = groups
        self.records: dict[tuple[str, str], list[dict]] = {}
        self.calls: Counter = Counter()
        self.fail: dict[str, list[str]] = {}  # record id -> error codes to answer with, in order
        self._lock = threading.Lock()
        self._request = threading.local()  # each thread's call in flight
        events.register("before-parameter-build.sagemaker-featurestore-runtime", self._remember)
        events.register("before-call.sagemaker-featurestore-runtime", self._answer)

    def _remember(self, params, **_kwargs):
        self._request.params = dict(params)

    def _answer(self, model, **_kwargs):
        operation = model.name
        with self._lock:
            self.calls[operation] += 1
            return getattr(self, f"_{operation}")(self._request.params)

    @staticmethod
    def _error(code: str, message: str, status: int = 400):
        body = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return _Http(status), body

    @staticmethod
    def _ok(body: dict | None = None):
        return _Http(200), {**(body or {}), "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _PutRecord(self, params):
        group = params["FeatureGroupName"]
        if group not in self.groups:
            return self._error("ResourceNotFound", f"Resource Not Found: feature group {group}")
        values = {item["FeatureName"]: item["ValueAsString"] for item in params["Record"]}
        record_id = values.get(self.groups[group])
        if record_id is None:
            return self._error("ValidationError", f"the record has no value for {self.groups[group]}")
        planned = self.fail.get(record_id)
        if planned:
            code = planned.pop(0)
            return self._error(code, f"planned {code} for {record_id}", 400 if code == "ValidationError" else 503)
        self.records[(group, record_id)] = params["Record"]
        return self._ok()

    def _GetRecord(self, params):
        group = params["FeatureGroupName"]
        if group not in self.groups:
            return self._error("ResourceNotFound", f"Resource Not Found: feature group {group}")
        record = self.records.get((group, params["RecordIdentifierValueAsString"]))
        return self._ok({"Record": record} if record else {})

    def _BatchGetRecord(self, params):
        found, errors = [], []
        for identifier in params["Identifiers"]:
            group = identifier["FeatureGroupName"]
            for record_id in identifier["RecordIdentifiersValueAsString"]:
                if group not in self.groups:
                    errors.append(
                        {
                            "FeatureGroupName": group,
                            "RecordIdentifierValueAsString": record_id,
                            "ErrorCode": "ResourceNotFound",
                            "ErrorMessage": f"feature group {group} not found",
                        }
                    )
                elif (group, record_id) in self.records:
                    found.append(
                        {
                            "FeatureGroupName": group,
                            "RecordIdentifierValueAsString": record_id,
                            "Record": self.records[(group, record_id)],
                        }
                    )
        return self._ok({"Records": found, "Errors": errors, "UnprocessedIdentifiers": []})
