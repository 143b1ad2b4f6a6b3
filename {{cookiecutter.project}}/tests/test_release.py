"""The release life cycle against the moto server: register versions -> approve -> promote to
staging -> deploy -> smoke -> promote to prod -> deploy -> reject -> rollback, with every
refusal made to fire. moto runs CloudFormation for the endpoint stack (Model, EndpointConfig,
Endpoint; it skips the alarm, autoscaling and monitoring resources with a warning). Its
sagemaker-runtime answers from a queue the test fills through moto's own API; the answers are
what the project's endpoint handlers return for the smoke test's request."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from moto.core import DEFAULT_ACCOUNT_ID as MOTO_ACCOUNT

from {{ cookiecutter.package }} import cli_support
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.gates import METRICS_KEY
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.release.smoke import smoke
from {{ cookiecutter.package }}.settings import Dataset
from {{ cookiecutter.package }}.steps import inference

OTHER_ACCOUNT = "111111111111"  # an account apart from moto's default one, where the tests sign in


@pytest.fixture
def project(tmp_path: Path, project_root: Path, moto_environments: Path) -> Path:
    """A folder with a copy of project.yaml and the manifests, so promotions edit the copies; both
    stages in moto's account (the cross-account test below places staging elsewhere itself). The
    commands run in the project's root folder and read the endpoint stack and the sample there."""
    shutil.copy(project_root / "project.yaml", tmp_path / "project.yaml")
    return tmp_path


def in_account(project: Path, stage: str, account: str) -> None:
    path = project / "environments" / f"{stage}.yaml"
    path.write_text(path.read_text().replace(f'account: "{MOTO_ACCOUNT}"', f'account: "{account}"'))


@pytest.fixture
def cli(project: Path, aws, project_root: Path, monkeypatch):
    monkeypatch.chdir(project_root)
    runner = CliRunner()

    def invoke(*arguments: str, expect: int = 0):
        result = runner.invoke(
            main, [*arguments, "--settings", str(project / "project.yaml"),
                   *(["--environments-dir", str(project / "environments")] if _takes_environments(arguments) else [])],
        )  # fmt: skip
        assert result.exit_code == expect, result.output
        return result.output

    return invoke


def _takes_environments(arguments) -> bool:
    return arguments[0] in ("promote", "deploy", "predict")


def quality_metric(settings) -> str:
    """The project's first quality-gate metric (auc, accuracy, r2, ...): what the versions report."""
    return next(iter(settings.gates.quality))


def facet_label(settings) -> str:
    """The project's first bias facet as Clarify's reports name it, e.g. sex=Female."""
    facet = settings.bias.facets[0]
    group = facet.sensitive_values[0] if facet.sensitive_values is not None else facet.sensitive_range.min
    return f"{facet.column}={group}"


@pytest.fixture
def registered(aws, settings):
    """Three versions registered as the pipeline registers them: metrics in evaluation.json's shape
    for the project's problem type, a bias report (with bias analysis), drift baselines and
    lineage metadata, all PendingManualApproval. Version N's metric is 0.90 + N / 100."""
    sagemaker, s3 = boto3.client("sagemaker", region_name=aws.region), boto3.client("s3", region_name=aws.region)
    sagemaker.create_model_package_group(ModelPackageGroupName=aws.model_package_group)
    section = METRICS_KEY[settings.dataset.problem_type]
    arns = []
    for number in (1, 2, 3):
        prefix = f"s3://{aws.bucket}/pipeline/run-{number}"
        files = {"evaluation.json": {section: {quality_metric(settings): {"value": 0.90 + number / 100}}}}
        if settings.bias:
            column, _, group = facet_label(settings).partition("=")
            files["bias.json"] = {"post_training_bias_metrics": {"facets": {column: [
                {"value_or_threshold": group, "metrics": [{"name": "DPPL", "value": 0.1 * number}]}]}}}  # fmt: skip
        for name, content in files.items():
            s3.put_object(Bucket=aws.bucket, Key=f"pipeline/run-{number}/{name}", Body=json.dumps(content))
        arns.append(
            sagemaker.create_model_package(**registration(aws, prefix, number, bias=bool(settings.bias)))[
                "ModelPackageArn"
            ]
        )
    return arns


