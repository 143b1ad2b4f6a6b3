"""A baked project switched to another dataset by `data init` alone passes its own tests on it.

For each problem type, the test writes a table that scikit-learn ships (plus a facet column
where the table has none), runs the project's own `data init` on it, and then the project's
`make lint test`: lint and the tests that read the project's data, problem type or answers, on the
new data. Among them: the whole local flow (tests/test_local_run.py, what `make local` runs), the
offline SageMaker definition (tests/test_pipeline.py, `make pipeline`) and its jobs in the rebuilt
SageMaker image (tests/test_containers.py). The modules whose outcome no dataset
changes (SAME_ON_ANY_DATA) run in the default bake's suite (test_generated_suite.py); those that
depend on the answers alone run where LEFT_TO_ANOTHER_BAKE says. Nothing in the project is edited
by hand: that is the promise of "config, not code, to adopt a dataset".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import clean_env, prepare_venv, run
from sklearn import datasets

# Minutes each: three baked projects' whole suites. `make test-fast` leaves them out; `make test` runs them.
pytestmark = pytest.mark.slow

SEED = 7


def with_ids_and_times(frame: pd.DataFrame, id_column: str, time_column: str) -> pd.DataFrame:
    """A record id and a date-only event time per row: with the Feature Store on, they must be in
    the data."""
    frame.insert(0, id_column, [f"r{number:05d}" for number in range(len(frame))])
    frame.insert(1, time_column, pd.date_range("2024-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d"))
    return frame


def breast_cancer() -> pd.DataFrame:
    """Binary, integer labels (1 = malignant), a facet; no ids or times (generated)."""
    frame = datasets.load_breast_cancer(as_frame=True).frame
    frame.columns = [column.replace(" ", "_") for column in frame.columns]
    frame["malignant"] = 1 - frame.pop("target")
    frame["clinic"] = np.random.default_rng(SEED).choice(["north", "south"], size=len(frame))
    return frame


def digits() -> pd.DataFrame:
    """Multiclass (ten digits, named), ids and times, a facet. The 8x8 images are
    pooled to 4x4 (16 pixel columns, each the sum of a 2x2 block): ten classes still, at a quarter
    of the columns' cost in every check, tree and explanation of the project's suite."""
    bunch = datasets.load_digits()
    pooled = bunch.images.reshape(-1, 4, 2, 4, 2).sum(axis=(2, 4)).reshape(len(bunch.images), 16)
    frame = pd.DataFrame(pooled, columns=[f"pixel_{row}_{column}" for row in range(4) for column in range(4)])
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    frame["digit"] = pd.Series(bunch.target).map(dict(enumerate(names)))
    frame["scanner"] = np.random.default_rng(SEED).choice(["flatbed", "camera"], size=len(frame))
    return with_ids_and_times(frame, "image_id", "scanned_on")


def diabetes() -> pd.DataFrame:
    """Regression: disease progression one year on, from ten baseline measurements; ids and
    times, a facet."""
    frame = datasets.load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    frame["clinic"] = np.random.default_rng(SEED).choice(["north", "south"], size=len(frame))
    return with_ids_and_times(frame, "patient_id", "seen_on")


# The generated test modules whose outcome does not depend on the project's data, problem type or
# answers (the default bake runs them): the switched suites leave them out, as the CI time budget
# has no room for running them four times.
SAME_ON_ANY_DATA = {
    "test_locks.py": "the committed lock files, the same in every bake",
    "test_cpus.py": "CPU counts and OpenMP's wait policy",
    "test_memory.py": "the memory estimate and refusal, on frames of its own",
    "test_output.py": "how an output folder is replaced, locked and kept on failure",
    "test_lint.py": "`make lint` refusing bad files (this test runs `make lint` on the switched project)",
    "test_pipeline_offline.py": "which modules a pipeline build imports",
    # Two instances training together run in the default bake (here and in test_containers.py).
    "test_distributed.py": "distributed training's mechanics (an instance given no files, a checkpoint resume)",
}
# Modules whose outcome depends on the answers and the problem type but not on the data, left out
# where another bake with the same answers runs them: the multiclass and regression switches have
# the default bake's answers (single account, Feature Store and Clarify on) and run its infra and
# release tests there; the binary switch has its problem type, so the jobs and the model server in
# the image take the code paths they take there.
LEFT_TO_ANOTHER_BAKE = {
    "binary-no-switches": ("test_containers.py",),
    "multiclass": ("test_infra.py", "test_release.py"),
    "regression": ("test_infra.py", "test_release.py"),
}
# Two instances preprocessing and training in the image: the same code for every problem type (the
# objective changes), run in the default bake's suite.
TWO_INSTANCES = "tests/test_containers.py::test_two_instances_preprocess_and_train_in_the_image"
# The baked suite runs on one worker: the template already runs two slow tests at once.
ONE_WORKER = {"PYTEST_XDIST_AUTO_NUM_WORKERS": "1"}

# name -> (table, data init arguments, template answers). Every problem type runs with the Feature
# Store and Clarify on (the default bake's answers); the binary switch runs the answers the default
# bake leaves untested: no Clarify, no Feature Store, staging and prod in accounts of their own.
STORE_AND_CLARIFY = {"use_feature_store": "yes", "use_clarify": "yes"}
SWITCHES = {
    "binary-no-switches": (
        breast_cancer,
        ["--label", "malignant", "--positive-label", "1"],
        {
            "project": "tumour-model",
            "use_feature_store": "no",
            "use_clarify": "no",
            "staging_account_id": "210987654321",
            "prod_account_id": "345678901234",
        },
    ),
    "multiclass": (
        digits,
        ["--label", "digit", "--facet", "scanner", "--id", "image_id", "--time", "scanned_on"],
        STORE_AND_CLARIFY,
    ),
    "regression": (
        diabetes,
        ["--label", "progression", "--facet", "clinic", "--id", "patient_id", "--time", "seen_on"],
        STORE_AND_CLARIFY,
    ),
}
EXPECTED_TYPE = {"binary-no-switches": "binary", "multiclass": "multiclass", "regression": "regression"}


@pytest.mark.parametrize("name", list(SWITCHES))
def test_data_init_switches_a_project_to_another_dataset(bake, tmp_path, name):
    make_table, arguments, answers = SWITCHES[name]
    project = bake(tmp_path, **answers)
    prepare_venv(project)
    table = tmp_path / f"{name}.csv"
    make_table().to_csv(table, index=False)
    cli = project / ".venv" / "bin" / project.name

    run([cli, "data", "init", "--data", table, *arguments, "--force"], cwd=project, env=clean_env())

    settings = yaml.safe_load((project / "project.yaml").read_text())
    assert settings["dataset"]["problem_type"] == EXPECTED_TYPE[name]
    sample = project / settings["dataset"]["sample"]
    assert sample.is_file() and sample.name != "adult.csv"
    left_out = [*SAME_ON_ANY_DATA, *LEFT_TO_ANOTHER_BAKE[name]]
    for module in left_out:
        assert (project / "tests" / module).is_file(), f"{module} is gone: update this test's lists"
    ignored = " ".join([*(f"--ignore=tests/{module}" for module in left_out), f"--deselect={TWO_INSTANCES}"])
    tested = run(["make", "lint", "test"], cwd=project, env=clean_env(**ONE_WORKER, PYTEST_ADDOPTS=ignored))
    assert " passed" in tested.stdout and " failed" not in tested.stdout, tested.stdout[-2000:]
