"""The users' questions, batched by scope: one page of each scope's accounts (a tenant's, or a
province's own ``province:<code>``), by username, searched without diacritics (scope the
connection with ``queries.scoped``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from danvan.projections.base import Connection
from danvan.projections.paging import Page, check_first, decode_cursor, page_of
from danvan.projections.reading import R, fold_text, rows_of, search_like, select_list
from danvan.projections.users.rows import UserRow

_USERS = f"SELECT {select_list(UserRow, 'u')} FROM {R}.users u"


def user_pages(conn: Connection, tenant_ids: Sequence[str], *, first: int,
               after: str | None = None, active: bool | None = None,
               search: str | None = None) -> dict[str, Page[UserRow]]:
    """One page of each tenant's accounts by username; ``active`` keeps the active (or the
    deactivated) ones; ``search`` matches any part of the username or full name ignoring case
    and Vietnamese diacritics ("quan" finds "Nguyễn Văn Quản"). Two statements."""
    check_first(first)
    key = decode_cursor("user", after, (str,))
    ids = list(dict.fromkeys(tenant_ids))
    params: dict[str, Any] = {"t": ids, "a": active,
                              "q": fold_text(search) if search else None,
                              "k": key[0] if key else None, "lim": first + 1}
    clauses = [clause for wanted, clause in (
        (active is not None, "u.active = %(a)s"),
        (bool(search), "public.danvan_fold(u.username || ' ' || u.full_name) "
                       f"LIKE {search_like('q')}")) if wanted]
    where = " AND ".join(["u.tenant_id = q.tenant_id", *clauses])
    totals = dict(conn.execute(
        f"SELECT u.tenant_id, count(*) FROM {R}.users u "
        f"JOIN unnest(%(t)s::text[]) AS q(tenant_id) ON {where} GROUP BY u.tenant_id",
        params).fetchall())
    keyset = "AND u.username > %(k)s" if key else ""
    rows = conn.execute(
        f"SELECT x.* FROM unnest(%(t)s::text[]) AS q(tenant_id) CROSS JOIN LATERAL ("
        f"{_USERS} WHERE {where} {keyset} ORDER BY u.username LIMIT %(lim)s) x",
        params).fetchall()
    grouped: dict[str, list[UserRow]] = {t: [] for t in ids}
    for user in rows_of(UserRow, rows):
        grouped[user.tenant_id].append(user)
    return {t: page_of(items, first, int(totals.get(t, 0)), "user", lambda u: (u.username,))
            for t, items in grouped.items()}
