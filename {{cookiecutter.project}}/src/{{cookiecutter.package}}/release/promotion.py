"""Promotion: which model version each environment should run, written to environments/ (and only
there). Staging takes an Approved version; prod takes exactly what staging runs; a rejected
version is replaced by the previous Approved one wherever it is pinned."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from .accounts import StagingUnreadable
from .environments import ENVIRONMENTS_DIR, STAGES, load_manifest, pin
from .registry import APPROVED, Version, bias_summary, describe, latest_approved, quality
from .stack import Stack


@dataclass(frozen=True)
class Promotion:
    stage: str
    version: Version
    previous: str | None  # the model package the manifest named before
    changed: bool


def require_approved(version: Version) -> None:
    if version.status != APPROVED:
        raise ProjectError(
            f"model version {version.number} is {version.status}, not Approved: only approved versions are "
            f"deployed (review it, then `registry approve {version.number}`)"
        )


def to_staging(sagemaker, group: str, version: str | None, directory: Path = ENVIRONMENTS_DIR) -> Promotion:
    """Pin `version` (a number or ARN), or the newest Approved version when None."""
    if version is None:
        chosen = latest_approved(sagemaker, group)
        if chosen is None:
            raise ProjectError(f"model package group {group!r} has no Approved version to promote")
    else:
        chosen = describe(sagemaker, group, version)
    require_approved(chosen)
    previous = load_manifest("staging", directory).model_package
    return Promotion("staging", chosen, previous, pin("staging", chosen.arn, directory))


def to_prod(
    sagemaker,
    group: str,
    directory: Path = ENVIRONMENTS_DIR,
    staging_stack: Callable[[], Stack | None] | None = None,
    warn: Callable[[str], None] = print,
) -> Promotion:
    """Pin in prod exactly the version staging's manifest names, once `staging_stack()` (the
    staging stack as it is now) shows staging runs it; `deploy` checks it again before prod changes.
    Credentials that may not read the staging stack get a warning instead of the check."""
    staged = load_manifest("staging", directory).model_package
    if staged is None:
        raise ProjectError("environments/staging.yaml pins no model yet: promote to staging first")
    version = describe(sagemaker, group, staged)
    require_approved(version)
    if staging_stack is not None:
        try:
            stack = staging_stack()
        except StagingUnreadable as error:
            warn(
                f"Warning: {error}. Not checked here that staging runs version {version.number}; "
                "`deploy plan --env prod` checks it before prod changes"
            )
        else:
            require_running(version, stack)
    previous = load_manifest("prod", directory).model_package
    return Promotion("prod", version, previous, pin("prod", version.arn, directory))


def require_running(version: Version, staging: Stack | None) -> None:
    """Refuse to promote to prod a version staging's stack does not run (prod takes only that)."""
    running = staging.outputs.get("ModelPackageArn") if staging else None
    if running == version.arn:
        return
    if staging is None:
        found = "staging has no stack yet"
    elif running:
        found = f"stack {staging.name} runs version {running.rsplit('/', 1)[-1]}"
    else:
        found = f"stack {staging.name} serves no model ({staging.status})"
    raise ProjectError(
        f"environments/staging.yaml pins version {version.number}, but {found}: prod takes only the version "
        f"staging runs, so deploy staging first (merge its promotion, or `deploy apply --env staging`), then "
        "promote to prod"
    )


def rollback_from(sagemaker, group: str, rejected: str, directory: Path = ENVIRONMENTS_DIR) -> list[Promotion]:
    """Every environment pinning `rejected` goes back to the newest Approved version before it."""
    bad = describe(sagemaker, group, rejected)
    pinned = [stage for stage in STAGES if load_manifest(stage, directory).model_package == bad.arn]
    if not pinned:
        return []
    replacement = latest_approved(sagemaker, group, below=bad.number)
    if replacement is None:
        raise ProjectError(
            f"{', '.join(pinned)} run(s) rejected version {bad.number} and there is no earlier Approved version to "
            "roll back to: approve one, or take the endpoint down with `deploy destroy`"
        )
    return [Promotion(stage, replacement, bad.arn, pin(stage, replacement.arn, directory)) for stage in pinned]


def pull_request_body(promotions: list[Promotion], s3, lineage_text: str, reason: str) -> str:
    """Markdown for the promotion pull request: what changes, the version's metrics and bias, lineage."""
    version = promotions[0].version
    lines = [f"## {reason}", "", "| environment | from | to |", "| --- | --- | --- |"]
    for promotion in promotions:
        before = promotion.previous.rsplit("/", 1)[1] if promotion.previous else "nothing"
        lines.append(f"| {promotion.stage} | version {before} | **version {version.number}** ({version.status}) |")
    lines += ["", f"Model package: `{version.arn}`", f"Registered {version.created}, commit `{version.commit or '?'}`."]
    if version.note:
        lines.append(f"Approval note: {version.note}")
    metrics = quality(s3, version)
    if metrics:
        lines += ["", "### Test-set metrics", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items())]
    bias = bias_summary(s3, version)
    if bias:
        lines += ["", "### Bias (Clarify)", "", "| stage | facet | metric | value |", "| --- | --- | --- | --- |"]
        lines += [f"| {stage} | {facet} | {metric} | {value:.4f} |" for stage, facet, metric, value in bias]
    lines += ["", "### Lineage", "", "```", lineage_text, "```", "",
              "Merging deploys it: the deploy workflow applies the manifest and smoke-tests the endpoint."]  # fmt: skip
    return "\n".join(lines) + "\n"
