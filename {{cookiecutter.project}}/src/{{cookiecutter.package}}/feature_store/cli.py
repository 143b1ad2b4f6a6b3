"""`features ...`: the Feature Store commands (plan, apply, ingest, get, dataset)."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_support import GATE_REFUSED, reports_errors, settings_option
from ..context import Context, load_context
from ..errors import ProjectError
from ..output import write_file
from .definition import FEATURES_DIR, FeatureGroup, check_against, find_group, group_files, load_group

group_option = click.option(
    "--group", "key", required=True, help="Feature group: a file features/NAME.yaml (e.g. census) or its group name."
)
features_dir_option = click.option(
    "--features-dir", type=click.Path(path_type=Path, file_okay=False), default=FEATURES_DIR, show_default=True
)


def _load(settings: Path, key: str | None, features_dir: Path) -> tuple[Context, list[tuple[Path, FeatureGroup]]]:
    """(the command's context, [(file, group)]) with every group checked against project.yaml."""
    context = load_context(settings)
    if key:
        chosen = [find_group(key, features_dir)]
    else:
        chosen = [(path, load_group(path)) for path in group_files(features_dir)]
    for path, group in chosen:
        check_against(group, context.settings.dataset, str(path))
    return context, chosen


@click.group()
def features() -> None:
    """SageMaker Feature Store: groups in features/*.yaml, online and offline stores."""


@features.command("plan")
@click.option("--group", "key", help="Only this group (default: every file in features/).")
@features_dir_option
@settings_option
@reports_errors
def features_plan(key: str | None, features_dir: Path, settings: Path) -> None:
    """Show what `features apply` would change; exit 1 if a change cannot be made in place."""
    from .plan import describe, plan

    context, chosen = _load(settings, key, features_dir)
    sagemaker = context.client("sagemaker")
    refused = False
    for path, group in chosen:
        change = plan(group, describe(sagemaker, group.name), str(path))
        refused |= bool(change.refused)
        click.echo("\n".join(change.lines()))
    if refused:
        raise SystemExit(GATE_REFUSED)


@features.command("apply")
@click.option("--group", "key", help="Only this group (default: every file in features/).")
@click.option("--timeout", type=click.FloatRange(min=1), default=900.0, show_default=True, help="Seconds to wait.")
@click.option("--poll", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Seconds between checks.")
@features_dir_option
@settings_option
@reports_errors
def features_apply(key: str | None, timeout: float, poll: float, features_dir: Path, settings: Path) -> None:
    """Create missing groups and add new features to existing ones; a second run changes nothing."""
    from .plan import apply, describe, plan, require_idle

    context, chosen = _load(settings, key, features_dir)
    sagemaker = context.client("sagemaker")
    changes = []
    for path, group in chosen:  # plan everything first: refuse before changing anything
        current = describe(sagemaker, group.name)
        require_idle(current, group.name)
        changes.append(plan(group, current, str(path)))
    refused = [line for change in changes if change.refused for line in change.lines()]
    if refused:
        raise ProjectError("nothing applied:\n" + "\n".join(refused))
    for change in changes:
        click.echo("\n".join(change.lines()))
        apply(sagemaker, change, context.aws, echo=click.echo, timeout=timeout, poll=poll)


@features.command("ingest")
@group_option
@click.option(
    "--data", type=click.Path(path_type=Path), help="CSV or Parquet file, or a folder  [default: dataset.sample]"
)
@click.option("--batch-size", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--workers", type=click.IntRange(min=1, max=64), default=8, show_default=True)
@click.option("--attempts", type=click.IntRange(min=1), default=3, show_default=True, help="Tries per record.")
@click.option(
    "--failed-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write rows that did not land (default: build/features/GROUP-failed.csv).",
)
@click.option(
    "--suites-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("data_checks"), show_default=True
)
@features_dir_option
@settings_option
@reports_errors
def features_ingest(
    key: str,
    data: Path | None,
    batch_size: int,
    workers: int,
    attempts: int,
    failed_out: Path | None,
    suites_dir: Path,
    features_dir: Path,
    settings: Path,
) -> None:
    """Check DATA with the group's suite, transform it as training does, and write it to the store."""
    from ..checks import load_suite, suite_path, validate
    from ..data import read_dataset, with_ids
    from .ingest import ingest, runtime_client
    from .records import transform

    context, [(_path, group)] = _load(settings, key, features_dir)
    project = context.settings
    data = data or context.root / project.dataset.sample
    frame = with_ids(read_dataset(data, project.dataset), project.dataset, str(data), generate=False)
    suite = load_suite(suite_path(group.data_checks, suites_dir))
    result = validate(frame, suite, data=str(data), dataset=project.dataset)
    click.echo(result.summary())
    if not result.success:
        click.echo(f"Nothing ingested: {data} failed the '{group.data_checks}' checks.", err=True)
        raise SystemExit(GATE_REFUSED)
    rows = transform(frame, group, project.dataset)
    runtime = runtime_client(context, workers)
    outcome = ingest(runtime, group, rows, batch_size=batch_size, workers=workers, attempts=attempts, echo=click.echo)
    click.echo(
        f"{group.name}: {outcome.ingested:,} of {outcome.rows:,} rows ingested in {outcome.seconds:.1f} s "
        f"({outcome.rows_per_second:,.0f} rows/s)"
    )
    if len(outcome.failed):
        failed_out = failed_out or Path("build/features") / f"{group.name}-failed.csv"
        write_file(failed_out, outcome.failed.to_csv(index=False), option="--failed-out")
        first = outcome.failed["error"].iloc[0]
        click.echo(f"{len(outcome.failed):,} row(s) did not land, e.g. {first}; all of them: {failed_out}", err=True)
        raise SystemExit(GATE_REFUSED)


@features.command("get")
@group_option
@click.option("--id", "ids", multiple=True, help="Record id (repeatable: several ids are read in batches).")
@click.option("--ids-file", type=click.File(), help="A file with one record id per line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records instead of a table.")
@features_dir_option
@settings_option
@reports_errors
def features_get(key: str, ids: tuple[str, ...], ids_file, as_json: bool, features_dir: Path, settings: Path) -> None:
    """Read records from the online store, as the model sees them; exit 1 if an id is not found."""
    from .online import get_record, get_records

    wanted = [*ids, *(line.strip() for line in ids_file or [] if line.strip())]
    if not wanted:
        raise ProjectError("give at least one --id (or --ids-file)")
    context, [(_path, group)] = _load(settings, key, features_dir)
    project, runtime = context.settings, context.client("sagemaker-featurestore-runtime")
    if len(wanted) == 1:
        found = get_record(runtime, group, project.dataset, wanted[0])
        frame, missing = (found, []) if found is not None else (None, wanted)
    else:
        lookup = get_records(runtime, group, project.dataset, wanted)
        frame, missing = lookup.found, lookup.missing
    if frame is not None and len(frame):
        if as_json:
            click.echo(frame.to_json(orient="records", lines=True).rstrip("\n"))
        else:
            click.echo(frame.set_index(group.record_identifier).T.to_string())
    if missing:
        click.echo(f"not in the online store: {', '.join(missing)}", err=True)
        raise SystemExit(GATE_REFUSED)


@features.command("dataset")
@group_option
@click.option("--as-of", help="Each record as known at this time (ISO 8601); default: the latest.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the snapshot as a CSV here.")
@features_dir_option
@settings_option
@reports_errors
def features_dataset(key: str, as_of: str | None, out: Path | None, features_dir: Path, settings: Path) -> None:
    """A point-in-time training set from the offline store, for `local run` or the pipeline."""
    from ..data import parse_time
    from .offline import offline_uri, snapshot

    if as_of:
        parse_time(as_of)  # refuse a bad time before any AWS call
    context, [(_path, group)] = _load(settings, key, features_dir)
    uri = offline_uri(context.client("sagemaker"), group)
    click.echo(f"Offline store: {uri}")
    if out:
        frame = snapshot(context.client("s3"), uri, context.settings.dataset, as_of, echo=click.echo)
        write_file(out, frame.to_csv(index=False))
        click.echo(f"Wrote {out}: {len(frame):,} records as of {as_of or 'now'}")
    at = f" --param AsOf={as_of}" if as_of else ""
    click.echo(f"Train on it in SageMaker: {{ cookiecutter.project }} pipeline run --param InputDataUri={uri}{at}")
