"""Writing outputs whole: a folder or file appears complete, or not at all, and never mixed with an
older one.

- `replaced_folder(out)`: one writer at a time per folder (a lock file beside it; a second run
  into the same folder is refused at once). The new output is built in a folder of this process's
  own, then swapped in: the old folder is renamed aside, the new one renamed into place, the old
  one removed. A run that fails or is stopped (Ctrl-C or SIGTERM) removes what it built; the earlier
  output stays as it was.
- `write_file(path, text)`: written beside the target, then renamed over it.

Every problem with the place itself (unwritable, a symlink, a file where a folder should be) is
one ProjectError naming the option and the path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import ProjectError


def _fail(option: str, path: Path, problem: str) -> ProjectError:
    return ProjectError(f"{option} {path}: {problem}")


def _writable_parent(path: Path, option: str) -> Path:
    if path.is_symlink():
        raise _fail(option, path, "is a symbolic link; pass the real path")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _fail(option, path, f"cannot create its folder {parent} ({error.strerror})") from None
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(option, path, f"its folder {parent} is not writable")
    return parent


def write_file(path: Path, text: str, option: str = "--out") -> Path:
    """`text` in `path`, replacing it whole; nothing is left half-written."""
    if path.is_dir():
        raise _fail(option, path, "is a folder; pass a file name")
    parent = _writable_parent(path, option)
    handle, temporary = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _fail(option, path, f"cannot write it ({error.strerror})") from None
        raise
    return path


@contextlib.contextmanager
def _exclusive(lock: Path, out: Path, option: str) -> Iterator[None]:
    """Hold `lock` (created here, removed on the way out) or refuse at once."""
    busy = _busy(out, option)
    try:
        handle = lock.open("a+")
    except OSError as error:
        raise _fail(option, out, f"cannot create the lock {lock} ({error.strerror})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        # A lock file its holder removed in the meantime no longer guards anything: refuse.
        if not lock.exists() or lock.stat().st_ino != os.fstat(handle.fileno()).st_ino:
            raise busy
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)


def _busy(out: Path, option: str) -> ProjectError:
    return _fail(option, out, "another run is writing this folder now; wait for it or pass another folder")


def refuse_if_busy(out: Path, option: str = "--out") -> None:
    """Refuse now, before a command's slow start, when another run is writing `out`. The run still
    takes the lock itself (replaced_folder): this only answers sooner."""
    try:
        handle = _lock_path(out).open("r")  # only a run creates its lock file
    except OSError:
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(out, option) from None


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


@contextlib.contextmanager
def _stops_as_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (a CI job cancelled, a container stopped) unwind as KeyboardInterrupt, so
    cleanup runs. A handler's exception can be lost on its way up (seen: a SIGTERM handled in
    pandas code that numpy called, while a run split its data; the run went on and replaced the
    earlier output), so a stop is also remembered: a block told to stop raises when it ends, never
    finishing as if it had not been. A signal ignored before (as a shell's background job
    ignores Ctrl-C) stays ignored."""
    told: list[int] = []

    def interrupt(signum, _frame):
        told.append(signum)
        raise KeyboardInterrupt

    try:
        previous = {
            stop: signal.signal(stop, interrupt)
            for stop in (signal.SIGINT, signal.SIGTERM)
            if signal.getsignal(stop) is not signal.SIG_IGN
        }
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
        if told:
            raise KeyboardInterrupt
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


@contextlib.contextmanager
def replaced_folder(out: Path, option: str = "--out") -> Iterator[Path]:
    """A fresh folder to build the new output in; on success it becomes `out`."""
    if out.exists() and not out.is_dir():
        raise _fail(option, out, "is a file; pass a folder")
    parent = _writable_parent(out, option)
    with _exclusive(_lock_path(out), out, option):
        for stale in parent.glob(f".{out.name}.partial-*"):  # left by runs that were killed
            shutil.rmtree(stale, ignore_errors=True)
        partial = parent / f".{out.name}.partial-{os.getpid()}"
        partial.mkdir()
        try:
            with _stops_as_interrupt():
                yield partial
            _swap(partial, out, option)
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def _swap(new: Path, out: Path, option: str) -> None:
    aside = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        if out.exists():
            out.rename(aside)
        new.rename(out)
    except OSError as error:
        if aside.exists() and not out.exists():
            aside.rename(out)  # put the earlier output back as it was
        raise _fail(option, out, f"cannot replace it ({error.strerror})") from None
    shutil.rmtree(aside, ignore_errors=True)
    if aside.exists():  # the new output is whole and in place; say where the old one was left
        print(f"Warning: {option} {out}: the earlier output could not be removed; it is in {aside}", file=sys.stderr)
