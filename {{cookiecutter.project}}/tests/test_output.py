"""Outputs are written whole (output.py): one run per folder, nothing half-written, the earlier
output intact when a run fails or is stopped. The concurrency cases run real processes; how a
run that finishes ends is tests/test_local_run.py's."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.output import refuse_if_busy, replaced_folder, write_file

CLI = [sys.executable, "-m", "{{ cookiecutter.package }}"]


def _local_run(out: Path, project_root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "local", "run", "--out", str(out)],
        cwd=project_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _held_after_its_data_checks(run: subprocess.Popen, out: Path) -> str:
    """Stop the run (SIGSTOP) as soon as it reports its data checks done: their report is in the
    partial folder and most of the run is still ahead. Blocking on that progress line, rather than
    polling the disk, stops it within a wake-up even on a busy machine. Returns its progress so far."""
    progress = []
    for line in run.stderr:
        progress.append(line)
        if re.match(r"\[2/\d+\] data checks: ", line):
            run.send_signal(signal.SIGSTOP)
            assert _building(out)
            return "".join(progress)
    raise AssertionError("the run ended before its data checks:\n" + "".join(progress))


def _building(out: Path) -> bool:
    return any(partial.is_dir() and any(partial.iterdir()) for partial in out.parent.glob(f".{out.name}.partial-*"))


def _leftovers(out: Path) -> list[str]:
    return sorted(path.name for path in out.parent.glob(f".{out.name}.*"))


class Held(NamedTuple):
    out: Path
    second: subprocess.CompletedProcess  # the run started while the first one wrote
    partial_after_second: list[str]  # the first run's partial folder once the second had ended
    still_locked: bool  # the first run's lock still refused another writer then
    code: int  # the first run's exit code after SIGTERM
    errors: str  # its progress and messages (stderr)


@pytest.fixture(scope="module")
def held(project_root, tmp_path_factory) -> Held:
    """A run into a folder an earlier run wrote, held (SIGSTOP) once its data checks are done; a
    second run into the same folder meanwhile; then the first stopped by SIGTERM, which lands
    before it could finish. (One real run serves both cases: each costs a process importing
    pandas, XGBoost and Great Expectations.)"""
    out = tmp_path_factory.mktemp("held") / "run"
    out.mkdir()
    (out / "report.md").write_text("the earlier report", encoding="utf-8")
    first = _local_run(out, project_root)
    try:
        progress = _held_after_its_data_checks(first, out)
        command = [*CLI, "local", "run", "--out", str(out)]
        second = subprocess.run(command, cwd=project_root, capture_output=True, text=True)
        partial = sorted(path.name for path in out.parent.glob(f".{out.name}.partial-*/*"))
        try:
            refuse_if_busy(out)
            still_locked = False
        except ProjectError:
            still_locked = True
        first.send_signal(signal.SIGTERM)
    except BaseException:
        first.kill()  # the test failed: the run must not go on writing
        raise
    finally:
        first.send_signal(signal.SIGCONT)
    _, rest = first.communicate(timeout=120)
    return Held(out, second, partial, still_locked, first.returncode, progress + rest)


def test_a_second_run_into_the_same_folder_is_refused_and_leaves_the_first_alone(held: Held):
    assert held.second.returncode == 2, held.second.stderr
    assert "another run is writing this folder now" in held.second.stderr and "Traceback" not in held.second.stderr
    assert "data_checks.md" in held.partial_after_second  # the first run's work so far, untouched
    assert held.still_locked  # and its folder still its own


def test_a_run_stopped_by_sigterm_leaves_the_earlier_output_as_it_was(held: Held):
    assert held.code == 130, held.errors  # stopped, not a refused gate (1) nor a bug (3)
    assert "Traceback" not in held.errors
    assert [path.name for path in held.out.iterdir()] == ["report.md"]
    assert (held.out / "report.md").read_text(encoding="utf-8") == "the earlier report"
    assert _leftovers(held.out) == []


def test_a_second_writer_is_refused_by_the_lock_and_before_it(tmp_path):
    """The lock refuses a second writer (even in the same process); refuse_if_busy answers the
    same before a command's slow start, and creates no lock file of its own."""
    out = tmp_path / "run"
    refuse_if_busy(out)
    assert _leftovers(out) == []
    with replaced_folder(out):
        with pytest.raises(ProjectError, match="another run is writing this folder now"):
            refuse_if_busy(out)
        with pytest.raises(ProjectError, match="another run is writing this folder now"), replaced_folder(out):
            pass
    refuse_if_busy(out)
    assert _leftovers(out) == []


