"""Data checks and preprocessing over several instances, as a processing job with an instance count
above 1 runs them: the data's files dealt out to the instances, each instance told which it is by
resourceconfig.json, the steps' own main() on each share, then the shards' results merged."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package }}.data import read_dataset
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.shard_checks import read_verdict
from {{ cookiecutter.package }}.shards import ALONE, Cluster, processing_cluster, row_fractions, split_keys, training_cluster
from {{ cookiecutter.package }}.steps import check_data, gate, preprocess
from {{ cookiecutter.package }}.steps.preprocess import split_dataset

HOSTS = ["algo-1", "algo-2"]


def instances(tmp_path: Path, files: list[list[pd.DataFrame]]) -> list[tuple[Path, Path]]:
    """Per instance (algo-1, algo-2, ...): its share of the data's files written to a folder, and
    the resourceconfig.json SageMaker gives it."""
    hosts = [f"algo-{number}" for number in range(1, len(files) + 1)]
    laid_out = []
    for host, frames in zip(hosts, files, strict=True):
        data = tmp_path / host / "data"
        data.mkdir(parents=True)
        for number, frame in enumerate(frames):
            frame.to_csv(data / f"part-{host}-{number}.csv", index=False)
        config = tmp_path / host / "resourceconfig.json"
        config.write_text(json.dumps({"current_host": host, "hosts": hosts}))
        laid_out.append((data, config))
    return laid_out


def halves(frame: pd.DataFrame) -> list[list[pd.DataFrame]]:
    """The rows as four files, two to each of two instances (not split by any value)."""
    return [[frame.iloc[0::4], frame.iloc[1::4]], [frame.iloc[2::4], frame.iloc[3::4]]]


def run_checks(tmp_path: Path, files, suite: dict, settings_path: Path) -> dict:
    """The data-check step on each instance, writing where SageMaker would upload all of them."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    suite_file = tmp_path / "suite.json"
    suite_file.write_text(json.dumps(suite))
    out = tmp_path / "data_checks"
    for data, config in instances(tmp_path, files):
        check_data.main(["--data", str(data), "--suite", str(suite_file), "--output", str(out),
                         "--settings", str(settings_path), "--resource-config", str(config), "--no-fail"])  # fmt: skip
    return read_verdict(out)


def test_hosts_come_from_resourceconfig_or_the_training_environment(tmp_path):
    config = tmp_path / "resourceconfig.json"
    config.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-2", "algo-1"]}))
    cluster = processing_cluster(config)
    assert cluster == Cluster(hosts=("algo-1", "algo-2"), current="algo-2") and cluster.rank == 1
    assert not cluster.is_leader and cluster.file_name("result", ".json") == "result-algo-2.json"
    assert processing_cluster(tmp_path / "absent.json") == ALONE and ALONE.file_name("result", ".json") == "result.json"
    environ = {"SM_HOSTS": '["algo-1","algo-2"]', "SM_CURRENT_HOST": "algo-1"}
    assert training_cluster(environ).is_leader and training_cluster({}) == ALONE
    config.write_text(json.dumps({"current_host": "algo-3", "hosts": ["algo-1"]}))
    with pytest.raises(ProjectError, match="current host 'algo-3' is not one of the hosts"):
        processing_cluster(config)


def test_a_rows_split_does_not_depend_on_which_instance_reads_it(sample, settings):
    whole = split_dataset(sample, settings.dataset, settings.split, hashed=True)
    shards = [
        split_dataset(share, settings.dataset, settings.split, hashed=True)
        for share in (sample.iloc[::3], sample.drop(sample.index[::3]).iloc[::-1])  # any share, any order
    ]
    ids = settings.dataset.record_id
    for name in preprocess.SPLITS:
        expected = set(sample.loc[whole[name].index, ids])
        assert set().union(*(set(sample.loc[shard[name].index, ids]) for shard in shards)) == expected, name
    assert len(whole["test"]) == pytest.approx(len(sample) * settings.split.test, rel=0.15)
    keys = split_keys(sample, settings.dataset)
    assert not row_fractions(keys, "split-1").equals(row_fractions(keys, "split-2"))  # the seed decides
    # A sampled run (SampleFraction) keeps a row by its hash too.
    kept = preprocess.sample(sample, 0.5, 7, keys)
    share = sample.iloc[::3]
    assert preprocess.sample(share, 0.5, 7, split_keys(share, settings.dataset)).index.equals(
        kept.index.intersection(share.index)
    )


def test_rows_without_a_record_id_are_keyed_by_their_values_however_a_file_reads_them(sample, settings):
    """A file with a blank in a numeric column reads it as floats, another as integers."""
    values = sample.drop(columns=[settings.dataset.record_id]).head(50)
    number = settings.dataset.numeric_features[0]
    as_floats = values.astype({number: "float64"})
    first, second = (row_fractions(split_keys(frame, settings.dataset), "s") for frame in (values, as_floats))
    assert first.equals(second)


