"""The {{ cookiecutter.project }} command line: one entry point for every task on this model.

Exit codes: 0 success, 1 a gate or check refused, 2 bad input (settings, data, arguments, the AWS
sign-in, profile or network), 3 an unexpected error (a bug: the traceback is printed), 130
interrupted (Ctrl-C) or a confirmation answered no. See cli_support.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_support import GATE_REFUSED, reports_errors, settings_option
from .context import load_context
from .errors import ProjectError
{%- if cookiecutter.use_feature_store == "yes" %}
from .feature_store.cli import features
{%- endif %}
from .output import refuse_if_busy, write_file
from .release.cli import deploy, predict, promote, registry
from .settings import load_settings

if TYPE_CHECKING:
    from .local import LocalRun


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="{{ cookiecutter.project }}")
def main() -> None:
    """{{ cookiecutter.description }}"""


@main.group()
def local() -> None:
    """Run the model flow on this machine, no AWS needed."""


@local.command("run")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="CSV file (or folder of CSV files) with the project.yaml schema  [default: project.yaml's dataset.sample]",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("build/local"),
    show_default=True,
    help="Directory for the model, evaluation.json and report.md (replaced when the run ends).",
)
@settings_option
@reports_errors
def local_run(data: Path | None, out: Path, settings: Path) -> None:
    """Preprocess, train, evaluate and apply the gates, as the SageMaker pipeline does."""
    project = load_settings(settings)  # a bad settings file is refused before the heavy imports,
    refuse_if_busy(out)  # and so is a folder another run is writing
    from .local import run_local

    conclude(run_local(project, data=data or project.dataset.sample, out=out))


def conclude(run: LocalRun) -> None:
    """How `local run` ends: the gates that passed, each refusal's message, the report's path, then
    the decision (exit 1 when a gate refused)."""
    passed = [gate for gate in run.gates if gate.passed]
    kinds = ", ".join(sorted({gate.gate for gate in passed}))
    click.echo(f"Gates: {len(passed)} of {len(run.gates)} passed" + (f" ({kinds})" if kinds else ""))
    for gate in run.gates:
        if not gate.passed:
            click.echo(gate.message)
    click.echo(f"Report: {run.out / 'report.md'}")
    if not run.passed:
        click.echo("Decision: the model must not be registered.", err=True)
        raise SystemExit(GATE_REFUSED)
    click.echo("Decision: the model may be registered.")


@main.group()
def data() -> None:
    """Bring your own data: profile a file and propose the project's data settings."""


@data.command("init")
@click.option("--data", "path", type=click.Path(path_type=Path), required=True, help="CSV or Parquet file to profile.")
@click.option("--label", required=True, help="The column to predict.")
@click.option("--problem-type", type=click.Choice(["binary", "multiclass", "regression"]), help="Default: inferred.")
@click.option(
    "--positive-label", help="Binary: the positive class (default: 1, true or yes if present, else the rarer)."
)
@click.option("--id", "record_id", help="The column that identifies a row (default: record_id, generated if absent).")
@click.option("--time", "event_time", help="The column with each row's ISO 8601 time (default: event_time).")
@click.option("--facet", "facets", multiple=True, help="A sensitive column to audit for bias (repeatable).")
@click.option("--force", is_flag=True, help="Replace files that exist (each is shown as a diff first).")
@click.option("--dry-run", is_flag=True, help="Only show what would change; write nothing.")
@settings_option
@reports_errors
def data_init(
    path: Path,
    label: str,
    problem_type: str | None,
    positive_label: str | None,
    record_id: str | None,
    event_time: str | None,
    facets: tuple[str, ...],
    force: bool,
    dry_run: bool,
    settings: Path,
) -> None:
    """Profile DATA and write project.yaml's data sections, data_checks/, the feature group and
    data/sample/ from it, then list what a person must still decide."""
    import time

    from .data_init.changes import apply
    from .data_init.plan import plan as plan_changes
    from .data_init.profile import profile

    started = time.perf_counter()
    found = profile(path, label, problem_type, positive_label)
    plan = plan_changes(found, Path(), settings, record_id, event_time, facets)
    seconds = time.perf_counter() - started
    columns = len(found.columns) + 1
    click.echo(
        f"Profiled {path}: {found.rows:,} rows, {columns} columns, a {found.problem_type} label, in {seconds:.1f} s"
    )
    for change in plan.changes:
        if change.status != "unchanged":
            click.echo(f"\n{change.status}: {change.path}")
            click.echo(change.diff(), nl=False)
    if not any(change.status != "unchanged" for change in plan.changes):
        click.echo("Nothing to change: the project already says this.")
    if plan.overwrites and not force and not dry_run:
        names = ", ".join(str(change.path) for change in plan.overwrites)
        raise ProjectError(
            f"data init would replace {names}; nothing written: review the diffs above, then add --force"
        )
    if dry_run:
        click.echo("\nDry run: nothing written.")
    else:
        written = apply(plan, Path())
        click.echo(f"\nWrote {len(written)} file(s): {', '.join(written) or 'none'}")
    click.echo("\nStill to decide (a person, not data init):")
    for number, item in enumerate(plan.checklist, 1):
        click.echo(f"  {number}. {item}")


