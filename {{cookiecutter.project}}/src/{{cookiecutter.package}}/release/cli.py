"""`registry ...`, `promote` and `deploy ...`: model versions from the registry to the endpoints."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_support import GATE_REFUSED, confirm, reports_errors, settings_option
from ..context import Context, load_context
from ..errors import ProjectError
from ..output import write_file
from .environments import ENVIRONMENTS_DIR, STAGES

environments_option = click.option(
    "--environments-dir", type=click.Path(path_type=Path, file_okay=False), default=ENVIRONMENTS_DIR,
    show_default=True, help="Where the environment manifests live.",
)  # fmt: skip


# -- registry --------------------------------------------------------------------------------


@click.group()
def registry() -> None:
    """The Model Registry: list, inspect, approve and reject model versions."""


@registry.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--status", type=click.Choice(["Approved", "Rejected", "PendingManualApproval"]))
@settings_option
@reports_errors
def registry_list(limit: int, status: str | None, settings: Path) -> None:
    """Versions, newest first: status, test-set metric (the first quality gate's), creation time, git commit."""
    from .registry import quality, versions

    context = load_context(settings)
    s3, group = context.client("s3"), context.aws.model_package_group
    found = versions(context.client("sagemaker"), group, status=status, limit=limit)
    if not found:
        click.echo(f"model package group {group}: no versions" + (f" with status {status}" if status else ""))
        return
    metric = next(iter(context.settings.gates.quality))  # auc, accuracy, r2, ...: the project's own
    click.echo(f"{'version':>7}  {'status':<21}  {metric:>6}  {'created':<19}  commit")
    for version in found:
        value = quality(s3, version).get(metric)
        shown = f"{value:.4f}" if value is not None else "-"
        click.echo(
            f"{version.number:>7}  {version.status:<21}  {shown:>6}  {version.created:<19}  {version.commit[:12]}"
        )


@registry.command("show")
@click.argument("version")
@settings_option
@reports_errors
def registry_show(version: str, settings: Path) -> None:
    """One version: status, metrics, bias, drift baselines and lineage."""
    from ..pipeline.lineage import describe_chain, lineage
    from .registry import bias_summary, describe, quality

    context = load_context(settings)
    sagemaker, s3, group = context.client("sagemaker"), context.client("s3"), context.aws.model_package_group
    found = describe(sagemaker, group, version)
    click.echo(f"version {found.number}: {found.status}" + (f" ({found.note})" if found.note else ""))
    for name, value in sorted(quality(s3, found).items()):
        click.echo(f"  {name}: {value:.4f}")
    for stage, facet, metric, value in bias_summary(s3, found):
        click.echo(f"  {stage} bias {metric} for {facet}: {value:.4f}")
    click.echo(f"  drift baselines: {', '.join(sorted(found.baselines)) or 'none'}")
    click.echo(describe_chain(lineage(sagemaker, group, found.arn)))


def _set_status(version: str, status: str, note: str, settings: Path) -> None:
    from .registry import set_status

    context = load_context(settings)
    changed = set_status(context.client("sagemaker"), context.aws.model_package_group, version, status, note)
    click.echo(f"version {changed.number}: {changed.status}")


@registry.command("approve")
@click.argument("version")
@click.option("--note", default="", help="Why (kept as the version's approval description).")
@settings_option
@reports_errors
def registry_approve(version: str, note: str, settings: Path) -> None:
    """Approve VERSION (a number or ARN); the approval event starts the promotion pull request."""
    _set_status(version, "Approved", note, settings)


@registry.command("reject")
@click.argument("version")
@click.option("--note", default="", help="Why (kept as the version's approval description).")
@settings_option
@reports_errors
def registry_reject(version: str, note: str, settings: Path) -> None:
    """Reject VERSION; wherever it runs, a rollback pull request follows."""
    _set_status(version, "Rejected", note, settings)


@registry.command("latest-approved")
@settings_option
@reports_errors
def registry_latest_approved(settings: Path) -> None:
    """Print the newest Approved version's ARN (exit 1 if there is none)."""
    from .registry import latest_approved

    context = load_context(settings)
    group = context.aws.model_package_group
    found = latest_approved(context.client("sagemaker"), group)
    if found is None:
        click.echo(f"model package group {group}: no Approved version", err=True)
        raise SystemExit(GATE_REFUSED)
    click.echo(found.arn)


# -- promote ---------------------------------------------------------------------------------


@click.command()
@click.option("--to", "stage", type=click.Choice(STAGES), help="The environment to promote to.")
@click.option("--version", help="staging: the version (number or ARN) to pin.")
@click.option("--latest-approved", is_flag=True, help="staging: pin the newest Approved version.")
@click.option("--rollback-from", "rejected", help="Replace this (rejected) version wherever it is pinned.")
@click.option("--body", type=click.Path(path_type=Path, dir_okay=False), help="Write a pull-request body here.")
@environments_option
@settings_option
@reports_errors
def promote(
    stage: str | None,
    version: str | None,
    latest_approved: bool,
    rejected: str | None,
    body: Path | None,
    environments_dir: Path,
    settings: Path,
) -> None:
    """Edit environments/<stage>.yaml (and only that) to pin a model version; a merge deploys it.

    Prod takes the version staging's manifest pins, refused until staging's stack runs it."""
    from ..pipeline.lineage import describe_chain, lineage
    from . import promotion

    if bool(stage) == bool(rejected):
        raise ProjectError("give either --to staging|prod or --rollback-from VERSION")
    if stage == "staging" and bool(version) == latest_approved:
        raise ProjectError("promote --to staging needs exactly one of --version N and --latest-approved")
    if stage == "prod" and (version or latest_approved):
        raise ProjectError("promote --to prod takes no version: prod gets exactly what staging runs")
    context = load_context(settings)
    sagemaker, group = context.client("sagemaker"), context.aws.model_package_group
    if rejected:
        promotions = promotion.rollback_from(sagemaker, group, rejected, environments_dir)
        reason = f"Roll back from rejected version {rejected}"
        if not promotions:
            click.echo(f"no environment pins version {rejected}: nothing to roll back")
            return
    elif stage == "staging":
        promotions = [promotion.to_staging(sagemaker, group, version, environments_dir)]
        reason = f"Promote model version {promotions[0].version.number} to staging"
    else:
        from .deployment import staging_stack

        promotions = [
            promotion.to_prod(
                sagemaker,
                group,
                environments_dir,
                staging_stack=lambda: staging_stack(context, environments_dir),
                warn=lambda line: click.echo(line, err=True),
            )
        ]
        reason = f"Promote model version {promotions[0].version.number} to prod"
    for change in promotions:
        state = "pinned" if change.changed else "already pinned"
        click.echo(f"environments/{change.stage}.yaml: {state} version {change.version.number}")
    if body:
        chain = describe_chain(lineage(sagemaker, group, promotions[0].version.arn))
        text = promotion.pull_request_body(promotions, context.client("s3"), chain, reason)
        click.echo(f"Wrote {write_file(body, text, option='--body')}")


# -- deploy ----------------------------------------------------------------------------------


@click.group()
def deploy() -> None:
    """Endpoints: reconcile each stage's CloudFormation stack to environments/<stage>.yaml."""


env_option = click.option("--env", "stage", type=click.Choice(STAGES), required=True, help="The environment.")
wait_options = [
    click.option("--timeout", type=click.FloatRange(min=1), default=3600.0, show_default=True, help="Seconds."),
    click.option(
        "--poll", type=click.FloatRange(min=0), default=15.0, show_default=True, help="Seconds between checks."
    ),
]


def _with_wait_options(command):
    for option in reversed(wait_options):
        command = option(command)
    return command


@deploy.command("plan")
@env_option
@environments_option
@settings_option
@reports_errors
def deploy_plan(stage: str, environments_dir: Path, settings: Path) -> None:
    """What `deploy apply` would change (refusals included)."""
    from .deployment import plan

    found = plan(load_context(settings), stage, environments_dir)
    click.echo("\n".join(found.lines()))


@deploy.command("apply")
@env_option
@click.option(
    "--smoke/--no-smoke", default=True, show_default=True, help="Smoke-test after a change; roll back on failure."
)
@_with_wait_options
@environments_option
@settings_option
@reports_errors
def deploy_apply(stage: str, smoke: bool, timeout: float, poll: float, environments_dir: Path, settings: Path) -> None:
    """Reconcile the stage to its manifest; a second run changes nothing."""
    from .deployment import apply

    passed = apply(
        load_context(settings), stage, environments_dir, smoke=smoke, echo=click.echo, timeout=timeout, poll=poll
    )
    if not passed:
        raise SystemExit(GATE_REFUSED)


@deploy.command("smoke")
@env_option
@environments_option
@settings_option
@reports_errors
def deploy_smoke(stage: str, environments_dir: Path, settings: Path) -> None:
    """Send sample rows to the stage's endpoint; exit 1 if the answer is wrong or slow."""
    from .deployment import run_smoke

    result = run_smoke(load_context(settings), stage, environments_dir)
    click.echo(result.summary())
    if not result.passed:
        raise SystemExit(GATE_REFUSED)


@deploy.command("status")
@environments_option
@settings_option
@reports_errors
def deploy_status(environments_dir: Path, settings: Path) -> None:
    """What runs where: each manifest's version next to its stack's."""
    from .deployment import status

    click.echo("\n".join(status(load_context(settings), environments_dir)))


@deploy.command("drift")
@click.option("--env", "stage", type=click.Choice(STAGES), help="One environment (default: all).")
@environments_option
@settings_option
@reports_errors
def deploy_drift(stage: str | None, environments_dir: Path, settings: Path) -> None:
    """Compare desired (manifests) with actual (stacks); exit 1 on any drift. A stage whose
    manifest pins no model and that has no stack is "not deployed yet", which is no drift."""
    from .deployment import DRIFT, drift

    context, drifted = load_context(settings), False
    for name in [stage] if stage else STAGES:
        verdict, lines = drift(context, name, environments_dir)
        drifted |= verdict == DRIFT
        click.echo(f"{name}: {verdict}" + "".join(f"\n  {line}" for line in lines))
    if drifted:
        raise SystemExit(GATE_REFUSED)


@deploy.command("destroy")
@env_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@_with_wait_options
@environments_option
@settings_option
@reports_errors
def deploy_destroy(stage: str, yes: bool, timeout: float, poll: float, environments_dir: Path, settings: Path) -> None:
    """Delete the stage's endpoint stack (cost control); the manifest stays as it is."""
    from .deployment import signed_in_manifest
    from .stack import destroy, stack_name

    context = load_context(settings)
    name = stack_name(context.aws.pipeline_name, stage)
    if not yes:  # asked (or refused with no terminal) before any AWS call
        confirm(f"delete stack {name} and its endpoint")
    signed_in_manifest(context, stage, environments_dir)  # never delete a stack in the wrong account
    removed = destroy(context.client("cloudformation"), name, echo=click.echo, timeout=timeout, poll=poll)
    click.echo(f"{name}: deleted" if removed else f"{name}: no such stack, nothing to delete")


# -- predict ---------------------------------------------------------------------------------


@click.command()
@env_option
@click.option(
    "--data", type=click.Path(path_type=Path, exists=True), help="CSV or Parquet rows holding the model's features."
)
{%- if cookiecutter.use_feature_store == "yes" %}
@click.option("--id", "ids", multiple=True, help="A record id whose features come from the online store (repeatable).")
@click.option("--group", "key", help="Feature group for --id (default: the only file in features/).")
{%- endif %}
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@environments_option
@settings_option
@reports_errors
def predict(
    stage: str,
    data: Path | None,
{%- if cookiecutter.use_feature_store == "yes" %}
    ids: tuple[str, ...],
    key: str | None,
{%- endif %}
    as_json: bool,
    environments_dir: Path,
    settings: Path,
) -> None:
    """Score rows with the stage's live endpoint{% if cookiecutter.use_feature_store == "yes" %}: from a file, or by record id with the features read from
    the online store through the training transforms, as an application would{% endif %}."""
    from .deployment import live_endpoint, signed_in_manifest
    from .predict import predict as invoke
    from .predict import request_body, table
{% if cookiecutter.use_feature_store == "yes" %}
    if bool(data) == bool(ids):
        raise ProjectError("give either --data FILE or --id ID (repeatable)")
{%- else %}
    if not data:
        raise ProjectError("give --data FILE: the rows to score")
{%- endif %}
    context = load_context(settings)
    signed_in_manifest(context, stage, environments_dir)
    endpoint = live_endpoint(context, stage)
    rows, where, missing = _rows_to_score(context, data{% if cookiecutter.use_feature_store == "yes" %}, ids, key{% endif %})
    if len(rows):
        dataset, runtime = context.settings.dataset, context.client("sagemaker-runtime")
        scored = table(rows, invoke(runtime, endpoint, request_body(rows, dataset, where), len(rows)), dataset)
        click.echo(scored.to_json(orient="records", lines=True).rstrip() if as_json else scored.to_string(index=False))
    if missing:
        click.echo(f"not in the online store: {', '.join(missing)}", err=True)
        raise SystemExit(GATE_REFUSED)


def _rows_to_score(context: Context, data: Path | None{% if cookiecutter.use_feature_store == "yes" %}, ids: tuple[str, ...], key: str | None{% endif %}):
    """(rows of raw features, where they came from, ids the online store does not have)."""
    from ..data import read_dataset
{%- if cookiecutter.use_feature_store == "yes" %}

    if ids:
        from ..feature_store.definition import check_against, pick_group
        from ..feature_store.online import get_records

        path, group = pick_group(key, context.root / "features")
        check_against(group, context.settings.dataset, str(path))
        found = get_records(
            context.client("sagemaker-featurestore-runtime"), group, context.settings.dataset, list(ids)
        )
        return found.found, f"feature group {group.name}", found.missing
{%- endif %}

    return read_dataset(data, context.settings.dataset), str(data), []
