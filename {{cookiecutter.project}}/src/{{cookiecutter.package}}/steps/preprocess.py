"""Preprocess: clean raw rows and split them into train, validation and test sets.

Output columns: the label as the model learns it first (binary 0/1, multiclass the class index,
regression the number), then the feature columns in project.yaml order, cleaned
but not encoded (encoding is fitted by the training step and travels with the model), then the
audit-only facet columns the bias analysis needs (never model inputs: training reads features only).

On several instances (ProcessingInstanceCount > 1) each instance splits its own shard of the
data's files, by a hash of each row's record id and the seed (shards.row_fractions), so a row's
split never depends on which instance read it; the stratified split of one instance cannot be
computed shard by shard. Each instance writes its own part files (train-algo-2-part0.csv, ...).
The checks that need whole classes or facet groups (MIN_CLASS_ROWS, both binary classes, every
sensitive value present) are then judged on each shard: stricter than on the whole data, and loud.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ..data import cutoff, read_dataset, with_ids
from ..errors import ProjectError
from ..settings import DEFAULT_PATH, Bias, Dataset, Split, load_settings
from ..shards import ALONE, Cluster, has_data, processing_cluster, row_fractions, split_keys
from ..transforms import clean_features, encode_labels, require_columns, require_numbers
from .job_paths import CLARIFY, DATA, FACET_GROUPS, OUTPUTS, SPLITS, TEST, TRAIN, input_dir

MIN_CLASS_ROWS = 10  # rows each class needs to be split three ways and learned at all


def _class_names(dataset: Dataset) -> list:
    """The label value of each encoded class (binary: 0 the other class, 1 the positive label)."""
    if dataset.problem_type == "binary":
        other = [value for value in dataset.classes if str(value) != str(dataset.positive_label)]
        return [*other, dataset.positive_label]
    return list(dataset.classes or [])


def split_dataset(
    raw: pd.DataFrame,
    dataset: Dataset,
    split: Split,
    where: str = "data",
    bias: Bias | None = None,
    hashed: bool = False,
) -> dict[str, pd.DataFrame]:
    """Refuses, before anything is trained, data a run cannot use whatever its data checks said:
    missing columns, text in numeric columns, label values outside dataset.classes (or not numbers,
    for regression), too few rows of a class, and (with `bias`) facet columns missing, sensitive
    values that do not occur or ranges no row falls in. A facet group that occurs but is small in
    the test split is left to the bias gate ("too few rows to judge").

    `hashed` (one shard of several): each row's split comes from its key's hash, not from a
    stratified draw over the rows at hand."""
    keys = split_keys(raw, dataset) if hashed else None  # before any id is generated
    raw = with_ids(raw, dataset, where)
    require_columns(raw, [dataset.record_id, dataset.event_time, dataset.label, *dataset.features], where)
    require_numbers(raw, dataset.numeric_features, where)
    labels = encode_labels(
        raw[dataset.label], dataset.problem_type, dataset.classes, dataset.positive_label, where
    ).rename(dataset.label)
    frame = clean_features(raw, dataset)
    if bias:
        from ..bias import audit_frame  # bias.py comes with use_clarify=yes, as does the bias section

        frame = pd.concat([frame, audit_frame(raw, dataset, bias, where)], axis=1)
    frame.insert(0, dataset.label, labels)
    frame = frame[labels.notna()]
    if dataset.problem_type == "regression":
        if len(frame) < MIN_CLASS_ROWS * 2:
            raise ProjectError(
                f"{where}: need at least {MIN_CLASS_ROWS * 2} rows with a value in '{dataset.label}'; "
                f"found {len(frame)}"
            )
        strata = None  # a number has no classes to stratify by
    else:
        frame = frame.astype({dataset.label: "int8"})
        counts = frame[dataset.label].value_counts()
        names = _class_names(dataset)
        found = {str(name): int(counts.get(code, 0)) for code, name in enumerate(names)}
        if min(found.values()) < MIN_CLASS_ROWS:
            raise ProjectError(
                f"{where}: need at least {MIN_CLASS_ROWS} rows of each class in '{dataset.label}'; found {found} "
                "(more data, or fewer classes under dataset.classes in project.yaml)"
            )
        strata = frame[dataset.label]
    if bias:
        from ..bias import check_facets

        check_facets(frame, bias, where)
    if keys is not None:
        return _hashed_split(frame, row_fractions(keys, f"split-{split.seed}").reindex(frame.index), split)
    rest, test = train_test_split(frame, test_size=split.test, stratify=strata, random_state=split.seed)
    train, validation = train_test_split(
        rest,
        test_size=split.validation / (1 - split.test),
        stratify=None if strata is None else rest[dataset.label],
        random_state=split.seed,
    )
    return {"train": train, "validation": validation, "test": test}


def _hashed_split(frame: pd.DataFrame, fraction: pd.Series, split: Split) -> dict[str, pd.DataFrame]:
    test = fraction < split.test
    validation = ~test & (fraction < split.test + split.validation)
    return {"train": frame[~test & ~validation], "validation": frame[validation], "test": frame[test]}


def write_splits(splits: dict[str, pd.DataFrame], out: Path, cluster: Cluster = ALONE, parts: int = 1) -> None:
    """One folder per split, so each maps to its own SageMaker output and training channel. With
    `parts` > 1 (TrainingInstanceCount), train and validation are dealt into that many files per
    instance, so each training instance gets files of both (their channels are sharded by S3 key).
    A file would-be empty is not written (a job reads every file of a split; an instance's share
    may hold no test rows): a training instance left without files trains on no rows."""
    for name in SPLITS:
        frame = splits[name]
        (out / name).mkdir(parents=True, exist_ok=True)
        stem = cluster.file_name(name)
        if name == TEST or parts == 1:
            files = {f"{stem}.csv": frame}
        else:
            files = {f"{stem}-part{part}.csv": frame.iloc[part::parts] for part in range(parts)}
        for file, rows in files.items():
            if len(rows):
                rows.to_csv(out / name / file, index=False)


def write_clarify_inputs(
    splits: dict[str, pd.DataFrame], out: Path, dataset: Dataset, bias: Bias | None = None, cluster: Cluster = ALONE
) -> None:
    """Header-less CSVs of train and test for the pipeline's Clarify jobs, a folder each (a Clarify
    dataset URI may be a prefix, so header-less parts from several instances read as one table):
    the label first, then the features (all the model's endpoint sees), then (with `bias`) the
    columns Clarify excludes from the model's input: audit-only facet columns and each range
    facet's yes/no column (pipeline/clarify.py declares them in this order). In facet_groups/, the
    test split's facet group sizes for the gate step's min_rows rule (which sums the instances')."""
    if bias is not None:
        from ..bias import clarify_frame, facet_groups
    for name in (TRAIN, TEST):
        (out / CLARIFY / name).mkdir(parents=True, exist_ok=True)
        if len(splits[name]):
            frame = splits[name] if bias is None else clarify_frame(splits[name], dataset, bias)
            frame.to_csv(out / CLARIFY / name / f"{cluster.file_name(name)}.csv", index=False, header=False)
    if bias is not None:
        groups = facet_groups(splits[TEST], dataset, bias)
        (out / CLARIFY / FACET_GROUPS).mkdir(parents=True, exist_ok=True)
        text = json.dumps(groups, indent=2) + "\n"
        (out / CLARIFY / FACET_GROUPS / cluster.file_name(FACET_GROUPS, ".json")).write_text(text, encoding="utf-8")


def require_checks_passed(results: Path) -> None:
    """Refuse data the data-check step failed: the pipeline stops here, before any training.
    `results`: that step's output folder (its result.json, or one result-<host>.json per
    instance, merged by shard_checks) or one result file."""
    from ..shard_checks import read_verdict

    result = read_verdict(results)
    if not result.get("success"):
        raise ProjectError(
            f"data checks failed, so the data is not used: {result.get('summary', '')} "
            "(the data-check report is the DataChecks step's output)"
        )


def sample(raw: pd.DataFrame, fraction: float, seed: int, keys: pd.DataFrame | None = None) -> pd.DataFrame:
    """A reproducible random share of the rows, for cheap pull-request runs. With `keys` (one
    shard of several), a row is kept by its keys' hash, whichever instance reads it."""
    if not 0 < fraction <= 1:
        raise ProjectError(f"--sample-fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return raw
    if keys is not None:
        return raw[row_fractions(keys, f"sample-{seed}") < fraction]
    return raw.sample(frac=fraction, random_state=seed)


def argument_parser() -> argparse.ArgumentParser:
    """The job's options. Where SageMaker mounts a path, that folder (job_paths) is its default."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=Path(input_dir(DATA)))
    parser.add_argument("--output", type=Path, default=Path(OUTPUTS), help="a folder per split, and clarify/")
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--checks", type=Path, help="the data-check step's output; refuse the data if it failed")
    parser.add_argument("--sample-fraction", type=float, default=1.0)
    parser.add_argument("--as-of", default="latest", help="point-in-time snapshot: each record as known then")
    parser.add_argument("--resource-config", type=Path, help="the job's resourceconfig.json: which instance this is")
    parser.add_argument("--parts", type=int, default=1, help="train and validation files per instance (one each for "
                        "the training instances: TrainingInstanceCount)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    if args.parts < 1:
        raise ProjectError(f"--parts must be at least 1, got {args.parts}")
    if args.checks:
        require_checks_passed(args.checks)
    cluster = processing_cluster(args.resource_config)
    settings = load_settings(args.settings)
    if cluster.several and not has_data(args.input):
        print(f"{cluster.current}: no data files in this instance's share of {args.input}; nothing to split")
        return
    raw = read_dataset(args.input, settings.dataset, as_of=cutoff(args.as_of))
    keys = split_keys(raw, settings.dataset) if cluster.several else None
    raw = sample(raw, args.sample_fraction, settings.split.seed, keys)
    where = f"{args.input} ({cluster.current}'s share)" if cluster.several else str(args.input)
    splits = split_dataset(raw, settings.dataset, settings.split, where, settings.bias, hashed=cluster.several)
    write_splits(splits, args.output, cluster, args.parts)
    write_clarify_inputs(splits, args.output, settings.dataset, settings.bias, cluster)
    print(", ".join(f"{name}: {len(frame):,} rows" for name, frame in splits.items()))


if __name__ == "__main__":
    main()
