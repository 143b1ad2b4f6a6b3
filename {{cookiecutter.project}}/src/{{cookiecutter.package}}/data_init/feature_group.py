"""The proposed Feature Store group (features/<name>.yaml), unless one already fits the
proposed dataset.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ProjectError
from ..settings import parse_yaml
from .changes import Change, read_or_none
from .profile import Column, Profile, safe_name
from .project_yaml import flow
from .suites import number_text

FEATURES_DIR = Path("features")
# Owns a group whose predecessor names no owner: the author answered when the project was generated.
AUTHOR = "{{ cookiecutter.author | replace('\\', '\\\\') | replace('"', '\\"') }}"


def _fits(path: Path, dataset: dict) -> bool:
    """A group file that already holds the proposed dataset's columns (kept as it is: its
    descriptions are a person's)."""
    from ..feature_store.definition import check_against, load_group
    from ..settings import Dataset

    try:
        check_against(load_group(path), Dataset.model_validate(dataset), str(path))
    except (ProjectError, ValueError):
        return False
    return True


def feature_group_changes(
    profile: Profile, root: Path, dataset: dict, features: dict, settings_file: Path
) -> list[Change]:
    existing = sorted((root / FEATURES_DIR).glob("*.yaml"))
    if any(_fits(path, dataset) for path in existing):
        return []
    previous = parse_yaml(existing[0].read_text(encoding="utf-8")) if existing else {}
    previous = previous if isinstance(previous, dict) else {}
    stem = safe_name(profile.path.stem)
    project = _project_name(root, settings_file)
    path = FEATURES_DIR / f"{stem}.yaml"
    kinds = []
    for name in (dataset["record_id"], dataset["event_time"]):
        kinds.append(
            (
                name,
                "string",
                "Identifier of the record" if name == dataset["record_id"] else "When the row was observed (ISO 8601)",
            )
        )
    for name, column in features.items():
        kind = "string" if column.kind == "categorical" else "integral" if column.integral else "fractional"
        kinds.append((name, kind, _describe(column)))
    label_kind = "fractional" if profile.problem_type == "regression" else "string"
    kinds.append((profile.label, label_kind, "Label (training only, never an input at inference)"))
    owner = previous.get("owner") or AUTHOR
    tags = previous.get("tags") or {"project": project}
    lines = [
        "# One SageMaker Feature Store feature group (written by data init): `features plan` shows what",
        "# `features apply` would change in AWS. A changed identifier, event time or type needs a new -vN group.",
        f"name: {project}-{stem.replace('_', '-')}-v1",
        f"description: {flow(f'Rows of {profile.path.name}, with the {profile.label} label.'[:128])}",
        f"owner: {flow(owner)}",
        f"record_identifier: {dataset['record_id']}",
        f"event_time: {dataset['event_time']}",
        "data_checks: training           # the data_checks/ suite every ingest must pass first",
        "online_store:",
        "  enabled: true                 # low-latency reads for inference (`features get`)",
        "  ttl: 365 days                 # records older than this expire from the online store; null keeps them",
        "offline_store:",
        "  enabled: true                 # history on S3 for point-in-time training sets (`features dataset`)",
        "tags:",
        *(f"  {key}: {flow(value)}" for key, value in tags.items()),
        "features:",
        *("  - {" + f"name: {name}, type: {kind}, description: {flow(text)}" + "}" for name, kind, text in kinds),
    ]
    changes = [Change(path, "\n".join(lines) + "\n", read_or_none(root / path))]
    for other in existing:
        if other.name != path.name:  # one model, one dataset: another group no longer fits project.yaml
            changes.append(Change(FEATURES_DIR / other.name, None, other.read_text(encoding="utf-8")))
    return changes


def _project_name(root: Path, settings_file: Path) -> str:
    raw = parse_yaml((root / settings_file).read_text(encoding="utf-8")) or {}
    name = (raw.get("aws") or {}).get("pipeline_name") or root.resolve().name
    return re.sub(r"[^a-zA-Z0-9-]+", "-", str(name)).strip("-")[:40]


def _describe(column: Column) -> str:
    if column.kind == "categorical":
        return f"One of {column.distinct} values, e.g. {', '.join(column.values[:3])}"[:120]
    return f"A number, {number_text(column.minimum)} to {number_text(column.maximum)} in the sample"
