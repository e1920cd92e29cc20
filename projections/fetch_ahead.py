"""The log read a batch ahead for a pipeline, on a thread and a connection of its own: while
the pipeline decodes and folds one batch, PostgreSQL reads and sends the next one, instead of
the pipeline waiting for it after each batch.

The ranges follow each other (each batch starts after the last position of the one before),
so they are known before the pipeline asks; the reading stops after a batch shorter than the
limit (the log head as it stood).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import psycopg

from danvan.projections.events import fetch_rows

_END = object()


class FetchAhead:
    def __init__(self, conninfo: str, after: int, limit: int, *,
                 name: str = "danvan-fetch") -> None:
        self.conninfo = conninfo
        self.after = after
        self.limit = limit
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)

    def start(self) -> FetchAhead:
        self._thread.start()
        return self

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True,
                                 application_name=self._thread.name) as conn:
                after = self.after
                while not self._stop.is_set():
                    rows = fetch_rows(conn, after, self.limit)
                    if not self._put((after, rows)) or len(rows) < self.limit:
                        return
                    after = rows[-1][0]
        except BaseException as exc:  # handed to the reader of ``next``
            self._put(exc)

    def next(self) -> tuple[int, list[Any]]:
        """The next range's start and its rows (fewer than the limit: the last range)."""
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        after, rows = item
        return after, rows

    def stop(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(30)
