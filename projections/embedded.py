"""Running the projector inside another process (the API server in embedded mode).

    projector = start_projector(settings)     # a daemon thread following the log
    ...
    projector.stop()                           # at shutdown

Several processes may each start one: the advisory locks let one apply while the others
stand by, and a standby takes over when the active one's process dies.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

from danvan.infra.database import owner_params
from danvan.infra.settings import Settings
from danvan.projections.base import Projection
from danvan.projections.catalog import all_projections
from danvan.projections.event_types import UnknownEvent
from danvan.projections.rebuild import rebuild_stale
from danvan.projections.runner import DEFAULT_BATCH_SIZE, DEFAULT_COALESCE, Runner
from danvan.projections.sharding import Shard, ShardingError


class Projector:
    """A runner on a thread of its own."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=runner.name, daemon=True)

    def _run(self) -> None:
        # An event this code cannot read: the runner logged it and recorded the halt,
        # which health and status show; the thread ends. So it does, logged, when the read
        # models are kept in tenant shards (run `danvan projector --shard K/N` processes).
        with contextlib.suppress(UnknownEvent, ShardingError):
            self.runner.run(self._stop)

    def start(self) -> Projector:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def make_runner(settings: Settings, projections: Sequence[Projection] | None = None, *,
                batch_size: int = DEFAULT_BATCH_SIZE, poll_interval: float = 1.0,
                name: str = "danvan-projector",
                catch_up_batch_size: int | None = None, shard: Shard | None = None,
                coalesce: float = DEFAULT_COALESCE) -> Runner:
    """A runner as the schema owner (read models are written by their owner; RLS binds
    readers only); with ``shard``, a tenant shard (``sharding``)."""
    return Runner(owner_params(settings).conninfo(), projections or all_projections(),
                  app_role=settings.app_db_role, batch_size=batch_size,
                  poll_interval=poll_interval, name=name,
                  catch_up_batch_size=catch_up_batch_size, shard=shard, coalesce=coalesce)


def start_projector(settings: Settings, projections: Sequence[Projection] | None = None,
                    **options: float) -> Projector:
    """Start following the log on a daemon thread; call ``stop()`` at shutdown. Read models
    built by older code are rebuilt first (``rebuild.rebuild_stale``)."""
    rebuild_stale(owner_params(settings).conninfo(), projections or all_projections(),
                  app_role=settings.app_db_role)
    runner = make_runner(settings, projections,
                         batch_size=int(options.get("batch_size", DEFAULT_BATCH_SIZE)),
                         poll_interval=float(options.get("poll_interval", 1.0)),
                         name="danvan-projector-embedded")
    return Projector(runner).start()
