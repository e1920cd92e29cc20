"""Credentials generations: a token issued before its user's latest credentials change is refused.

The contract (API.md, "People"): after a role change, a password change or reset, or a
deactivation, tokens issued earlier are refused (401) from the moment the command has
answered, on every worker process, while a token issued after it is accepted, even within
the same second.

How it holds:

- The domain numbers the changes: a user's credentials generation is the version of its
  latest ``CredentialsChanged`` event (``domain/users.py``). The login issues the token from
  the aggregate it has just loaded, so the ``gen`` claim and the grants in the token come
  from the same version. No clock is compared: a token issued a millisecond after a change
  carries the new generation.
- ``record_generations``, an ``InTransaction`` writer of the store's recorder hook
  (``backend/http/idempotency.py``), raises the user's row of ``user_credentials`` in the
  transaction that appends the event. The command answers after its commit, so from then on
  every process reads the new generation.
- ``Generations.current`` reads that row for each authenticated request, REST and GraphQL
  alike (the one authentication middleware): a primary-key lookup on an asyncio pool of its
  own, so no thread hop; lookups asked while its connections are busy go together as one
  query. A token with an older generation gets 401 ``token_revoked``.
- The events stay the truth: ``rebuild_generations`` recomputes every row from them.

Why the recorder hook rather than a trigger on the events table: the hook takes its topics
from the domain (``credentials_changes()``), where a trigger would need the topic names in SQL
as a second list to keep in step. The price: a process whose store lacks the hook would append
such events without raising the row. ``wiring.open_store`` and ``wiring.build`` install it,
and ``build`` refuses a PostgreSQL store that cannot take it. A missing raise can only let an
old token live on, never refuse a good one: rows never exceed what the events say.

Cost (``python -m bench.token_revocation``, against the same app without the check): about
0.2 ms of CPU and 0.27 ms of latency per request one at a time; with 32 requests in flight,
0.85 of a bare authenticated ping's throughput (0.16 before lookups shared queries).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from danvan.domain.users import credentials_changes
from danvan.infra.event_store import EVENTS_TABLE

TABLE = "user_credentials"
POOL_SIZE = 2
"""Connections per process: one lookup takes a fraction of a millisecond, so two serve far
more requests than a worker answers (and each worker already holds about 24 connections)."""

CLOSE_SECONDS = 2.0
"""How long a stopping app waits for the pool's connecting tasks (the server's graceful stop
waits for the app)."""

_RAISE = (f"INSERT INTO {TABLE} AS c (user_id, generation) VALUES (%s, %s) "
          "ON CONFLICT (user_id) DO UPDATE SET generation = EXCLUDED.generation, "
          "changed_at = now() WHERE c.generation < EXCLUDED.generation")
_CURRENT = f"SELECT generation FROM {TABLE} WHERE user_id = %s"
_CURRENT_MANY = f"SELECT user_id, generation FROM {TABLE} WHERE user_id = ANY(%s)"


class GenerationsUnavailable(Exception):
    """The current generation could not be read (the database is not answering)."""


@functools.cache
def credentials_topics() -> frozenset[str]:
    """The stored topics of the events that change a credentials generation."""
    return frozenset(get_topic(cls) for cls in credentials_changes())


def generations_in(stored_events: Sequence[StoredEvent]) -> dict[uuid.UUID, int]:
    """The new generation of each user whose credentials these events change."""
    topics = credentials_topics()
    found: dict[uuid.UUID, int] = {}
    for event in stored_events:
        if event.topic in topics:
            user_id = uuid.UUID(str(event.originator_id))
            found[user_id] = max(found.get(user_id, 0), event.originator_version)
    return found


def record_generations(cursor: Any, stored_events: Sequence[StoredEvent],
                       _saved_with: Mapping[str, Any]) -> None:
    """The store's ``InTransaction`` writer (``infra/event_store.py``): raise the
    generations these events change, with them."""
    for user_id, generation in generations_in(stored_events).items():
        cursor.execute(_RAISE, (user_id, generation))


def rebuild_generations(conn: psycopg.Connection[Any], events_table: str = EVENTS_TABLE
                        ) -> int:
    """Bring ``user_credentials`` up to what the events say; returns the rows written.

    Only ever raises a generation, so it is safe beside live writers (one committing while
    this reads is raised by its own transaction). Run it after restoring the table, or once
    after the migration that created it (``backend/setup.py`` does)."""
    cursor = conn.execute(SQL(
        "INSERT INTO {table} AS c (user_id, generation) "
        "SELECT originator_id, max(originator_version) FROM {events} "
        "WHERE topic = ANY(%s) GROUP BY originator_id "
        "ON CONFLICT (user_id) DO UPDATE SET generation = EXCLUDED.generation, "
        "changed_at = now() WHERE c.generation < EXCLUDED.generation").format(
        table=Identifier(TABLE), events=Identifier(events_table)),
        (sorted(credentials_topics()),))
    return int(cursor.rowcount or 0)


class Generations:
    """Reads users' current generations for one app (one event loop): open it in the app's
    lifespan (``lifespan()``), which also closes it.

    Lookups asked while no connection is free wait together and go as one query when one
    is: under load a round trip answers many requests, one at a time it answers one. A
    request only ever joins a query not sent yet, so what it reads was committed before it
    asked."""

    def __init__(self, conninfo: str, *, timeout: float = 5.0, max_size: int = POOL_SIZE
                 ) -> None:
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=False, timeout=timeout,
            name="danvan-credentials",
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))})
        self._gathering: dict[uuid.UUID, list[asyncio.Future[int]]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.queries = 0
        """Queries sent so far (lookups ÷ queries is the mean batch)."""

    async def current(self, user_id: str) -> int:
        """The user's generation now: 0 without a credentials change, or for a subject that
        is no user id (no row can name it). ``GenerationsUnavailable`` when the database does
        not answer."""
        try:
            key = uuid.UUID(user_id)
        except ValueError:
            return 0
        loop = asyncio.get_running_loop()
        batch = self._gathering
        if batch is None:
            batch = self._gathering = {}
            task = loop.create_task(self._look_up(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        answer: asyncio.Future[int] = loop.create_future()
        batch.setdefault(key, []).append(answer)
        return await answer

    async def _look_up(self, batch: dict[uuid.UUID, list[asyncio.Future[int]]]) -> None:
        failure: BaseException | None = None
        rows: list[tuple[uuid.UUID, int]] = []
        try:
            if self.pool.closed:  # served without the app's lifespan (a bare ASGI call)
                await self.pool.open()
            async with self.pool.connection() as conn:
                self._close(batch)  # from here on, requests wait for the next query
                self.queries += 1
                if len(batch) == 1:  # the usual case unless busy: the cheaper query
                    [key] = batch
                    cursor = await conn.execute(_CURRENT, (key,), prepare=True)
                    rows = [(key, row[0]) for row in await cursor.fetchall()]
                else:
                    cursor = await conn.execute(_CURRENT_MANY, (list(batch),), prepare=True)
                    rows = await cursor.fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            failure = GenerationsUnavailable(str(exc))
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._close(batch)
            found = dict(rows)
            for key, answers in batch.items():
                for answer in answers:
                    if answer.done():  # its request was cancelled
                        continue
                    if isinstance(failure, Exception):
                        answer.set_exception(failure)
                    elif failure is not None:  # the app is stopping
                        answer.cancel()
                    else:
                        answer.set_result(int(found.get(key, 0)))

    def _close(self, batch: dict[uuid.UUID, list[asyncio.Future[int]]]) -> None:
        if self._gathering is batch:
            self._gathering = None

    @asynccontextmanager
    async def lifespan(self, _: Any = None) -> AsyncIterator[None]:
        await self.pool.open()
        try:
            yield
        finally:
            await self.pool.close(timeout=CLOSE_SECONDS)
