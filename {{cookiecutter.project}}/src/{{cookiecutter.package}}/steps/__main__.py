"""`python -m {{ cookiecutter.package }}.steps STEP [ARGS]`: how SageMaker jobs run a step module.

A refused input ends the job with one line that SageMaker shows as the step's failure reason.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ..errors import ProjectError

STEPS = ("check_data", "preprocess", "train", "evaluate", "gate")
# SageMaker reads a failed job's reason from these files (Processing, Training).
FAILURE_FILES = (Path("/opt/ml/output/message"), Path("/opt/ml/output/failure"))


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in STEPS:
        sys.exit(f"usage: python -m {__package__} STEP [ARGS], where STEP is one of: {', '.join(STEPS)}")
    module = importlib.import_module(f"{__package__}.{argv[0]}")
    try:
        module.main(argv[1:])
    except ProjectError as error:
        for path in FAILURE_FILES:
            if path.parent.is_dir():
                path.write_text(str(error)[:1000], encoding="utf-8")
        sys.exit(f"Error: {error}")


if __name__ == "__main__":
    main(sys.argv[1:])
