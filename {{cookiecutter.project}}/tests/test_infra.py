"""infra/: every CloudFormation template passes checkov (and cfn-lint, for project.yaml's region, in
`make lint`, which tests/test_lint.py makes fire), checkov really fires, the bootstrap stacks name
what project.yaml's `aws` section uses, a completed data drop starts one pipeline run on it, and
model bias monitoring labels the endpoint's scores at the code's threshold."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package }}.release.accounts import STAGING_READER_ROLE
from {{ cookiecutter.package }}.settings import Settings, load_settings

INFRA = Path(__file__).resolve().parents[1] / "infra"
TEMPLATES = sorted(INFRA.rglob("*.yaml"))
ROLES, ARTIFACTS, EVENTS = (INFRA / "bootstrap" / f"{name}.yaml" for name in ("roles", "artifacts", "events"))
ENDPOINT = INFRA / "endpoint.yaml"
IDS = [path.relative_to(INFRA).as_posix() for path in TEMPLATES]


def find_checkov() -> str | None:
    """checkov pins an old boto3 that the sagemaker SDK cannot use, so it is not a dev dependency:
    it runs from this environment when installed here, else from PATH (e.g. `pipx install checkov`)."""
    local = Path(sys.executable).with_name("checkov")
    return str(local) if local.exists() else shutil.which("checkov")


CHECKOV = find_checkov()
needs_checkov = pytest.mark.skipif(
    CHECKOV is None,
    reason="checkov is not installed: it conflicts with the sagemaker SDK's boto3, so install it apart "
    "(pipx install checkov) and put it on PATH",
)


def checkov_failures(paths: list[Path]) -> dict[Path, list[str]]:
    """The failed checks of each file, from one checkov run over all of them (its start-up costs
    more than a template's checks)."""
    # --skip-download: no network (the checks ship with checkov); --quiet: failed checks only.
    files = [argument for path in paths for argument in ("-f", str(path))]
    command = [CHECKOV, *files, "--framework", "cloudformation", "-o", "json", "--quiet", "--skip-download"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    assert report["summary"]["parsing_errors"] == 0, result.stdout
    failures: dict[Path, list[str]] = {path.resolve(): [] for path in paths}
    for check in report.get("results", {}).get("failed_checks", []):
        found = f"{check['check_id']} {check['resource']}: {check['check_name']}"
        failures[Path(check["file_abs_path"]).resolve()].append(found)
    return failures


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = ARTIFACTS.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "artifacts.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def public_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artifacts stack with its bucket's public ACLs no longer blocked."""
    return broken_copy(tmp_path_factory.mktemp("checkov"), "BlockPublicAcls: true", "BlockPublicAcls: false")


@pytest.fixture(scope="session")
def checkov_report(public_bucket: Path) -> dict[Path, list[str]]:
    """checkov over every template and the public bucket at once."""
    return checkov_failures([*TEMPLATES, public_bucket])


def test_cfn_lint_lints_for_the_project_s_region(settings: Settings):
    """`make lint` (tests/test_lint.py) runs cfn-lint over every template, refusing any finding;
    .cfnlintrc.yaml has it check them against the region they deploy to."""
    config = yaml.safe_load((INFRA.parent / ".cfnlintrc.yaml").read_text(encoding="utf-8"))
    assert config["regions"] == [settings.aws.region], "set .cfnlintrc.yaml's regions to project.yaml's aws.region"


@needs_checkov
@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_checkov_finds_no_failed_checks(template: Path, checkov_report: dict[Path, list[str]]):
    failures = checkov_report[template.resolve()]
    assert not failures, "\n".join(failures)


@needs_checkov
def test_checkov_reports_a_public_bucket(public_bucket: Path, checkov_report: dict[Path, list[str]]):
    assert any(failure.startswith("CKV_AWS_53 ") for failure in checkov_report[public_bucket.resolve()])


def load(path: Path) -> dict:
    # Imported here: cfn-lint's import takes most of a second, and every pytest worker collects
    # this module while one runs it.
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(path))


def resolve(settings: Settings):
    """Fn::Sub strings of the bootstrap templates as CloudFormation resolves them in the pipeline account."""
    aws = settings.aws
    account = aws.role_arn.split(":")[4]
    names = {
        "AWS::Partition": "aws",
        "AWS::Region": aws.region,
        "AWS::AccountId": account,
        "PipelineAccountId": account,
    }

    def sub(value: dict) -> str:
        text = value["Fn::Sub"]
        for name, replacement in names.items():
            text = text.replace("${" + name + "}", replacement)
        return text

    return sub


def test_bootstrap_names_match_project_settings(settings: Settings):
    aws = settings.aws
    sub = resolve(settings)
    roles, artifacts, events = (load(path) for path in (ROLES, ARTIFACTS, EVENTS))
    account = aws.role_arn.split(":")[4]
    assert roles["Parameters"]["PipelineAccountId"]["Default"] == account

    def statement(template: dict, resource: str, sid: str) -> dict:
        (policy,) = template["Resources"][resource]["Properties"]["Policies"]
        (found,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
        return found

    assert roles["Resources"]["SageMakerExecutionRole"]["Properties"]["RoleName"] == aws.role_arn.rsplit("/", 1)[1]
    assert sub(artifacts["Resources"]["ArtifactBucket"]["Properties"]["BucketName"]) == aws.bucket
    group = artifacts["Resources"]["ModelPackageGroup"]["Properties"]["ModelPackageGroupName"]
    assert group == aws.model_package_group
    approval = events["Resources"]["ModelApprovalRule"]["Properties"]["EventPattern"]["detail"]
    assert approval["ModelPackageGroupName"] == [aws.model_package_group]

    pipeline_arn = f"arn:aws:sagemaker:{aws.region}:{account}:pipeline/{aws.pipeline_name}"
    main_pipelines = [sub(arn) for arn in statement(roles, "GitHubMainRole", "Pipeline")["Resource"]]
    assert pipeline_arn in main_pipelines
    for role in ("GitHubPrRole", "GitHubMainRole"):
        assert sub(statement(roles, role, "PipelineFiles")["Resource"]) == f"arn:aws:s3:::{aws.bucket}/{aws.prefix}/*"

    # The drop trigger (events.yaml) watches the artifact bucket and runs the project's pipeline only.
    drops = events["Resources"]["DataDropRule"]["Properties"]
    assert [sub(name) for name in drops["EventPattern"]["detail"]["bucket"]["name"]] == [aws.bucket]
    assert drops["Targets"][0]["Arn"] == {"Ref": "DataDropStateMachine"}
    machine = events["Resources"]["DataDropStateMachine"]["Properties"]["Definition"]
    assert machine["States"]["StartPipeline"]["Parameters"]["PipelineName"] == aws.pipeline_name
    runner = {
        sid: sub(statement(events, "DataDropStateMachineRole", sid)["Resource"])
        for sid in ("StartPipeline", "FollowExecution")
    }
    assert runner == {"StartPipeline": pipeline_arn, "FollowExecution": f"{pipeline_arn}/execution/*"}
    bucket = artifacts["Resources"]["ArtifactBucket"]["Properties"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True

    # The role prod's deploy assumes to read a staging stack in another account (release/accounts.py).
    reader = roles["Resources"]["StagingStackReaderRole"]["Properties"]
    assert reader["RoleName"] == STAGING_READER_ROLE
    (trust,) = reader["AssumeRolePolicyDocument"]["Statement"]
    prod_role = roles["Resources"]["GitHubDeployProdRole"]["Properties"]["RoleName"]
    assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]["Fn::Sub"].endswith(f":role/{prod_role}")


# ---------------------------------------------------------------- data drops
DROP = "2026-12-02"
KEYS = {
    "data": f"data/drops/{DROP}/part-0000.csv",
    "drop": f"data/drops/{DROP}/_SUCCESS",
    "nested": f"data/drops/{DROP}/extra/_SUCCESS",  # the rule's "*" matches "/" too
    "no drop id": "data/drops/_SUCCESS",
    "elsewhere": "data/_SUCCESS",
    "old location": "data/training/_SUCCESS",
}


@pytest.fixture
def drop_events(aws, settings: Settings) -> dict[str, dict]:
    """The events moto's S3 sends EventBridge for each of KEYS written to the artifact bucket (with
    EventBridge notifications on, as artifacts.yaml has them), that reach a queue through a rule with
    the drop rule's event pattern: key -> event. moto's TestEventPattern is not implemented, so the
    pattern is evaluated by moto's rule matching, which supports the "wildcard" operator it uses."""
    import boto3

    s3, events, sqs = (boto3.client(name, region_name=aws.region) for name in ("s3", "events", "sqs"))
    s3.put_bucket_notification_configuration(
        Bucket=aws.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = load(EVENTS)["Resources"]["DataDropRule"]["Properties"]["EventPattern"]
    sub = resolve(settings)
    pattern["detail"]["bucket"]["name"] = [sub(name) for name in pattern["detail"]["bucket"]["name"]]
    queue = sqs.create_queue(QueueName="drops")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="data-drop", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="data-drop", Targets=[{"Id": "queue", "Arn": queue_arn}])

    for key in KEYS.values():
        s3.put_object(Bucket=aws.bucket, Key=key, Body=b"")
    received = {}
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            event = json.loads(message["Body"])
            received[event["detail"]["object"]["key"]] = event
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return received


def test_drop_rule_passes_success_objects_under_a_drop_only(drop_events: dict):
    assert sorted(drop_events) == sorted([KEYS["drop"], KEYS["nested"]])


@pytest.fixture
def state_machine(aws, moto_endpoint: str, monkeypatch, settings: Settings):
    """events.yaml's state machine, run by moto (its port of LocalStack's interpreter, which evaluates
    the intrinsic functions and calls SageMaker through the aws-sdk integration on this moto server),
    and the project's pipeline in moto's SageMaker. Returns run(event) -> (execution, its output)."""
    import boto3
    import requests

    config = f"{moto_endpoint}/moto-api/config"
    requests.post(config, json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])  # where its aws-sdk tasks call
    sfn, sagemaker = (boto3.client(name, region_name=aws.region) for name in ("stepfunctions", "sagemaker"))
    role = f"arn:aws:iam::{aws.role_arn.split(':')[4]}:role/data-drop"
    empty = json.dumps({"Version": "2020-12-01", "Steps": []})
    sagemaker.create_pipeline(PipelineName=aws.pipeline_name, PipelineDefinition=empty, RoleArn=role)
    definition = load(EVENTS)["Resources"]["DataDropStateMachine"]["Properties"]["Definition"]
    machine = sfn.create_state_machine(name="data-drop", definition=json.dumps(definition), roleArn=role)

    def run(event: dict, name: str) -> tuple[dict, dict]:
        started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=name, input=json.dumps(event))
        deadline = time.monotonic() + 30
        while (execution := sfn.describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the state machine is still running after 30 s"
            time.sleep(0.1)
        return execution, json.loads(execution.get("output") or "{}")

    yield run
    requests.post(config, json={"stepfunctions": {"execute_state_machine": False}}, timeout=10)


def pipeline_runs(aws) -> list[dict]:
    """Each run of the project's pipeline in moto: its parameters and description."""
    import boto3

    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    runs = []
    for summary in sagemaker.list_pipeline_executions(PipelineName=aws.pipeline_name)["PipelineExecutionSummaries"]:
        arn = summary["PipelineExecutionArn"]
        parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
        description = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionDescription"]
        runs.append({"parameters": parameters, "description": description})
    return runs


def test_a_completed_drop_starts_one_run_on_the_drop(aws, drop_events: dict, state_machine):
    """The definition runs here (intrinsics included) on the event moto's S3 sent for the drop's
    _SUCCESS; moto finishes a pipeline run at once, so the describe-and-wait loop ends on its first check."""
    execution, output = state_machine(drop_events[KEYS["drop"]], "drop")
    assert execution["status"] == "SUCCEEDED", execution
    uri = f"s3://{aws.bucket}/data/drops/{DROP}/"
    assert pipeline_runs(aws) == [
        {"parameters": [{"Name": "InputDataUri", "Value": uri}], "description": f"Data drop {uri}"}
    ]
    # StartPipelineExecution's ClientRequestToken takes 32 to 128 characters.
    assert re.fullmatch(r"[0-9a-f]{64}", output["drop"]["token"])
    _, again = state_machine(drop_events[KEYS["drop"]], "same-event")
    assert again["drop"]["token"] == output["drop"]["token"]  # a repeated delivery: the same token


def test_a_failed_run_fails_the_drop_s_execution(aws, drop_events: dict, state_machine, monkeypatch):
    from moto.sagemaker.models import FakePipelineExecution

    started = FakePipelineExecution.__init__

    def failing(self, *args, **kwargs):  # moto's runs succeed at once; this one fails at once
        started(self, *args, **kwargs)
        self.pipeline_execution_status = "Failed"

    monkeypatch.setattr(FakePipelineExecution, "__init__", failing)
    execution, _ = state_machine(drop_events[KEYS["drop"]], "failing")
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PipelineFailed"
    assert execution["cause"].endswith(" ended Failed")


def test_a_success_object_deeper_than_a_drop_starts_nothing(aws, drop_events: dict, state_machine):
    execution, _ = state_machine(drop_events[KEYS["nested"]], "nested")
    assert (execution["status"], execution["error"]) == ("FAILED", "NotADataDrop")
    assert pipeline_runs(aws) == []


# ---------------------------------------------------------------- monitoring
def monitored_stack_parameters(settings: Settings, project_root: Path, **kind) -> dict[str, str]:
    """The endpoint stack's parameters for staging with data capture and monitoring on."""
    import yaml

    from {{ cookiecutter.package }}.release.environments import parse_manifest
    from {{ cookiecutter.package }}.release.registry import Version
    from {{ cookiecutter.package }}.release.stack import parameters

    raw = yaml.safe_load((project_root / "environments" / "staging.yaml").read_text(encoding="utf-8"))
    raw["data_capture"]["enabled"] = True
    raw["monitoring"] |= {"enabled": True, "ground_truth_s3_uri": f"s3://{settings.aws.bucket}/ground-truth/staging"}
    manifest = parse_manifest(yaml.safe_dump(raw), "staging.yaml", "staging")
    uri = f"s3://{settings.aws.bucket}/pipeline/clarify"
    baselines = {
        "Bias": {"ConfigFile": {"S3Uri": f"{uri}/bias.json"}, "PostTrainingConstraints": {"S3Uri": f"{uri}/b.json"}},
        "Explainability": {"ConfigFile": {"S3Uri": f"{uri}/shap.json"}, "Constraints": {"S3Uri": f"{uri}/e.json"}},
    }
    account = settings.aws.role_arn.split(":")[4]
    arn = f"arn:aws:sagemaker:{settings.aws.region}:{account}:model-package/{settings.aws.model_package_group}/1"
    version = Version(arn=arn, number=1, status="Approved", created="", commit="", note="", baselines=baselines)
    given = parameters(manifest, version, settings.aws, **kind)
    declared = load(ENDPOINT)["Parameters"]
    assert set(given) <= set(declared)
    for name, value in given.items():
        if "AllowedPattern" in declared[name]:
            assert re.fullmatch(declared[name]["AllowedPattern"], value), name
        if "AllowedValues" in declared[name]:
            assert value in declared[name]["AllowedValues"], name
    return given


def test_model_bias_monitoring_labels_scores_at_the_code_s_threshold(settings: Settings, project_root: Path):
    """A binary endpoint answers CSV with one positive-class probability per line; without a
    threshold Clarify's bias monitor would take those probabilities for labels."""
    threshold = load_settings(project_root / "project.yaml").cutoff
    template = load(ENDPOINT)
    bias = template["Resources"]["ModelBiasJobDefinition"]["Properties"]["ModelBiasJobInput"]["EndpointInput"]
    attribute = {"Fn::If": ["HasProbabilityThreshold", {"Ref": "ProbabilityThreshold"}, {"Ref": "AWS::NoValue"}]}
    assert bias["ProbabilityThresholdAttribute"] == attribute
    assert template["Conditions"]["HasProbabilityThreshold"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ProbabilityThreshold"}, ""]}]
    }
    given = monitored_stack_parameters(settings, project_root, cutoff=0.35, problem_type="binary")
    assert (given["ProbabilityThreshold"], given["ProblemType"]) == ("0.35", "binary")
    assert float(template["Parameters"]["ProbabilityThreshold"]["Default"]) == threshold == 0.5


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_monitoring_without_a_cut_off_for_multiclass_and_regression(kind: str, settings: Settings, project_root: Path):
    """No score cut-off: the threshold attribute is left out. A multiclass endpoint's answer (one
    probability per class) is no single label the bias monitor can read, so it gets none; the
    feature-attribution monitor stays."""
    given = monitored_stack_parameters(settings, project_root, cutoff=None, problem_type=kind)
    assert (given["ProbabilityThreshold"], given["ProblemType"]) == ("", kind)
    template = load(ENDPOINT)
    resources = template["Resources"]
    assert resources["ModelBiasJobDefinition"]["Condition"] == "ModelBiasMonitoring"
    assert resources["ModelBiasSchedule"]["Condition"] == "ModelBiasMonitoring"
    assert resources["ModelExplainabilityJobDefinition"]["Condition"] == "Monitoring"
    assert resources["ModelExplainabilitySchedule"]["Condition"] == "Monitoring"
    assert template["Conditions"]["ModelBiasMonitoring"] == {
        "Fn::And": [{"Condition": "Monitoring"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "ProblemType"}, "multiclass"]}]}]
    }