def registration(aws, prefix: str, number: int, bias: bool = True) -> dict:
    """A CreateModelPackage request shaped like the pipeline's Register step (without bias
    analysis it registers no bias report and no bias or explainability baselines)."""

    def file(name: str) -> dict:
        return {"ContentType": "application/json", "S3Uri": f"{prefix}/{name}"}

    # The image's ECR account differs by region (this is one region's); moto checks neither.
    image = f"683313688378.dkr.ecr.{aws.region}.amazonaws.com/sagemaker-xgboost:3.0-5"
    request = {
        "ModelPackageGroupName": aws.model_package_group,
        "InferenceSpecification": {
            "Containers": [{"Image": image, "ModelDataUrl": f"{prefix}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": file("evaluation.json")},
            "Bias": {"PostTrainingReport": file("bias.json")},
        },
        "DriftCheckBaselines": {
            "Bias": {
                "ConfigFile": {"S3Uri": f"{prefix}/bias-config.json"},
                "PostTrainingConstraints": file("bias.json"),
            },
            "Explainability": {"ConfigFile": {"S3Uri": f"{prefix}/shap-config.json"}, "Constraints": file("shap.json")},
        },
        "CustomerMetadataProperties": {"GitCommit": f"{number:040x}", "GitRepository": "org/repo"},
        "ModelApprovalStatus": "PendingManualApproval",
    }
    if not bias:
        del request["ModelMetrics"]["Bias"], request["DriftCheckBaselines"]
    return request


@pytest.fixture
def endpoint_answers(endpoint, model_dir, sample_path, settings):
    """Queue what the endpoint would answer: the project's handlers scoring the smoke request."""
    from {{ cookiecutter.package }}.data import read_table
    from {{ cookiecutter.package }}.release.smoke import payload

    model = TrainedModel.load(model_dir)

    def queue(rows: int, body: str | None = None, times: int = 1) -> None:
        if body is None:
            request = payload(read_table(sample_path, settings.dataset.features), settings.dataset, rows)
            scores = inference.predict_fn(inference.input_fn(request, "text/csv"), model)
            body, _ = inference.output_fn(scores, "text/csv", model.spec)
        endpoint.answer(body, "text/csv", times)

    return queue


def manifest(project: Path, stage: str) -> dict:
    return yaml.safe_load((project / "environments" / f"{stage}.yaml").read_text(encoding="utf-8"))


def pin_by_hand(project: Path, stage: str, arn: str) -> None:
    path = project / "environments" / f"{stage}.yaml"
    path.write_text(path.read_text().replace("model_package: null", f"model_package: {arn}"))


def stack_parameters(aws, stage: str) -> dict:
    cloudformation = boto3.client("cloudformation", region_name=aws.region)
    found = cloudformation.describe_stacks(StackName=f"{aws.pipeline_name}-{stage}")["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]}


def test_the_whole_life_cycle(cli, project: Path, registered, endpoint_answers, aws, settings):
    v1, v2, _v3 = registered
    metric = quality_metric(settings)
    assert "PendingManualApproval" in cli("registry", "list")
    # An unapproved version is never promoted.
    assert "is PendingManualApproval, not Approved" in cli("promote", "--to", "staging", "--version", "2", expect=2)
    assert manifest(project, "staging")["model_package"] is None  # the refusal left the file alone

    cli("registry", "approve", "1", "--note", "first baseline")
    cli("registry", "approve", "2", "--note", f"better {metric}")
    assert cli("registry", "latest-approved").strip() == v2
    listed = cli("registry", "list").splitlines()
    assert listed[0].split()[2] == metric and listed[1].split()[:3] == ["3", "PendingManualApproval", "0.9300"]
    shown = cli("registry", "show", "2")
    assert f"{metric}: 0.9200" in shown
    if settings.bias:
        assert f"DPPL for {facet_label(settings)}: 0.2000" in shown
    else:  # no bias analysis: no bias report registered
        assert " bias " not in shown

    # Promote to staging: only the model_package line of the manifest changes.
    before = (project / "environments" / "staging.yaml").read_text()
    out = cli("promote", "--to", "staging", "--latest-approved", "--body", str(project / "pr.md"))
    assert "environments/staging.yaml: pinned version 2" in out
    after = (project / "environments" / "staging.yaml").read_text()
    assert [line for line in after.splitlines() if line not in before.splitlines()] == [f"model_package: {v2}"]
    body = (project / "pr.md").read_text()
    assert "| staging | version nothing | **version 2** (Approved) |" in body
    assert f"| {metric} | 0.9200 |" in body
    if settings.bias:
        assert f"| post-training | {facet_label(settings)} | DPPL | 0.2000 |" in body
    else:
        assert "### Bias" not in body
    assert f"git commit {2:040x} in org/repo" in body

    # Prod takes exactly what staging runs: nothing runs there yet, so promote refuses, and so does
    # a deploy of a prod manifest pinned by hand.
    assert "but staging has no stack yet" in cli("promote", "--to", "prod", expect=2)
    pin_by_hand(project, "prod", v2)
    assert "prod would run version 2, but staging runs nothing" in cli("deploy", "apply", "--env", "prod", expect=2)

    # Deploy staging, smoke-tested with the project's own handlers' answer.
    assert "create the stack, serving model version 2" in cli("deploy", "plan", "--env", "staging")
    endpoint_answers(rows=5)
    out = cli("deploy", "apply", "--env", "staging", "--poll", "0")
    assert "smoke test on" in out and "5 rows" in out and "passed" in out
    assert stack_parameters(aws, "staging")["ModelPackageArn"] == v2
    # A second apply changes nothing.
    assert cli("deploy", "apply", "--env", "staging", "--poll", "0").strip() == (
        f"staging: {aws.pipeline_name}-staging is up to date"
    )
    assert "staging: in sync" in cli("deploy", "drift", "--env", "staging")

    # Prod now matches staging and deploys.
    endpoint_answers(rows=5)
    assert "passed" in cli("deploy", "apply", "--env", "prod", "--poll", "0")
    assert stack_parameters(aws, "prod")["TrafficRouting"] == "CANARY"
    status = cli("deploy", "status")
    assert "staging          2         2  CREATE_COMPLETE" in status
    assert "prod             2         2  CREATE_COMPLETE" in status

    # Version 2 is rejected: both environments roll back to version 1, the previous approved one.
    cli("registry", "reject", "2", "--note", "complaints from users")
    out = cli("promote", "--rollback-from", "2", "--body", str(project / "rollback.md"))
    assert "environments/staging.yaml: pinned version 1" in out and "environments/prod.yaml: pinned version 1" in out
    assert "Roll back from rejected version 2" in (project / "rollback.md").read_text()
    assert "ModelPackageArn" in cli("deploy", "drift", expect=1)  # the manifests moved; the stacks did not yet
    endpoint_answers(rows=5, times=2)
    cli("deploy", "apply", "--env", "staging", "--poll", "0")
    cli("deploy", "apply", "--env", "prod", "--poll", "0")
    assert stack_parameters(aws, "prod")["ModelPackageArn"] == v1
    assert "nothing to roll back" in cli("promote", "--rollback-from", "3")
    assert cli("deploy", "drift").count("in sync") == 2


def test_a_failing_smoke_test_rolls_the_deploy_back(cli, project: Path, registered, endpoint_answers, aws):
    cli("registry", "approve", "1")
    cli("registry", "approve", "3")
    cli("promote", "--to", "staging", "--version", "1")
    endpoint_answers(rows=5)
    cli("deploy", "apply", "--env", "staging", "--poll", "0")
    cli("promote", "--to", "staging", "--version", "3")
    path = project / "environments" / "staging.yaml"
    path.write_text(path.read_text().replace("  rows: 5", "  rows: 4"))  # a new request: moto answers it afresh
    endpoint_answers(rows=4, body="<html>502 Bad Gateway</html>")
    out = cli("deploy", "apply", "--env", "staging", "--poll", "0", expect=1)
    assert "FAILED: expected 4 scores, one per line, got 1" in out
    assert "rolling back to model 1" in out
    assert stack_parameters(aws, "staging")["ModelPackageArn"] == registered[0]
    assert "ModelPackageArn" in cli("deploy", "drift", "--env", "staging", expect=1)


SMOKE_DATASETS = {
    kind: Dataset(
        sample=Path("rows.csv"),
        label="y",
        problem_type=kind,
        numeric_features=["x"],
        categorical_features=[],
        **classes,
    )
    for kind, classes in (
        ("binary", {"classes": ["no", "yes"], "positive_label": "yes"}),
        ("multiclass", {"classes": ["a", "b", "c"]}),
        ("regression", {}),
    )
}


@pytest.mark.parametrize(
    ("kind", "answer", "problem"),
    [
        ("binary", "0.25\n0.75\n", None),
        ("binary", "0.25\n1.5\n", "scores outside [0, 1]"),
        ("binary", "0.2,0.8\n0.3,0.7\n", "expected 1 value(s) per line"),
        ("multiclass", "0.2,0.3,0.5\n1,0,0\n", None),
        ("multiclass", "0.5\n0.7\n", "expected 3 value(s) per line"),
        ("multiclass", "0.2,0.3,0.4\n1,0,0\n", "class probabilities do not sum to 1"),
        ("regression", "41.5\n-3\n", None),
        ("regression", "41.5\nnan\n", "predictions are not finite"),
        ("regression", "41.5\nhigh\n", "scores are not numbers"),
        ("regression", "41.5\n", "expected 2 scores, one per line, got 1"),
    ],
)
def test_the_smoke_test_checks_each_problem_types_answer(endpoint, aws, kind, answer, problem):
    """The deploy's smoke test reads the endpoint's text/csv answer as steps/inference.py writes
    it for the model's problem type (datasets of the test's own, so every bake checks all three)."""
    endpoint.answer(answer, "text/csv")
    runtime = boto3.client("sagemaker-runtime", region_name=aws.region)
    result = smoke(runtime, "e", "1\n2\n", 2, max_latency_ms=60_000, dataset=SMOKE_DATASETS[kind])
    assert result.passed == (problem is None) and len(result.problems) == (problem is not None), result.problems
    if problem is not None:
        assert result.problems[0].startswith(problem), result.problems


def test_refusals(cli, project: Path, registered, aws):
    cli("registry", "approve", "1")
    # A manifest that fails the schema: named file, field and value.
    path = project / "environments" / "staging.yaml"
    original = path.read_text()
    path.write_text(original.replace("instance_count: 1", "instance_count: 0"))
    out = cli("deploy", "plan", "--env", "staging", expect=2)
    assert "staging.yaml: endpoint.instance_count" in out
    path.write_text(original.replace("strategy: all_at_once", "strategy: big_bang"))
    assert "deployment.strategy" in cli("deploy", "apply", "--env", "staging", expect=2)
    linear = original.replace("strategy: all_at_once", "strategy: linear")
    path.write_text(linear.replace("step_percent: 10", "step_percent: 5"))
    assert "step_percent: a linear step must be 10-50 % of capacity (got 5)" in cli(
        "deploy", "plan", "--env", "staging", expect=2
    )
    path.write_text(original.replace(f'account: "{MOTO_ACCOUNT}"', f"account: {MOTO_ACCOUNT}"))
    assert "write the 12-digit account id in quotes" in cli("deploy", "plan", "--env", "staging", expect=2)
    path.write_text(original)
    # A version that is not Approved, pinned by hand.
    path.write_text(original.replace("model_package: null", f"model_package: {registered[2]}"))
    assert "model version 3 is PendingManualApproval" in cli("deploy", "apply", "--env", "staging", expect=2)
    path.write_text(original)
    # Prod without a version in staging's manifest; bad option mixes.
    assert "promote to staging first" in cli("promote", "--to", "prod", expect=2)
    assert "exactly one of --version N and --latest-approved" in cli("promote", "--to", "staging", expect=2)
    assert "gets exactly what staging runs" in cli("promote", "--to", "prod", "--version", "1", expect=2)
    # Monitoring needs the data capture it analyses.
    monitored = yaml.safe_load(original)
    monitored["monitoring"] |= {"enabled": True, "ground_truth_s3_uri": "s3://labels-bucket/ground-truth/"}
    path.write_text(yaml.safe_dump(monitored))
    assert "monitoring.enabled needs data_capture.enabled" in cli("deploy", "plan", "--env", "staging", expect=2)


def test_promote_to_prod_is_refused_until_staging_runs_its_pin(cli, project: Path, registered, aws):
    """Prod takes only what staging runs: the promotion is refused up front (exit 2, as `deploy
    plan --env prod` refuses the same), not left to fail at prod's deploy after its review."""
    _v1, _v2, v3 = registered
    cli("registry", "approve", "1")
    cli("registry", "approve", "3")
    prod = project / "environments" / "prod.yaml"
    before = prod.read_text()
    cli("promote", "--to", "staging", "--version", "1")
    out = cli("promote", "--to", "prod", expect=2)
    assert out.strip() == (
        "Error: environments/staging.yaml pins version 1, but staging has no stack yet: prod takes only the "
        "version staging runs, so deploy staging first (merge its promotion, or `deploy apply --env staging`), "
        "then promote to prod"
    )
    cli("deploy", "apply", "--env", "staging", "--no-smoke", "--poll", "0")
    cli("promote", "--to", "staging", "--version", "3")  # merged, not deployed yet
    out = cli("promote", "--to", "prod", expect=2)
    assert f"pins version 3, but stack {aws.pipeline_name}-staging runs version 1: " in out
    assert prod.read_text() == before  # the refusals left prod's manifest alone
    cli("deploy", "apply", "--env", "staging", "--no-smoke", "--poll", "0")
    assert "environments/prod.yaml: pinned version 3" in cli("promote", "--to", "prod")
    assert manifest(project, "prod")["model_package"] == v3


def test_promote_to_prod_warns_when_it_may_not_read_the_staging_stack(cli, project: Path, registered, aws, monkeypatch):
    """CI's promotion job signs in with the main role, which may not read the staging stack: the
    check becomes a warning, and the prod deploy still checks. moto does not enforce IAM, so the
    refusal is botocore's Stubber on the CloudFormation client (DescribeStacks only)."""
    from botocore.stub import Stubber

    from {{ cookiecutter.package }}.context import Context

    cli("registry", "approve", "1")
    cli("promote", "--to", "staging", "--version", "1")
    cloudformation = boto3.client("cloudformation", region_name=aws.region)
    stubber = Stubber(cloudformation)
    stubber.add_client_error(
        "describe_stacks",
        "AccessDenied",
        "User: github-main is not authorized to perform: cloudformation:DescribeStacks",
    )
    original = Context.client

    def client(self, service: str, **credentials):
        return cloudformation if service == "cloudformation" else original(self, service, **credentials)

    monkeypatch.setattr(Context, "client", client)
    with stubber:
        out = cli("promote", "--to", "prod")
    stubber.assert_no_pending_responses()
    assert f"Warning: cannot read stack {aws.pipeline_name}-staging in account {MOTO_ACCOUNT}" in out
    assert "not authorized to perform: cloudformation:DescribeStacks" in out
    assert "`deploy plan --env prod` checks it before prod changes" in out
    assert "environments/prod.yaml: pinned version 1" in out


def test_a_stack_mid_update_is_refused(cli, project: Path, registered, aws, settings, monkeypatch):
    """moto finishes stack operations at once, so the in-progress state comes from botocore's
    Stubber on the CloudFormation client (DescribeStacks only)."""
    from botocore.stub import Stubber

    from {{ cookiecutter.package }}.errors import ProjectError
    from {{ cookiecutter.package }}.release import deployment

    cli("registry", "approve", "1")
    cli("promote", "--to", "staging", "--version", "1")
    cloudformation = boto3.client("cloudformation", region_name=aws.region)
    stubber = Stubber(cloudformation)
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "s", "StackStatus": "UPDATE_IN_PROGRESS", "CreationTime": "2024-01-01T00:00:00Z"}]},
    )

    from {{ cookiecutter.package }}.context import Context, load_context

    original = Context.client

    def client(self, service: str, **options):
        return cloudformation if service == "cloudformation" else original(self, service, **options)

    monkeypatch.setattr(Context, "client", client)
    context = load_context(project / "project.yaml")
    with stubber, pytest.raises(ProjectError, match="is UPDATE_IN_PROGRESS: wait for it to finish"):
        deployment.plan(context, "staging", project / "environments")


