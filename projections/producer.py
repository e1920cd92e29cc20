"""A thread that produces items ahead of their consumer, through a bounded queue: the shape of
the pipeline's batch producer and of its log reader (``pipeline``, ``fetch_ahead``).

    class Reader(Producer):
        def produce(self) -> None:        # on the thread; stops when ``put`` says so
            while self.put(item): ...

    reader = Reader("danvan-fetch").start()
    item = reader.take()                  # what ``produce`` raised is raised here
    reader.stop()                         # also while the thread waits to put
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Self


class Producer:
    def __init__(self, name: str, *, depth: int = 1) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def name(self) -> str:
        return self._thread.name

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> Self:
        self._thread.start()
        return self

    def produce(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self.produce()
        except BaseException as exc:  # handed to the consumer
            self.put(exc)

    def put(self, item: Any) -> bool:
        """Hand ``item`` on (waiting for room); False once stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def take(self) -> Any:
        """The next item; what the producer raised is raised here."""
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        """Stop the thread (it may be waiting to put) and wait for it."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(30)
