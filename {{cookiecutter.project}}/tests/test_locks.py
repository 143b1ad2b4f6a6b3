"""containers/: the image records and the locks resolved from them (offline, except where a test
says it asks the package index)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.pipeline.images import load_images
from {{ cookiecutter.package }}.pipeline.locks import lock, lock_problems, read_lock


@pytest.fixture
def containers_copy(project_root: Path, tmp_path: Path) -> Path:
    """A project root holding a copy of containers/, to change freely."""
    root = tmp_path / "project"
    (root / "containers").mkdir(parents=True)
    for file in (project_root / "containers").iterdir():
        (root / "containers" / file.name).write_bytes(file.read_bytes())
    return root


def test_locks_are_fresh_and_replace_no_image_pin(project_root: Path) -> None:
    assert lock_problems(project_root) == []


def test_a_stale_lock_or_one_replacing_an_image_pin_is_refused(containers_copy: Path) -> None:
    root = containers_copy
    with (root / "containers/jobs.in").open("a") as handle:
        handle.write("tqdm\n")
    serving = root / "containers/serving.lock"
    serving.write_text(serving.read_text() + "flask==3.1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    problems = lock_problems(root)
    assert any("jobs.lock: stale" in problem for problem in problems), problems
    assert any("flask==3.1.0 (the image pins flask==1.1.1)" in problem for problem in problems), problems


def test_make_lock_resolves_the_committed_locks_again(project_root: Path, containers_copy: Path) -> None:
    """`pipeline lock` (make lock) really resolves (uv, against the package index): on an unchanged
    project it writes the committed locks again, byte for byte; from scratch it finds a valid set."""
    root = containers_copy
    lock(root, echo=lambda line: None)
    for name in ("jobs", "serving"):
        assert (root / f"containers/{name}.lock").read_text() == (project_root / f"containers/{name}.lock").read_text()
    (root / "containers/jobs.lock").unlink()
    lock(root, echo=lambda line: None)
    assert lock_problems(root) == []
    assert any(entry.name == "great-expectations" for entry in read_lock(root / "containers/jobs.lock"))


def test_serving_may_add_nothing_to_the_image(containers_copy: Path) -> None:
    serving = containers_copy / "containers/serving.lock"
    serving.write_text(serving.read_text() + "tqdm==4.67.1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    assert any("tqdm==4.67.1 is not in the image" in problem for problem in lock_problems(containers_copy))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda images: images["xgboost"]["pins"].update(flask="1.1.1"), "flask: '1.1.1' is not a version specifier"),
        (lambda images: images["xgboost"].update(platform="linux"), "platform: String should match pattern"),
        (lambda images: images["xgboost"].update(python="3"), "python: String should match pattern"),
        (lambda images: images.pop("xgboost"), "needs an 'xgboost' image"),
        (lambda images: images["xgboost"].update(tag="3.0-5"), "tag: unknown key"),
    ],
)
def test_a_bad_image_record_is_one_clear_error(containers_copy: Path, change, message) -> None:
    path = containers_copy / "containers/images.yaml"
    images = yaml.safe_load(path.read_text())
    change(images)
    path.write_text(yaml.safe_dump(images))
    with pytest.raises(ProjectError, match=message):
        load_images(containers_copy)