def test_a_command_makes_one_client_per_service(project: Path, aws):
    from {{ cookiecutter.package }}.context import load_context

    context = load_context(project / "project.yaml")
    assert context.client("sagemaker") is context.client("sagemaker")
    assert context.client("sagemaker") is not context.client("sagemaker", connections=4)
    other = {"aws_access_key_id": "other", "aws_secret_access_key": "other"}  # an assumed role's
    assert context.client("sagemaker", **other) is not context.client("sagemaker")
    assert context.client("sagemaker") is not load_context(project / "project.yaml").client("sagemaker")


def test_drift_tells_a_stage_not_deployed_yet_from_drift(cli, project: Path, registered, aws):
    """The daily drift check must stay green while prod waits for its first promotion, and for
    a newer staging version to be promoted; a pinned model without its stack is still drift."""
    v1, _v2, v3 = registered
    out = cli("deploy", "drift")
    assert "staging: not deployed yet\n" in out and "prod: not deployed yet\n" in out
    assert f"pins no model, and no stack {aws.pipeline_name}-prod exists" in out
    cli("registry", "approve", "1")
    cli("registry", "approve", "3")
    cli("promote", "--to", "staging", "--version", "1")
    cli("deploy", "apply", "--env", "staging", "--no-smoke", "--poll", "0")
    assert cli("deploy", "drift").startswith("staging: in sync\nprod: not deployed yet\n")

    cli("promote", "--to", "prod")  # merged, but its deploy has not run: drift
    out = cli("deploy", "drift", "--env", "prod", expect=1)
    assert "prod: DRIFT" in out and "create the stack, serving model version 1" in out
    cli("deploy", "apply", "--env", "prod", "--no-smoke", "--poll", "0")
    assert stack_parameters(aws, "prod")["ModelPackageArn"] == v1

    # Staging moves on to version 3; prod's promotion waits for review. A deploy of prod's
    # manifest would be refused, but prod still runs what its manifest says.
    cli("promote", "--to", "staging", "--version", "3")
    cli("deploy", "apply", "--env", "staging", "--no-smoke", "--poll", "0")
    assert stack_parameters(aws, "staging")["ModelPackageArn"] == v3
    assert "prod would run version 1, but staging runs 3" in cli("deploy", "plan", "--env", "prod", expect=2)
    assert cli("deploy", "drift").count("in sync") == 2

    # A manifest emptied by hand while its stack still runs: drift, not "not deployed yet".
    path = project / "environments" / "prod.yaml"
    path.write_text(path.read_text().replace(f"model_package: {v1}", "model_package: null"))
    out = cli("deploy", "drift", "--env", "prod", expect=1)
    assert "prod: DRIFT" in out and f"pins no model but stack {aws.pipeline_name}-prod exists" in out


