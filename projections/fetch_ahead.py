"""The log read a batch ahead for a pipeline, on a thread and a connection of its own: while
the pipeline decodes and folds one batch, PostgreSQL reads and sends the next one, instead of
the pipeline waiting for it after each batch.

The ranges follow each other (each batch starts after the last position of the one before),
so they are known before the pipeline asks; the reading stops after a batch shorter than the
limit (the log head as it stood).
"""

from __future__ import annotations

from typing import Any

import psycopg

from danvan.projections.events import fetch_rows
from danvan.projections.producer import Producer


class FetchAhead(Producer):
    def __init__(self, conninfo: str, after: int, limit: int, *,
                 name: str = "danvan-fetch") -> None:
        super().__init__(name)
        self.conninfo = conninfo
        self.after = after
        self.limit = limit

    def produce(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True,
                             application_name=self.name) as conn:
            after = self.after
            while not self.stopping:
                rows = fetch_rows(conn, after, self.limit)
                if not self.put((after, rows)) or len(rows) < self.limit:
                    return
                after = rows[-1][0]

    def next(self) -> tuple[int, list[Any]]:
        """The next range's start and its rows (fewer than the limit: the last range)."""
        after, rows = self.take()
        return after, rows
