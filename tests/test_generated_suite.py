"""A baked project passes its own `make test` and runs `make local` end to end.

The project's `.venv` borrows this venv's packages (see helpers.prepare_venv), so these run
the project's real Makefile targets without downloading anything.
"""

from __future__ import annotations

import pytest
from helpers import clean_env, prepare_venv, run

VARIANTS = {
    "defaults": {},
    # Same Python as the template venv: the baked venv borrows its compiled packages.
    "churn-model-no-clarify-separate-accounts": {
        "project": "churn-model",
        "use_clarify": "no",
        "use_feature_store": "no",
        "staging_account_id": "210987654321",
        "prod_account_id": "345678901234",
    },
}


@pytest.mark.parametrize("answers", list(VARIANTS.values()), ids=list(VARIANTS))
def test_baked_project_passes_its_own_checks_and_runs_locally(bake, tmp_path, answers):
    project = bake(tmp_path, **answers)
    prepare_venv(project)

    tested = run(["make", "test"], cwd=project, env=clean_env())
    assert " passed" in tested.stdout, tested.stdout[-2000:]

    run(["make", "local"], cwd=project, env=clean_env())
    assert (project / "build" / "local" / "report.md").is_file()
