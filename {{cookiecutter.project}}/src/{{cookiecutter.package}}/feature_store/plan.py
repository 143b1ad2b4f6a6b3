"""Plan and apply: bring a feature group in AWS to its definition, changing only what SageMaker
can change in place (new features, the online TTL) and refusing the rest with a migration path."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from ..errors import ProjectError
from ..settings import Aws
from .definition import FeatureGroup

BUSY = {"Creating", "Deleting"}


@dataclass(frozen=True)
class Plan:
    group: FeatureGroup
    action: str  # "create", "update" or "unchanged"
    added: list[str] = field(default_factory=list)  # feature names to add
    ttl: dict | None = None  # a new online-store TTL
    refused: list[str] = field(default_factory=list)  # changes SageMaker cannot make in place

    def lines(self) -> list[str]:
        name = self.group.name
        if self.refused:
            return [f"{name}: cannot be applied in place:", *(f"  - {reason}" for reason in self.refused)]
        if self.action == "create":
            group = self.group
            both = (("online", group.online_store), ("offline", group.offline_store))
            stores = [kind for kind, store in both if store.enabled]
            return [f"{name}: create with {len(group.features)} features ({' and '.join(stores)} store)"]
        if self.action == "update":
            changes = [f"  + feature {feature}" for feature in self.added]
            if self.ttl is not None:
                changes.append(f"  ~ online TTL -> {self.ttl['Value']} {self.ttl['Unit'].lower()}")
            return [f"{name}: update", *changes]
        return [f"{name}: unchanged"]


def describe(sagemaker, name: str) -> dict | None:
    try:
        return sagemaker.describe_feature_group(FeatureGroupName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFound":
            return None
        raise


def plan(group: FeatureGroup, current: dict | None, source: str = "features") -> Plan:
    if current is None:
        return Plan(group, "create")
    migrate = (
        f"create a new version instead: rename the group in {source} (e.g. {_next_version(group.name)}), "
        "apply and ingest it, then move training and inference to it; the old group stays readable"
    )
    refused = []
    if current["RecordIdentifierFeatureName"] != group.record_identifier:
        refused.append(
            f"record_identifier {current['RecordIdentifierFeatureName']!r} -> {group.record_identifier!r}; {migrate}"
        )
    if current["EventTimeFeatureName"] != group.event_time:
        refused.append(f"event_time {current['EventTimeFeatureName']!r} -> {group.event_time!r}; {migrate}")
    existing = {d["FeatureName"]: d["FeatureType"] for d in current["FeatureDefinitions"]}
    for feature in group.features:
        if feature.name in existing and existing[feature.name] != feature.sagemaker_type:
            refused.append(
                f"feature {feature.name!r} type {existing[feature.name]} -> {feature.sagemaker_type}; {migrate}"
            )
    removed = sorted(set(existing) - {feature.name for feature in group.features})
    if removed:
        refused.append(
            f"feature(s) {', '.join(removed)} removed: Feature Store cannot delete features; keep them in "
            f"the file (unused), or {migrate}"
        )
    online = current.get("OnlineStoreConfig", {})
    if bool(online.get("EnableOnlineStore")) != group.online_store.enabled:
        refused.append(f"online store {'on' if group.online_store.enabled else 'off'}; {migrate}")
    if ("OfflineStoreConfig" in current) != group.offline_store.enabled:
        refused.append(f"offline store {'on' if group.offline_store.enabled else 'off'}; {migrate}")
    if refused:
        return Plan(group, "refused", refused=refused)
    added = [feature.name for feature in group.features if feature.name not in existing]
    ttl = group.online_store.ttl_duration if group.online_store.enabled else None
    ttl_change = ttl if ttl != online.get("TtlDuration") and ttl is not None else None
    if added or ttl_change:
        return Plan(group, "update", added=added, ttl=ttl_change)
    return Plan(group, "unchanged")


def _next_version(name: str) -> str:
    stem, _, number = name.rpartition("-v")
    return f"{stem}-v{int(number) + 1}" if stem and number.isdigit() else f"{name}-v2"


def apply(
    sagemaker,
    change: Plan,
    aws: Aws,
    echo: Callable[[str], None] = print,
    timeout: float = 900.0,
    poll: float = 5.0,
) -> None:
    group = change.group
    if change.refused:
        raise ProjectError("\n".join(change.lines()))
    if change.action == "create":
        sagemaker.create_feature_group(**group.create_request(aws))
    elif change.action == "update":
        request = {"FeatureGroupName": group.name}
        if change.added:
            request["FeatureAdditions"] = [
                {"FeatureName": name, "FeatureType": group.feature(name).sagemaker_type} for name in change.added
            ]
        if change.ttl is not None:
            request["OnlineStoreConfig"] = {"TtlDuration": change.ttl}
        sagemaker.update_feature_group(**request)
    else:
        return
    wait_until_ready(sagemaker, group.name, echo, timeout, poll)


def wait_until_ready(sagemaker, name: str, echo, timeout: float, poll: float) -> dict:
    """Poll until the group is Created and its last update (if any) finished; say why if not."""
    started = time.monotonic()
    last = None
    while True:
        current = sagemaker.describe_feature_group(FeatureGroupName=name)
        status = current["FeatureGroupStatus"]
        update = current.get("LastUpdateStatus", {})
        if status in ("CreateFailed", "DeleteFailed") or update.get("Status") == "Failed":
            reason = current.get("FailureReason") or update.get("FailureReason", "no reason given")
            raise ProjectError(f"feature group {name}: {status}, {update.get('Status', '')}: {reason}".strip())
        if status == "Created" and update.get("Status", "Successful") == "Successful":
            echo(f"{name}: ready ({time.monotonic() - started:.0f} s)")
            return current
        state = f"{status}/{update.get('Status', '-')}"
        if state != last:
            echo(f"{name}: {state} ...")
            last = state
        if time.monotonic() - started > timeout:
            raise ProjectError(f"feature group {name}: still {state} after {timeout:.0f} s; check the console")
        time.sleep(poll)


def require_idle(current: dict | None, name: str) -> None:
    """Refuse to change a group SageMaker is still creating, deleting or updating."""
    if current is None:
        return
    if current["FeatureGroupStatus"] in BUSY or current.get("LastUpdateStatus", {}).get("Status") == "InProgress":
        raise ProjectError(f"feature group {name} is busy ({current['FeatureGroupStatus']}); try again when it is done")
