"""The files data init would write, as changes to show (a unified diff each) and then
write whole: nothing is written until every proposal has been computed and validated.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..output import write_file


@dataclass
class Change:
    path: Path
    new: str | None  # None: the file is deleted
    old: str | None  # None: a new file
    summary: str = ""  # shown instead of a diff (a data file)
    copy_from: Path | None = None  # a data file copied byte for byte

    @property
    def status(self) -> str:
        if self.old is None:
            return "new"
        if self.new is None:
            return "deleted"
        return "unchanged" if self.new == self.old else "changed"

    def diff(self) -> str:
        if self.summary:
            return f"--- {self.path}\n+++ {self.path}\n{self.summary}\n"
        lines = difflib.unified_diff(
            (self.old or "").splitlines(keepends=True),
            (self.new or "").splitlines(keepends=True),
            fromfile=str(self.path) if self.old is not None else "/dev/null",
            tofile=str(self.path) if self.new is not None else "/dev/null",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class Plan:
    changes: list[Change]
    checklist: list[str] = field(default_factory=list)

    @property
    def overwrites(self) -> list[Change]:
        return [change for change in self.changes if change.status in ("changed", "deleted")]


def read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def apply(plan: Plan, root: Path) -> list[str]:
    """Write every change (each file whole, via output.write_file); everything was computed and
    validated before the first write, so a bad input never leaves a half-written project."""
    written = []
    for change in plan.changes:
        target = Path(root) / change.path
        if change.status == "unchanged":
            continue
        if change.new is None:
            target.unlink()
        elif change.copy_from is not None:
            _copy(change.copy_from, target)
        else:
            mode = target.stat().st_mode & 0o777 if target.exists() else _default_mode()
            write_file(target, change.new, option="data init")
            target.chmod(mode)  # written via a private temporary file (0600): keep the file's own mode
        written.append(f"{change.path}" + (" (deleted)" if change.new is None else ""))
    return written


def _default_mode() -> int:
    """A new file's mode as `touch` would make it (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _copy(source: Path, target: Path) -> None:
    """A byte-for-byte copy, written beside the target and renamed over it (as write_file does)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.chmod(temporary, _default_mode())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
