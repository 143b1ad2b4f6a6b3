"""The bad-input corpus: every command, given input a user can get wrong, ends with one `Error:`
line naming what and where, exit 2 (1 for a refused gate or check), no traceback, and leaves
an earlier output as it was, with nothing half-built beside it.

One case is one line of CASES: an id, the command line (`{name}` stands for a prepared input
below), the exit code, and text the error line must contain. Cases marked `aws` run against the
moto server with the project's pipeline published; the rest need no AWS.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import boto3
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.pipeline.parameters import quality_parameter_name
from {{ cookiecutter.package }}.settings import METRIC_RANGES, load_settings

EARLIER = "the earlier run's report"


@dataclass(frozen=True)
class Case:
    id: str
    command: str
    code: int
    text: str
    aws: bool = False  # run against the moto server with the pipeline published
    env: tuple[tuple[str, str], ...] = ()  # environment variables for this case ({name} inputs too)


DATA = "local run --out {out} --data"


def _gate_out_of_range() -> tuple[str, str]:
    """`--param` for the project's first quality limit with a value its metric cannot take (AUC 7,
    RMSE -1), and the start of the error it must give."""
    quality = load_settings(Path(__file__).resolve().parents[1] / "project.yaml").gates.quality
    for metric, limit in quality.items():
        name = quality_parameter_name(metric, "min" if limit.min is not None else "max")
        low, high = METRIC_RANGES[metric]
        if high is not None:
            return f"{name}={high + 6:g}", f"{name}={high + 6:g}: Input should be less"
        if low is not None:
            return f"{name}={low - 1:g}", f"{name}={low - 1:g}: Input should be greater"
    raise AssertionError(f"no quality limit in project.yaml has a bounded metric: {list(quality)}")


GATE, GATE_ERROR = _gate_out_of_range()
NO_PROFILE = (("AWS_PROFILE", "nobody"), ("AWS_CONFIG_FILE", "{empty}"))
UNREACHABLE = (("AWS_ENDPOINT_URL", "{closed}"),)
CASES = [
    # -- files a user passes as data ------------------------------------------------------------------
    Case("data: no such file", DATA + " {missing}", 2, "missing.csv: file not found"),
    Case("data: empty file", DATA + " {empty}", 2, "empty.csv: not a readable CSV"),
    Case("data: binary file", DATA + " {binary}", 2, "binary.csv: not a readable CSV"),
    Case("data: UTF-16 file", DATA + " {utf16}", 2, "utf16.csv: not a readable CSV"),
    Case("data: semicolons", DATA + " {semicolons}", 2, "seem separated by ';'"),
    Case("data: header only", DATA + " {header_only}", 2, "header_only.csv: has a header but no rows"),
    Case("data: folder without data", DATA + " {empty_dir}", 2, "no .csv or .parquet files"),
    # Data that reads but fails its checks is a refused gate (1), with a complete report.
    Case("data: no label column", DATA + " {no_label}", 1, "data gate FAILED"),
    Case("data: unknown label values", DATA + " {odd_labels}", 1, "data gate FAILED"),
    Case("data: text in a number column", DATA + " {text_numbers}", 1, "data gate FAILED"),
{%- if cookiecutter.use_feature_store == "yes" %}
    Case("data: no record ids", DATA + " {no_ids}", 2, "the Feature Store needs each row's record id"),
{%- endif %}
    Case("checks: failing data", "checks run --suite training --data {odd_labels}", 1, "unexpected, e.g."),
    # -- settings files -------------------------------------------------------------------------------
    Case("settings: not YAML", "local run --out {out} --settings {not_yaml}", 2, "not_yaml.yaml: not valid YAML"),
    Case("settings: misspelt key", "local run --out {out} --settings {misspelt}", 2, "misspelt.yaml: gate: unknown"),
    Case("settings: no such file", "local run --out {out} --settings {missing_yaml}", 2, "missing.yaml"),
    Case("settings: no aws section", "pipeline build --settings {no_aws} --out {file}", 2, "no 'aws' section"),
    Case("settings: no aws section, deploy", "deploy plan --env staging --settings {no_aws}", 2, "no 'aws' section"),
{%- if cookiecutter.use_clarify == "yes" %}
    Case("settings: facet value absent", "local run --out {out} --settings {absent_facet}", 2, "Nobody"),
{%- endif %}
    # -- where outputs go -----------------------------------------------------------------------------
    Case("out: the project folder", "local run --out .", 2, "would replace the current directory"),
    Case("out: a symlink", "local run --out {symlink}", 2, "is a symbolic link"),
    Case("out: under a file", "local run --out {under_file}", 2, "cannot create its folder"),
    Case("out: not a run's output", "local run --out {foreign}", 2, "is not the output of an earlier run"),
    Case("out: definition to a folder", "pipeline build --out {out}", 2, "is a directory"),
    Case("out: definition under a file", "pipeline build --out {under_file}", 2, "cannot create its folder"),
    Case("out: report under a file", "checks run --suite training --data {sample} --report {under_file}", 2, "cannot"),
    # -- suites, definitions, locks, models -----------------------------------------------------------
    Case("checks: unknown suite", "checks run --suite nope --data {sample}", 2, "no data-check suite named 'nope'"),
    Case("pipeline diff: not JSON", "pipeline diff {empty} {empty}", 2, "not a pipeline definition"),
    Case("pipeline diff: not an object", "pipeline diff {list_json} {list_json}", 2, "not a pipeline definition"),
    Case("pipeline lock: stale lock", "pipeline lock --check --root {stale_locks}", 1, "jobs.lock: stale"),
    Case("explain: no model", "explain --data {sample} --model-dir {empty_dir}", 2, "no trained model here"),
    Case("explain: row past the end", "explain --data {sample} --row 99999 --model-dir {model}", 2, "out of range"),
    Case("explain: no feature column", "explain --data {no_feature} --model-dir {model}", 2, "no_feature.csv"),
    # -- AWS: the machine's set-up --------------------------------------------------------------------
    Case("aws: missing profile", "registry list", 2, "'nobody'", env=NO_PROFILE),
    Case("aws: unreachable", "registry list", 2, "cannot connect", aws=True, env=UNREACHABLE),
    # -- AWS: parameters, drops, buckets, the registry, deploys ---------------------------------------
    Case("run: quality limit out of range", f"pipeline run --param {GATE}", 2, GATE_ERROR, aws=True),
    Case("run: SampleFraction=0", "pipeline run --param SampleFraction=0", 2, "greater than 0", aws=True),
    Case("run: m5.huge", "pipeline run --param TrainingInstanceType=m5.huge", 2, "should match", aws=True),
    Case("run: approval Yes", "pipeline run --param ModelApprovalStatus=Yes", 2, "'Approved'", aws=True),
    Case("run: AsOf yesterday", "pipeline run --param AsOf=yesterday", 2, "not a time", aws=True),
    Case("run: local data", "pipeline run --param InputDataUri=/data.csv", 2, "s3:// URI", aws=True),
    Case("run: unknown parameter", "pipeline run --param Nope=1", 2, "unknown pipeline parameter", aws=True),
    Case("run: no data drop", "pipeline run", 2, "no completed data drop", aws=True),
    Case("upsert: no bucket", "pipeline upsert --settings {other_bucket}", 2, "does not exist", aws=True),
    Case("registry: no version 99", "registry show 99", 2, "99", aws=True),
    Case("deploy: manifest", "deploy plan --env staging --environments-dir {manifests}", 2, "staging.yaml", aws=True),
    Case("deploy: destroy, no terminal", "deploy destroy --env staging", 2, "--yes", aws=True),
    Case("predict: no such file", "predict --env staging --data {missing}", 2, "does not exist", aws=True),
{%- if cookiecutter.use_feature_store == "yes" %}
    Case("features: unknown group", "features plan --group nope", 2, "nope", aws=True),
    Case("features: ingest no file", "features ingest --group {group} --data {missing}", 2, "missing.csv", aws=True),
{%- endif %}
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, sample_path: Path, settings_path: Path, project_root: Path, model_dir: Path) -> dict:
    """Every bad input the cases name, made once."""
    folder = tmp_path_factory.mktemp("bad-input")
    sample = pd.read_csv(sample_path, dtype=str, keep_default_na=False).head(300)
    settings = yaml.safe_load(settings_path.read_text())
    label = settings["dataset"]["label"]

    def write(name: str, content: str | bytes) -> Path:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    (folder / "empty_dir").mkdir()
    (folder / "blocker").write_text("")
    (folder / "foreign").mkdir()
    (folder / "foreign" / "notes.txt").write_text("not a run's output")
    (folder / "symlink").symlink_to(folder / "empty_dir", target_is_directory=True)
    manifests = folder / "manifests"
    manifests.mkdir()
    for file in (project_root / "environments").glob("*.yaml"):
        (manifests / file.name).write_text(file.read_text().replace("instance_count: 1", "instance_count: 0"))
    first_numeric, record_id = settings["dataset"]["numeric_features"][0], settings["dataset"]["record_id"]
    no_bucket = {**settings, "aws": {**settings["aws"], "bucket": "no-such-bucket"}}
    odd_labels, text_numbers = sample.copy(), sample.copy()
    odd_labels.loc[odd_labels.index[:5], label] = odd_labels[label].iloc[0] + "x"  # not a number either
    text_numbers.loc[text_numbers.index[:5], first_numeric] = "forty"
    stale = folder / "stale_locks" / "containers"
    stale.mkdir(parents=True)
    for file in (project_root / "containers").iterdir():
        (stale / file.name).write_bytes(file.read_bytes())
    (stale / "jobs.in").write_text((stale / "jobs.in").read_text() + "tqdm\n")
    return {
        "group": next(iter(sorted((project_root / "features").glob("*.yaml"))), Path("none")).stem,
        "sample": sample_path,
        "model": model_dir,
        "missing": folder / "missing.csv",
        "missing_yaml": folder / "missing.yaml",
        "empty": write("empty.csv", ""),
        "binary": write("binary.csv", b"\x00\xff\xfe\x00" * 64),
        "utf16": write("utf16.csv", sample.to_csv(index=False).encode("utf-16")),
        "semicolons": write("semicolons.csv", sample.to_csv(index=False, sep=";")),
        "header_only": write("header_only.csv", ",".join(sample.columns) + "\n"),
        "no_label": write("no_label.csv", sample.drop(columns=[label]).to_csv(index=False)),
        "odd_labels": write("odd_labels.csv", odd_labels.to_csv(index=False)),
        "text_numbers": write("text_numbers.csv", text_numbers.to_csv(index=False)),
        "no_ids": write("no_ids.csv", sample.drop(columns=[record_id], errors="ignore").to_csv(index=False)),
        "no_feature": write("no_feature.csv", sample.drop(columns=[first_numeric]).to_csv(index=False)),
        "other_bucket": write("other_bucket.yaml", yaml.safe_dump(no_bucket)),
        "manifests": manifests,
        "empty_dir": folder / "empty_dir",
        "not_yaml": write("not_yaml.yaml", "dataset: [unclosed\n"),
        "misspelt": write("misspelt.yaml", yaml.safe_dump({**settings, "gate": settings["gates"]})),
        "no_aws": write("no_aws.yaml", yaml.safe_dump({k: v for k, v in settings.items() if k != "aws"})),
        "list_json": write("list.json", json.dumps([1, 2])),
        "symlink": folder / "symlink",
        "under_file": folder / "blocker" / "run",
        "foreign": folder / "foreign",
        "file": folder / "definition.json",
        "stale_locks": folder / "stale_locks",
{%- if cookiecutter.use_clarify == "yes" %}
        "absent_facet": write("absent_facet.yaml", yaml.safe_dump(_with_absent_facet(settings))),
{%- endif %}
    }


{%- if cookiecutter.use_clarify == "yes" %}


def _with_absent_facet(settings: dict) -> dict:
    facet = {**settings["bias"]["facets"][0], "sensitive_values": ["Nobody"]}
    return {**settings, "bias": {**settings["bias"], "facets": [facet]}}
{%- endif %}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An earlier run's output, which no failed command may change."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "report.md").write_text(EARLIER, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def definition(settings, project_root: Path) -> str:
    from {{ cookiecutter.package }}.pipeline.definition import build

    return build(settings, root=project_root).definition


@pytest.fixture
def published(aws, definition: str, settings) -> None:
    """The project's pipeline as `pipeline upsert` publishes it (the definition only: nothing here
    runs it), so `pipeline run` checks parameters against it."""
    boto3.client("sagemaker", region_name=settings.aws.region).create_pipeline(
        PipelineName=settings.aws.pipeline_name, PipelineDefinition=definition, RoleArn=settings.aws.role_arn
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clear_error(case: Case, inputs, out: Path, request, monkeypatch, project_root, settings):
    if case.aws:
        request.getfixturevalue("published")
    monkeypatch.chdir(project_root)
    names = {**{name: str(value) for name, value in inputs.items()}, "out": str(out)}
    names["closed"] = f"http://127.0.0.1:{request.getfixturevalue('closed_port')}"
    for name, value in case.env:
        monkeypatch.setenv(name, value.format(**names))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # an unreachable endpoint fails at once
    result = CliRunner().invoke(main, shlex.split(case.command.format(**names)))
    assert result.exit_code == case.code, result.output
    assert "Traceback" not in result.output, result.output
    leftovers = [path.name for path in out.parent.iterdir() if path.name.startswith(".")]
    assert not leftovers  # nothing half-built beside the output
    if case.code == 1:  # a refused gate or check: the reason, and any output it wrote is whole
        assert case.text in result.output
        assert sorted(path.name for path in out.iterdir()) in (["report.md"], sorted(["report.md", "data_checks.md"]))
        return
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and case.text in errors[0], result.stderr
    assert [path.name for path in out.iterdir()] == ["report.md"]  # the earlier output as it was
    assert (out / "report.md").read_text(encoding="utf-8") == EARLIER
    if case.aws:
        endpoint = request.getfixturevalue("moto_endpoint")
        sagemaker = boto3.client("sagemaker", region_name=settings.aws.region, endpoint_url=endpoint)
        executions = sagemaker.list_pipeline_executions(PipelineName=settings.aws.pipeline_name)
        assert executions["PipelineExecutionSummaries"] == []  # refused before anything started
