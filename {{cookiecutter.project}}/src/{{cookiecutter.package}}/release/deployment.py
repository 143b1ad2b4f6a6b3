"""Deploying a stage: the refusals, then plan/apply of its stack, then the smoke test (and a
rollback to the previous parameters when it fails); status and drift for all stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

from ..context import Context
from ..data import read_table
from ..errors import ProjectError
from .accounts import StagingUnreadable, require_account, staging_reader
from .environments import STAGES, Manifest, load_manifest, manifest_commit, manifest_path
from .promotion import require_approved
from .registry import describe
from .smoke import SmokeResult, payload, smoke
from .stack import TEMPLATE, Stack, changes, current, parameters, stack_name, template_changed
from .stack import apply as apply_stack

IGNORED = {"GitCommit"}  # a tag: a manifest commit that changes nothing else is not a deployment
IN_SYNC, NOT_DEPLOYED, DRIFT = "in sync", "not deployed yet", "DRIFT"  # `deploy drift`'s verdicts


@dataclass(frozen=True)
class Plan:
    stage: str
    stack: str
    existing: Stack | None
    desired: dict[str, str] | None  # None: the manifest pins no model
    body: str = ""
    differences: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.desired is None:
            return [f"{self.stage}: the manifest pins no model; nothing to deploy"]
        if not self.differences:
            return [f"{self.stage}: {self.stack} is up to date"]
        return [f"{self.stage}: {self.stack} would change:", *(f"  {line}" for line in self.differences)]


def signed_in_manifest(context: Context, stage: str, directory: Path) -> Manifest:
    """The stage's manifest, once the credentials are known to be for the stage's account."""
    manifest = load_manifest(stage, directory)
    require_account(context.account, manifest.account, stage, str(manifest_path(stage, directory)))
    return manifest


def staging_stack(context: Context, directory: Path) -> Stack | None:
    """The staging stack as it is now: read in staging's account, directly when these credentials
    are for it, else through its reader role. StagingUnreadable when they may not read it."""
    staging_account = load_manifest("staging", directory).account
    reader = staging_reader(context.client, context.aws, context.account, staging_account)
    name = stack_name(context.aws.pipeline_name, "staging")
    try:
        return current(reader, name)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("AccessDenied", "AccessDeniedException"):
            raise
        raise StagingUnreadable(
            f"cannot read stack {name} in account {staging_account} with these credentials "
            f"({error.response['Error']['Message']})"
        ) from None


def plan(context: Context, stage: str, directory: Path, check_order: bool = True) -> Plan:
    """Everything `apply` checks before it changes anything, and what it would change. Without
    check_order, prod is not compared with staging: that rule guards a deploy, it is not drift."""
    manifest = signed_in_manifest(context, stage, directory)
    cloudformation = context.client("cloudformation")
    name = stack_name(context.aws.pipeline_name, stage)
    existing = current(cloudformation, name)
    if existing is not None and existing.busy:
        raise ProjectError(f"stack {name} is {existing.status}: wait for it to finish, then deploy again")
    if manifest.model_package is None:
        if existing is not None:
            raise ProjectError(
                f"{manifest_path(stage, directory)} pins no model but stack {name} exists: pin a version, or take "
                f"it down with `deploy destroy --env {stage}`"
            )
        return Plan(stage, name, None, None)
    version = describe(context.client("sagemaker"), context.aws.model_package_group, manifest.model_package)
    require_approved(version)
    if stage == "prod" and check_order:
        staging = staging_stack(context, directory)
        running = (staging.outputs.get("ModelPackageArn") if staging else None) or "nothing"
        if running != version.arn:
            raise ProjectError(
                f"prod would run version {version.number}, but staging runs {running.rsplit('/', 1)[-1]}: prod takes "
                "only the version staging runs (promote and deploy staging first)"
            )
    template = context.root / TEMPLATE
    if not template.is_file():
        raise ProjectError(f"{template}: not found; run from the project's root folder")
    body = template.read_text(encoding="utf-8")
    commit = manifest_commit(manifest_path(stage, directory))
    kind = context.settings.dataset.problem_type
    cutoff = context.settings.cutoff if kind == "binary" else None
    desired = parameters(manifest, version, context.aws, commit, cutoff, kind)
    compared = {key: value for key, value in desired.items() if key not in IGNORED}
    differences = changes(existing, compared, existing is not None and template_changed(cloudformation, name, body))
    return Plan(stage, name, existing, desired, body, differences)


def apply(context: Context, stage: str, directory: Path, smoke: bool, echo: Callable[[str], None], **wait) -> bool:
    """True when the stage matches its manifest afterwards (and passed its smoke test)."""
    found = plan(context, stage, directory)
    for line in found.lines():
        echo(line)
    if found.desired is None or not found.differences:
        return True
    cloudformation = context.client("cloudformation")
    previous = found.existing
    previous_body = cloudformation.get_template(StackName=found.stack)["TemplateBody"] if previous else ""
    deployed = apply_stack(cloudformation, found.stack, found.body, found.desired, previous, echo=echo, **wait)
    echo(f"{stage}: {deployed.status}, endpoint {deployed.outputs.get('EndpointName')}")
    if not smoke:
        return True
    result = run_smoke(context, stage, directory, deployed)
    echo(result.summary())
    if result.passed:
        return True
    if previous is None:
        echo(f"{stage}: no earlier deployment to roll back to; the new endpoint stays for inspection")
        return False
    echo(f"{stage}: rolling back to model {previous.parameters.get('ModelPackageArn', '?').rsplit('/', 1)[-1]}")
    apply_stack(cloudformation, found.stack, previous_body, previous.parameters, deployed, echo=echo, **wait)
    return False


def live_endpoint(context: Context, stage: str, stack: Stack | None = None) -> str:
    """The endpoint the stage's stack runs (signed in to the stage's account)."""
    stack = stack or current(context.client("cloudformation"), stack_name(context.aws.pipeline_name, stage))
    if stack is None or "EndpointName" not in stack.outputs:
        raise ProjectError(f"{stage}: no deployed endpoint (deploy apply --env {stage} first)")
    return stack.outputs["EndpointName"]


def run_smoke(context: Context, stage: str, directory: Path, stack: Stack | None = None) -> SmokeResult:
    manifest = signed_in_manifest(context, stage, directory)
    endpoint = live_endpoint(context, stage, stack)
    dataset = context.settings.dataset
    sample = read_table(context.root / dataset.sample, [*dataset.features])  # project.yaml's bundled sample
    body = payload(sample, dataset, manifest.smoke.rows)
    rows = min(manifest.smoke.rows, len(sample))
    runtime = context.client("sagemaker-runtime")
    return smoke(runtime, endpoint, body, rows, manifest.smoke.max_latency_ms, dataset)


def status(context: Context, directory: Path) -> list[str]:
    cloudformation = context.client("cloudformation")
    lines = [f"{'env':<8}  {'manifest':>8}  {'running':>8}  {'stack status':<24}  endpoint"]
    for stage in STAGES:
        manifest = load_manifest(stage, directory)
        wanted = str(manifest.version) if manifest.version is not None else "none"
        if manifest.account != context.account:
            lines.append(f"{stage:<8}  {wanted:>8}  {'?':>8}  {'in account ' + manifest.account:<24}  (sign in there)")
            continue
        stack = current(cloudformation, stack_name(context.aws.pipeline_name, stage))
        running = stack.outputs.get("ModelPackageArn", "").rsplit("/", 1)[-1] if stack else "-"
        state = stack.status if stack else "not deployed"
        endpoint = stack.outputs.get("EndpointName", "-") if stack else "-"
        lines.append(f"{stage:<8}  {wanted:>8}  {running or '-':>8}  {state:<24}  {endpoint}")
    return lines


def drift(context: Context, stage: str, directory: Path) -> tuple[str, list[str]]:
    """(verdict, lines) for the stage's stack against its manifest. A manifest that pins no model,
    with no stack, is a stage not deployed yet (prod for weeks after bootstrap), not drift. A
    pinned model without its stack is drift: on main, a pin is a deployment that should have run.
    Prod running an older version than staging is a promotion waiting for review, not drift."""
    try:
        found = plan(context, stage, directory, check_order=False)
    except ProjectError as error:
        return DRIFT, [str(error)]
    if found.desired is None:
        return NOT_DEPLOYED, [f"{manifest_path(stage, directory)} pins no model, and no stack {found.stack} exists"]
    return (DRIFT, found.differences) if found.differences else (IN_SYNC, [])
