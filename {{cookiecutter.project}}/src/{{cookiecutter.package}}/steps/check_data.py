"""Data checks as a SageMaker Processing job: validate the input against a suite, write the report.

Exits non-zero when an expectation fails. In the pipeline it runs with --no-fail, so the job
always succeeds and uploads its report; the preprocess step then refuses data whose result.json
says the checks failed, which stops the pipeline before training with the report in S3.
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument("--suite", type=Path, default=Path("/opt/ml/processing/input/data_checks/training.json"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output/data_checks"))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--as-of", default="latest", help="point-in-time snapshot: each record as known then")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when an expectation fails")
    args = parser.parse_args(argv)
    settings = load_settings(args.settings)
    frame = read_dataset(args.data, settings.dataset, as_of=cutoff(args.as_of))
    frame = generated_ids(frame, settings.dataset, str(args.data))
    result = validate(frame, load_suite(args.suite), data=str(args.data), dataset=settings.dataset)
    args.output.mkdir(parents=True, exist_ok=True)
    write_report(result, args.output / "report.md")
    verdict = {"success": result.success, "failed": len(result.failures), "summary": result.summary()}
    (args.output / "result.json").write_text(json.dumps({**verdict, **asdict(result)}, indent=2, default=str) + "\n")
    print(result.summary())
    if not result.success and not args.no_fail:
        sys.exit(1)


if __name__ == "__main__":
    main()
