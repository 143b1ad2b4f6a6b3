"""Progress lines for multi-stage commands: '[2/5] train ... done in 1.3 s: best round 143'."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Stages:
    def __init__(self, total: int, echo: Callable[[str], None] | None = None) -> None:
        self.total = total
        self.done = 0
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))

    @contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        """Yields a list; whatever the stage appends is printed as its one-line summary."""
        self.done += 1
        prefix = f"[{self.done}/{self.total}] {name}"
        self.echo(f"{prefix} ...")
        summary: list[str] = []
        started = time.perf_counter()
        yield summary
        elapsed = time.perf_counter() - started
        self.echo(f"{prefix}: {'; '.join(summary) or 'done'} ({elapsed:.1f} s)")
