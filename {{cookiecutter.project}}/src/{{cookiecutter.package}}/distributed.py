"""Distributed XGBoost over a training job's instances (TrainingInstanceCount > 1): one worker per
instance, each on its shard of the train and validation channels (sharded by S3 key).

The first host (algo-1 in SageMaker) runs XGBoost's tracker and every host joins the collective
through it, as SageMaker's own XGBoost container does. XGBoost then grows each tree from
histograms summed over all workers, and each round's validation metric is computed over every
worker's validation shard, so early stopping stops every worker at the same round and all end
with the same model; the first host saves it (the others write no model). The feature encoding is
fitted on each shard and then shared (shared_encoding), so a category means the same everywhere.

One instance: none of this runs, and training is what it always was.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pandas as pd
import xgboost as xgb

from .data import read_dataset
from .errors import ProjectError
from .settings import Dataset
from .shards import Cluster, has_data
from .transforms import FeatureSpec

# The tracker's port on the first host; XGBOOST_TRACKER_PORT overrides it (e.g. two trainings on
# one machine). SageMaker's XGBoost container uses 9099 too.
TRACKER_PORT = 9099
# Seconds a worker waits for the first host's name to resolve and its tracker to take workers:
# instances start (and install the job's wheels) at different times.
CONNECT_TIMEOUT = 900
# Seconds between a worker's tries to join. Each try is one connection (dmlc_retry 1): XGBoost's
# own retries back off (2 s, then 4 s), so a worker that came early waited up to 6 s for a
# tracker that was already up.
JOIN_RETRY = 0.5


@contextmanager
def collective(cluster: Cluster, timeout: float = CONNECT_TIMEOUT) -> Iterator[None]:
    """Within it, xgb.train on any worker trains with all of them (nothing to do on one instance)."""
    if not cluster.several:
        yield
        return
    port = int(os.environ.get("XGBOOST_TRACKER_PORT", TRACKER_PORT))
    deadline = time.monotonic() + timeout
    address = _resolve(cluster.leader, deadline)
    tracker = None
    if cluster.is_leader:
        from xgboost.tracker import RabitTracker

        # Ranks sorted by task id: zero-padded host ranks keep rank 0 on the first host.
        tracker = RabitTracker(n_workers=len(cluster.hosts), host_ip=address, port=port, sortby="task")
        tracker.start()
    worker = {
        "dmlc_communicator": "rabit",
        "dmlc_tracker_uri": address,
        "dmlc_tracker_port": port,
        "dmlc_task_id": f"{cluster.rank:04d}",
        "dmlc_retry": 1,
    }
    _join(worker, cluster, deadline)
    yield  # on an error, no orderly goodbye: the process ends, and the others' connections fail
    xgb.collective.finalize()
    if tracker is not None:
        tracker.wait_for(int(timeout))


def _resolve(host: str, deadline: float) -> str:
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError:
            if time.monotonic() > deadline:
                raise ProjectError(f"training host {host!r} does not resolve to an address") from None
            time.sleep(2)


def _join(worker: dict, cluster: Cluster, deadline: float) -> None:
    """Join the collective, retrying until the first host's tracker takes workers (probing its
    port instead would confuse the tracker). One line says this worker waits; XGBoost's warning
    for each refused try would fill the job's log while another instance is still starting."""
    address = f"{cluster.leader}:{worker['dmlc_tracker_port']}"
    waiting = False
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                xgb.collective.init(**worker)
            return
        except xgb.core.XGBoostError as error:
            if time.monotonic() > deadline:
                raise ProjectError(
                    f"{cluster.current}: could not join the training on {address} ({str(error).splitlines()[0]})"
                ) from None
            if not waiting:
                print(f"{cluster.current}: waiting for the training's tracker on {address}", flush=True)
                waiting = True
            time.sleep(JOIN_RETRY)


def shared_encoding(spec: FeatureSpec) -> FeatureSpec:
    """The encoding every worker of a distributed training uses: each categorical column's values
    seen on any worker, sorted (what fitting on all the data gives). Unchanged on one instance."""
    if not xgb.collective.is_distributed():
        return spec
    rank, workers = xgb.collective.get_rank(), xgb.collective.get_world_size()
    seen = [xgb.collective.broadcast(spec.categories if rank == root else None, root) for root in range(workers)]
    categories = {column: sorted({value for each in seen for value in each[column]}) for column in spec.categories}
    return replace(spec, categories=categories)


def from_first(value):
    """The first worker's `value` on every worker (e.g. the checkpoint to resume from, or None)."""
    if not xgb.collective.is_distributed():
        return value
    return xgb.collective.broadcast([value], 0)[0]  # wrapped: XGBoost will not broadcast a bare None


def read_share(path: Path, dataset: Dataset, cluster: Cluster) -> pd.DataFrame:
    """This instance's share of a channel. With more instances than files some get none: an empty
    frame then, and the worker still takes part (XGBoost accepts an empty shard)."""
    if cluster.several and not has_data(path):
        print(f"{cluster.current}: no files in {path}; this worker trains on no rows of it")
        columns = {dataset.label: "float64", **dict.fromkeys(dataset.numeric_features, "float64")}
        columns |= dict.fromkeys(dataset.categorical_features, "object")
        return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in columns.items()})
    return read_dataset(path, dataset)
