"""Stored events as projections see them: read straight from ``danvan_events``, decoded once.

The notification log is read with plain SQL (binary rows) and each state is decoded by msgspec
into a Struct made from its domain event class (``event_types``), several times faster than
rebuilding domain event objects through the library's transcoder. Topics are derived from the
domain classes (``topic_of(Model.Accepted)``), so a renamed class renames its topic here too;
events stored under an old topic (an alias) or at an old class version (upcast) are seen as
the current class, and an event no decoder knows stops the reader (``event_types``).

An event whose state cannot be decoded or upcast comes out as ``Undecodable``: any projection
that reads it fails with the reason, so the runner quarantines it for the projections that
want it, as it does with an event they cannot apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from eventsourcing.utils import get_topic

from danvan.infra.event_store import EVENTS_TABLE
from danvan.projections.event_types import (
    Meta,
    NewerThanCode,
    UnknownEvent,
    decoding_of,
    decodings,
)

FETCH_SQL = (
    "SELECT notification_id, originator_id::text, originator_version, topic, state "
    f"FROM public.{EVENTS_TABLE} WHERE notification_id > %s "
    "ORDER BY notification_id LIMIT %s"
)


def topic_of(cls: type) -> str:
    """The topic the store records for an event class, e.g. ``...model:Model.Accepted``."""
    return get_topic(cls)


class Envelope(msgspec.Struct, gc=False, eq=False):
    """One stored event: its position in the log, its aggregate (id as text), its topic and
    its fields.

    ``at`` is the event's own timestamp as stored (ISO 8601 with offset); PostgreSQL parses it
    when it lands in a ``timestamptz`` column. ``data`` is the decoded state: a Struct with
    the event class's fields as attributes (``e.data.level``), ``tenant_id`` and ``meta``.
    (A Struct, not a class with ``__init__``: made in C, a tenth of the cost, for every
    event read.)
    """

    position: int
    originator_id: str
    version: int
    topic: str
    data: Any
    at: str
    tenant_id: str

    @property
    def timestamp(self) -> datetime:
        return datetime.fromisoformat(self.at)

    @property
    def meta(self) -> Meta:
        meta: Meta = self.data.meta
        return meta

    def __repr__(self) -> str:
        return f"Envelope({self.position}, {self.topic.rsplit(':', 1)[-1]}, v{self.version})"


def envelope(position: int, originator_id: str, version: int, topic: str,
             data: Any) -> Envelope:
    """The envelope of a decoded state (``data``)."""
    return Envelope(position, originator_id, version, topic, data, data.timestamp._data_,
                    data.tenant_id)


class EventNotDecoded(ValueError):
    """Raised by reading an ``Undecodable`` event's fields."""


_UNREADABLE = frozenset({"data", "at", "tenant_id"})


class Undecodable(Envelope, gc=False, eq=False):
    """A stored event of a known class whose state cannot be decoded or upcast. Position,
    aggregate, version and topic are known; reading anything else raises
    ``EventNotDecoded``, so a projection that wants the event fails on it (and the runner
    quarantines it) while the others skip it as usual."""

    error: Exception | None = None

    def __getattribute__(self, name: str) -> Any:
        if name in _UNREADABLE:
            error = object.__getattribute__(self, "error")
            raise EventNotDecoded(
                f"event {self.position} ({self.topic}) cannot be decoded: "
                f"{type(error).__name__}: {error}") from error
        return super().__getattribute__(name)


def undecodable(position: int, originator_id: str, version: int, topic: str,
                error: Exception) -> Undecodable:
    return Undecodable(position, originator_id, version, topic, None, "", "", error=error)


def decode_row(row: Sequence[Any]) -> Envelope:
    position, originator_id, version, topic, state = row
    decoding = decodings().get(topic) or decoding_of(topic, position)
    try:
        data = decoding.decode_any(state)
    except Exception as exc:
        refused = decoding.refusal(state, exc)
        if isinstance(refused, NewerThanCode):
            raise UnknownEvent(topic, position, str(refused)) from None
        # A poison event of a known class: for the projections that read it to judge.
        return undecodable(position, originator_id, version, decoding.topic, refused)
    return envelope(position, originator_id, version, decoding.topic, data)