def test_a_failed_build_keeps_the_earlier_output(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.md").write_text("earlier", encoding="utf-8")
    with pytest.raises(RuntimeError), replaced_folder(out) as partial:
        (partial / "report.md").write_text("half", encoding="utf-8")
        raise RuntimeError("the run failed")
    assert (out / "report.md").read_text(encoding="utf-8") == "earlier"
    assert _leftovers(out) == []


def _a_handler(_signum, _frame):
    """What a terminal's Ctrl-C or a CI runner's SIGTERM finds: a handler, not an ignored signal
    (a shell's background job ignores SIGINT)."""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_that_was_swallowed_still_keeps_the_earlier_output(tmp_path, stop):
    """A signal handler's exception can be lost on its way up (seen: a SIGTERM handled in pandas
    code that numpy called while a run split its data; the run went on and replaced the earlier
    output). The run may go on, but its output is not swapped in and it ends stopped."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.md").write_text("earlier", encoding="utf-8")
    before = signal.signal(stop, _a_handler)
    try:
        with pytest.raises(KeyboardInterrupt), replaced_folder(out) as partial:
            with contextlib.suppress(KeyboardInterrupt):  # lost on its way up
                signal.raise_signal(stop)  # the handler runs now, in this thread
            (partial / "report.md").write_text("new", encoding="utf-8")
        assert signal.getsignal(stop) is _a_handler
    finally:
        signal.signal(stop, before)
    assert (out / "report.md").read_text(encoding="utf-8") == "earlier"
    assert _leftovers(out) == []


def test_a_stop_ignored_before_stays_ignored(tmp_path):
    """A shell's background job ignores Ctrl-C: ignored before the run, it still is during it."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with replaced_folder(tmp_path / "run") as partial:
            signal.raise_signal(signal.SIGINT)
            (partial / "report.md").write_text("new", encoding="utf-8")
    finally:
        signal.signal(signal.SIGINT, before)
    assert (tmp_path / "run" / "report.md").read_text(encoding="utf-8") == "new"


def test_replacing_never_mixes_old_and_new(tmp_path, monkeypatch, capsys):
    """An earlier output that cannot be removed is set aside whole, never merged with the new one."""
    out = tmp_path / "run"
    (out / "model").mkdir(parents=True)
    (out / "model" / "stale.json").write_text("old model", encoding="utf-8")
    removal = shutil.rmtree

    def cannot_remove_the_old_one(path, *args, **kwargs):
        if ".old-" not in Path(path).name:
            removal(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", cannot_remove_the_old_one)
    with replaced_folder(out) as partial:
        (partial / "report.md").write_text("new", encoding="utf-8")
    assert [path.name for path in out.iterdir()] == ["report.md"]
    assert "could not be removed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda out: out.symlink_to(out.parent / "elsewhere", target_is_directory=True), "is a symbolic link"),
        (lambda out: out.write_text("a file", encoding="utf-8"), "is a file; pass a folder"),
        (lambda out: None, "cannot create its folder"),
    ],
    ids=["symlink", "file", "parent is a file"],
)
def test_a_folder_output_that_cannot_be_written_is_one_clear_error(tmp_path, prepare, message):
    out = tmp_path / "run"
    if message == "cannot create its folder":
        (tmp_path / "blocker").write_text("", encoding="utf-8")
        out = tmp_path / "blocker" / "run"
    else:
        prepare(out)
    with pytest.raises(ProjectError, match=message), replaced_folder(out):
        pass


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda path: path.mkdir(), "is a folder; pass a file name"),
        (lambda path: path.symlink_to(path.parent / "elsewhere.json"), "is a symbolic link"),
    ],
    ids=["folder", "symlink"],
)
def test_a_file_output_that_cannot_be_written_is_one_clear_error(tmp_path, prepare, message):
    path = tmp_path / "definition.json"
    prepare(path)
    with pytest.raises(ProjectError, match=message):
        write_file(path, "{}")


def test_a_file_output_replaces_the_old_one_whole(tmp_path):
    path = tmp_path / "out" / "definition.json"
    write_file(path, "old")
    write_file(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert os.listdir(path.parent) == ["definition.json"]