@main.group()
def checks() -> None:
    """Great Expectations data checks (suites in data_checks/)."""


@checks.command("run")
@click.option("--suite", required=True, help="Suite name: a file data_checks/NAME.json (e.g. training, inference).")
@click.option(
    "--data", type=click.Path(path_type=Path), help="CSV file or folder of CSV files  [default: dataset.sample]"
)
@click.option("--report", type=click.Path(path_type=Path, dir_okay=False), help="Also write a Markdown report here.")
@click.option(
    "--suites-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("data_checks"), show_default=True
)
@settings_option
@reports_errors
def checks_run(suite: str, data: Path | None, report: Path | None, suites_dir: Path, settings: Path) -> None:
    """Validate DATA against a suite; exit 1 when an expectation fails."""
    from .checks import load_suite, suite_path, validate, write_report
    from .data import generated_ids, read_dataset

    expectations = load_suite(suite_path(suite, suites_dir))
    dataset = load_settings(settings).dataset
    data = data or dataset.sample
    frame = generated_ids(read_dataset(data, dataset), dataset, str(data))
    result = validate(frame, expectations, data=str(data), dataset=dataset)
    click.echo(result.summary())
    if report:
        click.echo(f"Report: {write_report(result, report)}")
    if not result.success:
        raise SystemExit(GATE_REFUSED)


