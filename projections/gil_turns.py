"""Short GIL turns while a pipeline runs.

A pipelined run has one busy Python thread (the producer: decoding, folding) and threads that
mostly wait on PostgreSQL (the writers, the log reader) and then need the GIL only briefly,
but each time for as long as the producer keeps it: the interpreter's default turn is 5 ms,
so after each statement, and each chunk of a COPY, a writer's backend could sit idle that
long. The turn is process-wide: shortened for the runs, restored when the last one ends.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

GIL_TURN = 0.0005
"""Seconds a thread may keep the GIL while another waits for it, during a pipelined run."""

_lock = threading.Lock()
_runs = 0
_before = 0.0


@contextlib.contextmanager
def short_gil_turns() -> Iterator[None]:
    global _runs, _before
    with _lock:
        if _runs == 0:
            _before = sys.getswitchinterval()
            sys.setswitchinterval(min(GIL_TURN, _before))
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                sys.setswitchinterval(_before)
