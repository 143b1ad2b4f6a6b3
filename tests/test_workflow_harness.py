"""The generated GitHub workflows, run job by job (tests/workflow_runner.py) in a baked project
against a moto server on 127.0.0.1: a pull request, its merge, a model approval, the staging and
prod deployments it leads to, drift checks along the way, and a rejection that rolls both back.

Then a teardown, refused once for a mistyped confirmation. The template-update workflow is not run
here: it needs a template published where cruft can clone it (tests/test_cruft.py covers cruft).

Stand-ins, each at a boundary the project does not own:
- GitHub: the event payloads and repository variables are written here; `origin` is a local
  bare repository; `gh` is a stub that records the pull requests it is asked to open.
- AWS: the moto server, through AWS_ENDPOINT_URL. moto runs no pipeline, so the model versions
  a pipeline execution would register are registered here, and the endpoint's answers to the
  smoke test are queued through moto's own API. The `aws` CLI (one call: delete-pipeline) is a
  stub over boto3.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import boto3
import pytest
import requests
import yaml
from helpers import GIT_IDENTITY, clean_env, prepare_venv, run
from workflow_runner import Runner

# Over a minute: every workflow job against a moto server. `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

REPOSITORY = "acme/income-classifier"
REGION = "us-east-1"
ACCOUNT = "123456789012"
VARIABLES = {
    "AWS_REGION": REGION,
    **{
        f"AWS_ROLE_{kind}": f"arn:aws:iam::{ACCOUNT}:role/income-classifier-github-{role}"
        for kind, role in {"PR": "pr", "MAIN": "main", "DEPLOY_STAGING": "deploy-staging",
                           "DEPLOY_PROD": "deploy-prod"}.items()  # fmt: skip
    },
}

GH_STUB = """#!{python}
# Records `gh pr create|edit` for the workflow harness; prints what gh prints.
import json, os, sys
args = sys.argv[1:]
options = {{args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}}
body = open(options["--body-file"]).read() if "--body-file" in options else ""
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({{"command": args[:2], "head": options.get("--head", args[2] if len(args) > 2 else ""),
                          "base": options.get("--base"), "title": options.get("--title"), "body": body}}) + "\\n")
print("https://github.com/{repository}/pull/1")
"""
AWS_STUB = """#!{python}
# The one aws CLI call the workflows make (sagemaker delete-pipeline), over boto3.
import sys, boto3, botocore.exceptions
args = sys.argv[1:]
assert args[:2] == ["sagemaker", "delete-pipeline"] and args[2] == "--pipeline-name", args
try:
    boto3.client("sagemaker").delete_pipeline(PipelineName=args[3])
except botocore.exceptions.ClientError as error:
    print(error, file=sys.stderr)
    sys.exit(254)
