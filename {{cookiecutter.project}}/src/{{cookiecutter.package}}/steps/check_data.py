"""Data checks as a SageMaker Processing job: validate the input against a suite, write the report.

Exits non-zero when an expectation fails. In the pipeline it runs with --no-fail, so the job
always succeeds and uploads its report; the preprocess step then refuses data whose result.json
says the checks failed, which stops the pipeline before training with the report in S3.

On several instances (ProcessingInstanceCount > 1) each validates its shard of the data's files
and writes result-<host>.json and report-<host>.md; the preprocess step merges the results
(shard_checks.py says which expectations are judged exactly on the whole data, which per shard).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..checks import load_suite, validate, write_report
from ..data import cutoff, generated_ids, read_dataset
from ..settings import DEFAULT_PATH, load_settings
from ..shard_checks import RESULT, file_columns, write_unique_keys
from ..shards import has_data, processing_cluster
from .job_paths import DATA, DATA_CHECKS, SUITE, input_dir, output_dir


def argument_parser() -> argparse.ArgumentParser:
    """The job's options. Where SageMaker mounts a path, that folder (job_paths) is its default."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(input_dir(DATA)))
    parser.add_argument("--suite", type=Path, default=Path(SUITE))
    parser.add_argument("--output", type=Path, default=Path(output_dir(DATA_CHECKS)))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--as-of", default="latest", help="point-in-time snapshot: each record as known then")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when an expectation fails")
    parser.add_argument("--resource-config", type=Path, help="the job's resourceconfig.json: which instance this is")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    settings = load_settings(args.settings)
    cluster = processing_cluster(args.resource_config)
    suite = load_suite(args.suite)
    args.output.mkdir(parents=True, exist_ok=True)
    result_file = args.output / cluster.file_name(RESULT, ".json")
    shard = {"host": cluster.current, "expectations": suite["expectations"]} if cluster.several else {}
    if cluster.several and not has_data(args.data):  # fewer data files than instances
        empty = {"success": True, "failed": 0, "summary": "no data files in this instance's share", "rows": 0}
        result_file.write_text(json.dumps({**empty, **shard, "outcomes": []}, indent=2) + "\n")
        print(f"{cluster.current}: {empty['summary']} of {args.data}")
        return
    frame = read_dataset(args.data, settings.dataset, as_of=cutoff(args.as_of))
    if cluster.several:
        shard["unique_keys"] = write_unique_keys(frame, suite, file_columns(args.data), args.output, cluster)
    frame = generated_ids(frame, settings.dataset, str(args.data))
    result = validate(frame, suite, data=str(args.data), dataset=settings.dataset)
    write_report(result, args.output / cluster.file_name("report", ".md"))
    verdict = {"success": result.success, "failed": len(result.failures), "summary": result.summary()}
    result_file.write_text(json.dumps({**verdict, **asdict(result), **shard}, indent=2, default=str) + "\n")
    print(result.summary())
    if not result.success and not args.no_fail:
        sys.exit(1)


if __name__ == "__main__":
    main()
