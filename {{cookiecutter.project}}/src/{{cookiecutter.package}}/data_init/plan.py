"""Every file data init would write, from a profile, and the checklist of what a person must
still decide; writes nothing (changes.apply writes).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from ..data import feature_store_enabled
from ..errors import ProjectError
from .changes import Change, Plan, read_or_none
from .feature_group import FEATURES_DIR, feature_group_changes
from .profile import MAX_CATEGORIES, Column, Profile, safe_name
from .project_yaml import (
    DATASET_COMMENT,
    DECISION,
    bias_block,
    dataset_values,
    gates_block,
    merge,
    split_block,
    validated,
    yaml_block,
)
from .sample import SAMPLE_DIR, sample_change, sample_notes
from .suites import suites

SUITES_DIR = Path("data_checks")


def clarify_enabled() -> bool:
    """The project was generated with Clarify (its bias module exists): propose a bias section."""
    return importlib.util.find_spec(f"{__package__.rpartition('.')[0]}.bias") is not None


def plan(
    profile: Profile,
    root: Path,
    settings_file: Path,
    record_id: str | None = None,
    event_time: str | None = None,
    facets: tuple[str, ...] = (),
) -> Plan:
    """Every file data init would write, with its current text, and the checklist; writes nothing."""
    root = Path(root)
    checklist: list[str] = []
    id_column, time_column = _ids(profile, record_id, event_time)
    store = feature_store_enabled(root / FEATURES_DIR)
    generate = [
        c for c, given in ((id_column, record_id), (time_column, event_time)) if not given and c not in profile.columns
    ]
    for column in (id_column, time_column):
        profile.columns.pop(column, None)  # an id or a time is no feature
    features = {n: c for n, c in profile.columns.items() if c.excluded is None}
    for name, column in profile.columns.items():
        if column.excluded:
            checklist.append(f"Column {name!r} is left out of the features: {column.excluded}.")
        elif column.kind == "categorical" and column.value_set is None:
            checklist.append(
                f"Column {name!r} has {column.distinct:,} distinct values, more than a value set lists "
                f"({MAX_CATEGORIES}): data_checks/ checks only its nulls; add a check if its values form a closed set."
            )
    facet_columns = _facets(profile, facets)
    current = read_or_none(root / settings_file)
    if current is None:
        raise ProjectError(f"{settings_file}: not found; run data init in the project's root folder")
    sample = SAMPLE_DIR / f"{safe_name(profile.path.stem)}.csv"
    dataset = dataset_values(profile, sample, id_column, time_column, features)
    blocks = {
        "dataset": yaml_block("dataset", dataset, DATASET_COMMENT),
        "split": split_block(profile),
        "gates": gates_block(profile, checklist),
        "decision": DECISION if profile.problem_type == "binary" else None,
        "bias": bias_block(profile, facet_columns, checklist) if clarify_enabled() else None,
    }
    if not clarify_enabled():
        blocks.pop("bias")  # a project without Clarify keeps whatever it has (nothing)
    text = merge(current, blocks)
    validated(text, settings_file)
    changes = [Change(settings_file, text, current)]
    changes.append(sample_change(profile, root, sample, generate if store else [], id_column, time_column))
    checklist[:0] = sample_notes(profile, root / sample, generate, store, id_column, time_column)
    training, inference = suites(profile, dataset, features, id_column, time_column)
    for name, suite in (("training", training), ("inference", inference)):
        path = SUITES_DIR / f"{name}.json"
        changes.append(Change(path, json.dumps(suite, indent=2, ensure_ascii=False) + "\n", read_or_none(root / path)))
    if store:
        changes += feature_group_changes(profile, root, dataset, features, settings_file)
    checklist += _decisions(profile, dataset)
    return Plan(changes=changes, checklist=checklist)


def _ids(profile: Profile, record_id: str | None, event_time: str | None) -> tuple[str, str]:
    for option, column in (("--id", record_id), ("--time", event_time)):
        if column is not None and profile.renamed.get(column, column) not in profile.columns:
            raise ProjectError(f"{option} {column!r}: no such column in {profile.path}")
    return profile.renamed.get(record_id, record_id or "record_id"), profile.renamed.get(
        event_time, event_time or "event_time"
    )


def _facets(profile: Profile, facets: tuple[str, ...]) -> list[Column]:
    chosen = []
    for facet in facets:
        name = profile.renamed.get(facet, facet)
        if name == profile.label or name not in profile.columns:
            raise ProjectError(f"--facet {facet!r}: no such column in {profile.path} (or it is the label)")
        chosen.append(profile.columns[name])
    return chosen


def _decisions(profile: Profile, dataset: dict) -> list[str]:
    notes = []
    if profile.problem_type == "binary":
        notes.append(
            f"dataset.positive_label is {profile.positive_label!r} (of {profile.classes}): the class the model scores; "
            "--positive-label changes it."
        )
        notes.append(
            "decision.threshold is 0.5; given a cost matrix, set decision.costs (false_positive, false_negative) "
            "and remove threshold: it then follows from the costs."
        )
    notes.append(
        f"dataset.problem_type is {profile.problem_type} (inferred; --problem-type overrides). Check "
        f"numeric_features ({len(dataset['numeric_features'])}) and categorical_features "
        f"({len(dataset['categorical_features'])}): a code stored as a number may be a category."
    )
    notes.append(
        "data_checks/: ranges (seen values plus a 10% margin), value sets and null rates come from this file; "
        "widen them for values you know are legitimate, and set the row-count minimum (min_rows) for your full data."
    )
    return notes
