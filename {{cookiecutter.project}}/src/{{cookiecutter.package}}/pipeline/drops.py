"""Data drops: new training data arrives as a folder `<data_drops_uri><drop-id>/`, complete once its
`_SUCCESS` object is written (the Hadoop/Spark convention; write it after every data file).

A drop is one run's whole dataset and never changes once complete: a new drop is a new
InputDataUri, so SageMaker's step cache (keyed by step arguments, never by the objects behind a
URI) misses for new data and hits when the same drop runs again. infra's drop trigger starts one
execution per completed drop; `pipeline run` without InputDataUri takes the latest.
"""

from __future__ import annotations

from ..errors import ProjectError

MARKER = "_SUCCESS"


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix


def completed_drops(s3, drops_uri: str) -> list[tuple[object, str]]:
    """(completion time, drop URI) of every completed drop, oldest first."""
    bucket, prefix = split_uri(drops_uri)
    drops = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            drop, _, name = item["Key"].removeprefix(prefix).partition("/")
            if name == MARKER and drop:
                drops.append((item["LastModified"], f"s3://{bucket}/{prefix}{drop}/"))
    return sorted(drops)


def latest_drop(s3, drops_uri: str) -> str:
    drops = completed_drops(s3, drops_uri)
    if not drops:
        raise ProjectError(
            f"no completed data drop under {drops_uri}: upload the data files to {drops_uri}<drop-id>/, then an "
            f"empty {MARKER} object beside them (data/README.md), or pass --param InputDataUri=s3://..."
        )
    return drops[-1][1]
