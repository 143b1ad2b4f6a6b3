"""The SageMaker pipeline: its definition (steps, data flow, caching, retries), built twice with
the network cut off, and the AWS commands against the moto server (conftest.moto_endpoint)."""

from __future__ import annotations

import io
import json
import re
import socket
import tarfile
from contextlib import contextmanager

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from click.testing import CliRunner

from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.pipeline import executions
from {{ cookiecutter.package }}.pipeline.bundle import requirements
from {{ cookiecutter.package }}.pipeline.definition import build
from {{ cookiecutter.package }}.pipeline.parameters import parse_overrides
from {{ cookiecutter.package }}.pipeline.render import edges, steps

JOB_STEPS = {"Processing", "Training", "ClarifyCheck"}


@contextmanager
def no_network():
    """Any socket connection fails the test, and there are no credentials to sign requests with."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network used during the pipeline build: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def builds(settings, project_root):
    with no_network():
        return build(settings, root=project_root), build(settings, root=project_root)


@pytest.fixture(scope="module")
def definition(builds) -> dict:
    return builds[0].parsed


def test_two_offline_builds_are_byte_identical(builds):
    first, second = builds
    assert first.definition == second.definition
    assert first.uploads == second.uploads


def test_definition_has_every_step_wired_as_designed(definition, settings):
    names = {step["Name"]: step["Type"] for step in steps(definition)}
    expected = {
        "DataChecks": "Processing",
        "Preprocess": "Processing",
        "Train": "Training",
        "Evaluate": "Processing",
        "CreateModel": "Model",
        "Gates": "Processing",
        "CheckGates": "Condition",
        "CheckRegisterModel": "Condition",
        "Register": "RegisterModel",
        "GateFailed": "Fail",
    }
    flow = {
        ("DataChecks", "Preprocess", "data"),
        ("Preprocess", "Train", "data"),
        ("Train", "Evaluate", "data"),
        ("Preprocess", "Evaluate", "data"),
        ("Train", "CreateModel", "data"),
        ("Evaluate", "Gates", "data"),
        ("Evaluate", "CheckGates", "data"),
        ("Gates", "CheckGates", "data"),
        ("CheckGates", "CheckRegisterModel", "if"),
        ("CheckRegisterModel", "Register", "if"),
        ("CheckGates", "GateFailed", "else"),
    }
    if settings.bias:
        expected |= {"DataBias": "ClarifyCheck", "ModelBias": "ClarifyCheck", "Explainability": "ClarifyCheck"}
        flow |= {
            ("Preprocess", "DataBias", "data"),
            ("CreateModel", "ModelBias", "data"),
            ("CreateModel", "Explainability", "data"),
            ("DataBias", "Gates", "data"),
            ("ModelBias", "Gates", "data"),
        }
    assert names == expected
    assert flow <= set(edges(definition))


def test_parameters_default_to_project_settings(definition, settings):
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}
    assert defaults["InputDataUri"] == settings.aws.input_data_uri
    assert defaults["MinAuc"] == settings.gates.min_auc
    assert defaults["ModelApprovalStatus"] == "PendingManualApproval"
    assert defaults["SampleFraction"] == 1.0
    assert defaults["RegisterModel"] is True  # pull-request runs pass false
    assert {"TrainingInstanceType", "ProcessingInstanceType", "GitCommit", "GitRepository"} <= set(defaults)
    assert ("ClarifyInstanceCount" in defaults) == (settings.bias is not None)


def test_job_steps_are_cached_and_retried(definition):
    for step in steps(definition):
        if step["Type"] not in JOB_STEPS:
            continue
        assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, step["Name"]
        if step["Type"] != "ClarifyCheck":
            retried = {kind for policy in step["RetryPolicies"] for kind in policy["ExceptionType"]}
            assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR"} <= retried, step["Name"]


def test_code_is_one_content_addressed_bundle(builds, definition, settings, project_root):
    text = builds[0].definition
    code_keys = [key for key in builds[0].uploads if key.startswith(f"{settings.aws.prefix}/code/")]
    assert len(code_keys) == 1
    assert text.count(f"s3://{settings.aws.bucket}/{code_keys[0].rsplit('/', 1)[0]}") >= 5  # every job runs it
    with tarfile.open(fileobj=io.BytesIO(builds[0].uploads[code_keys[0]])) as tar:
        names = set(tar.getnames())
        packaged_requirements = tar.extractfile("requirements.txt").read().decode()
    assert {"project.yaml", "data_checks/training.json", "requirements.txt", "serve.py"} <= names
    assert "{{ cookiecutter.package }}/steps/train.py" in names
    assert not any("/pipeline/" in name or "__pycache__" in name for name in names)
    assert packaged_requirements == requirements(project_root)
    # Every other upload is referenced by the definition too, under its content hash.
    for key in builds[0].uploads:
        folder = re.match(r".*?/[0-9a-f]{20}", key).group(0)
        assert f"s3://{settings.aws.bucket}/{folder}" in text, key


def test_definition_leaves_room_under_the_request_limit(builds):
    assert len(builds[0].definition.encode()) < 70_000  # SageMaker's limit is 100 KB


def test_gate_failure_message_comes_from_the_gate_step(definition):
    fail = next(step for step in steps(definition) if step["Type"] == "Fail")
    assert fail["Arguments"]["ErrorMessage"]["Std:JsonGet"]["Path"] == "message"


def _settings_file(tmp_path, settings_path, change) -> str:
    raw = yaml.safe_load(settings_path.read_text())
    change(raw)
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_build_without_aws_section_is_one_clear_error(tmp_path, settings_path):
    path = _settings_file(tmp_path, settings_path, lambda raw: raw.pop("aws"))
    result = CliRunner().invoke(main, ["pipeline", "build", "--settings", path, "--out", str(tmp_path / "d.json")])
    assert result.exit_code == 2
    assert "no 'aws' section" in result.output


def test_build_with_bad_aws_setting_names_the_key(tmp_path, settings_path):
    path = _settings_file(tmp_path, settings_path, lambda raw: raw["aws"].update(training_instance_type="m5.large"))
    result = CliRunner().invoke(main, ["pipeline", "build", "--settings", path])
    assert result.exit_code == 2
    assert "aws.training_instance_type" in result.output


def test_diff_shows_a_changed_threshold(tmp_path, project_root, settings_path):
    runner = CliRunner()
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    changed = _settings_file(tmp_path, settings_path, lambda raw: raw["gates"].update(min_auc=0.9))
    (tmp_path / "data_checks").symlink_to(project_root / "data_checks")
    (tmp_path / "pyproject.toml").symlink_to(project_root / "pyproject.toml")
    assert (
        runner.invoke(main, ["pipeline", "build", "--settings", str(settings_path), "--out", str(base)]).exit_code == 0
    )
    assert runner.invoke(main, ["pipeline", "build", "--settings", changed, "--out", str(head)]).exit_code == 0
    result = runner.invoke(main, ["pipeline", "diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    assert "MinAuc" in result.output and "0.9" in result.output


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("Nope=1", "unknown pipeline parameter"),
        ("MinAuc=high", "MinAuc is a Float"),
        ("SampleFraction", "expected NAME=VALUE"),
        ("RegisterModel=no", "RegisterModel is a Boolean .true or false., got .no."),
    ],
)
def test_bad_parameter_overrides_are_refused(definition, pair, message):
    with pytest.raises(ProjectError, match=message):
        parse_overrides((pair,), definition)


# -- against the moto server --------------------------------------------------------------------


def test_upsert_creates_then_updates_and_uploads_once(aws, builds):
    runner = CliRunner()
    first = runner.invoke(main, ["pipeline", "upsert"])
    assert first.exit_code == 0, first.output
    assert "Pipeline created" in first.output
    assert f"uploads: {len(builds[0].uploads)} new" in first.output
    second = runner.invoke(main, ["pipeline", "upsert"])
    assert "Pipeline updated" in second.output
    assert "uploads: 0 new" in second.output  # content-addressed keys: nothing to upload again
    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    stored = sagemaker.describe_pipeline(PipelineName=aws.pipeline_name)["PipelineDefinition"]
    assert json.loads(stored) == builds[0].parsed


def test_run_waits_then_status_and_lineage_trace_back(aws):
    runner = CliRunner()
    assert runner.invoke(main, ["pipeline", "upsert"]).exit_code == 0
    run = runner.invoke(
        main,
        ["pipeline", "run", "--param", "SampleFraction=0.1", "--param", "GitCommit=abc1234", "--wait", "--poll", "0"],
    )
    assert run.exit_code == 0, run.output
    arn = run.output.split("Started ", 1)[1].split()[0]
    assert "Succeeded" in run.output  # moto finishes executions at once
    status = runner.invoke(main, ["pipeline", "status"])
    assert arn in status.output and "Succeeded" in status.output

    # What the pipeline's Register step records, registered here by hand (moto runs no steps).
    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    sagemaker.create_model_package_group(ModelPackageGroupName=aws.model_package_group)
    sagemaker.create_model_package(
        ModelPackageGroupName=aws.model_package_group,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={
            "PipelineExecutionArn": arn,
            "GitCommit": "abc1234",
            "GitRepository": "owner/repo",
            "InputDataUri": aws.input_data_uri,
            "SampleFraction": "0.1",
        },
    )
    result = runner.invoke(main, ["lineage", "1", "--json"])
    assert result.exit_code == 0, result.output
    chain = json.loads(result.output)
    assert chain["pipeline_execution"]["arn"] == arn
    assert chain["pipeline_execution"]["status"] == "Succeeded"
    assert chain["git"] == {"repository": "owner/repo", "commit": "abc1234"}
    assert chain["data"]["input_data_uri"] == aws.input_data_uri
    assert "git commit abc1234" in runner.invoke(main, ["lineage", "1"]).output


def test_run_checks_parameters_against_the_published_definition(aws):
    runner = CliRunner()
    assert runner.invoke(main, ["pipeline", "upsert"]).exit_code == 0
    result = runner.invoke(main, ["pipeline", "run", "--param", "Nope=1"])
    assert result.exit_code == 2
    assert "unknown pipeline parameter" in result.output and "SampleFraction" in result.output
    executions = boto3.client("sagemaker", region_name=aws.region).list_pipeline_executions(
        PipelineName=aws.pipeline_name
    )
    assert executions["PipelineExecutionSummaries"] == []  # refused before anything started


def test_run_before_upsert_says_what_to_do(aws):
    result = CliRunner().invoke(main, ["pipeline", "run"])
    assert result.exit_code == 2
    assert "pipeline upsert" in result.output


def test_lineage_of_missing_version_is_clear(aws):
    boto3.client("sagemaker", region_name=aws.region).create_model_package_group(
        ModelPackageGroupName=aws.model_package_group
    )
    result = CliRunner().invoke(main, ["lineage", "7"])
    assert result.exit_code == 2
    assert "has no version 7" in result.output


# -- failures moto cannot produce: stubbed at the boto3 client (moto's executions always succeed,
# and it lacks ListPipelineExecutionSteps) -------------------------------------------------------

ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123"


def _stubbed(responses: list[tuple[str, dict]]):
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for method, response in responses:
        stubber.add_response(method, response)
    stubber.activate()
    return client


def test_failed_execution_names_the_failing_step_and_reason():
    client = _stubbed(
        [
            ("describe_pipeline_execution", {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": "Executing"}),
            ("describe_pipeline_execution", {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": "Failed"}),
            (
                "list_pipeline_execution_steps",
                {
                    "PipelineExecutionSteps": [
                        {"StepName": "Train", "StepStatus": "Succeeded"},
                        {"StepName": "GateFailed", "StepStatus": "Failed", "FailureReason": "quality gate FAILED: auc"},
                    ]
                },
            ),
        ]
    )
    lines: list[str] = []
    execution = executions.wait(client, ARN, timeout=60, echo=lines.append, poll=0, sleep=lambda _: None)
    assert execution.status == "Failed"
    assert execution.failure == "GateFailed: quality gate FAILED: auc"
    assert any("Executing" in line for line in lines) and any("Failed" in line for line in lines)


def test_wait_gives_up_after_the_timeout_and_says_how_to_follow():
    client = _stubbed(
        [("describe_pipeline_execution", {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": "Executing"})] * 2
    )
    ticks = iter([0.0, 0.0, 5.0])
    with pytest.raises(ProjectError, match="still Executing after 5 s"):
        executions.wait(
            client, ARN, timeout=5, echo=lambda _: None, poll=0, clock=lambda: next(ticks), sleep=lambda _: None
        )
