"""features/*.yaml: the shipped groups are valid and match project.yaml; bad definitions are
refused with the file and field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.feature_store.definition import (
    check_against,
    find_group,
    group_files,
    load_group,
)


@pytest.fixture
def group_path(project_root: Path) -> Path:
    """The project's feature group file (the first, if there are several)."""
    return group_files(project_root / "features")[0]


@pytest.fixture
def census(group_path: Path) -> dict:
    return yaml.safe_load(group_path.read_text(encoding="utf-8"))


@pytest.fixture
def write_group(tmp_path: Path):
    def write(content: dict) -> Path:
        path = tmp_path / "features" / "census.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return path

    return write


def test_every_shipped_group_is_valid_and_matches_project_yaml(project_root: Path, settings):
    files = group_files(project_root / "features")
    assert files
    for path in files:
        group = load_group(path)
        check_against(group, settings.dataset, str(path))
        assert group.record_identifier == settings.dataset.record_id


def test_create_request_names_the_projects_role_bucket_and_stores(group_path: Path, settings):
    group = load_group(group_path)
    request = group.create_request(settings.aws)
    assert request["RoleArn"] == settings.aws.role_arn
    assert request["OfflineStoreConfig"] == {
        "S3StorageConfig": {"S3Uri": f"s3://{settings.aws.bucket}/feature-store"},
        "TableFormat": "Glue",
    }
    assert request["OnlineStoreConfig"] == {"EnableOnlineStore": True, "TtlDuration": {"Unit": "Days", "Value": 365}}
    types = {d["FeatureName"]: d["FeatureType"] for d in request["FeatureDefinitions"]}
    dataset = settings.dataset
    assert types[dataset.event_time] == "String"
    assert all(types[column] in ("Integral", "Fractional") for column in dataset.numeric_features)
    assert all(types[column] == "String" for column in dataset.categorical_features)
    assert {"Key": "owner", "Value": group.owner} in request["Tags"]


def _without(features: list[dict], name: str) -> list[dict]:
    return [feature for feature in features if feature["name"] != name]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda g: g.pop("record_identifier"), "record_identifier: Field required", id="no-record-id"),
        pytest.param(
            lambda g: g.update(features=_without(g["features"], g["record_identifier"])),
            "record_identifier: '{record_id}' is not one of the features listed",
            id="record-id-not-a-feature",
        ),
        pytest.param(
            lambda g: g["features"][2].update(type="integer"),
            "features.2.type: Input should be 'string', 'integral' or 'fractional' (got 'integer')",
            id="unknown-type",
        ),
        pytest.param(
            lambda g: g["features"].append(dict(g["features"][2])),
            "features.{count}.name: '{third}' is already defined at features.2",
            id="duplicate-feature",
        ),
        pytest.param(
            lambda g: next(f for f in g["features"] if f["name"] == g["event_time"]).update(type="integral"),
            "event_time: '{event_time}' must be a timestamp: type string (ISO 8601) or fractional",
            id="event-time-not-a-timestamp",
        ),
        pytest.param(
            lambda g: g["features"].append({"name": "write_time", "type": "string", "description": "x"}),
            "'write_time' is reserved by Feature Store",
            id="reserved-name",
        ),
        pytest.param(
            lambda g: g["online_store"].update(ttl="a year"),
            "online_store.ttl: String should match pattern",
            id="bad-ttl",
        ),
        pytest.param(
            lambda g: g.update(online_store={"enabled": False}, offline_store={"enabled": False}),
            "enable at least one",
            id="no-store",
        ),
        pytest.param(lambda g: g.update(colour="blue"), "colour: unknown key", id="typo"),
    ],
)
def test_bad_definitions_are_refused_naming_file_and_field(census: dict, write_group, change, expected):
    names = {"record_id": census["record_identifier"], "event_time": census["event_time"]}
    expected = expected.format(count=len(census["features"]), third=census["features"][2]["name"], **names)
    change(census)
    path = write_group(census)
    with pytest.raises(ProjectError) as refused:
        load_group(path)
    assert str(path) in str(refused.value)
    assert expected in str(refused.value)


def test_a_group_that_does_not_fit_project_yaml_is_refused(census: dict, write_group, settings):
    dropped = settings.dataset.numeric_features[-1]
    census["features"] = _without(census["features"], dropped)
    categorical = settings.dataset.categorical_features[:1]
    for feature in census["features"]:
        if feature["name"] in categorical:
            feature["type"] = "integral"
    path = write_group(census)
    with pytest.raises(ProjectError) as refused:
        check_against(load_group(path), settings.dataset, str(path))
    message = str(refused.value)
    assert f"no {dropped!r}" in message
    for column in categorical:
        assert f"{column!r} is categorical in project.yaml, so type string" in message


def test_groups_are_found_by_file_stem_or_name(project_root: Path, group_path: Path):
    directory = project_root / "features"
    path, group = find_group(group_path.stem, directory)
    assert find_group(group.name, directory)[0] == path
    with pytest.raises(ProjectError, match=rf"--group nope: no features/nope\.yaml .* known: .*{group_path.stem}"):
        find_group("nope", directory)


def test_unreadable_files_get_one_clear_message(tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"broken\.yaml: not valid YAML"):
        load_group(broken)
    with pytest.raises(ProjectError, match=r"missing\.yaml: feature group file not found"):
        load_group(tmp_path / "missing.yaml")
