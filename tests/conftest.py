"""Fixtures for the template's tests. Every test bakes into its own tmp_path; nothing is
written to the template or to the user's home."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import bake as bake_template
from helpers import copy_template


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: minutes-long (a baked project's whole suite, the workflow harness)")


# The slow tests in two lanes of about equal minutes, one per worker (`--dist loadgroup`), each
# lane in this order (measured in a CI run: about 18 minutes each); the quick tests fill in around
# them.
LANES = {
    "test_generated_suite.py": "lane-1",  # builds the shared image environment (its container tests)
    "test_bring_your_own_data.py::test_data_init_switches_a_project_to_another_dataset[multiclass": "lane-1",
    "test_workflow_harness.py": "lane-2",  # needs no image environment: lane 1 builds it meanwhile
    "test_bring_your_own_data.py::test_data_init_switches_a_project_to_another_dataset[binary": "lane-2",
    "test_bring_your_own_data.py::test_data_init_switches_a_project_to_another_dataset[regression": "lane-2",
}


def _lane(item: pytest.Item) -> tuple[int, str] | None:
    for position, (prefix, lane) in enumerate(LANES.items()):
        if item.nodeid.removeprefix("tests/").startswith(prefix):
            return position, lane
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist adds the group to the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, each in its lane; one started last on its own would leave the other
    worker's core idle while it finishes."""
    for item in items:
        lane = _lane(item)
        if item.get_closest_marker("slow") is not None:
            assert lane is not None, f"{item.nodeid} is marked slow but has no lane in tests/conftest.py"
            item.add_marker(pytest.mark.xdist_group(lane[1]))
    items.sort(key=lambda item: (_lane(item) or (len(LANES), ""))[0])


@pytest.fixture(scope="session", autouse=True)
def cookiecutter_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point cookiecutter (and cruft, in child processes too) at a throwaway config: replay
    files (`replay/`) and cloned templates go to this folder, not to ~/.cookiecutter*."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(f"cookiecutters_dir: {home / 'templates'}\nreplay_dir: {home / 'replay'}\n")
    previous = os.environ.get("COOKIECUTTER_CONFIG")
    os.environ["COOKIECUTTER_CONFIG"] = str(config)
    yield home
    if previous is None:
        del os.environ["COOKIECUTTER_CONFIG"]
    else:
        os.environ["COOKIECUTTER_CONFIG"] = previous


@pytest.fixture(scope="session", autouse=True)
def hook_scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """cookiecutter renders each hook into a temporary file it never deletes (its issue 886:
    by design). Send those of this process's bakes here, where pytest cleans up; the tests that
    start cookiecutter or cruft pass this folder on as TMPDIR."""
    scratch = tmp_path_factory.mktemp("hook-scratch")
    previous = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    yield scratch
    tempfile.tempdir = previous


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the template holding what a clone of it would hold."""
    return copy_template(tmp_path_factory.mktemp("template") / "cookiecutter-sagemaker-mlops")


@pytest.fixture
def bake(template: Path) -> Callable[..., Path]:
    """bake(output_dir, **answers) -> the generated project's folder (default answers for the rest)."""

    def bake_into(output_dir: Path, **answers: str) -> Path:
        return bake_template(template, output_dir, **answers)

    return bake_into