def test_preprocess_on_two_instances_writes_a_part_per_training_instance(
    tmp_path, sample_path, settings_path, settings
):
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    out = tmp_path / "out"
    for data, config in instances(tmp_path, halves(raw)):
        preprocess.main(["--input", str(data), "--output", str(out), "--settings", str(settings_path),
                         "--resource-config", str(config), "--parts", "3"])  # fmt: skip
    for name in ("train", "validation"):
        assert sorted(path.name for path in (out / name).iterdir()) == [
            f"{name}-{host}-part{part}.csv" for host in HOSTS for part in range(3)
        ]
    assert sorted(path.name for path in (out / "test").iterdir()) == ["test-algo-1.csv", "test-algo-2.csv"]
    # Together the instances' files hold the split of the whole data, whichever instance read a row.
    whole = split_dataset(read_dataset(sample_path, settings.dataset), settings.dataset, settings.split, hashed=True)
    for name in preprocess.SPLITS:
        assert len(read_dataset(out / name, settings.dataset)) == len(whole[name]), name
    clarify = out / "clarify"
    assert sorted(path.name for path in (clarify / "test").iterdir()) == ["test-algo-1.csv", "test-algo-2.csv"]
    rows = sum(len(pd.read_csv(path, header=None)) for path in (clarify / "test").iterdir())
    assert rows == len(whole["test"])
    if settings.bias:  # the gate step sums the instances' facet group sizes
        groups = gate.read_facet_groups(clarify / "facet_groups")
        assert all(group["rows"] + group["others"] == len(whole["test"]) for group in groups["groups"])


def test_an_instance_writes_no_empty_files(tmp_path, sample_path, settings_path):
    """A share with fewer rows than training instances fills only some parts (a training instance
    left without files trains on no rows); a file of the split with no rows would not read back."""
    raw = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    [(data, config), _] = instances(tmp_path, [[raw.head(800)], [raw.tail(800)]])
    out = tmp_path / "out"
    preprocess.main(["--input", str(data), "--output", str(out), "--settings", str(settings_path),
                     "--resource-config", str(config), "--parts", "200"])  # fmt: skip
    validation = sorted((out / "validation").iterdir())
    assert 0 < len(validation) < 200 and all(len(pd.read_csv(path)) == 1 for path in validation)


def _suite(*expectations: tuple[str, dict]) -> dict:
    return {"name": "sharded", "expectations": [{"type": kind, "kwargs": kwargs} for kind, kwargs in expectations]}


def test_merged_checks_judge_row_counts_and_missing_shares_on_the_whole_data(tmp_path, sample, settings_path, settings):
    """Each instance holds half the rows; one holds all the missing values of a column (the
    feature with the fewest missing values, so about a quarter of the rows are missing)."""
    column = min(settings.dataset.features, key=lambda name: sample[name].isna().sum())
    rows = len(sample)
    files = halves(sample)
    files[0][0] = files[0][0].assign(**{column: None})  # a quarter of the rows, all on algo-1
    suite = _suite(
        ("expect_table_row_count_to_be_between", {"min_value": rows - 10, "max_value": rows + 10}),
        ("expect_column_values_to_not_be_null", {"column": column, "mostly": 0.65}),
    )
    verdict = run_checks(tmp_path, files, suite, settings_path)
    assert verdict["success"] is True, verdict["summary"]  # no instance passes either alone
    shards = [json.loads(path.read_text()) for path in sorted((tmp_path / "data_checks").glob("result-*.json"))]
    assert [shard["success"] for shard in shards] == [False, False]
    assert f"({rows:,} rows)" in verdict["summary"]


def test_merged_checks_find_a_record_id_on_two_instances(tmp_path, sample, settings_path, settings):
    ids = settings.dataset.record_id
    files = halves(sample.iloc[: len(sample) // 4 * 4])  # four files of equal length
    files[1][0] = files[1][0].assign(**{ids: files[0][0][ids].to_numpy()})  # algo-2 repeats algo-1's ids
    verdict = run_checks(tmp_path, files, _suite(("expect_column_values_to_be_unique", {"column": ids})), settings_path)
    assert verdict["success"] is False
    assert f"{ids}: expect_column_values_to_be_unique: {2 * len(files[0][0]):,} rows" in verdict["summary"]
    with pytest.raises(ProjectError, match="data checks failed"):
        preprocess.require_checks_passed(tmp_path / "data_checks")


def test_an_instance_given_no_files_adds_nothing_and_no_files_at_all_fails(tmp_path, sample, settings_path):
    suite = _suite(("expect_table_row_count_to_be_between", {"min_value": 1}))
    assert run_checks(tmp_path / "one", [[sample], []], suite, settings_path)["success"] is True
    verdict = run_checks(tmp_path / "none", [[], []], suite, settings_path)
    assert verdict["success"] is False and "no rows in any instance's share" in verdict["summary"]
