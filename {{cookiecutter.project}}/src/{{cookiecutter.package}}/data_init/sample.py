"""The sample copy: the profiled file copied into data/sample/ (columns renamed and ids added
when the Feature Store needs them), so the project is self-contained.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd

from ..data import GENERATED_EVENT_TIME
from .changes import Change, read_or_none
from .profile import Profile

SAMPLE_DIR = Path("data/sample")


LARGE_SAMPLE = 20_000  # rows beyond which local runs and CI slow down: the checklist says so


def sample_change(
    profile: Profile, root: Path, sample: Path, generate: list[str], id_column: str, time_column: str
) -> Change:
    target = root / sample
    same = target.resolve() == profile.path.resolve()
    rows = f"{profile.rows:,} rows"
    if not profile.renamed and not generate:
        if same:
            return Change(sample, "", "", summary="")  # the sample itself: nothing to copy
        exists = target.exists()
        if exists and filecmp.cmp(target, profile.path, shallow=False):
            return Change(sample, "", "", summary="")
        return Change(
            sample,
            "copy",
            "old" if exists else None,
            summary=f"copy of {profile.path} ({rows})" + (", replacing the file there" if exists else ""),
            copy_from=profile.path,
        )
    frame = pd.read_csv(profile.path, dtype=str, keep_default_na=False) if profile.path.suffix == ".csv" else None
    if frame is None:
        frame = pd.read_parquet(profile.path).astype("string")
    frame = frame.rename(columns=profile.renamed)
    if id_column in generate:
        frame.insert(0, id_column, [str(i) for i in range(len(frame))])
    if time_column in generate:
        frame.insert(1, time_column, GENERATED_EVENT_TIME)
    what = []
    if profile.renamed:
        what.append(f"{len(profile.renamed)} column(s) renamed")
    if generate:
        what.append(f"{' and '.join(generate)} added")
    text = frame.to_csv(index=False)
    old = read_or_none(target)
    return Change(sample, text, old, summary=f"{profile.path} ({rows}), {', '.join(what)}")


def sample_notes(profile, sample, generate, store, id_column, time_column) -> list[str]:
    same = Path(sample).resolve() == profile.path.resolve()
    copied = "the file profiled" if same else f"a copy of {profile.path}, so the project is self-contained"
    notes = [f"dataset.sample is {sample.name} in data/sample/, {copied}."]
    if profile.renamed:
        renamed = ", ".join(f"{old!r} -> {new}" for old, new in list(profile.renamed.items())[:6])
        notes.append(
            f"Column names were made safe for the Feature Store, XGBoost and YAML ({renamed}"
            f"{', ...' if len(profile.renamed) > 6 else ''}): the data the pipeline trains on must use the new names."
        )
    if generate and store:
        notes.append(
            f"{' and '.join(generate)} were added to the sample (row number; {GENERATED_EVENT_TIME}) because the "
            "Feature Store needs them: data you ingest or train on must carry real ones."
        )
    elif generate:
        notes.append(
            f"The data has no {' or '.join(generate)}: they are generated when it is read (row number; "
            f"{GENERATED_EVENT_TIME}, fixed so runs are reproducible)."
        )
    if profile.rows > LARGE_SAMPLE:
        notes.append(f"The sample has {profile.rows:,} rows: keep a few thousand so `make local` and CI stay fast.")
    return notes
