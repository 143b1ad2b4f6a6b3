"""A baked project passes its own `make test` and runs `make local` end to end.

The project's `.venv` borrows this venv's packages (see helpers.prepare_venv), so these run
the project's real Makefile targets without downloading anything.
"""

from __future__ import annotations

import pytest
from helpers import clean_env, prepare_venv, run

# Minutes: a baked project's whole suite. `make test-fast` leaves it out; `make test` runs it.
pytestmark = pytest.mark.slow

# The other answers (no Clarify, no Feature Store, separate accounts, each problem type) are
# baked, switched to other data and tested the same way in test_bring_your_own_data.py.
VARIANTS = {"defaults": {}}


@pytest.mark.parametrize("answers", list(VARIANTS.values()), ids=list(VARIANTS))
def test_baked_project_passes_its_own_checks_and_runs_locally(bake, tmp_path, answers):
    project = bake(tmp_path, **answers)
    prepare_venv(project)

    tested = run(["make", "test"], cwd=project, env=clean_env())
    assert " passed" in tested.stdout, tested.stdout[-2000:]

    run(["make", "local"], cwd=project, env=clean_env())
    assert (project / "build" / "local" / "report.md").is_file()
