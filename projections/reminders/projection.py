"""Reminders: one row per ``Reminder.Sent`` (tenant, subject, day), with the items it named
as recorded."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from danvan.domain.reminders import Reminder
from danvan.projections.base import Cursor, Projection, TableSharding, Write, copy_rows
from danvan.projections.events import Batch, topic_of

SENT = topic_of(Reminder.Sent)
_encode = msgspec.json.Encoder().encode


class Reminders(Projection):
    name = "reminders"
    tables = ("reminders",)
    sharding = dict.fromkeys(tables, TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = frozenset({SENT})

    def ddl(self, schema: str) -> list[str]:
        return [f"""CREATE TABLE {schema}.reminders (
            reminder_id uuid PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            subject text NOT NULL,
            day date NOT NULL,
            items jsonb NOT NULL,
            sent_at timestamptz NOT NULL,
            position bigint NOT NULL)"""]

    def indexes(self, schema: str) -> list[str]:
        return [f"CREATE INDEX ON {schema}.reminders (tenant_id, position)"]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        rows = [(e.originator_id, e.tenant_id, e.data.subject, e.data.day,
                 _encode(e.data.items).decode(), e.at, str(e.position))
                for e in self.wanted(batch)]

        def write(cur: Cursor) -> None:
            if rows:
                copy_rows(cur, f"{schema}.reminders", ("reminder_id", "tenant_id", "subject",
                                                        "day", "items", "sent_at", "position"),
                          rows)
        return write