@dataclass(frozen=True)
class Batch:
    """A contiguous stretch of the log: every committed event with ``after < position <= last``.

    Positions of rolled-back inserts are simply absent (gaps); since inserts hold the table's
    EXCLUSIVE lock until commit, no event below ``last`` can still become visible later.
    """

    after: int
    last: int
    events: Sequence[Envelope]
    chosen: dict[frozenset[str], list[Envelope]] = field(
        default_factory=dict, compare=False, repr=False)
    """The events of each topic set asked for so far (``of_topics``)."""

    def of_topics(self, topics: frozenset[str]) -> list[Envelope]:
        """The events with one of ``topics``, in log order (one list for every projection
        that asks: read it, never change it)."""
        found = self.chosen.get(topics)
        if found is None:
            found = self.chosen[topics] = [e for e in self.events if e.topic in topics]
        return found

    def sort_out(self, topic_sets: Iterable[frozenset[str]]) -> None:
        """Sort the events out for every one of ``topic_sets`` at once, for ``of_topics`` to
        answer: one pass over the batch instead of one per projection (and per part of a
        projection) that asks."""
        routes: dict[str, list[Any]] = {}
        for topics in set(topic_sets) - self.chosen.keys():
            found: list[Envelope] = []
            self.chosen[topics] = found
            for topic in topics:
                routes.setdefault(topic, []).append(found.append)
        if not routes:
            return
        appends = {topic: tuple(sinks) for topic, sinks in routes.items()}
        nowhere: tuple[Any, ...] = ()
        for e in self.events:
            for append in appends.get(e.topic, nowhere):
                append(e)

    def since(self, position: int) -> Batch:
        """The part of the batch a projection at ``position`` has not applied yet."""
        if position <= self.after:
            return self
        if position >= self.last:
            return Batch(self.last, self.last, ())
        lo, hi = 0, len(self.events)
        while lo < hi:  # first event with a position above ``position``
            mid = (lo + hi) // 2
            if self.events[mid].position <= position:
                lo = mid + 1
            else:
                hi = mid
        return Batch(position, self.last, self.events[lo:])

    def __len__(self) -> int:
        return len(self.events)


def fetch_batch(conn: psycopg.Connection[Any], after: int, limit: int) -> Batch:
    """At most ``limit`` events after ``after``, in log order (one binary round trip)."""
    return batch_of_rows(after, fetch_rows(conn, after, limit))


def fetch_rows(conn: psycopg.Connection[Any], after: int, limit: int) -> list[Any]:
    """The stored rows of ``fetch_batch``, not decoded yet."""
    with conn.cursor(binary=True) as cur:
        cur.execute(FETCH_SQL, (after, limit))
        return cur.fetchall()


def batch_of_rows(after: int, rows: Sequence[Sequence[Any]]) -> Batch:
    """The batch of the rows ``fetch_rows`` read after ``after``."""
    return Batch(after, rows[-1][0] if rows else after, decode_rows(rows))


def decode_rows(rows: Sequence[Sequence[Any]]) -> list[Envelope]:
    """``decode_row`` of each row, with its common case (a current topic, a state at the
    class's current version) inlined: a function call and a cache lookup less per event."""
    table = decodings()
    events: list[Envelope] = []
    append = events.append
    for row in rows:
        position, originator_id, version, topic, state = row
        decoding = table.get(topic)
        if decoding is not None:
            try:
                data = decoding.decode(state)
            except Exception:
                pass
            else:
                append(Envelope(position, originator_id, version, decoding.topic, data,
                                data.timestamp._data_, data.tenant_id))
                continue
        append(decode_row(row))
    return events


def batch_of(events: Iterable[Envelope], after: int = 0) -> Batch:
    """A batch built from envelopes already in hand (tests, replays up to a moment)."""
    listed = list(events)
    return Batch(after, listed[-1].position if listed else after, listed)


def log_head(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM public.{EVENTS_TABLE}"
                       ).fetchone()
    return int(row[0]) if row else 0
