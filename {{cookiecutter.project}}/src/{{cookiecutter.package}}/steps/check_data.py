"""Data checks as a SageMaker Processing job: validate the input against a suite, write the report.

Exits non-zero when an expectation fails, which fails the job and so stops the pipeline before
training; the report (Markdown and JSON) is in the job's output either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..checks import load_suite, validate, write_report
from ..data import read_dataset
from ..settings import DEFAULT_PATH, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/opt/ml/processing/input/data"))
    parser.add_argument("--suite", type=Path, default=Path("/opt/ml/processing/input/data_checks/training.json"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output/data_checks"))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    settings = load_settings(args.settings)
    frame = read_dataset(args.data, settings.dataset)
    result = validate(frame, load_suite(args.suite), data=str(args.data))
    write_report(result, args.output / "report.md")
    (args.output / "result.json").write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    print(result.summary())
    if not result.success:
        sys.exit(1)


if __name__ == "__main__":
    main()
