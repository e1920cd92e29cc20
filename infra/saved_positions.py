"""The log position a context's saves reached: what a command answers as ``Danvan-Position``.

    with tracking() as saved:        # the HTTP layer, around one command
        ...store.save(model)...      # EventStore.save calls note() with its notification ids
    saved.position                   # the global position of the last event appended, or None

The holder is mutable and travels in a context variable, so a save made on the handler's
worker thread (Litestar copies the context into it) is seen by the middleware that opened it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class SavedPosition:
    position: int | None = None


_current: ContextVar[SavedPosition | None] = ContextVar("danvan_saved_position", default=None)


@contextmanager
def tracking() -> Iterator[SavedPosition]:
    saved = SavedPosition()
    token = _current.set(saved)
    try:
        yield saved
    finally:
        _current.reset(token)


def note(notification_ids: Iterable[int | None]) -> None:
    """Called by the store after each save with the ids its events were given."""
    saved = _current.get()
    if saved is None:
        return
    ids = [i for i in notification_ids if i is not None]
    if ids:
        saved.position = max(max(ids), saved.position or 0)
