"""`data init`'s proposals: project.yaml's data sections, both data-check suites, the feature
group and the sample copy, from a profile (profiling.py); shown as diffs, written only whole.

project.yaml is edited as text, block by block: only the top-level dataset, split, gates,
decision and bias blocks (each with the comment lines just above it) are replaced; the header,
model, aws and every other comment stay byte for byte. A YAML round-trip library (ruamel.yaml)
would keep comments too, but it is a heavy dependency for five blocks this module writes itself.
"""

from __future__ import annotations

import difflib
import filecmp
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .data import GENERATED_EVENT_TIME, feature_store_enabled
from .errors import ProjectError
from .output import write_file
from .profiling import Column, Profile, distinct_counts, margin, safe_name
from .settings import Settings, validate

SAMPLE_DIR = Path("data/sample")
SUITES_DIR = Path("data_checks")
FEATURES_DIR = Path("features")
REPLACED = ("dataset", "split", "gates", "decision", "bias")  # project.yaml's blocks data init writes
LARGE_SAMPLE = 20_000  # rows beyond which local runs and CI slow down: the checklist says so
# Starting quality gates per problem type: loose enough for a first model, to be set by the team.
GATE = {"binary": ("auc", 0.7), "regression": ("r2", 0.2)}
TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")


@dataclass
class Change:
    path: Path
    new: str | None  # None: the file is deleted
    old: str | None  # None: a new file
    summary: str = ""  # shown instead of a diff (a data file)
    copy_from: Path | None = None  # a data file copied byte for byte

    @property
    def status(self) -> str:
        if self.old is None:
            return "new"
        if self.new is None:
            return "deleted"
        return "unchanged" if self.new == self.old else "changed"

    def diff(self) -> str:
        if self.summary:
            return f"--- {self.path}\n+++ {self.path}\n{self.summary}\n"
        lines = difflib.unified_diff(
            (self.old or "").splitlines(keepends=True),
            (self.new or "").splitlines(keepends=True),
            fromfile=str(self.path) if self.old is not None else "/dev/null",
            tofile=str(self.path) if self.new is not None else "/dev/null",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class Plan:
    changes: list[Change]
    checklist: list[str] = field(default_factory=list)

    @property
    def overwrites(self) -> list[Change]:
        return [change for change in self.changes if change.status in ("changed", "deleted")]


def clarify_enabled() -> bool:
    """The project was generated with Clarify (its bias module exists): propose a bias section."""
    return importlib.util.find_spec(f"{__package__}.bias") is not None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


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
    facet_columns = _facets(profile, facets)
    current = _read(root / settings_file)
    if current is None:
        raise ProjectError(f"{settings_file}: not found; run data init in the project's root folder")
    sample = SAMPLE_DIR / f"{safe_name(profile.path.stem)}.csv"
    dataset = _dataset(profile, sample, id_column, time_column, features)
    blocks = {
        "dataset": _yaml_block("dataset", dataset, DATASET_COMMENT),
        "split": _split(profile),
        "gates": _gates(profile, checklist),
        "decision": DECISION if profile.problem_type == "binary" else None,
        "bias": _bias(profile, facet_columns, checklist) if clarify_enabled() else None,
    }
    if not clarify_enabled():
        blocks.pop("bias")  # a project without Clarify keeps whatever it has (nothing)
    text = merge(current, blocks)
    _validated(text, settings_file)
    changes = [Change(settings_file, text, current)]
    changes.append(_sample_change(profile, root, sample, generate if store else [], id_column, time_column))
    checklist[:0] = _sample_notes(profile, root / sample, generate, store, id_column, time_column)
    training, inference = suites(profile, dataset, features, id_column, time_column)
    for name, suite in (("training", training), ("inference", inference)):
        path = SUITES_DIR / f"{name}.json"
        changes.append(Change(path, json.dumps(suite, indent=2, ensure_ascii=False) + "\n", _read(root / path)))
    if store:
        changes += _feature_group(profile, root, dataset, features, settings_file)
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


# ---- project.yaml

DATASET_COMMENT = ""
DECISION = """decision:                       # binary: how a score becomes a predicted label
  threshold: 0.5                # score >= threshold is predicted positive (evaluation, Clarify, endpoint)
  # costs: {false_positive: 1, false_negative: 5}   # optional: reports expected cost; without
  #                                                 # threshold, sets it to fp / (fp + fn)
"""


def _flow(value) -> str:
    """A value in YAML flow style (JSON is valid YAML): strings quoted, numbers and booleans as is;
    in a list, a string YAML reads back unchanged is left unquoted ([age, sex], as a person writes)."""
    if isinstance(value, list):
        return "[" + ", ".join(_plain_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _wrapped(values: list, width: int = 110) -> str:
    """A flow list over several lines when long (YAML allows it), so a wide table stays readable."""
    items, lines, line = [_plain_text(value) for value in values], [], ""
    for item in items:
        if line and len(line) + len(item) > width:
            lines.append(line + ",")
            line = "    " + item
        else:
            line = f"{line}, {item}" if line else item
    return "[" + "\n".join([*lines, line]) + "]"


def _plain_text(value) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][\w-]*", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _dataset(profile: Profile, sample: Path, id_column: str, time_column: str, features: dict) -> dict:
    dataset = {"sample": str(sample), "record_id": id_column, "event_time": time_column, "label": profile.label}
    dataset["problem_type"] = profile.problem_type
    if profile.problem_type != "regression":
        dataset["classes"] = profile.classes
    if profile.problem_type == "binary":
        dataset["positive_label"] = profile.positive_label
    dataset["numeric_features"] = [n for n, c in features.items() if c.kind == "numeric"]
    dataset["categorical_features"] = [n for n, c in features.items() if c.kind == "categorical"]
    return dataset


NOTES = {
    "sample": "the bundled sample: what `make local`, the tests and the smoke test read",
    "record_id": "unique per row; the feature-group record identifier",
    "event_time": "ISO 8601 date or date-time the row was observed",
    "label": "the column to predict",
    "problem_type": "binary, multiclass or regression",
    "classes": "every label value, in a fixed order",
    "positive_label": "the label value that counts as the positive class",
}


def _yaml_block(key: str, values: dict, _comment: str = "") -> str:
    lines = [f"{key}:"]
    for name, value in values.items():
        text = str(value) if name in ("sample", "problem_type") else _plain_text(value)
        text = _wrapped(value) if isinstance(value, list) else text
        line = f"  {name}: {text}"
        note = NOTES.get(name)
        lines.append(f"{line:<31} # {note}" if note else line)
    return "\n".join(lines) + "\n"


def _split(profile: Profile) -> str:
    share = 0.2 if profile.rows < 2000 else 0.15  # a small table needs a larger test split to judge a model
    return (
        "split:                          # stratified by label, reproducible with the seed\n"
        f"  validation: {share}\n  test: {share}\n  seed: 42\n"
    )


def _gates(profile: Profile, checklist: list[str]) -> str:
    if profile.problem_type == "multiclass":
        counts = profile.frame[profile.label].value_counts(normalize=True)
        metric, limit = "accuracy", min(0.95, round(float(counts.iloc[0]) + 0.05, 2))
        why = "a placeholder: the share of the commonest class plus 0.05 (always guessing it scores that share)"
    else:
        metric, limit = GATE[profile.problem_type]
        why = "a placeholder: a loose first limit"
    checklist.append(
        f"gates.quality.{metric}.min is {limit}, {why}; set it from the model you accept "
        "(README: Bring your own data, choosing thresholds)."
    )
    limit_text = "{min: " + f"{limit}" + "}"
    return (
        "gates:\n  quality:                      # test-set metric (as named in evaluation.json) -> allowed range\n"
        f"    {f'{metric}: {limit_text}':<26}  # PLACEHOLDER from data init: outside this range, never registered\n"
    )


def _bias(profile: Profile, facets: list[Column], checklist: list[str]) -> str | None:
    if not facets:
        checklist.append(
            "No --facet given, so no bias section: bias analysis is off. Rerun with --facet COLUMN to audit a group."
        )
        return None
    frame, test = profile.frame, 0.2 if profile.rows < 2000 else 0.15
    lines = [
        "# One bias configuration for the local analysis (smclarify) and the pipeline's Clarify checks.",
        "# Metric definitions: https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-measure-data-bias.html",
        "bias:",
        "  facets:                       # sensitive groups, compared with everyone else",
    ]
    for column in facets:
        values = frame[column.name]
        lines.append(f"    - column: {_plain_text(column.name)}")
        if column.kind == "categorical":
            counts = distinct_counts(values)
            # The smallest group big enough to judge (min_rows in the test split): the one most often
            # overlooked; the smallest of all when none is.
            ascending = counts.iloc[1:].sort_values(kind="stable")
            big_enough = ascending[ascending * test >= 30]
            group = str((big_enough if len(big_enough) else ascending).index[0])
            lines.append(f"      sensitive_values: {_flow([group])}   # PLACEHOLDER: a minority group; choose yours")
            size = int(counts[group])
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            cut = float(numbers.quantile(0.25))
            cut = int(cut) if cut.is_integer() else round(cut, 3)
            lines.append(
                "      sensitive_range: {max: " + f"{cut}" + "}" + f"   # PLACEHOLDER: the lowest quarter (< {cut})"
            )
            size = int((numbers < cut).sum())
        lines.append("      min_rows: 30              # rows each group needs in the test split to be judged")
        expected = size * test
        if expected < 30:
            checklist.append(
                f"Facet {column.name!r}: its group has {size:,} rows, about {expected:.0f} in the test split, "
                "below min_rows 30: its gated metrics will read 'too few rows to judge' (more data, or lower min_rows)."
            )
        checklist.append(f"Facet {column.name!r}: the sensitive group is a guess; choose the group you must protect.")
    if profile.problem_type == "regression":
        middle = float(pd.to_numeric(frame[profile.label], errors="coerce").median())
        middle = int(middle) if middle.is_integer() else round(middle, 3)
        lines.append(f"  favourable_threshold: {middle}   # PLACEHOLDER (the median): a label above it is favourable")
        checklist.append(
            "bias.favourable_threshold is the label's median: set the value above which an outcome is good."
        )
    else:
        favourable = profile.positive_label if profile.problem_type == "binary" else profile.classes[-1]
        lines.append(f"  favourable_labels: [{_flow(favourable)}]   # the outcome a person would want")
        checklist.append(
            f"bias.favourable_labels is [{favourable!r}]: if that outcome is unfavourable for a person "
            "(a default, a reoffence), name the other class(es) instead."
        )
    lines += [
        "  pre_training_metrics: [CI, DPL, KL, JS, LP, TVD, KS]",
        "  post_training_metrics: [DPPL, DI, DCA, DCR, RD, DAR, DRR, AD, TE, FT]",
        "  # The bias gate: every facet's value must lie in the range. A starting point; your team owns them.",
        "  thresholds:",
        "    DPPL: {min: -0.25, max: 0.25}   # difference in predicted positive proportions",
        "    AD: {min: -0.15, max: 0.15}     # accuracy difference",
        "    FT: {min: -0.10, max: 0.10}     # flip test: predictions that change with the facet",
    ]
    if profile.problem_type != "binary":
        lines[-4:] = ["  thresholds: {}                # the bias gate: metric -> allowed range; set yours"]
    checklist.append("bias.thresholds (and min_rows) are starting points: set the ranges your team accepts.")
    return "\n".join(lines) + "\n"


def blocks(text: str) -> list[tuple[str | None, str]]:
    """project.yaml as (top-level key, its text) in order; the comment lines right above a key
    belong to it; lines before the first key are the header (key None)."""
    out: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines(keepends=True):
        match = TOP_KEY.match(line)
        if match:
            previous = out[-1][1]
            comments = []
            while previous and previous[-1].startswith("#"):
                comments.insert(0, previous.pop())
            out.append((match.group(1), [*comments, line]))
        else:
            out[-1][1].append(line)
    return [(key, "".join(lines)) for key, lines in out if key is not None or lines]


def merge(text: str, replacements: dict[str, str | None]) -> str:
    """`text` with each named top-level block replaced (None: removed); a block it lacks is added
    after the block before it in REPLACED order. Every other line stays as it was."""
    parts = blocks(text)
    present = {key for key, _ in parts}
    out: list[tuple[str | None, str]] = []
    for key, block in parts:
        if key in replacements:
            if replacements[key] is not None:
                out.append((key, replacements[key]))
        else:
            out.append((key, block))
    for key in REPLACED:
        if key in present or replacements.get(key) is None:
            continue
        earlier = [k for k in REPLACED[: REPLACED.index(key)] if any(k == o for o, _ in out)]
        position = max((i for i, (o, _) in enumerate(out) if o in earlier), default=len(out) - 1) + 1
        out.insert(position, (key, replacements[key]))
    pieces = []
    for key, block in out:
        if pieces and key in replacements and not pieces[-1].endswith("\n\n"):
            block = "\n" + block  # a written block is set off by a blank line
        if not block.endswith("\n\n") and key in replacements:
            block += "\n"
        pieces.append(block)
    return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).rstrip("\n") + "\n"