def test_destroy_asks_first_and_removes_the_stack(cli, project: Path, registered, endpoint_answers, aws, monkeypatch):
    cli("registry", "approve", "1")
    cli("promote", "--to", "staging", "--version", "1")
    endpoint_answers(rows=5)
    cli("deploy", "apply", "--env", "staging", "--poll", "0")
    runner = CliRunner()
    settings = ["--settings", str(project / "project.yaml"), "--environments-dir", str(project / "environments")]
    # Without a terminal (CI, a pipe) nobody can answer: refused at once, naming --yes.
    unattended = runner.invoke(main, ["deploy", "destroy", "--env", "staging", *settings], input="y\n")
    assert unattended.exit_code == 2, unattended.output
    assert unattended.output.strip() == (
        f"Error: no terminal to confirm on: pass --yes to delete stack {aws.pipeline_name}-staging and its endpoint"
    )
    # On a terminal, "no" aborts with the shell's code for an interrupted command, not a gate's 1.
    monkeypatch.setattr(cli_support, "stdin_is_terminal", lambda: True)
    declined = runner.invoke(main, ["deploy", "destroy", "--env", "staging", *settings], input="n\n")
    assert declined.exit_code == 130 and "Aborted" in declined.output
    assert stack_parameters(aws, "staging")["ModelPackageArn"] == registered[0]
    assert "staging: deleted" in cli("deploy", "destroy", "--env", "staging", "--yes", "--poll", "0")
    assert "not deployed" in cli("deploy", "status")
    assert "create the stack, serving model version 1" in cli("deploy", "drift", "--env", "staging", expect=1)


