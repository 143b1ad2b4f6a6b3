"""Start pipeline executions, follow them, and say why one failed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ..errors import ProjectError

DONE = {"Succeeded", "Failed", "Stopped"}


@dataclass(frozen=True)
class Execution:
    arn: str
    status: str
    started: str
    failure: str  # empty unless Failed: the failing steps and their reasons

    def console_url(self, region: str) -> str:
        # arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME/execution/ID
        _, _, _, _, _, resource = self.arn.split(":", 5)
        _, pipeline, _, execution_id = resource.split("/")
        return (
            f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
            f"#/pipelines/{pipeline}/executions/{execution_id}"
        )


def published_definition(sagemaker, name: str) -> dict:
    try:
        found = sagemaker.describe_pipeline(PipelineName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ResourceNotFound", "ValidationException"):
            message = error.response["Error"]["Message"]
            raise ProjectError(f"pipeline {name!r}: {message} (run `pipeline upsert` first)") from None
        raise
    return json.loads(found["PipelineDefinition"])


def start(sagemaker, name: str, parameters: list[dict], display_name: str) -> str:
    response = sagemaker.start_pipeline_execution(
        PipelineName=name,
        PipelineExecutionDisplayName=display_name[:82],
        PipelineParameters=parameters,
    )
    return response["PipelineExecutionArn"]


def failed_steps(sagemaker, arn: str) -> list[str]:
    lines = []
    paginator = sagemaker.get_paginator("list_pipeline_execution_steps")
    for page in paginator.paginate(PipelineExecutionArn=arn):
        for step in page["PipelineExecutionSteps"]:
            if step.get("StepStatus") == "Failed":
                lines.append(f"{step['StepName']}: {step.get('FailureReason', 'no reason given')}")
    return lines


def describe(sagemaker, arn: str) -> Execution:
    try:
        found = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    except ClientError as error:
        raise ProjectError(f"execution {arn}: {error.response['Error']['Message']}") from None
    status = found["PipelineExecutionStatus"]
    failure = ""
    if status == "Failed":
        steps = failed_steps(sagemaker, arn)
        failure = "; ".join(steps) or found.get("FailureReason", "no reason given")
    return Execution(arn, status, str(found.get("CreationTime", "")), failure)


def latest(sagemaker, name: str) -> str:
    try:
        summaries = sagemaker.list_pipeline_executions(PipelineName=name, SortBy="CreationTime", SortOrder="Descending")
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ResourceNotFound", "ValidationException"):
            message = error.response["Error"]["Message"]
            raise ProjectError(f"pipeline {name!r}: {message} (run `pipeline upsert` first)") from None
        raise
    found = summaries.get("PipelineExecutionSummaries", [])
    if not found:
        raise ProjectError(f"pipeline {name!r} has no executions yet (start one with `pipeline run`)")
    return found[0]["PipelineExecutionArn"]


def wait(
    sagemaker,
    arn: str,
    timeout: float,
    echo: Callable[[str], None] = print,
    poll: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Poll until the execution ends or `timeout` seconds pass; a line per status change, and
    a heartbeat line per poll so a CI log shows it is alive."""
    began = clock()
    seen = ""
    while True:
        execution = describe(sagemaker, arn)
        elapsed = clock() - began
        if execution.status != seen:
            echo(f"[{elapsed:6.0f} s] {execution.status}")
            seen = execution.status
        if execution.status in DONE:
            return execution
        if elapsed >= timeout:
            raise ProjectError(
                f"execution {arn} still {execution.status} after {timeout:.0f} s; it keeps running "
                f"(follow it with `pipeline status {arn}`)"
            )
        echo(f"[{elapsed:6.0f} s] still {execution.status}")
        sleep(poll)