def _validated(text: str, settings_file: Path) -> None:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:  # a bug here, never the user's: say so plainly
        raise ProjectError(f"{settings_file}: the proposal is not valid YAML ({error})") from None
    validate(Settings, raw, f"{settings_file} (as data init would write it)")


# ---- the sample


def _sample_change(
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
    old = _read(target)
    return Change(sample, text, old, summary=f"{profile.path} ({rows}), {', '.join(what)}")


def _sample_notes(profile, sample, generate, store, id_column, time_column) -> list[str]:
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


# ---- data checks


def _expect(kind: str, notes: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": dict(notes=notes)}


def _column_expectations(column: Column, source: str) -> list[dict]:
    name, out = column.name, []
    if column.null_rate == 0:
        out.append(_expect("expect_column_values_to_not_be_null", f"{name} is always known", column=name))
    else:
        mostly = max(0.0, int((1 - 2 * column.null_rate) * 100) / 100)  # twice the nulls seen is a change worth a look
        if mostly > 0:
            out.append(
                _expect(
                    "expect_column_values_to_not_be_null",
                    f"{name} is known in at least {mostly:.0%} of rows ({1 - column.null_rate:.1%} in {source})",
                    column=name,
                    mostly=mostly,
                )
            )
    if column.excluded or (column.kind == "numeric" and column.minimum is None):
        return out
    if column.kind == "numeric":
        low, high = margin(column)
        low, high = (int(low), int(high)) if column.integral else (low, high)
        seen = f"{_number(column.minimum)} to {_number(column.maximum)}"
        out.append(
            _expect(
                "expect_column_values_to_be_between",
                f"{name} within the range seen in {source} ({seen}), with a 10% margin",
                column=name,
                min_value=low,
                max_value=high,
            )
        )
    else:
        out.append(
            _expect(
                "expect_column_values_to_be_in_set",
                f"{name} is one of the {column.distinct} values seen in {source}; add new legitimate values here",
                column=name,
                value_set=column.values,
            )
        )
    return out


def suites(profile: Profile, dataset: dict, features: dict, id_column: str, time_column: str) -> tuple[dict, dict]:
    source = profile.path.name
    all_columns = [id_column, time_column, *profile.columns, profile.label]
    feature_columns = [*dataset["numeric_features"], *dataset["categorical_features"]]
    minimum = min(1000, profile.rows)
    training = [
        _expect(
            "expect_table_columns_to_match_set",
            f"exactly the columns of {source}: a column added, renamed or lost is a change to review",
            column_set=all_columns,
            exact_match=True,
        ),
        _expect(
            "expect_table_row_count_to_be_between",
            f"enough rows to train and evaluate (PLACEHOLDER from data init; {source} has {profile.rows:,})",
            min_value=minimum,
        ),
        _expect("expect_column_values_to_not_be_null", "every row has a record id", column=id_column),
        _expect(
            "expect_column_values_to_be_unique",
            "record ids identify rows (the feature-group record identifier)",
            column=id_column,
        ),
        _expect("expect_column_values_to_not_be_null", "every row has an event time", column=time_column),
        _expect(
            "expect_column_values_to_match_regex",
            "event time is an ISO 8601 date (2024-01-01) or date-time (2024-01-01T12:00:00Z)",
            column=time_column,
            regex=ISO_8601,
        ),
    ]
    inference = [
        _expect(
            "expect_table_columns_to_match_set",
            "every feature the model needs (other columns are allowed)",
            column_set=feature_columns,
            exact_match=False,
        ),
        _expect("expect_table_row_count_to_be_between", "at least one row", min_value=1),
    ]
    for name, column in profile.columns.items():
        expectations = _column_expectations(column, source)
        training += expectations
        if name in features:
            inference += expectations
    label = profile.label
    if profile.label_nulls:
        share = 1 - profile.label_nulls / profile.rows
        notes = f"rows are labelled ({share:.1%} in {source}); the values must be dataset.classes (checked from there)"
        mostly = int(share * 100) / 100
        training.append(_expect("expect_column_values_to_not_be_null", notes, column=label, mostly=mostly))
    else:
        training.append(
            _expect(
                "expect_column_values_to_not_be_null",
                "every row is labelled; the values must be dataset.classes in project.yaml (checked from there)",
                column=label,
            )
        )
    if profile.problem_type == "regression":
        numbers = pd.to_numeric(profile.frame[label], errors="coerce").dropna()
        column = Column(
            label,
            "numeric",
            0.0,
            integral=bool((numbers % 1 == 0).all()),
            minimum=float(numbers.min()),
            maximum=float(numbers.max()),
        )
        training += _column_expectations(column, source)[1:]
    head = f"written by data init from {source}; edit freely (rerun data init with --force to start again)"
    return (
        {
            "name": "training",
            "meta": {"notes": f"Raw training data: run before preprocessing; {head}."},
            "expectations": training,
        },
        {"name": "inference", "meta": {"notes": f"A batch to score (no label); {head}."}, "expectations": inference},
    )


ISO_8601 = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"


# ---- the feature group


def _fits(path: Path, dataset: dict) -> bool:
    """A group file that already holds the proposed dataset's columns (kept as it is: its
    descriptions are a person's)."""
    from .feature_store.definition import check_against, load_group
    from .settings import Dataset

    try:
        check_against(load_group(path), Dataset.model_validate(dataset), str(path))
    except (ProjectError, ValueError):
        return False
    return True


def _feature_group(profile: Profile, root: Path, dataset: dict, features: dict, settings_file: Path) -> list[Change]:
    existing = sorted((root / FEATURES_DIR).glob("*.yaml"))
    if any(_fits(path, dataset) for path in existing):
        return []
    previous = yaml.safe_load(existing[0].read_text(encoding="utf-8")) if existing else {}
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
    owner = previous.get("owner", "Your Name")
    tags = previous.get("tags") or {"project": project}
    lines = [
        "# One SageMaker Feature Store feature group (written by data init): `features plan` shows what",
        "# `features apply` would change in AWS. A changed identifier, event time or type needs a new -vN group.",
        f"name: {project}-{stem.replace('_', '-')}-v1",
        f"description: {_flow(f'Rows of {profile.path.name}, with the {profile.label} label.'[:128])}",
        f"owner: {_flow(owner)}",
        f"record_identifier: {dataset['record_id']}",
        f"event_time: {dataset['event_time']}",
        "data_checks: training           # the data_checks/ suite every ingest must pass first",
        "online_store:",
        "  enabled: true                 # low-latency reads for inference (`features get`)",
        "  ttl: 365 days                 # records older than this expire from the online store; null keeps them",
        "offline_store:",
        "  enabled: true                 # history on S3 for point-in-time training sets (`features dataset`)",
        "tags:",
        *(f"  {key}: {_flow(value)}" for key, value in tags.items()),
        "features:",
        *("  - {" + f"name: {name}, type: {kind}, description: {_flow(text)}" + "}" for name, kind, text in kinds),
    ]
    changes = [Change(path, "\n".join(lines) + "\n", _read(root / path))]
    for other in existing:
        if other.name != path.name:  # one model, one dataset: another group no longer fits project.yaml
            changes.append(Change(FEATURES_DIR / other.name, None, other.read_text(encoding="utf-8")))
    return changes


def _project_name(root: Path, settings_file: Path) -> str:
    raw = yaml.safe_load((root / settings_file).read_text(encoding="utf-8")) or {}
    name = (raw.get("aws") or {}).get("pipeline_name") or root.resolve().name
    return re.sub(r"[^a-zA-Z0-9-]+", "-", str(name)).strip("-")[:40]


def _describe(column: Column) -> str:
    if column.kind == "categorical":
        return f"One of {column.distinct} values, e.g. {', '.join(column.values[:3])}"[:120]
    return f"A number, {_number(column.minimum)} to {_number(column.maximum)} in the sample"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


# ---- what a person decides


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


# ---- writing


def apply(plan: Plan, root: Path) -> list[str]:
    """Write every change (each file whole, via output.write_file); everything was computed and
    validated before the first write, so a bad input never leaves a half-written project."""
    written = []
    for change in plan.changes:
        target = Path(root) / change.path
        if change.status == "unchanged":
            continue
        if change.new is None:
            target.unlink()
        elif change.copy_from is not None:
            _copy(change.copy_from, target)
        else:
            mode = target.stat().st_mode & 0o777 if target.exists() else _default_mode()
            write_file(target, change.new, option="data init")
            target.chmod(mode)  # written via a private temporary file (0600): keep the file's own mode
        written.append(f"{change.path}" + (" (deleted)" if change.new is None else ""))
    return written


def _default_mode() -> int:
    """A new file's mode as `touch` would make it (0666 less the umask)."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _copy(source: Path, target: Path) -> None:
    """A byte-for-byte copy, written beside the target and renamed over it (as write_file does)."""
    import os
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.chmod(temporary, _default_mode())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
