"""A one-line progress bar for long terminal commands (rebuild, bench data)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, total: int, *, stream: TextIO | None = None,
                 width: int = 30, every: float = 0.2) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.width = width
        self.every = every
        self.started = time.monotonic()
        self._shown = 0.0
        self.done = 0

    def update(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        self.done = done
        if total is not None:
            self.total = max(total, 1)
        now = time.monotonic()
        if not force and now - self._shown < self.every:
            return
        self._shown = now
        share = min(done / self.total, 1.0)
        filled = int(share * self.width)
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 and done < self.total else 0.0
        line = (f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{share:6.1%} {done:,}/{self.total:,}  {rate:,.0f}/s  ETA {eta:,.0f}s ")
        self.stream.write(line)
        self.stream.flush()

    def finish(self, message: str = "") -> None:
        self.update(self.done, force=True)
        self.stream.write(f"  {message}\n" if message else "\n")
        self.stream.flush()
