"""Feature Store: plan/apply against the moto server (CreateFeatureGroup, DescribeFeatureGroup),
with the calls moto lacks stubbed at the boto3 client boundary and said so at each test:
UpdateFeatureGroup (botocore.stub.Stubber) and the runtime's PutRecord/GetRecord/BatchGetRecord
(featurestore_stub.FeatureStoreRuntime)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.data import feature_store_times
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.feature_store.definition import group_files, load_group
from {{ cookiecutter.package }}.feature_store.ingest import ingest
from {{ cookiecutter.package }}.feature_store.online import get_record, get_records
from {{ cookiecutter.package }}.feature_store.plan import apply, plan, require_idle, wait_until_ready
from {{ cookiecutter.package }}.feature_store.records import transform
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import load_settings
from {{ cookiecutter.package }}.transforms import encode

ROOT = Path(__file__).resolve().parents[1]
DATASET = load_settings(ROOT / "project.yaml").dataset
GROUP_FILE = group_files(ROOT / "features")[0]  # the project's feature group
KEY = GROUP_FILE.stem
TYPES = {feature.name: feature.type for feature in load_group(GROUP_FILE).features}
RECORD_ID, EVENT_TIME, NUMBER = DATASET.record_id, DATASET.event_time, DATASET.numeric_features[0]
WHOLE = next((column for column in DATASET.numeric_features if TYPES[column] == "integral"), None)
LOWEST = next(
    e["kwargs"]["min_value"]
    for e in json.loads((ROOT / "data_checks" / "training.json").read_text(encoding="utf-8"))["expectations"]
    if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == NUMBER
)


@pytest.fixture(scope="module")
def group(project_root: Path):
    return load_group(GROUP_FILE)


@pytest.fixture
def in_project(project_root: Path, monkeypatch):
    monkeypatch.chdir(project_root)  # the commands' defaults: project.yaml, features/, data_checks/


@pytest.fixture
def moto_feature_groups(aws, monkeypatch):
    """The moto server, taught two answers AWS gives and moto 5.2.5 does not: ResourceNotFound for
    an unknown group (moto fails with HTTP 500) and the online store settings in
    DescribeFeatureGroup (moto drops them). Only moto is patched, never the project's code."""
    from moto.sagemaker import models, responses
    from moto.sagemaker.exceptions import ResourceNotFound

    backend_describe = models.SageMakerModelBackend.describe_feature_group
    create = responses.SageMakerResponse.create_feature_group
    group_describe = models.FeatureGroup.describe

    def describe(self, feature_group_name):
        try:
            return backend_describe(self, feature_group_name)
        except KeyError:
            raise ResourceNotFound(f"Resource Not Found: no FeatureGroup named {feature_group_name}") from None

    def create_remembering_online_store(self):
        result = create(self)
        created = self.sagemaker_backend.describe_feature_group(self._get_param("FeatureGroupName"))
        found = self.sagemaker_backend.feature_groups[created["FeatureGroupArn"]]
        found.online_store_config = self._get_param("OnlineStoreConfig")
        return result

    def describe_with_online_store(self):
        described = group_describe(self)
        if getattr(self, "online_store_config", None):
            described["OnlineStoreConfig"] = self.online_store_config
        return described

    monkeypatch.setattr(models.SageMakerModelBackend, "describe_feature_group", describe)
    monkeypatch.setattr(responses.SageMakerResponse, "create_feature_group", create_remembering_online_store)
    monkeypatch.setattr(models.FeatureGroup, "describe", describe_with_online_store)
    return aws


@pytest.fixture
def runtime(boto_session, group):
    """An in-memory online store answering every featurestore-runtime client created in the test
    (moto has no featurestore runtime; see featurestore_stub.py)."""
    from featurestore_stub import FeatureStoreRuntime  # here, not on top: its sort order depends on the package name

    return FeatureStoreRuntime(boto_session.events, {group.name: group.record_identifier})


def described(group, aws, **changes) -> dict:
    """DescribeFeatureGroup as AWS answers it for `group` created from its definition."""
    request = group.create_request(aws)
    answer = {
        "FeatureGroupArn": f"arn:aws:sagemaker:{aws.region}:{aws.role_arn.split(':')[4]}:feature-group/{group.name}",
        "FeatureGroupName": group.name,
        "RecordIdentifierFeatureName": request["RecordIdentifierFeatureName"],
        "EventTimeFeatureName": request["EventTimeFeatureName"],
        "FeatureDefinitions": copy.deepcopy(request["FeatureDefinitions"]),
        "CreationTime": "2024-01-01T00:00:00Z",
        "OnlineStoreConfig": copy.deepcopy(request["OnlineStoreConfig"]),
        "OfflineStoreConfig": copy.deepcopy(request["OfflineStoreConfig"]),
        "RoleArn": aws.role_arn,
        "FeatureGroupStatus": "Created",
        "NextToken": "",
    }
    answer.update(changes)
    return answer


