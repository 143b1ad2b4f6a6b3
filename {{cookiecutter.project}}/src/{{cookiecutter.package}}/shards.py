"""Which instance of a SageMaker job this is, and which share of the data is its own.

With an instance count above 1, SageMaker starts the same job on every instance (algo-1, algo-2,
...) and gives each about 1/n of the S3 objects of an input distributed ShardedByS3Key. A
processing job learns its hosts from /opt/ml/config/resourceconfig.json, a training job from
SM_HOSTS and SM_CURRENT_HOST (which the SDK's driver exports from its own resourceconfig.json).
Files an instance writes carry its host in their names when there are several (result-algo-2.json),
so every instance's output lands side by side under the step's one S3 prefix.

Which instance reads a row depends on how SageMaker deals out the files, so nothing decided about
a row may depend on it: row_fractions gives each row a number from its own content and the seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .data import SUFFIXES
from .errors import ProjectError
from .settings import Dataset


@dataclass(frozen=True)
class Cluster:
    hosts: tuple[str, ...]  # sorted, as SageMaker's drivers rank them
    current: str

    @property
    def several(self) -> bool:
        return len(self.hosts) > 1

    @property
    def rank(self) -> int:
        return self.hosts.index(self.current)

    @property
    def leader(self) -> str:
        return self.hosts[0]

    @property
    def is_leader(self) -> bool:
        return self.current == self.leader

    def file_name(self, stem: str, suffix: str = "") -> str:
        """`stem` on one instance (the names a one-instance job always wrote), `stem-<host>` on several."""
        return f"{stem}-{self.current}{suffix}" if self.several else f"{stem}{suffix}"


ALONE = Cluster(hosts=("algo-1",), current="algo-1")


def processing_cluster(resource_config: Path | None) -> Cluster:
    """A processing job's instances; one when there is no resourceconfig.json (a local run)."""
    if resource_config is None or not resource_config.is_file():
        return ALONE
    try:
        config = json.loads(resource_config.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ProjectError(f"{resource_config}: not readable JSON ({error})") from None
    return _cluster(config.get("hosts"), config.get("current_host"), str(resource_config))


def training_cluster(environ: dict | None = None) -> Cluster:
    """A training job's instances, from the environment the SDK's driver exports."""
    environ = os.environ if environ is None else environ
    if not environ.get("SM_HOSTS"):
        return ALONE
    try:
        hosts = json.loads(environ["SM_HOSTS"])
    except ValueError:
        raise ProjectError(f"SM_HOSTS={environ['SM_HOSTS']!r}: expected a JSON list of host names") from None
    return _cluster(hosts, environ.get("SM_CURRENT_HOST"), "SM_HOSTS and SM_CURRENT_HOST")


def _cluster(hosts, current, where: str) -> Cluster:
    if not isinstance(hosts, list) or not hosts or not all(isinstance(host, str) for host in hosts):
        raise ProjectError(f"{where}: 'hosts' is not a list of host names ({hosts!r})")
    if current not in hosts:
        raise ProjectError(f"{where}: the current host {current!r} is not one of the hosts {hosts}")
    return Cluster(hosts=tuple(sorted(hosts)), current=current)


def has_data(path: Path) -> bool:
    """Whether this instance's share of an input holds any data file (with fewer files than
    instances, some instances get none)."""
    path = Path(path)
    return path.is_file() or any(file.suffix in SUFFIXES and file.is_file() for file in path.rglob("*"))


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as the same text whichever file they came from: a file where a numeric column has a
    blank reads it as floats (40.0), another as integers (40), so numbers become floats first."""
    return pd.DataFrame(
        {
            column: (values.astype("float64") if pd.api.types.is_numeric_dtype(values) else values).astype(str)
            for column, values in frame.items()
        },
        index=frame.index,
    )


def split_keys(raw: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """What identifies a row for its split: its record id when the data has one, else all its
    values (a generated id is a row number within one instance's files, so it cannot)."""
    columns = [dataset.record_id] if dataset.record_id in raw.columns else list(raw.columns)
    return as_text(raw[columns])


def row_fractions(keys: pd.DataFrame, salt: str) -> pd.Series:
    """A number in [0, 1) per row from its keys and `salt` alone: the same on any instance, in
    any file, in any order. Rows with equal keys get equal numbers."""
    hash_key = hashlib.sha256(salt.encode()).hexdigest()[:16]  # pandas takes a 16-character key
    hashes = pd.util.hash_pandas_object(keys, index=False, hash_key=hash_key)
    return pd.Series(hashes.to_numpy() / 2.0**64, index=keys.index)
