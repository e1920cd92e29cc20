"""The reminders' questions, batched by tenant: each tenant's reminders, newest first, one
keyset page per tenant (scope the connection with ``queries.scoped``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from danvan.projections.base import Connection
from danvan.projections.paging import Page, check_first, decode_cursor, page_of
from danvan.projections.reading import R, rows_of, select_list
from danvan.projections.reminders.rows import ReminderRow


def reminders_by_tenant(conn: Connection, tenant_ids: Sequence[str], *, first: int,
                        after: str | None = None, subject: str | None = None,
                        since: date | None = None) -> dict[str, Page[ReminderRow]]:
    """One page of each tenant's reminders, newest first; ``subject`` and ``since`` (a
    first day) narrow them. Two statements for every tenant."""
    check_first(first)
    key = decode_cursor("reminder", after, (int,))
    ids = list(dict.fromkeys(tenant_ids))
    params: dict[str, Any] = {"ids": ids, "s": subject, "d": since,
                              "p": key[0] if key else None, "n": first + 1}
    where = ("r.tenant_id = t.tid AND (%(s)s::text IS NULL OR r.subject = %(s)s) "
             "AND (%(d)s::date IS NULL OR r.day >= %(d)s)")
    rows = conn.execute(
        f"SELECT x.* FROM unnest(%(ids)s::text[]) AS t(tid) CROSS JOIN LATERAL ("
        f"SELECT {select_list(ReminderRow)} FROM {R}.reminders r WHERE {where} "
        "AND (%(p)s::bigint IS NULL OR r.position < %(p)s) "
        "ORDER BY r.position DESC LIMIT %(n)s) x", params).fetchall()
    totals = dict(conn.execute(
        f"SELECT t.tid, count(r.*) FROM unnest(%(ids)s::text[]) AS t(tid) "
        f"JOIN {R}.reminders r ON {where} GROUP BY t.tid", params).fetchall())
    grouped: dict[str, list[ReminderRow]] = {t: [] for t in ids}
    for reminder in rows_of(ReminderRow, rows):
        grouped[reminder.tenant_id].append(reminder)
    return {t: page_of(items, first, int(totals.get(t, 0)), "reminder",
                       lambda r: (r.position,)) for t, items in grouped.items()}