def test_credentials_for_another_account_are_refused(cli, project: Path, registered, aws):
    """The manifest names the stage's account; moto answers GetCallerIdentity for the test
    credentials with its default account, so a manifest naming another account must refuse."""
    in_account(project, "staging", OTHER_ACCOUNT)
    for command in (["deploy", "plan", "--env", "staging"], ["deploy", "destroy", "--env", "staging", "--yes"]):
        out = cli(*command, expect=2)
        assert f"deploys staging to account {OTHER_ACCOUNT}, but these credentials are for account" in out
        assert "AWS_ROLE_DEPLOY_STAGING" in out
    assert f"in account {OTHER_ACCOUNT}" in cli("deploy", "status")


def test_prod_reads_a_staging_stack_in_another_account_through_its_reader_role(
    cli, project: Path, registered, endpoint_answers, aws
):
    """Staging in its own account: prod's check reads the staging stack there through the reader
    role bootstrap creates (moto's STS gives the assumed role that account's credentials, and its
    stacks are invisible to the default account). The staging stack is created directly in that
    account: moto cannot resolve a model package of another account, so `deploy apply` cannot."""
    from {{ cookiecutter.package }}.release.accounts import STAGING_READER_ROLE

    v1, _v2, v3 = registered
    cli("registry", "approve", "1")
    cli("registry", "approve", "3")
    cli("promote", "--to", "staging", "--version", "1")
    in_account(project, "staging", OTHER_ACCOUNT)

    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/{STAGING_READER_ROLE}"
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="staging-deploy")["Credentials"]
    staging = boto3.client(
        "cloudformation", region_name=aws.region, aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )  # fmt: skip

    def staging_serves(arn: str, update: bool = False) -> None:
        body = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                           "Outputs": {"ModelPackageArn": {"Value": arn}}})  # fmt: skip
        call = staging.update_stack if update else staging.create_stack
        call(StackName=f"{aws.pipeline_name}-staging", TemplateBody=body)

    assert "staging has no stack yet" in cli("promote", "--to", "prod", expect=2)
    staging_serves(v1)
    assert not boto3.client("cloudformation", region_name=aws.region).describe_stacks()["Stacks"]  # not here
    cli("promote", "--to", "prod")  # promote reads the staging stack there too
    endpoint_answers(rows=5)
    assert "passed" in cli("deploy", "apply", "--env", "prod", "--poll", "0")
    assert stack_parameters(aws, "prod")["ModelPackageArn"] == v1
    assert stack_parameters(aws, "prod")["ExecutionRoleArn"].startswith(f"arn:aws:iam::{MOTO_ACCOUNT}:")

    staging_serves(v3, update=True)  # staging moved on; prod's manifest still says version 1
    out = cli("deploy", "plan", "--env", "prod", expect=2)
    assert "prod would run version 1, but staging runs 3" in out


