"""Fixtures for the template's tests. Every test bakes into its own tmp_path; nothing is
written to the template or to the user's home."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import bake as bake_template
from helpers import copy_template


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: minutes-long (a baked project's whole suite, the workflow harness)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: each is one long process tree, and one started last would leave the
    other worker's core idle while it finishes (the quick tests fill in around them)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