"""


@pytest.fixture(scope="module")
def moto():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class World:
    """The baked repository, its origin, the runner and the AWS clients the assertions use."""

    def __init__(self, root: Path, project: Path, moto: str) -> None:
        self.project, self.moto = project, moto
        self.origin = root / "origin.git"
        self.gh_log = root / "gh.jsonl"
        tools = root / "bin"
        tools.mkdir()
        for name, stub in {"gh": GH_STUB, "aws": AWS_STUB}.items():
            (tools / name).write_text(stub.format(python=sys.executable, repository=REPOSITORY))
            (tools / name).chmod(0o755)
        aws = {"AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "harness", "AWS_SECRET_ACCESS_KEY": "harness"}
        self.env = clean_env(
            **GIT_IDENTITY, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
            PATH=f"{tools}:{os.environ['PATH']}", GH_LOG=str(self.gh_log), OMP_NUM_THREADS="1",
        )  # fmt: skip
        self.runner = Runner(project, self.env, aws, root)
        self.sagemaker, self.s3, self.cloudformation = (
            boto3.client(service, region_name=REGION, endpoint_url=moto, aws_access_key_id="harness",
                         aws_secret_access_key="harness")  # fmt: skip
            for service in ("sagemaker", "s3", "cloudformation")
        )

    def git(self, *args: str) -> str:
        return run(["git", *args], cwd=self.project, env=self.env).stdout.strip()

    def sha(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def workflow(self, name: str, event: dict, **options) -> dict:
        results = self.runner.run_workflow(self.project / ".github" / "workflows" / name, event, VARIABLES, **options)
        failed = {job: result.log[-4000:] for job, result in results.items() if result.result == "failure"}
        assert not failed, f"{name}: failed jobs:\n" + "\n".join(f"--- {job}\n{log}" for job, log in failed.items())
        return results

    def push_event(self, before: str) -> dict:
        return {"name": "push", "repository": REPOSITORY, "sha": self.sha("main"), "ref": "refs/heads/main",
                "payload": {"before": before}}  # fmt: skip

    def merge(self, branch: str) -> str:
        """Merge a pull request's branch from origin into main, as the merge button does; returns the old main."""
        before = self.sha("main")
        self.git("fetch", "--quiet", "origin", branch)
        self.git("checkout", "--quiet", "--force", "main")
        self.git("merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", "FETCH_HEAD")
        self.git("push", "--quiet", "origin", "main")
        return before

    def pull_requests(self) -> list[dict]:
        return [json.loads(line) for line in self.gh_log.read_text().splitlines()] if self.gh_log.exists() else []

    def manifest(self, ref: str, stage: str) -> dict:
        return yaml.safe_load(self.git("show", f"{ref}:environments/{stage}.yaml"))

    def stack_model(self, stage: str) -> str:
        stack = self.cloudformation.describe_stacks(StackName=f"income-classifier-{stage}")["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["ModelPackageArn"]

    def register_version(self, number: int) -> str:
        """What the pipeline's Register step would store for one execution."""
        bucket = f"income-classifier-{ACCOUNT}-{REGION}"
        key = f"pipeline/executions/{number}/evaluation.json"
        self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(
            {"binary_classification_metrics": {"auc": {"value": 0.92, "standard_deviation": "NaN"}}}))  # fmt: skip
        return self.sagemaker.create_model_package(
            ModelPackageGroupName="income-classifier",
            InferenceSpecification={
                "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
                                "ModelDataUrl": f"s3://{bucket}/pipeline/executions/{number}/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                          "S3Uri": f"s3://{bucket}/{key}"}}},
            CustomerMetadataProperties={"GitCommit": self.sha("main"), "GitRepository": REPOSITORY},
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]  # fmt: skip

    def cli(self, *args: str) -> str:
        return run([self.project / ".venv" / "bin" / "income-classifier", *args], cwd=self.project,
                   env=self.env | self.runner.aws_env | {"AWS_DEFAULT_REGION": REGION}).stdout  # fmt: skip

    def queue_endpoint_answers(self, count: int) -> None:
        """The endpoint's answer to a 5-row smoke test: one probability per line."""
        results = [{"Body": "0.12\n0.87\n0.05\n0.64\n0.33\n", "ContentType": "text/csv"}] * count
        requests.post(f"{self.moto}/moto-api/static/sagemaker/endpoint-results",
                      json={"region": REGION, "results": results}, timeout=10)  # fmt: skip


DROP = "data/drops/2026-12-01/"


@pytest.fixture(scope="module")
def world(tmp_path_factory, template, moto) -> World:
    from helpers import bake

    root = tmp_path_factory.mktemp("harness")
    project = bake(template, root / "work", github_owner="acme")
    prepare_venv(project)
    world = World(root, project, moto)
    world.git("init", "--quiet", "--initial-branch", "main")
    world.git("add", "--all")
    world.git("commit", "--quiet", "-m", "Baked from the template")
    run(["git", "init", "--quiet", "--bare", world.origin], cwd=root, env=world.env)
    world.git("remote", "add", "origin", str(world.origin))
    world.git("push", "--quiet", "origin", "main")
    world.s3.create_bucket(Bucket=f"income-classifier-{ACCOUNT}-{REGION}")
    # A completed data drop (project.yaml: aws.data_drops_uri): pipeline runs take the latest.
    for key in (f"{DROP}adult.csv", f"{DROP}_SUCCESS"):
        world.s3.put_object(Bucket=f"income-classifier-{ACCOUNT}-{REGION}", Key=key, Body=b"")
    world.sagemaker.create_model_package_group(ModelPackageGroupName="income-classifier")
    return world


def test_pull_request_merge_approval_deploy_and_rollback(world: World):
    # -- a pull request from this repository: lint, tests, checks, definition, sample run -------------
    world.git("checkout", "--quiet", "-b", "raise-the-bar")
    settings = world.project / "project.yaml"
    before = settings.read_text()
    settings.write_text(before.replace("auc: {min: 0.88}", "auc: {min: 0.89}"))
    assert settings.read_text() != before, "the default project.yaml no longer gates AUC at 0.88"
    world.git("commit", "--quiet", "-am", "Raise the AUC gate")
    world.git("push", "--quiet", "origin", "raise-the-bar")
    pull_request = {
        "number": 7,
        "head": {"sha": world.sha(), "repo": {"full_name": REPOSITORY}},
        "base": {"sha": world.sha("main"), "ref": "main"},
    }
    event = {"name": "pull_request", "repository": REPOSITORY, "sha": world.sha(), "ref": "refs/pull/7/merge",
             "payload": {"pull_request": pull_request, "action": "opened"}}  # fmt: skip
    # The test job's one step, `make test`, runs on the default bake in test_generated_suite.py.
    results = world.workflow("pull-request.yml", event, skip=("test",))
    assert {job: r.result for job, r in results.items()} == dict.fromkeys(results, "success")
    summary = "\n".join(world.runner.summaries)
    assert "```mermaid" in summary and "MinAuc" in summary  # the DAG, and the diff against main's definition
    executions = world.sagemaker.list_pipeline_executions(PipelineName="income-classifier-pr-7")
    (execution,) = executions["PipelineExecutionSummaries"]
    parameters = world.sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    # A pull request's run goes through every gate but registers nothing: only merged code may.
    assert {"Name": "RegisterModel", "Value": "false"} in parameters
    assert {"Name": "InputDataUri", "Value": f"s3://income-classifier-{ACCOUNT}-{REGION}/{DROP}"} in parameters
    assert {"Name": "GitCommit", "Value": world.sha()} in parameters
    # A fork's pull request never reaches the AWS job.
    fork = {**pull_request, "head": {**pull_request["head"], "repo": {"full_name": "someone/income-classifier"}}}
    forked = world.workflow("pull-request.yml", {**event, "payload": {"pull_request": fork}},
                            skip=("lint", "test", "checks", "pipeline"))  # fmt: skip
    assert forked["sample-run"].result == "skipped"
    world.workflow("pull-request-closed.yml", {**event, "payload": {"pull_request": pull_request, "action": "closed"}})
    assert "income-classifier-pr-7" not in str(world.sagemaker.list_pipelines()["PipelineSummaries"])

    # -- merge: publish and start the pipeline with the commit --------------------------------------
    before = world.merge("raise-the-bar")
    world.workflow("main.yml", world.push_event(before), skip=("test",))  # the same tree passed `make test` above
    started = world.sagemaker.list_pipeline_executions(PipelineName="income-classifier")["PipelineExecutionSummaries"]
    assert len(started) == 1
    main_parameters = world.sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=started[0]["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert "RegisterModel" not in str(main_parameters)  # the default: register when every gate passes
    assert f"Pipeline execution for {world.sha('main')}" in world.runner.summaries[-1]

    # -- the pipeline registered versions; a person approves version 2 -------------------------------
    first, second = world.register_version(1), world.register_version(2)
    world.cli("registry", "approve", "1", "--note", "baseline")
    world.cli("registry", "approve", "2", "--note", "reviewed the report")
    approval = {"name": "repository_dispatch", "repository": REPOSITORY, "sha": world.sha("main"),
                "payload": {"action": "model-package-state-change",
                            "client_payload": {"model_package_arn": second, "version": "2", "status": "Approved"}}}  # fmt: skip
    world.workflow("promote.yml", approval)
    opened = world.pull_requests()[-1]
    assert opened["head"] == "promote/staging-v2" and opened["base"] == "main"
    assert opened["title"] == "Promote model version 2 to staging"
    assert "| auc | 0.9200 |" in opened["body"] and "reviewed the report" in opened["body"]
    world.git("fetch", "--quiet", "origin", "promote/staging-v2")
    assert world.git("diff", "--name-only", "main", "FETCH_HEAD") == "environments/staging.yaml"
    assert world.manifest("FETCH_HEAD", "staging")["model_package"] == second

    # -- merging the promotion deploys staging, then opens the prod promotion -----------------------
    world.queue_endpoint_answers(10)
    before = world.merge("promote/staging-v2")
    results = world.workflow("deploy.yml", world.push_event(before))
    assert {job: r.result for job, r in results.items()} == {
        "changes": "success", "staging": "success", "promote-prod": "success", "prod": "skipped"}  # fmt: skip
    assert "smoke test on" in results["staging"].log and "passed" in results["staging"].log
    assert world.stack_model("staging") == second
    assert world.pull_requests()[-1]["head"] == "promote/prod"
    world.git("fetch", "--quiet", "origin", "promote/prod")
    assert world.manifest("FETCH_HEAD", "prod")["model_package"] == second

    # -- drift while prod waits: green without prod's role, and with it while prod pins nothing -----
    drift = world.project / ".github" / "workflows" / "drift.yml"
    schedule = {"name": "schedule", "repository": REPOSITORY, "sha": world.sha("main")}
    unwired = {name: value for name, value in VARIABLES.items() if name != "AWS_ROLE_DEPLOY_PROD"}
    seen = len(world.runner.summaries)
    results = world.runner.run_workflow(drift, schedule, unwired)
    assert {job: r.result for job, r in results.items()} == {"stages": "success", "drift": "success"}
    summaries = "\n".join(world.runner.summaries[seen:])
    assert "**prod**: not checked, the repository variable `AWS_ROLE_DEPLOY_PROD` is not set" in summaries
    assert "| staging | in sync |" in summaries and "| prod |" not in summaries
    world.workflow("drift.yml", schedule)
    assert "| prod | not deployed yet |" in world.runner.summaries[-1]

    before = world.merge("promote/prod")
    # Merged but not deployed yet (prod's deploy job waits for its reviewers): that is drift.
    waiting = world.runner.run_workflow(drift, {**schedule, "sha": world.sha("main")}, VARIABLES)
    assert waiting["drift"].result == "failure" and "create the stack, serving model version 2" in waiting["drift"].log
    assert "| prod | **drift**, or an error: see the log |" in world.runner.summaries[-1]
    results = world.workflow("deploy.yml", world.push_event(before))
    assert results["staging"].result == "skipped" and results["prod"].result == "success"
    assert world.stack_model("prod") == second
    world.workflow("drift.yml", {"name": "schedule", "repository": REPOSITORY, "sha": world.sha("main")})
    assert "| prod | in sync |" in world.runner.summaries[-1]

    # -- version 2 is rejected: a rollback pull request, merged, puts version 1 back everywhere ------
    world.cli("registry", "reject", "2", "--note", "complaints")
    rejection = {**approval, "sha": world.sha("main"), "payload": {"client_payload": {"version": "2", "status": "Rejected"}}}
    rolled = world.workflow("promote.yml", rejection)
    assert world.pull_requests()[-1]["head"] == "rollback/v2", rolled["promote"].log
    before = world.merge("rollback/v2")
    results = world.workflow("deploy.yml", world.push_event(before))
    assert results["staging"].result == "success" and results["prod"].result == "success"
    assert world.stack_model("staging") == first and world.stack_model("prod") == first

    # -- teardown: a mistyped confirmation deletes nothing; the right one deletes staging's stack ---
    manual = {"name": "workflow_dispatch", "repository": REPOSITORY, "sha": world.sha("main")}
    teardown = world.project / ".github" / "workflows" / "teardown.yml"
    mistyped = {"environment": "staging", "confirm": "prod"}
    refused = world.runner.run_workflow(teardown, manual, VARIABLES, inputs=mistyped)
    assert refused["confirm"].result == "failure" and refused["destroy"].result == "skipped"
    world.workflow("teardown.yml", manual, inputs={"environment": "staging", "confirm": "staging"})
    live = world.cloudformation.list_stacks(StackStatusFilter=["CREATE_COMPLETE", "UPDATE_COMPLETE"])["StackSummaries"]
    assert sorted(stack["StackName"] for stack in live) == ["income-classifier-prod"]
