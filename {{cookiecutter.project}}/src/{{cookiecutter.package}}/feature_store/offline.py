"""Training data from the offline store: a point-in-time snapshot (each record as known at a
given time), read straight from the store's Parquet files on S3."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from ..data import read_dataset
from ..errors import ProjectError
from ..settings import Dataset
from .definition import FeatureGroup


def offline_uri(sagemaker, group: FeatureGroup) -> str:
    """Where SageMaker writes the group's offline store (a prefix of Parquet files)."""
    if not group.offline_store.enabled:
        raise ProjectError(f"feature group {group.name} has no offline store (offline_store.enabled is false)")
    current = sagemaker.describe_feature_group(FeatureGroupName=group.name)
    try:
        return current["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"]
    except KeyError:
        raise ProjectError(f"feature group {group.name}: AWS reports no offline store; run `features plan`") from None


def download(s3, uri: str, target: Path, echo: Callable[[str], None] = print) -> int:
    """Copy every Parquet file under the S3 prefix to `target`; returns how many."""
    parsed = urlparse(uri)
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(".parquet")
    ]
    if not keys:
        raise ProjectError(
            f"{uri}: no Parquet files yet; Feature Store writes the offline store a few minutes after ingest"
        )
    for count, key in enumerate(keys, 1):
        destination = target / key[len(prefix) :].lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(destination))
        if count % 100 == 0 or count == len(keys):
            echo(f"downloaded {count:,}/{len(keys):,} Parquet files")
    return len(keys)


def snapshot(s3, uri: str, dataset: Dataset, as_of: str | None, echo: Callable[[str], None] = print) -> pd.DataFrame:
    """The point-in-time training set: each record's latest row at or before `as_of`."""
    with tempfile.TemporaryDirectory() as directory:
        download(s3, uri, Path(directory), echo)
        return read_dataset(Path(directory), dataset, as_of=as_of or None)