@main.command()
@click.option("--data", type=click.Path(path_type=Path), required=True, help="CSV file with the feature columns.")
@click.option("--row", "rows", type=int, multiple=True, help="0-based row number to explain (repeatable).")
@click.option("--id", "ids", multiple=True, help="Record id to explain (repeatable; needs the record id column).")
@click.option(
    "--model-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("build/local/model"),
    show_default=True,
)
@click.option(
    "--all-rows",
    is_flag=True,
    help="Globally: every row of the file (exact TreeSHAP costs about 1 ms a row), not a random sample.",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the explanations as JSON here.")
@settings_option
@reports_errors
def explain(
    data: Path,
    rows: tuple[int, ...],
    ids: tuple[str, ...],
    model_dir: Path,
    all_rows: bool,
    out: Path | None,
    settings: Path,
) -> None:
    """Explain predictions with TreeSHAP: per row, or globally when no --row/--id is given (on a
    random sample of the rows, as large as each top feature's standard error needs, unless --all-rows)."""
    import json

    from . import explain as shap
    from .data import generated_ids, read_dataset
    from .model import TrainedModel

    if all_rows and (rows or ids):
        raise ProjectError("--all-rows is for the whole file: leave it out with --row or --id")
    project = load_settings(settings)
    dataset = project.dataset
    model = TrainedModel.load(model_dir)
    frame = generated_ids(read_dataset(data, dataset), dataset, str(data))  # a generated id is the row number
    if ids:
        if dataset.record_id not in frame.columns:
            raise ProjectError(f"{data}: no '{dataset.record_id}' column to look up --id values")
        known = frame[dataset.record_id].astype(str)
        missing = [i for i in ids if i not in set(known)]
        if missing:
            raise ProjectError(f"{data}: no row with {dataset.record_id} {', '.join(missing)}")
        rows += tuple(int((known == i).to_numpy().nonzero()[0][0]) for i in ids)
    bad = [r for r in rows if not 0 <= r < len(frame)]
    if bad:
        raise ProjectError(f"--row {bad[0]} is out of range: {data} has rows 0 to {len(frame) - 1}")
    for warning in shap.check_rows(model, frame.iloc[list(rows)] if rows else frame, str(data)):
        click.echo(f"Warning: {warning}", err=True)
    if rows:
        selected = frame.iloc[list(rows)]
        labels = selected[dataset.record_id].tolist() if dataset.record_id in frame.columns else list(rows)
        result = shap.explain_rows(model, selected, ids=labels)
        for item in result["explanations"]:
            # Multiclass: each row is explained for its predicted class, from that class's base.
            base = item.get("expected_value", result["expected_value"])
            if dataset.problem_type == "regression":
                said = f"prediction {item['score']:.4f} (base value {base:.3f})"
            else:
                chosen = f"class {item['class']}, " if "class" in item else ""
                said = f"{chosen}score {item['score']:.4f} (base log-odds {base:.3f})"
            click.echo(f"{dataset.record_id} {item['id']}: {said}")
            for contribution in item["contributions"][:8]:
                click.echo(f"  {contribution['shap_value']:+.4f}  {contribution['feature']} = {contribution['value']}")
    else:
        result = _explain_globally(model, frame, None if all_rows else project.split.seed)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        click.echo(f"Wrote {out}")


def _explain_globally(model, frame, seed: int | None) -> dict:
    """Mean |SHAP value| per feature, printed: on every row (seed None), or on a random sample as
    large as each top feature's standard error needs (the local run's), each mean with its error."""
    from . import explain as shap

    if seed is None:
        result = shap.global_explanation(model, frame)
    else:
        # The leading rows of a shuffle are a random sample however the file is sorted (seeded with
        # project.yaml's split seed: the same file gives the same answer).
        shuffled = frame.sample(frac=1, random_state=seed)
        result = shap.global_explanation(model, shuffled, relative_error=shap.RELATIVE_ERROR)
    tree_shap = result["explanations"]["tree_shap"]
    ranked, errors = tree_shap["global_shap_values"], tree_shap["standard_errors"]
    if tree_shap["rows"] < len(frame):
        click.echo(
            f"mean |SHAP value| ± one standard error over a random {tree_shap['rows']:,} of "
            f"{len(frame):,} rows ({tree_shap['units']}; --all-rows for every row):"
        )
        for name, value in ranked.items():
            click.echo(f"  {value:.4f} ± {errors[name]:.4f}  {name}")
    else:
        click.echo(f"mean |SHAP value| over {len(frame):,} rows ({tree_shap['units']}):")
        for name, value in ranked.items():
            click.echo(f"  {value:.4f}  {name}")
    return result


@main.group()
def pipeline() -> None:
    """The SageMaker pipeline: build offline, review, publish, run, follow."""


name_option = click.option("--name", help="Pipeline name (default: aws.pipeline_name), e.g. a per-pull-request copy.")


@pipeline.command("build")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("build/pipeline/definition.json"),
    show_default=True,
)
@click.option("--mermaid", type=click.Path(path_type=Path, dir_okay=False), help="Also write the DAG as Mermaid.")
@name_option
@settings_option
@reports_errors
def pipeline_build(out: Path, mermaid: Path | None, name: str | None, settings: Path) -> None:
    """Write the definition JSON with no AWS credentials or network (same commit, same bytes)."""
    from .pipeline.definition import build
    from .pipeline.render import mermaid as render_mermaid

    built = build(load_settings(settings), name=name, settings_file=settings)
    write_file(out, built.definition)
    size, steps = len(built.definition.encode()), len(built.parsed["Steps"])
    click.echo(f"Wrote {out}: {size:,} bytes, {steps} top-level steps, {len(built.uploads)} files to upload")
    if mermaid:
        write_file(mermaid, render_mermaid(built.parsed, fenced=True) + "\n", option="--mermaid")
        click.echo(f"Wrote {mermaid}")


