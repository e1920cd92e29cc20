"""The users' questions, batched by scope: one page of each scope's accounts (a tenant's, or a
province's own ``province:<code>``), by username, searched without diacritics (scope the
connection with ``queries.scoped``). A scope's accounts are those created in it and those
holding a role in it (``projection.listed_in``): a tenant's inspector made by the province."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from danvan.projections.base import Connection
from danvan.projections.paging import Page, check_first, decode_cursor, tenant_pages
from danvan.projections.reading import R, fold_text, search_like, select_list
from danvan.projections.users.rows import UserRow

_LISTED = f"{R}.user_listings l JOIN {R}.users u ON u.user_id = l.user_id"
_USERS = f"SELECT {select_list(UserRow, 'u')} FROM {_LISTED}"


def user_pages(conn: Connection, tenant_ids: Sequence[str], *, first: int,
               after: str | None = None, active: bool | None = None,
               search: str | None = None) -> dict[str, Page[UserRow]]:
    """One page of each tenant's accounts (created in it or holding a role in it: a row's
    ``tenant_id`` says where it was created) by username; ``active`` keeps the active (or the
    deactivated) ones; ``search`` matches any part of the username or full name ignoring case
    and Vietnamese diacritics ("quan" finds "Nguyễn Văn Quản"). Two statements."""
    check_first(first)
    key = decode_cursor("user", after, (str,))
    ids = list(dict.fromkeys(tenant_ids))
    params: dict[str, Any] = {"a": active, "q": fold_text(search) if search else None,
                              "k": key[0] if key else None}
    clauses = [clause for wanted, clause in (
        (active is not None, "u.active = %(a)s"),
        (bool(search), "public.danvan_fold(u.username || ' ' || u.full_name) "
                       f"LIKE {search_like('q')}")) if wanted]
    return tenant_pages(conn, UserRow, select=_USERS, table=_LISTED,
                        where=" AND ".join(["l.listed_in = q.tenant_id", *clauses]),
                        order="l.username", keyset="l.username > %(k)s" if key else None,
                        params=params, tenant_ids=ids, first=first, kind="user",
                        key=lambda u: (u.username,))
