"""A second writer for a pipelined run: a thread with a connection of its own that writes the
prepared batches of the projections written apart (``Projection.written_apart``) while the
runner's connection writes the others'. Two backends then share the writing of each batch,
which one backend alone made the slowest step of a catch-up.

One job at a time: ``submit`` hands it a job (a function of its connection), ``result``
waits for what the job returned, or raises what it raised.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from danvan.projections.base import Connection

Job = Callable[[Connection], Any]


class SideWriter:
    def __init__(self, conninfo: str, *, name: str = "danvan-write-apart") -> None:
        self._conn: Connection = psycopg.connect(conninfo, autocommit=True,
                                                 application_name=name)
        # As on the runner's connection: a commit lost in a crash loses the rows and the
        # positions together, and the batch is applied again.
        self._conn.execute("SET synchronous_commit = off")
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=1)
        self._results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        self._busy = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._results.put((True, job(self._conn)))
            except BaseException as exc:  # handed to the caller of ``result``
                self._results.put((False, exc))

    def submit(self, job: Job) -> None:
        if self._busy:
            raise RuntimeError("the side writer's previous job was not waited for")
        self._busy = True
        self._jobs.put(job)

    def result(self) -> Any:
        done, value = self._results.get()
        self._busy = False
        if not done:
            raise value
        return value

    def close(self) -> None:
        """Stop after the job in hand (waited for, its outcome dropped)."""
        if self._busy:
            with contextlib.suppress(BaseException):
                self.result()
        self._jobs.put(None)
        self._thread.join(30)
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
