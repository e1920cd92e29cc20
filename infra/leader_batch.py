"""Leader/follower batching: the requests that threads make at the same moment are written as
one batch, by one of those threads.

The first thread to arrive leads: it takes the requests queued (its own first, at most
``max_batch``) and hands them to the batch callable, which answers each its own result or
error; it then passes the lead to the first of the requests that arrived meanwhile (or to
nobody), and wakes its batch. The others wait, each woken once: by the end of its batch, or by
its turn to lead the next one. A thread returns only once its batch is over, with its own
answer. Users: the event store's group commit (``infra/group_commit.py``) and the job store's
claims and successes (``infra/jobs.GroupWriter``).

What a request sees:
- its own result, or its own error: a batch callable that raises fails the requests of its
  batch it has not answered (each raising its own copy: threads raising one object overwrite
  each other's traceback), and the next batch runs all the same;
- a caller interrupted while it waits (Ctrl-C) withdraws its request if no batch holds it yet,
  handing on the lead if it had been given it; if its batch is under way it waits for that
  batch to end (its outcome stands), then raises its interrupt;
- a leader interrupted (KeyboardInterrupt, SystemExit) keeps the interrupt to itself: the
  requests of its batch not yet answered get an error they can retry (``interrupted``), as
  does any request its batch left unanswered (the leader interrupted again while failing
  them): a request never returns without its answer.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


class LeadInterrupted(RuntimeError):
    """The thread leading the batch was interrupted before answering this request."""


@dataclass(eq=False, slots=True)
class Request(Generic[T, R]):
    """What one thread asked for (``item``), and its answer once the batch callable gave it."""

    item: T
    result: R | None = None
    error: BaseException | None = None
    answered: bool = False
    leads: bool = False
    """Set when this request's thread must lead the next batch instead of waiting for it."""
    done: bool = False
    """Its batch is over: the answer stands."""
    wake: threading.Event = field(default_factory=threading.Event)

    def answer(self, result: R) -> None:
        self.result, self.answered = result, True

    def fail(self, error: BaseException) -> None:
        self.error, self.answered = error, True


class LeaderBatch(Generic[T, R]):
    """``submit(item)`` from any number of threads; ``write(batch)`` answers every request of
    a batch (``Request.answer`` or ``Request.fail``), on the leading thread."""

    def __init__(self, write: Callable[[list[Request[T, R]]], None], *,
                 max_batch: int | None = None,
                 interrupted: Callable[[str], Exception] = LeadInterrupted) -> None:
        self._write = write
        self._max_batch = max_batch
        self._interrupted = interrupted
        self._queue: list[Request[T, R]] = []
        self._guard = threading.Lock()
        self._leading = False

    @property
    def waiting(self) -> int:
        """Requests queued for the next batch."""
        with self._guard:
            return len(self._queue)

    def submit(self, item: T) -> R:
        """Write ``item`` with whatever else is asked for now; its answer, or its error raised."""
        request: Request[T, R] = Request(item)
        with self._guard:
            self._queue.append(request)
            if not self._leading:
                self._leading = request.leads = True
        try:
            while not request.leads and not request.done:
                request.wake.wait()
                request.wake.clear()
            if not request.done:
                self._lead(request)
        except BaseException:
            self._withdraw(request)
            raise
        if request.error is not None:
            raise request.error
        if not request.answered:  # its leader stopped short (interrupted again): unknown
            raise self._interrupted("the batch ended without answering this request")
        return cast(R, request.result)

    def _withdraw(self, request: Request[T, R]) -> None:
        """The thread was interrupted: take its request back if no batch holds it yet (passing
        on the lead if it had been handed it); else let its batch end first."""
        with self._guard:
            if request in self._queue:
                self._queue.remove(request)
                if request.leads:
                    self._hand_on()
                return
        # In another thread's batch (a request that leads is in no one else's): it stands.
        while not request.leads and not request.done:
            request.wake.wait(0.1)

    def _hand_on(self) -> None:
        """Under ``_guard``: the first queued request leads next, or nobody leads."""
        if self._queue:
            self._queue[0].leads = True
            self._queue[0].wake.set()
        else:
            self._leading = False

    def _lead(self, mine: Request[T, R]) -> None:
        """Write one batch (``mine`` is first in it), then hand the lead on."""
        batch: list[Request[T, R]] = []
        try:
            with self._guard:
                cut = len(self._queue) if self._max_batch is None else self._max_batch
                batch, self._queue = self._queue[:cut], self._queue[cut:]
            self._write(batch)
        except BaseException as exc:
            if isinstance(exc, Exception):
                failure = exc
                if not mine.answered:
                    mine.fail(exc)
            else:  # an interrupt is this thread's alone: its batch-mates get an error to retry
                failure = self._interrupted(
                    f"the batch's leading thread was interrupted ({type(exc).__name__})")
                mine.fail(exc)
            for request in batch:
                if not request.answered:
                    request.fail(_own_copy(failure))
        else:
            for request in batch:
                if not request.answered:
                    request.fail(RuntimeError("the batch left this request unanswered"))
        finally:
            with self._guard:
                if mine in self._queue:  # interrupted before taking its batch
                    self._queue.remove(mine)
                self._hand_on()
            mine.done = True
            for request in batch:
                request.done = True
                request.wake.set()


def _own_copy(exc: Exception) -> Exception:
    """A copy of ``exc`` for one thread to raise, caused by the original."""
    try:
        mine = copy.copy(exc)
    except Exception:
        return exc
    mine.__cause__ = exc
    return mine