def test_the_project_is_the_folder_a_command_runs_in_whatever_file_settings_names(
    cli, project: Path, registered, endpoint_answers, aws, monkeypatch
):
    """--settings names a settings file, which may lie anywhere (a variant, as `pipeline build`
    takes one): every command group reads the project's files from the folder it runs in. A deploy
    whose settings file has a folder of its own reads the endpoint stack and the sample from the
    project; run in another folder, it says where to run, as `pipeline build` does."""
    assert sorted(path.name for path in project.iterdir()) == ["environments", "project.yaml"]
    cli("registry", "approve", "1")
    cli("promote", "--to", "staging", "--version", "1")
    endpoint_answers(rows=5)
    assert "ms, passed" in cli("deploy", "apply", "--env", "staging", "--poll", "0")

    monkeypatch.chdir(project)  # not the project's root folder
    for command in (["deploy", "plan", "--env", "staging"], ["pipeline", "build"]):
        assert "run from the project's root folder" in cli(*command, expect=2)


def test_each_stage_runs_as_the_execution_role_of_its_own_account(settings, project: Path):
    from {{ cookiecutter.package }}.release.environments import load_manifest
    from {{ cookiecutter.package }}.release.registry import Version
    from {{ cookiecutter.package }}.release.stack import parameters

    in_account(project, "staging", OTHER_ACCOUNT)
    manifest = load_manifest("staging", project / "environments")
    arn = settings.aws.role_arn.replace(":iam::", f":sagemaker:{settings.aws.region}:").split(":role/")[0]
    version = Version(arn=f"{arn}:model-package/g/1", number=1, status="Approved", created="", commit="", note="")
    role = parameters(manifest, version, settings.aws)["ExecutionRoleArn"]
    assert role == f"arn:aws:iam::{OTHER_ACCOUNT}:role/" + settings.aws.role_arn.split(":role/")[1]