def stubbed_sagemaker(region: str):
    client = boto3.client("sagemaker", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
    return client, Stubber(client)


# -- plan and apply ----------------------------------------------------------------------------


def test_apply_creates_the_group_then_changes_nothing(moto_feature_groups, in_project, group):
    runner = CliRunner()
    planned = runner.invoke(main, ["features", "plan"])
    assert planned.exit_code == 0, planned.output
    assert f"{group.name}: create with {len(TYPES)} features (online and offline store)" in planned.output
    first = runner.invoke(main, ["features", "apply", "--poll", "0"])
    assert first.exit_code == 0, first.output
    assert f"{group.name}: ready" in first.output
    aws = moto_feature_groups
    found = boto3.client("sagemaker", region_name=aws.region).describe_feature_group(FeatureGroupName=group.name)
    assert found["RecordIdentifierFeatureName"] == RECORD_ID
    assert len(found["FeatureDefinitions"]) == len(TYPES)
    assert found["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"] == f"s3://{aws.bucket}/feature-store"
    second = runner.invoke(main, ["features", "apply"])
    assert second.exit_code == 0, second.output
    assert second.output.strip() == f"{group.name}: unchanged"


def test_changes_sagemaker_cannot_make_are_refused_before_anything_is_applied(moto_feature_groups, in_project, group):
    request = group.create_request(moto_feature_groups)
    for definition in request["FeatureDefinitions"]:
        if definition["FeatureName"] == NUMBER:
            definition["FeatureType"] = created = "Fractional" if TYPES[NUMBER] == "integral" else "Integral"
    request["FeatureDefinitions"].append({"FeatureName": "zip_code", "FeatureType": "String"})
    boto3.client("sagemaker", region_name=moto_feature_groups.region).create_feature_group(**request)
    runner = CliRunner()
    planned = runner.invoke(main, ["features", "plan"])
    assert planned.exit_code == 1
    assert f"feature {NUMBER!r} type {created} -> {TYPES[NUMBER].capitalize()}" in planned.output
    assert "feature(s) zip_code removed: Feature Store cannot delete features" in planned.output
    assert f"rename the group in features/{KEY}.yaml (e.g. " + group.name.removesuffix("-v1") + "-v2)" in planned.output
    applied = runner.invoke(main, ["features", "apply"])
    assert applied.exit_code == 2
    assert "nothing applied" in applied.output


def test_new_features_and_ttl_are_added_in_place(settings, group):
    """UpdateFeatureGroup is stubbed with botocore's Stubber: moto does not implement it."""
    aws = settings.aws
    current = described(group, aws, OnlineStoreConfig={"EnableOnlineStore": True})
    added = DATASET.numeric_features[-1]
    current["FeatureDefinitions"] = [d for d in current["FeatureDefinitions"] if d["FeatureName"] != added]
    change = plan(group, current)
    assert change.action == "update"
    assert change.added == [added]
    assert change.lines() == [f"{group.name}: update", f"  + feature {added}", "  ~ online TTL -> 365 days"]
    client, stubber = stubbed_sagemaker(aws.region)
    stubber.add_response(
        "update_feature_group",
        {"FeatureGroupArn": current["FeatureGroupArn"]},
        {
            "FeatureGroupName": group.name,
            "FeatureAdditions": [{"FeatureName": added, "FeatureType": TYPES[added].capitalize()}],
            "OnlineStoreConfig": {"TtlDuration": {"Unit": "Days", "Value": 365}},
        },
    )
    in_progress = described(group, aws, LastUpdateStatus={"Status": "InProgress"})
    stubber.add_response("describe_feature_group", in_progress, {"FeatureGroupName": group.name})
    done = described(group, aws, LastUpdateStatus={"Status": "Successful"})
    stubber.add_response("describe_feature_group", done, {"FeatureGroupName": group.name})
    lines = []
    with stubber:
        apply(client, change, aws, echo=lines.append, poll=0)
    stubber.assert_no_pending_responses()
    assert lines[0] == f"{group.name}: Created/InProgress ..."
    assert lines[-1].startswith(f"{group.name}: ready")


def test_a_group_matching_its_definition_is_left_alone(settings, group):
    change = plan(group, described(group, settings.aws))
    assert change.action == "unchanged"
    client, stubber = stubbed_sagemaker(settings.aws.region)
    with stubber:  # any AWS call would fail: the stubber has no responses queued
        apply(client, change, settings.aws)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        # The live group's id is another column; its event time is the record id column.
        ({"RecordIdentifierFeatureName": "old_id"}, f"record_identifier 'old_id' -> {RECORD_ID!r}"),
        ({"EventTimeFeatureName": RECORD_ID}, f"event_time {RECORD_ID!r} -> {EVENT_TIME!r}"),
        ({"OnlineStoreConfig": {"EnableOnlineStore": False}}, "online store on"),
    ],
)
def test_identity_and_store_changes_need_a_new_group_version(settings, group, changes, refusal):
    change = plan(group, described(group, settings.aws, **changes), f"features/{KEY}.yaml")
    assert change.action == "refused"
    assert any(refusal in reason and "create a new version" in reason for reason in change.refused)
    with pytest.raises(ProjectError, match="cannot be applied in place"):
        apply(None, change, settings.aws)