@pipeline.command("lock")
@click.option("--check", is_flag=True, help="Only check: exit 1 if a lock is missing, stale or replaces an image pin.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path(), show_default=True)
@reports_errors
def pipeline_lock(check: bool, root: Path) -> None:
    """Resolve containers/*.lock (uv) for the SageMaker image's Python, platform and pins."""
    from .pipeline.locks import lock, lock_problems

    if not check:
        lock(root, echo=click.echo)
    problems = lock_problems(root)
    if len(problems) == 1:
        raise click.ClickException(problems[0])
    if problems:
        raise click.ClickException("\n".join(["locks cannot be used as they are:", *problems]))
    click.echo("locks: fresh, and none replaces a package its image pins")


@pipeline.command("diff")
@click.argument("base", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("head", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@reports_errors
def pipeline_diff(base: Path, head: Path) -> None:
    """What changed between two definitions, as Markdown for a pull-request summary."""
    import json

    from .pipeline.render import diff, format_diff

    def read(path: Path) -> dict:
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ProjectError(f"{path}: not a pipeline definition (invalid JSON: {error})") from None
        if not isinstance(definition, dict) or not isinstance(definition.get("Steps", []), list):
            raise ProjectError(f"{path}: not a pipeline definition (expected the object `pipeline build` writes)")
        return definition

    click.echo(format_diff(diff(read(base), read(head))))


@pipeline.command("upsert")
@name_option
@settings_option
@reports_errors
def pipeline_upsert(name: str | None, settings: Path) -> None:
    """Upload step code and configs (only what is missing), then create or update the pipeline."""
    from .pipeline.definition import build
    from .pipeline.images import load_images
    from .pipeline.publish import require_bucket, upload, upload_wheels, upsert

    context = load_context(settings)
    aws, root = context.aws, context.root
    name = name or aws.pipeline_name
    s3 = context.client("s3")
    require_bucket(s3, aws.bucket)  # seconds, where the build takes half a minute
    built = build(context.settings, root, name=name, settings_file=context.settings_file)
    upload(s3, built, echo=click.echo)
    upload_wheels(s3, built, load_images(root)["xgboost"], root / "build/wheels", echo=click.echo)
    arn, action = upsert(
        context.client("sagemaker"),
        name,
        built,
        aws.role_arn,
        f"{name}: published by `pipeline upsert` from {root.resolve().name}",
    )
    click.echo(f"Pipeline {action}: {arn}")


@pipeline.command("run")
@name_option
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a pipeline parameter.")
@click.option("--wait/--no-wait", default=False, show_default=True, help="Follow the execution until it ends.")
@click.option("--timeout", type=click.FloatRange(min=1), default=3600.0, show_default=True, help="Seconds to wait.")
@click.option("--poll", type=click.FloatRange(min=0), default=30.0, show_default=True, help="Seconds between checks.")
@settings_option
@reports_errors
def pipeline_run(
    name: str | None, params: tuple[str, ...], wait: bool, timeout: float, poll: float, settings: Path
) -> None:
    """Start an execution (parameters are checked against the published definition first).

    Without --param InputDataUri=..., it runs on the latest completed data drop."""
    from .pipeline import executions
    from .pipeline.drops import latest_drop, split_uri
    from .pipeline.parameters import parse_overrides
    from .pipeline.publish import require_bucket

    context = load_context(settings)
    aws, sagemaker = context.aws, context.client("sagemaker")
    name = name or aws.pipeline_name
    # The published definition is what runs, so its parameters are the ones to check against.
    overrides = parse_overrides(params, executions.published_definition(sagemaker, name))
    if not any(p["Name"] == "InputDataUri" for p in overrides):
        s3 = context.client("s3")
        require_bucket(s3, split_uri(aws.data_drops_uri)[0], "aws.data_drops_uri")
        drop = latest_drop(s3, aws.data_drops_uri)
        overrides.append({"Name": "InputDataUri", "Value": drop})
        click.echo(f"Data: {drop} (the latest completed drop)")
    commit = next((p["Value"] for p in overrides if p["Name"] == "GitCommit"), "")
    arn = executions.start(sagemaker, name, overrides, display_name=f"{name}-{commit[:12] or 'manual'}")
    click.echo(f"Started {arn}")
    if not wait:
        return
    execution = executions.wait(sagemaker, arn, timeout, echo=click.echo, poll=poll)
    click.echo(f"Console: {execution.console_url(aws.region)}")
    if execution.status != "Succeeded":
        raise click.ClickException(f"execution {execution.status}: {execution.failure or 'see the console'}")


@pipeline.command("status")
@click.argument("execution", required=False)
@name_option
@settings_option
@reports_errors
def pipeline_status(execution: str | None, name: str | None, settings: Path) -> None:
    """Status of EXECUTION (an ARN), or of the pipeline's latest execution."""
    from .pipeline import executions

    context = load_context(settings)
    aws, sagemaker = context.aws, context.client("sagemaker")
    found = executions.describe(sagemaker, execution or executions.latest(sagemaker, name or aws.pipeline_name))
    click.echo(f"{found.arn}\n  status: {found.status}, started {found.started}")
    if found.failure:
        click.echo(f"  failed: {found.failure}")
    click.echo(f"  console: {found.console_url(aws.region)}")


@main.command()
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print the chain as JSON.")
@settings_option
@reports_errors
def lineage(version: str, as_json: bool, settings: Path) -> None:
    """Where model VERSION (a number or ARN) came from: execution, data, commit."""
    import json

    from .pipeline.lineage import describe_chain
    from .pipeline.lineage import lineage as trace

    context = load_context(settings)
    chain = trace(context.client("sagemaker"), context.aws.model_package_group, version)
    click.echo(json.dumps(chain, indent=2) if as_json else describe_chain(chain))


main.add_command(registry)
main.add_command(promote)
main.add_command(deploy)
main.add_command(predict)
{%- if cookiecutter.use_feature_store == "yes" %}
main.add_command(features)
{%- endif %}
