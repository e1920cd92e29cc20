"""Ctrl-C in the main thread, pressed from another thread at a chosen moment: how the tests of
leader/follower batching (group commit, ``infra/leader_batch.py``) interrupt a caller."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

INTERRUPT = signal.SIGUSR2
"""Stands for Ctrl-C in the main thread (SIGALRM belongs to pytest-timeout)."""


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def interrupt_main() -> None:
    """Press Ctrl-C (``INTERRUPT``) in the main thread."""
    signal.pthread_kill(threading.main_thread().ident or 0, INTERRUPT)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def interrupted_by(conductor: Callable[[], None]) -> Iterator[None]:
    """The block, run in the main thread while ``conductor`` runs in a thread of its own
    (and calls ``interrupt_main`` when it sees fit), must end in KeyboardInterrupt."""
    previous = signal.getsignal(INTERRUPT)
    director = threading.Thread(target=conductor)
    try:
        signal.signal(INTERRUPT, _raise_interrupt)
        director.start()
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        signal.signal(INTERRUPT, previous)
        director.join(10)
