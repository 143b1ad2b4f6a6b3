"""Distributed training as a SageMaker training job runs it on several instances: the real
training step (`python -m <package>.steps train`) started once per instance on this machine, the
instances named 127.0.0.1, 127.0.0.2 (SM_HOSTS, SM_CURRENT_HOST, as the SDK's driver exports
them), each on its shard of the train and validation splits, XGBoost's tracker on the first.
tests/test_containers.py runs the same job from the built definition in the SageMaker image."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.gates import METRICS_KEY, metric_value
from {{ cookiecutter.package }}.model import BOOSTER_FILE, TrainedModel
from {{ cookiecutter.package }}.steps.evaluate import HEADLINE, evaluate

PACKAGE = "{{ cookiecutter.package }}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_on_instances(
    shares: list[dict[str, pd.DataFrame]],
    settings_path: Path,
    base: Path,
    checkpoints: bool = False,
    first_host_last: bool = False,
) -> dict[str, dict]:
    """One training process per instance, each on its share ({} for an instance given no files),
    with managed spot's checkpoint folder (<host>/checkpoints) if asked; per host: its exit code,
    its output, its model and checkpoint folders. With `first_host_last`, the first host (the
    tracker's) starts only once the others wait for it, as when its instance starts late."""
    hosts = [f"127.0.0.{number}" for number in range(1, len(shares) + 1)]
    port, started, early = _free_port(), {}, {}
    order = [*zip(hosts, shares, strict=True)]
    for host, share in order[1:] + order[:1] if first_host_last else order:
        if first_host_last and host == hosts[0]:
            early = {other: _until_waiting(process) for other, process in started.items()}
        for name in ("train", "validation"):
            (base / host / name).mkdir(parents=True, exist_ok=True)
            if name in share:
                share[name].to_csv(base / host / name / f"{name}.csv", index=False)
        env = {**os.environ, "SM_HOSTS": json.dumps(hosts), "SM_CURRENT_HOST": host, "XGBOOST_TRACKER_PORT": str(port)}
        env["OMP_NUM_THREADS"] = "1"  # each instance stands for a machine of its own; here they share the cores
        command = [sys.executable, "-m", f"{PACKAGE}.steps", "train", "--settings", str(settings_path),
                   "--train", str(base / host / "train"), "--validation", str(base / host / "validation"),
                   "--model-dir", str(base / host / "model")]  # fmt: skip
        command += ["--checkpoint-dir", str(base / host / "checkpoints")] if checkpoints else []
        started[host] = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = {}
    try:
        for host in hosts:
            process = started[host]
            output = early.get(host, "") + process.communicate(timeout=300)[0]
            folders = {"model": base / host / "model", "checkpoints": base / host / "checkpoints"}
            results[host] = {"code": process.returncode, "output": output, **folders}
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
    return results


def _until_waiting(process: subprocess.Popen, timeout: float = 120) -> str:
    """The instance's output up to its line saying it waits for the tracker (stopped, and the test
    failed, if that line does not come)."""
    lines, stop = [], threading.Timer(timeout, process.kill)
    stop.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if "waiting for the training's tracker" in line:
                return "".join(lines)
    finally:
        stop.cancel()
    raise AssertionError("the instance never said it waits for the tracker:\n" + "".join(lines))


def _best_round(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("best round"))


def _shares(splits) -> list[dict[str, pd.DataFrame]]:
    """Two instances' shares: every other row of the train and validation splits."""
    return [{name: splits[name].iloc[rank::2] for name in ("train", "validation")} for rank in range(2)]


@pytest.fixture(scope="module")
def two_instances(splits, settings_path, tmp_path_factory) -> dict[str, dict]:
    """Two instances, with managed spot's checkpoints."""
    return train_on_instances(_shares(splits), settings_path, tmp_path_factory.mktemp("two-instances"), True)


@pytest.fixture(scope="module")
def restarted(two_instances, splits, settings_path, tmp_path_factory) -> dict[str, dict]:
    """The same job started again after an interruption (managed spot): fresh instances, the first
    one's checkpoints restored as SageMaker restores them. Its second instance gets no files
    (ShardedByS3Key with fewer files than instances) and starts first, before the first host's
    tracker: two cases a job can meet, tested in one run (each run is two training processes)."""
    base = tmp_path_factory.mktemp("restarted")
    first = next(iter(two_instances.values()))
    shutil.copytree(first["checkpoints"], base / "127.0.0.1" / "checkpoints")
    return train_on_instances([_shares(splits)[0], {}], settings_path, base, True, first_host_last=True)


def test_two_instances_train_one_model_and_the_first_saves_it(two_instances):
    first, second = two_instances.values()
    assert first["code"] == 0 and second["code"] == 0, first["output"][-3000:] + second["output"][-3000:]
    assert (first["model"] / BOOSTER_FILE).is_file()
    assert not second["model"].exists()  # one model per job: the first host's
    # Early stopping judged the validation metric over both shards: both stopped at the same round.
    assert _best_round(first["output"]) == _best_round(second["output"])
    best = int(_best_round(first["output"]).split()[2].rstrip(","))
    assert TrainedModel.load(first["model"]).booster.num_boosted_rounds() == best


def test_the_two_instance_model_predicts_as_well_as_one_instance_on_all_rows(
    two_instances, splits, settings, evaluation
):
    """`evaluation`: the model one process trains on every row (conftest), on the same test split."""
    model = TrainedModel.load(next(iter(two_instances.values()))["model"])
    kind = settings.dataset.problem_type
    name = HEADLINE[kind]  # AUC, accuracy or RMSE
    distributed = metric_value(evaluate(model, splits["test"], settings.dataset), name)
    alone = metric_value(evaluation, name)
    assert METRICS_KEY[kind] in evaluation
    if kind == "regression":
        assert distributed == pytest.approx(alone, rel=0.05)
    else:
        assert distributed == pytest.approx(alone, abs=0.02)


def test_an_instance_given_no_files_still_takes_part(restarted):
    """It trains on no rows, and the other is not left waiting for it. It started first and waited
    for the first host's tracker, saying so once (not once per refused try)."""
    assert [result["code"] for result in restarted.values()] == [0, 0], "\n".join(
        result["output"][-2000:] for result in restarted.values()
    )
    waited = restarted["127.0.0.2"]["output"]
    assert "127.0.0.2: no files in" in waited
    assert waited.count("waiting for the training's tracker on 127.0.0.1:") == 1
    assert "Failed to connect" not in waited and "Retrying connection" not in waited
    assert len({_best_round(result["output"]) for result in restarted.values()}) == 1


def test_instances_resume_from_the_first_ones_checkpoint(two_instances, restarted):
    """Only the first worker writes checkpoints (XGBoost saves on rank 0); after the interruption
    every worker resumes from the first one's."""
    first, second = two_instances.values()
    assert any(first["checkpoints"].iterdir()) and not any(second["checkpoints"].iterdir())
    rounds = TrainedModel.load(first["model"]).booster.num_boosted_rounds()
    outputs = [result["output"] for result in restarted.values()]
    assert [result["code"] for result in restarted.values()] == [0, 0], outputs
    saved = [line.split()[3] for output in outputs for line in output.splitlines() if "resuming after round" in line]
    assert len(saved) == 2 and len(set(saved)) == 1, outputs  # both, from the first worker's latest checkpoint
    assert int(saved[0]) >= rounds - 25
    assert len({_best_round(output) for output in outputs}) == 1
