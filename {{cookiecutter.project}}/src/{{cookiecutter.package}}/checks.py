"""Data checks: validate a frame against a Great Expectations suite kept as JSON in data_checks/.

The same function runs in `checks run`, before training in the local flow, and inside the
pipeline's data-check Processing job; the result reads the same everywhere.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import NUMERIC_COLUMNS
from .errors import ProjectError
from .output import write_file
from .settings import Dataset
from .transforms import parse_numbers, trimmed_text

SUITES_DIR = Path("data_checks")
EXAMPLES = 5  # unexpected values shown per failed expectation
EXPECTATIONS_URL = "https://greatexpectations.io/expectations/"
# Not a Great Expectations expectation: the project's own check that numeric columns hold numbers
# (project.yaml numeric_features, and the label of a regression). It runs whatever the suite says,
# before the suite's expectations.
NUMBERS = "numbers only (a numeric feature, or a regression label, in project.yaml)"
# Inside validate: each expectation's configuration, and each configuration's expectation, built
# once (see _once_per_validation).
_BUILT: ContextVar[dict | None] = ContextVar("built_once", default=None)


def label_expectations(suite: dict, dataset: Dataset) -> list[dict]:
    """The label's value check, derived from project.yaml so a suite never retypes the classes:
    added to a suite that checks the label column (the training suite). Classification: every
    label is one of dataset.classes, compared by text (1, "1" and a CSV's 1 agree); regression:
    the label is a number (the numbers-only check, see validate)."""
    named = {
        entry.get("kwargs", {}).get("column") for entry in suite.get("expectations") or [] if isinstance(entry, dict)
    }
    if dataset.label not in named or dataset.problem_type == "regression":
        return []
    values = [str(value) for value in dataset.classes or []]
    values += [text.lower() for text in values if text in ("True", "False")]  # a CSV's true/false
    return [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": dataset.label, "value_set": values},
            "meta": {"notes": "every label is one of dataset.classes in project.yaml (added from there)"},
        }
    ]


@dataclass(frozen=True)
class Outcome:
    expectation: str
    column: str | None
    notes: str
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list = field(default_factory=list)
    observed: object = None
    error: str | None = None
    rows: list = field(default_factory=list)  # the examples' rows, when known

    @property
    def detail(self) -> str:
        if self.error:
            return f"could not be evaluated: {self.error}"
        if self.unexpected_count:
            where = [f" (row {row})" for row in self.rows] if len(self.rows) == len(self.examples) else None
            examples = ", ".join(repr(value) + (where[i] if where else "") for i, value in enumerate(self.examples))
            counted = f"{self.unexpected_count:,} rows ({self.unexpected_percent:.2f}%) unexpected"
            return f"{counted}, e.g. {examples}" if examples else counted
        if self.observed is not None:
            return f"observed {self.observed}"
        return ""

    @property
    def line(self) -> str:
        where = f"{self.column}: " if self.column else ""
        return f"{where}{self.expectation}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class CheckResult:
    suite: str
    data: str
    rows: int
    outcomes: list[Outcome]

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def summary(self) -> str:
        passed = len(self.outcomes) - len(self.failures)
        head = f"data checks '{self.suite}' on {self.data} ({self.rows:,} rows): {passed}/{len(self.outcomes)} passed"
        return "\n".join([head, *(f"  FAILED {outcome.line}" for outcome in self.failures)])


def suite_path(name: str, directory: Path = SUITES_DIR) -> Path:
    path = directory / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.json"))) or "none"
        raise ProjectError(f"{path}: no data-check suite named {name!r} (suites in {directory}: {known})")
    return path


def load_suite(path: Path) -> dict:
    """A suite file, refused with one line naming it when it cannot check anything as written:
    not JSON, no expectations, an expectation type Great Expectations does not know, or an
    expectation's arguments that do not fit its type."""
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ProjectError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise ProjectError(f"{path}: a suite is a JSON object with 'name' and a list of 'expectations'")
    suite.setdefault("name", path.stem)
    check_expectations(suite["expectations"], str(path))
    return suite


def check_expectations(expectations: list, where: str) -> None:
    """Each expectation, one by one, before Great Expectations builds the suite: GE logs a
    traceback for an expectation it cannot build and then drops it, which would switch a check
    off. An empty suite would pass any data, so it is refused too."""
    if not expectations:
        raise ProjectError(
            f"{where}: the suite has no expectations, so it would pass any data; add expectations "
            f"(data_checks/README.md, {EXPECTATIONS_URL})"
        )
    gx = _import_gx()
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    known = sorted(list_registered_expectation_implementations())
    for position, entry in enumerate(expectations):
        key = f"expectations.{position}"
        kind = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(kind, str):
            raise ProjectError(f"{where}: {key}: an expectation is an object with a 'type' and its 'kwargs'")
        if kind not in known:
            close = difflib.get_close_matches(kind, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ProjectError(
                f"{where}: {key}.type: unknown expectation type {kind!r}; {hint}Great Expectations "
                f"{gx.__version__} has {len(known)} types, listed at {EXPECTATIONS_URL}"
            )
        try:
            ExpectationConfiguration(**entry).to_domain_obj()
        except Exception as error:  # pydantic's ValidationError, GE's own errors, TypeError for odd keys
            raise ProjectError(f"{where}: {key} ({kind}): {_described(error)}") from None


def _described(error: Exception) -> str:
    """A configuration error in one line: pydantic's field errors, or the message's first line."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
        except (TypeError, KeyError):
            pass
    return (str(error).splitlines() or [type(error).__name__])[0]


def _import_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage reporting from CI or containers
    import great_expectations as gx  # ~2 s import: only when checks actually run
    from great_expectations.execution_engine import pandas_execution_engine

    # GE fingerprints every in-memory batch below this size by hashing all its values (batch
    # metadata nothing here reads): on 1M rows that costs more than the checks. tests/test_checks.py
    # fails if a GE upgrade stops reading this switch.
    pandas_execution_engine.HASH_THRESHOLD = 0
    _build_configurations_once()
    _build_expectations_once()
    _plain_ids_first()
    return gx


def _once_per_validation(build):
    """`build(obj)`, answered from _BUILT while a validation runs: built once per object."""
    if getattr(build, "built_once", False):
        return build

    def built_once(obj):
        built = _BUILT.get()
        if built is None:
            return build(obj)
        if id(obj) not in built:
            built[id(obj)] = (obj, build(obj))  # holding the object keeps its id its own
        return built[id(obj)][1]

    built_once.built_once = True
    return built_once


def _build_configurations_once() -> None:
    """GE rebuilds an expectation's whole configuration (a pydantic dump and a new object) each time
    it reads one of the expectation's arguments: about 120 times per expectation in a validation, a
    third of its time on the sample. While validate runs (it sets _BUILT) each is built once; nothing
    changes an expectation during a validation. tests/test_checks.py fails if a GE upgrade bypasses it."""
    from great_expectations.expectations.expectation import Expectation

    build = Expectation.configuration
    Expectation.configuration = property(_once_per_validation(build.fget), doc=build.__doc__)


def _build_expectations_once() -> None:
    """GE builds an expectation object (a pydantic model) from its configuration again for each
    metric it asks the arguments of: about 16 times per expectation in a validation of the sample
    (5 with this), a sixth of its time. While validate runs, each configuration's is built once;
    GE only reads it (every outcome of the sample's and of a failing frame's validation compared
    equal). tests/test_checks.py fails if a GE upgrade bypasses it."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    build = ExpectationConfiguration.to_domain_obj
    ExpectationConfiguration.to_domain_obj = _once_per_validation(build)


_JSON_AS_IS = (str, int, bool, type(None))


def _plain_ids_first() -> None:
    """GE names every metric it computes by an md5 of its arguments made JSON-safe (IDDict.to_id);
    its converter walks each value through pydantic, pandas and numpy type checks before it finds
    a None or a string to be as it is: a quarter of a validation of the sample. Values of JSON's own
    types are converted here exactly as GE converts them (NaN to None, dict keys to text, tuples to
    lists); any other value goes to GE's converter. tests/test_checks.py fails if the ids differ or
    a GE upgrade bypasses it."""
    from great_expectations import util
    from great_expectations.core import id_dict

    convert = util.convert_to_json_serializable
    if id_dict.convert_to_json_serializable is not convert:  # replaced already
        return

    def plain_first(data):
        kind = type(data)
        if kind in _JSON_AS_IS:
            return data
        if kind is float:
            return None if data != data else data
        if kind is dict:
            return {str(key): plain_first(value) for key, value in data.items()}
        if kind is list or kind is tuple:
            return [plain_first(value) for value in data]
        return convert(data)

    id_dict.convert_to_json_serializable = plain_first


@contextmanager
def _configurations_built_once() -> Iterator[None]:
    token = _BUILT.set({})
    try:
        yield
    finally:
        _BUILT.reset(token)


def validate(frame: pd.DataFrame, suite: dict, data: str = "data", dataset: Dataset | None = None) -> CheckResult:
    """Every expectation of the suite on the frame. Text in a numeric column (as read_dataset
    keeps it) is a failure of its own, quoting the text with its rows; the suite's expectations see
    those cells as missing, and their examples quote the text too, never 'nan'.

    With `dataset` (project.yaml), its categorical features are checked as the pipeline reads
    them (trimmed, '' and '?' missing), and a suite that checks the label also checks its values
    against dataset.classes (label_expectations), or, for regression, that the label holds numbers."""
    check_expectations(suite.get("expectations") or [], f"data-check suite {suite.get('name')!r}")
    gx = _import_gx()
    numeric = list(frame.attrs.get(NUMERIC_COLUMNS, ()))
    if dataset is not None:
        added = label_expectations(suite, dataset)
        suite = {**suite, "expectations": [*suite["expectations"], *added]}
        if added and dataset.label in frame.columns:
            frame = frame.assign(**{dataset.label: _label_texts(frame[dataset.label])})
        if dataset.problem_type == "regression" and dataset.label in frame.columns:
            numeric.append(dataset.label)
    frame, text = _numbers(frame, numeric)
    batches = _whole_dataframe()  # its context first: GE's suites and batches find it as the project's
    try:
        expectation_suite = gx.ExpectationSuite(**suite)
    except Exception as error:  # GE raises several types for a malformed suite
        raise ProjectError(f"data-check suite {suite.get('name')!r} is malformed: {error}") from None
    if len(expectation_suite.expectations) != len(suite["expectations"]):
        # GE drops an expectation whose type it does not know: a typo would switch a check off.
        known = {e.expectation_type for e in expectation_suite.expectations}
        unknown = sorted({e.get("type", "(no type)") for e in suite["expectations"]} - known)
        raise ProjectError(
            f"data-check suite {suite.get('name')!r}: unknown expectation type(s) {', '.join(unknown)}; "
            f"see {EXPECTATIONS_URL}"
        )
    categorical, label = ([], None) if dataset is None else (dataset.categorical_features, dataset.label)
    results = []
    # Copy-on-write: GE filters its frame for every column metric, and pandas otherwise deep-copies
    # a frame that every row passes (0.9 of 5.8 s on 1M rows); under it that copy is free.
    with _configurations_built_once(), pd.option_context("mode.copy_on_write", True):
        for view, expectations in _batches(_for_checks(frame, categorical, label), expectation_suite.expectations):
            part = gx.ExpectationSuite(name=suite["name"], expectations=[e.configuration for e in expectations])
            batch = batches.get_batch(batch_parameters={"dataframe": view})
            validation = batch.validate(
                part, result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
            )
            results.extend(validation.results)
        # Report in suite order (GE returns results grouped by the metrics it computes).
        order = {_key(e.configuration): i for i, e in enumerate(expectation_suite.expectations)}
    ranked = sorted(results, key=lambda item: order.get(_key(item.expectation_config), len(order)))
    outcomes = [_numbers_outcome(column, values, len(frame)) for column, values in text.items()]
    outcomes += [_outcome(item, text) for item in ranked]
    return CheckResult(suite=suite["name"], data=data, rows=len(frame), outcomes=outcomes)


@functools.cache
def _whole_dataframe():
    """A batch definition any dataframe is validated through, made once per process: each
    datasource and asset GE adds to its context is saved (a YAML dump of the context's whole
    configuration), 0.03 s of each validation of the sample otherwise. A batch is made per call
    from the dataframe it is given, so validations share nothing else."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("local").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("all")


def _numbers(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The frame with its numeric columns as numbers (text -> missing), and the text per column."""
    numbers, text = {}, {}
    for column in columns:
        if column in frame.columns:
            parsed, bad = parse_numbers(frame[column])
            if len(bad):
                numbers[column], text[column] = parsed, bad
    return (frame.assign(**numbers) if numbers else frame), text


def _numbers_outcome(column: str, text: pd.Series, rows: int) -> Outcome:
    return Outcome(
        expectation=NUMBERS,
        column=column,
        notes="a numeric column takes numbers; leave a value empty (or '?') when it is missing",
        success=False,
        unexpected_count=len(text),
        unexpected_percent=100 * len(text) / rows,
        examples=text.head(EXAMPLES).tolist(),
        rows=[_plain(row) for row in text.index[:EXAMPLES]],
    )


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _by_columns(expectations) -> dict[tuple[str, ...], list]:
    """Expectations grouped by the columns they read; () holds the table-level ones."""
    groups: dict[tuple[str, ...], list] = {}
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        if "column" in kwargs:
            columns = (kwargs["column"],)
        elif "column_A" in kwargs:
            columns = (kwargs["column_A"], kwargs["column_B"])
        else:
            columns = tuple(kwargs.get("column_list", ()))
        groups.setdefault(columns, []).append(expectation)
    return groups


def _batches(frame: pd.DataFrame, expectations) -> list[tuple[pd.DataFrame, list]]:
    """The frames GE validates, each with the expectations it answers. GE's pandas engine takes
    the rows of its whole frame for every column metric that filters some out, and each batch
    costs a fixed overhead: so the columns that are cheap to copy (numbers, categories) share one
    batch, a column of text gets its own, and table-level expectations (or ones naming a missing
    column) see the whole frame."""
    shared, shared_columns = [], {}
    batches: list[tuple[pd.DataFrame, list]] = []
    for columns, group in _by_columns(expectations).items():
        if not columns or not set(columns) <= set(frame.columns):
            batches.append((frame, group))
        elif all(_is_cheap(frame[column]) for column in columns):
            shared.extend(group)
            shared_columns.update(dict.fromkeys(columns))
        else:
            batches.append((_consolidated(frame, list(columns)), group))
    if shared:
        batches.append((_consolidated(frame, list(shared_columns)), shared))
    return batches


def _consolidated(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A frame of those columns built from a dict: one block per dtype, so GE's copies of it do
    not merge blocks again each time."""
    return pd.DataFrame({column: frame[column] for column in columns}, index=frame.index)


def _for_checks(frame: pd.DataFrame, categorical: list[str], label: str | None = None) -> pd.DataFrame:
    """Categorical features of text as the values the pipeline reads (_as_read), and the label, as
    pandas categories (a copy moves small integer codes, set and null checks look at the codes);
    pandas' "string" dtype as object (it re-validates every value on each copy GE makes)."""
    types, read = {}, {}
    for column, dtype in frame.dtypes.items():
        text = pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)
        if column in categorical and text:
            read[column] = _as_read(frame[column])
        elif column == label and text:
            types[column] = "category"
        elif isinstance(dtype, pd.StringDtype):
            types[column] = object
    if not types and not read:
        return frame
    return _consolidated(frame.astype(types).assign(**read), list(frame.columns))


def _as_read(values: pd.Series) -> pd.Series:
    """A categorical feature's values as transforms.clean reads them (trimmed; '' and '?' missing),
    as pandas categories: a value set's 'red' is also the data's ' red ', and '?' counts as
    missing, as data init's profile counted it. Each distinct value is converted once, as
    transforms.categories_as_read does, but kept as category codes: that and astype("category")
    would factorize the column twice (0.55 s more for the eight text columns of 1M rows)."""
    codes, distinct = pd.factorize(values)
    read_codes, categories = pd.factorize(trimmed_text(pd.Series(distinct, dtype=object)))
    codes = np.append(read_codes, -1)[codes]  # -1 (missing) stays missing
    return pd.Series(pd.Categorical.from_codes(codes, categories), index=values.index, name=values.name)


def _is_cheap(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(column.dtype)


def _label_texts(labels: pd.Series) -> pd.Series:
    """Labels as text, compared with dataset.classes by text: a 0/1 label read as float because of
    blanks reads 1, not 1.0; missing stays missing. Each distinct value is converted once."""
    if pd.api.types.is_float_dtype(labels) and (labels.dropna() % 1 == 0).all():
        labels = labels.astype("Int64")
    codes, uniques = pd.factorize(labels)
    texts = np.array([*pd.Series(uniques).astype("string").str.strip().astype(object), None], dtype=object)
    return pd.Series(texts[codes], index=labels.index, dtype=object)  # code -1 (missing) takes the None


def _key(config) -> str:
    kwargs = {key: value for key, value in config.kwargs.items() if key != "batch_id"}
    return config.type + json.dumps(kwargs, sort_keys=True, default=str)


def _outcome(item, text: dict[str, pd.Series]) -> Outcome:
    config = item.expectation_config
    kwargs = config.kwargs
    details = item.result or {}
    examples = list(details.get("partial_unexpected_list") or [])[:EXAMPLES]
    rows = list(details.get("partial_unexpected_index_list") or [])[: len(examples)]
    return Outcome(
        expectation=config.type,
        column=kwargs.get("column"),
        notes=(config.meta or {}).get("notes", ""),
        success=bool(item.success),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        examples=_as_written(examples, rows, text.get(kwargs.get("column"))),
        observed=details.get("observed_value"),
        error=_error_message(item.exception_info),
    )


def _as_written(examples: list, rows: list, text: pd.Series | None) -> list:
    """Unexpected values as the data has them: a missing value that was text in a numeric column
    is shown as that text; other missing values are left out (a list of 'nan' says nothing)."""
    if text is not None and len(rows) == len(examples):
        pairs = zip(examples, rows, strict=True)
        examples = [text.get(row, value) if _missing(value) and _hashable(row) else value for value, row in pairs]
    return [value for value in examples if not _missing(value)]


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or mapping is a value
        return False


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _error_message(info) -> str | None:
    """GE reports an exception either flat or keyed by metric; return its first message."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        message = entry.get("exception_message")
        if message:
            return str(message).splitlines()[0]
    return None


def write_report(result: CheckResult, path: Path) -> Path:
    """A Markdown table of every expectation (failures first), readable in a PR or S3 console."""
    verdict = "passed" if result.success else "FAILED"
    rows = sorted(result.outcomes, key=lambda o: o.success)
    lines = [
        f"# Data checks '{result.suite}': {verdict}",
        "",
        f"{result.data}: {result.rows:,} rows, {len(result.outcomes) - len(result.failures)} of "
        f"{len(result.outcomes)} expectations met.",
        "",
        "| result | column | expectation | why it matters | details |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {'pass' if o.success else '**FAIL**'} | {o.column or '(table)'} | {o.expectation} | {o.notes} | "
            f"{o.detail.replace('|', '/')} |"
            for o in rows
        ],
        "",
    ]
    return write_file(path, "\n".join(lines), option="--report")
