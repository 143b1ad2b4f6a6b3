"""One CloudFormation stack per stage, from infra/endpoint.yaml, reconciled to the manifest.

Plan compares the stack's parameters and template with the desired ones; apply creates or
updates the stack only when they differ, so a second apply changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ..errors import ProjectError
from ..settings import Aws
from .accounts import execution_role_arn
from .environments import Manifest
from .registry import Version

TEMPLATE = "infra/endpoint.yaml"
DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
FAILED = {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"}


@dataclass(frozen=True)
class Stack:
    name: str
    status: str
    parameters: dict[str, str]
    outputs: dict[str, str]

    @property
    def busy(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")


def stack_name(project: str, stage: str) -> str:
    return f"{project}-{stage}"


def parameters(
    manifest: Manifest,
    version: Version,
    aws: Aws,
    commit: str = "",
    cutoff: float | None = 0.5,
    problem_type: str = "binary",
) -> dict[str, str]:
    """The stack parameters for a manifest (all strings, as CloudFormation stores them). `cutoff`
    is project.yaml's decision cut-off (Settings.cutoff) for a binary model, None otherwise;
    `problem_type` its dataset.problem_type (multiclass models get no model bias monitor)."""
    deployment, monitoring = manifest.deployment, manifest.monitoring
    stage_prefix = f"s3://{aws.bucket}"
    values = {
        "Stage": manifest.stage,
        "EndpointName": manifest.endpoint.name,
        "ModelPackageArn": version.arn,
        "ExecutionRoleArn": execution_role_arn(aws, manifest.account),
        "InstanceType": manifest.endpoint.instance_type,
        "InitialInstanceCount": manifest.endpoint.instance_count,
        "DataCaptureEnabled": manifest.data_capture.enabled,
        "DataCaptureSamplingPercentage": manifest.data_capture.sampling_percentage,
        "DataCaptureS3Uri": f"{stage_prefix}/data-capture/{manifest.stage}" if manifest.data_capture.enabled else "",
        "TrafficRouting": deployment.strategy.upper(),
        "TrafficStepPercent": deployment.step_percent,
        "TrafficWaitSeconds": deployment.wait_seconds,
        "TerminationWaitSeconds": deployment.termination_wait_seconds,
        "MaxLatencyMilliseconds": deployment.max_latency_ms,
        "MaxErrorRatePercent": f"{deployment.max_error_rate_percent:g}",
        "AutoscalingEnabled": manifest.autoscaling.enabled,
        "AutoscalingMinCapacity": manifest.autoscaling.min_capacity,
        "AutoscalingMaxCapacity": manifest.autoscaling.max_capacity,
        "AutoscalingTargetInvocations": manifest.autoscaling.target_invocations_per_instance,
        "MonitoringEnabled": monitoring.enabled,
        "ProblemType": problem_type,
        "GitCommit": commit,
    }
    if monitoring.enabled:
        values |= {
            "MonitoringScheduleExpression": monitoring.schedule,
            "MonitoringInstanceType": monitoring.instance_type,
            "MonitoringOutputS3Uri": f"{stage_prefix}/monitoring/{manifest.stage}",
            "GroundTruthS3Uri": monitoring.ground_truth_s3_uri,
            # Clarify labels a binary endpoint's scores at the evaluate step's cut-off; none otherwise.
            "ProbabilityThreshold": "" if cutoff is None else cutoff,
            **monitoring_baselines(version),
        }
    return {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in values.items()}


def monitoring_baselines(version: Version) -> dict[str, str]:
    """The Clarify configs and constraints the pipeline registered with the version."""
    bias, explainability = version.baselines.get("Bias", {}), version.baselines.get("Explainability", {})
    found = {
        "BiasAnalysisConfigS3Uri": bias.get("ConfigFile", {}).get("S3Uri"),
        "BiasBaselineConstraintsS3Uri": bias.get("PostTrainingConstraints", {}).get("S3Uri"),
        "ExplainabilityAnalysisConfigS3Uri": explainability.get("ConfigFile", {}).get("S3Uri"),
        "ExplainabilityBaselineConstraintsS3Uri": explainability.get("Constraints", {}).get("S3Uri"),
    }
    missing = [name for name, uri in found.items() if not uri]
    if missing:
        raise ProjectError(
            f"model version {version.number} has no Clarify baselines ({', '.join(missing)}), so monitoring cannot "
            "be set up: set monitoring.enabled to false, or deploy a version the pipeline registered with Clarify"
        )
    return found


def current(cloudformation, name: str) -> Stack | None:
    try:
        found = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error.response["Error"]["Message"]:
            return None
        raise
    if found["StackStatus"] == "DELETE_COMPLETE":
        return None
    return Stack(
        name=name,
        status=found["StackStatus"],
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters", [])},
        outputs={o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])},
    )


def changes(stack: Stack | None, desired: dict[str, str], template_changed: bool) -> list[str]:
    """Human-readable differences between the stack and the desired parameters."""
    if stack is None:
        return [f"create the stack, serving model version {desired['ModelPackageArn'].rsplit('/', 1)[1]}"]
    lines = [
        f"{key}: {stack.parameters.get(key, '')!r} -> {value!r}"
        for key, value in desired.items()
        if stack.parameters.get(key, "") != value
    ]
    if template_changed:
        lines.append(f"{TEMPLATE}: changed")
    return lines


def template_changed(cloudformation, name: str, body: str) -> bool:
    deployed = cloudformation.get_template(StackName=name)["TemplateBody"]
    return (deployed if isinstance(deployed, str) else "") != body


def apply(
    cloudformation,
    name: str,
    body: str,
    desired: dict[str, str],
    stack: Stack | None,
    echo: Callable[[str], None] = print,
    timeout: float = 3600.0,
    poll: float = 15.0,
) -> Stack:
    arguments = {
        "StackName": name,
        "TemplateBody": body,
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in desired.items()],
        "Tags": [{"Key": "Stage", "Value": desired["Stage"]}],
    }
    started = time.time()
    if stack is None:
        cloudformation.create_stack(**arguments, OnFailure="DELETE")
    else:
        try:
            cloudformation.update_stack(**arguments)
        except ClientError as error:
            if "No updates are to be performed" in error.response["Error"]["Message"]:
                return stack
            raise
    return wait(cloudformation, name, started, echo, timeout, poll)


def wait(cloudformation, name: str, since: float, echo, timeout: float, poll: float) -> Stack:
    """Follow the stack's events until it settles; fail with the first resource failure's reason."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while True:
        events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        fresh = [e for e in reversed(events) if e["EventId"] not in seen and e["Timestamp"].timestamp() >= since - 5]
        for event in fresh:
            seen.add(event["EventId"])
            reason = f": {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
            echo(f"  {event['LogicalResourceId']} {event['ResourceStatus']}{reason}")
        stack = current(cloudformation, name)
        if stack is None:
            failures = [e.get("ResourceStatusReason", "") for e in events if e["ResourceStatus"].endswith("_FAILED")]
            raise ProjectError(f"stack {name} failed and was deleted: {failures[0] if failures else 'see the events'}")
        if stack.status in FAILED or stack.status == "UPDATE_ROLLBACK_COMPLETE":
            failures = [e.get("ResourceStatusReason", "") for e in fresh if e["ResourceStatus"].endswith("_FAILED")]
            raise ProjectError(
                f"stack {name} is {stack.status}: {failures[0] if failures else 'see the stack events'}; "
                "the previous deployment keeps serving"
            )
        if not stack.busy:
            return stack
        if time.monotonic() > deadline:
            raise ProjectError(f"stack {name} is still {stack.status} after {timeout:.0f} s; follow it in the console")
        time.sleep(poll)


def destroy(cloudformation, name: str, echo=print, timeout: float = 3600.0, poll: float = 15.0) -> bool:
    if current(cloudformation, name) is None:
        return False
    cloudformation.delete_stack(StackName=name)
    deadline = time.monotonic() + timeout
    while (stack := current(cloudformation, name)) is not None:
        if stack.status == "DELETE_FAILED":
            raise ProjectError(f"stack {name}: DELETE_FAILED; see its events in the console")
        if time.monotonic() > deadline:
            raise ProjectError(f"stack {name} still {stack.status} after {timeout:.0f} s")
        echo(f"  {name}: {stack.status}")
        time.sleep(poll)
    return True
