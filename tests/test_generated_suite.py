"""A baked project passes its own `make test` (`make local` on a default bake runs in the
workflow harness's pull-request job, tests/test_workflow_harness.py).

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
def test_baked_project_passes_its_own_checks(bake, tmp_path, answers):
    project = bake(tmp_path, **answers)
    prepare_venv(project)

    # One worker: the template already runs two slow tests at once.
    tested = run(["make", "test"], cwd=project, env=clean_env(PYTEST_XDIST_AUTO_NUM_WORKERS="1"))
    assert " passed" in tested.stdout and " failed" not in tested.stdout, tested.stdout[-2000:]
