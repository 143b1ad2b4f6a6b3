"""project.yaml's proposed dataset, split, gates, decision and bias blocks, merged into the
file as text.

Only those top-level blocks (each with the comment lines just above it) are replaced; the header,
model, aws and every other comment stay byte for byte. A YAML round-trip library (ruamel.yaml)
would keep comments too, but it is a heavy dependency for five blocks this module writes itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import yaml

from ..errors import ProjectError
from ..settings import Settings, parse_yaml, validate
from .profile import Column, Profile, distinct_counts

REPLACED = ("dataset", "split", "gates", "decision", "bias")  # project.yaml's blocks data init writes


# Starting quality gates per problem type: loose enough for a first model, to be set by the team.
GATE = {"binary": ("auc", 0.7), "regression": ("r2", 0.2)}


TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*):")


DATASET_COMMENT = ""


DECISION = """decision:                       # binary: how a score becomes a predicted label
  threshold: 0.5                # score >= threshold is predicted positive (evaluation, Clarify, endpoint)
  # costs: {false_positive: 1, false_negative: 5}   # optional: reports expected cost; without
  #                                                 # threshold, sets it to fp / (fp + fn)
"""


def flow(value) -> str:
    """A value in YAML flow style (JSON is valid YAML): strings quoted, numbers and booleans as is;
    in a list, a string YAML reads back unchanged is left unquoted ([age, sex], as a person writes)."""
    if isinstance(value, list):
        return "[" + ", ".join(plain_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def wrapped(values: list, width: int = 110) -> str:
    """A flow list over several lines when long (YAML allows it), so a wide table stays readable."""
    items, lines, line = [plain_text(value) for value in values], [], ""
    for item in items:
        if line and len(line) + len(item) > width:
            lines.append(line + ",")
            line = "    " + item
        else:
            line = f"{line}, {item}" if line else item
    return "[" + "\n".join([*lines, line]) + "]"


def plain_text(value) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][\w-]*", value) and parse_yaml(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def dataset_values(profile: Profile, sample: Path, id_column: str, time_column: str, features: dict) -> dict:
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


def yaml_block(key: str, values: dict, _comment: str = "") -> str:
    lines = [f"{key}:"]
    for name, value in values.items():
        text = str(value) if name in ("sample", "problem_type") else plain_text(value)
        text = wrapped(value) if isinstance(value, list) else text
        line = f"  {name}: {text}"
        note = NOTES.get(name)
        lines.append(f"{line:<31} # {note}" if note else line)
    return "\n".join(lines) + "\n"


def split_block(profile: Profile) -> str:
    share = 0.2 if profile.rows < 2000 else 0.15  # a small table needs a larger test split to judge a model
    return (
        "split:                          # stratified by label, reproducible with the seed\n"
        f"  validation: {share}\n  test: {share}\n  seed: 42\n"
    )


def gates_block(profile: Profile, checklist: list[str]) -> str:
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


def bias_block(profile: Profile, facets: list[Column], checklist: list[str]) -> str | None:
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
        lines.append(f"    - column: {plain_text(column.name)}")
        if column.kind == "categorical":
            counts = distinct_counts(values)
            # The smallest group big enough to judge (min_rows in the test split): the one most often
            # overlooked; the smallest of all when none is.
            ascending = counts.iloc[1:].sort_values(kind="stable")
            big_enough = ascending[ascending * test >= 30]
            group = str((big_enough if len(big_enough) else ascending).index[0])
            lines.append(f"      sensitive_values: {flow([group])}   # PLACEHOLDER: a minority group; choose yours")
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
        lines.append(f"  favourable_labels: [{flow(favourable)}]   # the outcome a person would want")
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


def validated(text: str, settings_file: Path) -> None:
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as error:  # a bug here, never the user's: say so plainly
        raise ProjectError(f"{settings_file}: the proposal is not valid YAML ({error})") from None
    validate(Settings, raw, f"{settings_file} (as data init would write it)")
