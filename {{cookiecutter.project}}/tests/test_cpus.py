"""Threads for XGBoost: the CPUs this process may run on (less a busy one, for training), and
OpenMP threads that wait passively. And the other CPU setting the package makes on import: full
garbage collections that leave the libraries' long-lived objects alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }} import cpus
from {{ cookiecutter.package }}.cpus import usable_cpus
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.settings import Dataset, Hyperparameters
from {{ cookiecutter.package }}.steps.train import train

PACKAGE = "{{ cookiecutter.package }}"


def in_a_new_process(code: str, env: dict | None = None, cpus: set[int] | None = None) -> str:
    """What `code` prints in a fresh interpreter, optionally pinned to `cpus` (like taskset)."""
    base = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **(env or {})},
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


COUNT = f"from {PACKAGE}.cpus import usable_cpus; print(usable_cpus())"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is a Linux API")
def test_usable_cpus_follow_the_affinity_mask_not_the_host_count():
    assert in_a_new_process(COUNT, cpus={min(os.sched_getaffinity(0))}) == "1"
    assert int(in_a_new_process(COUNT)) == len(os.sched_getaffinity(0))


def test_omp_num_threads_caps_them():
    assert in_a_new_process(COUNT, env={"OMP_NUM_THREADS": "1"}) == "1"
    assert int(in_a_new_process(COUNT, env={"OMP_NUM_THREADS": "512"})) <= os.cpu_count()


def test_the_package_makes_openmp_wait_passively_unless_told_otherwise():
    read = f"import os, {PACKAGE}; print(os.environ['OMP_WAIT_POLICY'])"  # what xgboost's OpenMP will read
    assert in_a_new_process(read) == "PASSIVE"
    assert in_a_new_process(read, env={"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_importing_the_libraries_runs_no_full_garbage_collection_and_the_exit_skips_them():
    """XGBoost's import (with pandas, SciPy, scikit-learn) leaves over 100,000 objects: with
    Python's defaults, two full collections walk them during the import and another at exit."""
    probe = (
        f"import atexit, gc, {PACKAGE}\n"
        "full = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'stop' and info['generation'] == 2 and full.append(1))\n"
        "import xgboost\n"
        "atexit._run_exitfuncs()  # what the interpreter runs first on its way out\n"
        "print(len(full), gc.get_freeze_count() > 100_000)"
    )
    assert in_a_new_process(probe) == "0 True"


def test_training_prediction_and_a_loaded_model_use_that_many_threads(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(0, 1, 200), "y": rng.integers(0, 2, 200)})
    dataset = Dataset(
        sample="x.csv", label="y", classes=[0, 1], positive_label=1, numeric_features=["x"], categorical_features=[]
    )
    quick = Hyperparameters(num_round=5, early_stopping_rounds=2)
    model = train(frame, frame, dataset, quick).model
    model.save(tmp_path)

    def threads(booster) -> int:
        return int(json.loads(booster.save_config())["learner"]["generic_param"]["nthread"])

    assert 1 <= threads(model.booster) <= usable_cpus()  # training_threads: fewer when a CPU is busy
    assert threads(TrainedModel.load(tmp_path).booster) == usable_cpus()  # a saved model keeps none


def test_one_usable_cpu_trains_on_one_thread_without_watching_the_cpus(monkeypatch):
    monkeypatch.setattr(cpus, "usable_cpus", lambda: 1)
    monkeypatch.setattr(cpus, "idle_cpus", lambda seconds: pytest.fail("watched the CPUs with one to choose from"))
    assert cpus.training_threads() == 1


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to pin to"
)
def test_training_leaves_a_cpu_that_another_process_keeps_busy():
    first, second = sorted(os.sched_getaffinity(0))[:2]
    busy = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"], preexec_fn=lambda: os.sched_setaffinity(0, {first})
    )
    try:
        choose = f"from {PACKAGE}.cpus import training_threads; print(training_threads())"
        assert in_a_new_process(choose, cpus={first, second}) == "1"
    finally:
        busy.kill()
        busy.wait()
