"""features/<group>.yaml: one feature group, validated here; every error names the file and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..errors import ProjectError
from ..settings import Aws, Dataset, Strict, read_mapping, validate

FEATURES_DIR = Path("features")
NAME = r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$"  # SageMaker's rule for group and feature names
TYPES = {"string": "String", "integral": "Integral", "fractional": "Fractional"}
RESERVED = {"is_deleted", "write_time", "api_invocation_time"}  # columns the offline store adds
TTL = re.compile(r"^(\d+) (second|minute|hour|day|week)s?$")
OFFLINE_PREFIX = "feature-store"  # under the project bucket


class Feature(Strict):
    name: str = Field(pattern=NAME)
    type: Literal["string", "integral", "fractional"]
    description: str = Field(min_length=1)

    @property
    def sagemaker_type(self) -> str:
        return TYPES[self.type]


class OnlineStore(Strict):
    enabled: bool = True
    ttl: str | None = Field(None, pattern=TTL.pattern)  # e.g. "365 days"; records older than this expire

    @property
    def ttl_duration(self) -> dict | None:
        if self.ttl is None:
            return None
        value, unit = TTL.match(self.ttl).groups()
        return {"Unit": f"{unit.capitalize()}s", "Value": int(value)}


class OfflineStore(Strict):
    # Always the Glue table format: its Parquet files are plain snapshots of every write, which
    # `features dataset` and the pipeline read directly (Iceberg files need a query engine).
    enabled: bool = True


class FeatureGroup(Strict):
    name: str = Field(pattern=NAME)
    description: str = Field(min_length=1, max_length=128)
    owner: str = Field(min_length=1)
    record_identifier: str
    event_time: str
    data_checks: str = "training"  # the data_checks/ suite an ingest must pass first
    online_store: OnlineStore = OnlineStore()
    offline_store: OfflineStore = OfflineStore()
    tags: dict[str, str] = Field(default_factory=dict)
    features: list[Feature] = Field(min_length=1, max_length=2500)

    @model_validator(mode="after")
    def _consistent(self) -> FeatureGroup:
        seen: dict[str, int] = {}
        for position, feature in enumerate(self.features):
            if feature.name in seen:
                raise ValueError(
                    f"features.{position}.name: {feature.name!r} is already defined at features.{seen[feature.name]}"
                )
            if feature.name in RESERVED:
                raise ValueError(f"features.{position}.name: {feature.name!r} is reserved by Feature Store")
            seen[feature.name] = position
        types = {feature.name: feature.type for feature in self.features}
        if self.record_identifier not in types:
            raise ValueError(f"record_identifier: {self.record_identifier!r} is not one of the features listed")
        if self.event_time not in types:
            raise ValueError(f"event_time: {self.event_time!r} is not one of the features listed")
        if types[self.event_time] not in ("string", "fractional"):
            raise ValueError(
                f"event_time: {self.event_time!r} must be a timestamp: type string (ISO 8601) or fractional "
                f"(seconds since the epoch), not {types[self.event_time]}"
            )
        if not (self.online_store.enabled or self.offline_store.enabled):
            raise ValueError("online_store.enabled and offline_store.enabled are both false: enable at least one")
        return self

    def feature(self, name: str) -> Feature:
        return next(feature for feature in self.features if feature.name == name)

    def create_request(self, aws: Aws) -> dict:
        """The CreateFeatureGroup request for this definition in the project's account."""
        request = {
            "FeatureGroupName": self.name,
            "RecordIdentifierFeatureName": self.record_identifier,
            "EventTimeFeatureName": self.event_time,
            "FeatureDefinitions": [{"FeatureName": f.name, "FeatureType": f.sagemaker_type} for f in self.features],
            "RoleArn": aws.role_arn,
            "Description": self.description,
            "Tags": [{"Key": key, "Value": value} for key, value in {"owner": self.owner, **self.tags}.items()],
        }
        if self.online_store.enabled:
            request["OnlineStoreConfig"] = {"EnableOnlineStore": True}
            if self.online_store.ttl_duration:
                request["OnlineStoreConfig"]["TtlDuration"] = self.online_store.ttl_duration
        if self.offline_store.enabled:
            request["OfflineStoreConfig"] = {
                "S3StorageConfig": {"S3Uri": f"s3://{aws.bucket}/{OFFLINE_PREFIX}"},
                "TableFormat": "Glue",
            }
        return request


def check_against(group: FeatureGroup, dataset: Dataset, source: str) -> None:
    """The group must hold project.yaml's columns with matching kinds, or training data read back
    from it would not fit the model."""
    problems = []
    if group.record_identifier != dataset.record_id:
        problems.append(f"record_identifier is {group.record_identifier!r}, project.yaml says {dataset.record_id!r}")
    if group.event_time != dataset.event_time:
        problems.append(f"event_time is {group.event_time!r}, project.yaml says {dataset.event_time!r}")
    types = {feature.name: feature.type for feature in group.features}
    for column in [dataset.label, *dataset.features]:
        if column not in types:
            problems.append(f"features: no {column!r} (project.yaml lists it under dataset)")
    for column in dataset.numeric_features:
        if types.get(column) == "string":
            problems.append(f"features: {column!r} is numeric in project.yaml, so type integral or fractional")
    for column in dataset.categorical_features:
        if types.get(column, "string") != "string":
            problems.append(f"features: {column!r} is categorical in project.yaml, so type string")
    if problems:
        raise ProjectError(f"{source}: does not match project.yaml:\n  " + "\n  ".join(problems))


def load_group(path: Path) -> FeatureGroup:
    expected = "a mapping (name, record_identifier, event_time, features, ...)"
    return validate(FeatureGroup, read_mapping(path, "feature group file not found", expected), str(path))


def group_files(directory: Path = FEATURES_DIR) -> list[Path]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ProjectError(f"{directory}: no feature group files (*.yaml); see features/README.md")
    return files


def find_group(key: str, directory: Path = FEATURES_DIR) -> tuple[Path, FeatureGroup]:
    """A group by file stem (`census`) or by its feature group name."""
    path = directory / f"{key}.yaml"
    if path.exists():
        return path, load_group(path)
    for path in group_files(directory):
        group = load_group(path)
        if group.name == key:
            return path, group
    known = ", ".join(path.stem for path in group_files(directory))
    raise ProjectError(f"--group {key}: no features/{key}.yaml and no group of that name; known: {known}")


def pick_group(key: str | None, directory: Path = FEATURES_DIR) -> tuple[Path, FeatureGroup]:
    """The group `key` names, or the only one there is."""
    if key:
        return find_group(key, directory)
    files = group_files(directory)
    if len(files) > 1:
        names = ", ".join(file.stem for file in files)
        raise ProjectError(f"--group: {directory} holds {len(files)} groups ({names}); name one")
    return files[0], load_group(files[0])