def test_busy_and_failed_groups_are_reported(settings, group):
    with pytest.raises(ProjectError, match="busy \\(Creating\\)"):
        require_idle(described(group, settings.aws, FeatureGroupStatus="Creating"), group.name)
    client, stubber = stubbed_sagemaker(settings.aws.region)
    failed = described(group, settings.aws, FeatureGroupStatus="CreateFailed", FailureReason="role cannot write S3")
    stubber.add_response("describe_feature_group", failed, {"FeatureGroupName": group.name})
    creating = described(group, settings.aws, FeatureGroupStatus="Creating")
    stubber.add_response("describe_feature_group", creating, {"FeatureGroupName": group.name})
    with stubber:
        with pytest.raises(ProjectError, match=r"CreateFailed.*role cannot write S3"):
            wait_until_ready(client, group.name, echo=print, timeout=5, poll=0)
        with pytest.raises(ProjectError, match="still Creating/- after 0 s"):
            wait_until_ready(client, group.name, echo=print, timeout=0, poll=0)


# -- ingest and the online store ---------------------------------------------------------------


def test_ingest_checks_transforms_and_writes_every_row(runtime, in_project, group, sample_path: Path):
    result = CliRunner().invoke(main, ["features", "ingest", "--group", KEY, "--data", str(sample_path)])
    assert result.exit_code == 0, result.output
    rows = len(pd.read_csv(sample_path))
    assert f"{rows:,} of {rows:,} rows ingested" in result.output
    assert runtime.calls["PutRecord"] == rows and len(runtime.records) == rows
    first = pd.read_csv(sample_path, dtype=str, keep_default_na=False).iloc[0]
    record = dict(item.values() for item in runtime.records[(group.name, first[RECORD_ID])])
    assert record[RECORD_ID] == first[RECORD_ID]
    assert record[EVENT_TIME] == feature_store_times(pd.Series([first[EVENT_TIME]]), "t")[0]
    assert float(record[NUMBER]) == float(first[NUMBER])