def test_predict_scores_a_file_with_the_live_endpoint(
    cli, project: Path, registered, endpoint, endpoint_answers, model_dir, sample_path: Path, settings, tmp_path: Path
):
    from {{ cookiecutter.package }}.data import read_dataset

    rows = tmp_path / "rows.csv"
    pd.read_csv(sample_path).head(3).to_csv(rows, index=False)
    cli("registry", "approve", "1")
    cli("promote", "--to", "staging", "--version", "1")
    assert "--data FILE" in cli("predict", "--env", "staging", expect=2)  # nothing to score
    assert "staging: no deployed endpoint" in cli("predict", "--env", "staging", "--data", str(rows), expect=2)
    endpoint_answers(rows=5)
    cli("deploy", "apply", "--env", "staging", "--poll", "0")

    model = TrainedModel.load(model_dir)
    expected = model.predict(read_dataset(rows, settings.dataset))
    answer = inference.output_fn(expected, "application/json", model.spec)[0]
    endpoint.answer(answer)
    out = cli("predict", "--env", "staging", "--data", str(rows), "--json")
    printed = [json.loads(line) for line in out.splitlines()]
    record_id, written = settings.dataset.record_id, pd.read_csv(rows)
    ids = written[record_id] if record_id in written.columns else pd.Series(range(len(written)))  # else positions
    assert [line.pop(record_id) for line in printed] == ids.astype(str).tolist()
    assert printed == json.loads(answer)["predictions"]  # each row's prediction, in the project type's form
    sent = endpoint.requests[-1]  # the JSON request the endpoint's handlers take, with the raw features
    assert sent["ContentType"] == "application/json"
    assert np.array_equal(inference.predict_fn(inference.input_fn(sent["Body"], sent["ContentType"]), model), expected)

    feature = settings.dataset.features[0]
    pd.read_csv(rows).drop(columns=feature).to_csv(tmp_path / "no_age.csv", index=False)
    out = cli("predict", "--env", "staging", "--data", str(tmp_path / "no_age.csv"), expect=2)
    assert f"missing column(s) {feature}" in out
    endpoint.answer("<html>502 Bad Gateway</html>")
    two = tmp_path / "two.csv"
    pd.read_csv(rows).head(2).to_csv(two, index=False)  # a new request: a new answer
    assert "expected 2 predictions as JSON" in cli("predict", "--env", "staging", "--data", str(two), expect=2)