def test_every_record_ingest_sends_fits_the_put_record_api_model(group, settings, sample_path: Path):
    """`features ingest` writes through a client that skips botocore's check of each request
    (ingest.runtime_client), so the check is here: every record the sample makes passes botocore's
    validator for PutRecord, with SageMaker's own API model, which refuses a record of another shape."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    from {{ cookiecutter.package }}.data import read_dataset
    from {{ cookiecutter.package }}.feature_store.records import to_record

    shape = runtime_client(settings).meta.service_model.operation_model("PutRecord").input_shape
    rows = transform(read_dataset(sample_path, settings.dataset), group, settings.dataset)
    for row in rows.to_dict("records"):
        validate_parameters({"FeatureGroupName": group.name, "Record": to_record(row, group)}, shape)
    for record in ([], [{"FeatureName": NUMBER, "ValueAsString": 39.0}], [{"ValueAsString": "39"}]):
        with pytest.raises(ParamValidationError):
            validate_parameters({"FeatureGroupName": group.name, "Record": record}, shape)


def test_data_that_fails_its_checks_is_not_ingested(runtime, in_project, sample: pd.DataFrame, tmp_path: Path):
    sample.loc[:9, NUMBER] = LOWEST - 5
    bad = tmp_path / "bad.csv"
    sample.to_csv(bad, index=False)
    result = CliRunner().invoke(main, ["features", "ingest", "--group", KEY, "--data", str(bad)])
    assert result.exit_code == 1
    assert "Nothing ingested" in result.output and NUMBER in result.output
    assert runtime.calls["PutRecord"] == 0


def test_failed_records_are_retried_then_reported_never_dropped(
    runtime, in_project, group, sample: pd.DataFrame, tmp_path: Path, monkeypatch
):
    rows = sample.head(1000)
    ids = rows[RECORD_ID].astype(str).tolist()
    if WHOLE:
        rows = rows.astype({WHOLE: "float64"})
        rows.loc[rows.index[3], WHOLE] = rows[WHOLE].iloc[4] + 0.5  # in the checks' range, but not a whole number
    invalid = [ids[3]] if WHOLE else []
    runtime.fail = {ids[0]: ["ThrottlingException"], ids[1]: ["ValidationError"], ids[2]: ["ServiceUnavailable"] * 3}
    data = tmp_path / "rows.csv"
    rows.to_csv(data, index=False)
    failed_out = tmp_path / "failed.csv"
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)  # the backoff is asserted, not waited out
    result = CliRunner().invoke(
        main,
        ["features", "ingest", "--group", KEY, "--data", str(data), "--failed-out", str(failed_out)],
    )
    assert result.exit_code == 1, result.output
    landed = len(rows) - 2 - len(invalid)
    assert f"{landed:,} of {len(rows):,} rows ingested" in result.output
    assert "retrying 2 record(s), attempt 2 of 3" in result.output  # throttled + unavailable, not the invalid one
    assert waits == [1.0, 2.0]  # backing off before each retry, twice as long the second time
    failed = pd.read_csv(failed_out, dtype={RECORD_ID: str})
    reasons = dict(zip(failed[RECORD_ID], failed["error"], strict=True))
    assert set(reasons) == {ids[1], ids[2], *invalid}
    assert reasons[ids[1]].startswith("ValidationError")
    assert reasons[ids[2]].startswith("ServiceUnavailable")
    if WHOLE:
        assert reasons[ids[3]] == f"{WHOLE}: {rows[WHOLE].iloc[3]} is not a whole number (type integral)"
    assert (group.name, ids[0]) in runtime.records  # landed on its second try
    assert len(runtime.records) == landed


def test_get_reads_one_record_or_a_batch(runtime, in_project, sample_path: Path, group, settings):
    frame = transform(pd.read_csv(sample_path).head(3), group, settings.dataset)
    assert ingest(runtime_client(settings), group, frame, echo=lambda _line: None).ingested == 3
    ids = frame[RECORD_ID].tolist()
    runner = CliRunner()
    one = runner.invoke(main, ["features", "get", "--group", KEY, "--id", ids[0]])
    assert one.exit_code == 0, one.output
    assert DATASET.features[-1] in one.output and ids[0] in one.output
    batch = runner.invoke(main, ["features", "get", "--group", KEY, "--json", *_ids(ids[1:], ["404"])])
    assert batch.exit_code == 1
    assert batch.output.count(f'"{RECORD_ID}"') == 2
    assert "not in the online store: 404" in batch.output
    assert runtime.calls["GetRecord"] == 1 and runtime.calls["BatchGetRecord"] == 1


def _ids(*groups) -> list[str]:
    return [argument for ids in groups for record_id in ids for argument in ("--id", record_id)]


def runtime_client(settings):
    return boto3.client("sagemaker-featurestore-runtime", region_name=settings.aws.region)


def test_online_features_match_the_training_path_exactly(runtime, group, settings, sample_path: Path, model_dir):
    """The skew test: the same entities through the batch path (file -> read_dataset, as
    training reads it) and the online path (ingest -> online store -> get) give the identical
    model input and the identical scores."""
    from {{ cookiecutter.package }}.data import read_dataset

    batch = read_dataset(sample_path, settings.dataset)
    result = ingest(runtime_client(settings), group, transform(batch, group, settings.dataset), echo=lambda _: None)
    assert result.ingested == len(batch)
    ids = batch[RECORD_ID].astype(str).tolist()
    online = get_records(runtime_client(settings), group, settings.dataset, ids)
    assert online.missing == []
    model = TrainedModel.load(model_dir)
    batch_matrix = encode(batch, model.spec)
    online_matrix = encode(online.found, model.spec)
    assert np.array_equal(batch_matrix, online_matrix, equal_nan=True)
    if batch[DATASET.features].isna().any().any():
        assert np.isnan(batch_matrix).any()  # the sample's missing values survive the round trip as missing
    assert np.array_equal(model.predict(batch), model.predict(online.found))
    single = get_record(runtime_client(settings), group, settings.dataset, ids[0])
    assert np.array_equal(encode(single, model.spec), batch_matrix[:1], equal_nan=True)


@pytest.mark.usefixtures("in_project")  # where predict reads features/
def test_predict_by_id_sends_the_endpoint_what_the_batch_path_scores(
    runtime, endpoint, aws, group, settings, settings_path: Path, sample_path: Path, model_dir, moto_environments
):
    """`predict --id`, as an application scores a person: features from the online store (through
    the training transforms) to the live endpoint. The endpoint's own handlers, given the request
    that was sent, score each person exactly as the batch path does, missing values included."""
    from {{ cookiecutter.package }}.data import read_dataset
    from {{ cookiecutter.package }}.steps import inference

    batch = read_dataset(sample_path, settings.dataset)
    people = batch.head(4).copy().reset_index(drop=True)
    people[NUMBER] = people[NUMBER].astype("float64")
    people.loc[:1, NUMBER] = np.nan  # two people with a missing value
    assert ingest(runtime_client(settings), group, transform(people, group, settings.dataset), echo=print).ingested == 4
    body = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                       "Outputs": {"EndpointName": {"Value": f"{aws.pipeline_name}-staging"}}})  # fmt: skip
    boto3.client("cloudformation", region_name=aws.region).create_stack(
        StackName=f"{aws.pipeline_name}-staging", TemplateBody=body
    )
    model = TrainedModel.load(model_dir)
    expected = model.predict(people)  # what predict_fn answers, for every problem type
    endpoint.answer(inference.output_fn(expected, "application/json", model.spec)[0])

    ids = people[RECORD_ID].astype(str).tolist()
    arguments = ["predict", "--env", "staging", *_ids(ids, ["404"]), "--json", "--settings", str(settings_path),
                 "--environments-dir", str(moto_environments)]  # fmt: skip
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 1, result.output
    assert "not in the online store: 404" in result.output
    printed = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [line[RECORD_ID] for line in printed] == ids
    (sent,) = endpoint.requests
    received = inference.input_fn(sent["Body"], sent["ContentType"])
    assert np.array_equal(encode(received, model.spec), encode(people, model.spec), equal_nan=True)
    assert np.isnan(encode(received, model.spec)).any()
    assert np.array_equal(inference.predict_fn(received, model), expected)


# -- training data from the offline store ------------------------------------------------------


def test_dataset_is_a_point_in_time_snapshot_of_the_offline_store(
    moto_feature_groups, in_project, group, sample: pd.DataFrame, tmp_path: Path
):
    runner = CliRunner()
    assert runner.invoke(main, ["features", "apply", "--poll", "0"]).exit_code == 0
    empty = runner.invoke(main, ["features", "dataset", "--group", KEY, "--out", str(tmp_path / "x.csv")])
    assert empty.exit_code == 2
    assert "no Parquet files yet" in empty.output
    # What Feature Store writes to the offline store: every write, with write_time and is_deleted.
    rows = sample.head(4).assign(**{EVENT_TIME: "2024-01-01T00:00:00Z"}, is_deleted=False)
    rows["write_time"] = pd.Timestamp("2024-01-01T00:05:00Z")
    rows["api_invocation_time"] = rows["write_time"]
    march = pd.Timestamp("2024-03-01T00:00:00Z")
    later = rows.head(1).assign(**{NUMBER: 77, EVENT_TIME: "2024-03-01T00:00:00Z"}, write_time=march)
    s3 = boto3.client("s3", region_name=moto_feature_groups.region)
    uri = boto3.client("sagemaker", region_name=moto_feature_groups.region).describe_feature_group(
        FeatureGroupName=group.name
    )["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    for name, part in {"year=2024/month=01/a.parquet": rows, "year=2024/month=03/b.parquet": later}.items():
        part.to_parquet(tmp_path / "part.parquet")
        s3.upload_file(str(tmp_path / "part.parquet"), bucket, f"{prefix}/{name}")
    out = tmp_path / "train.csv"
    result = runner.invoke(
        main, ["features", "dataset", "--group", KEY, "--as-of", "2024-02-01T00:00:00Z", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"pipeline run --param InputDataUri={uri} --param AsOf=2024-02-01T00:00:00Z" in result.output
    snapshot = pd.read_csv(out)
    assert len(snapshot) == 4 and 77 not in snapshot[NUMBER].tolist()  # the March update is after the cutoff
    assert "write_time" not in snapshot.columns
    latest = runner.invoke(main, ["features", "dataset", "--group", KEY, "--out", str(out)])
    assert latest.exit_code == 0 and 77 in pd.read_csv(out)[NUMBER].tolist()


def test_a_bad_as_of_is_refused_before_any_aws_call(in_project):
    result = CliRunner().invoke(main, ["features", "dataset", "--group", KEY, "--as-of", "last week"])
    assert result.exit_code == 2
    assert "--as-of 'last week': not a time" in result.output
