"""A tenant's jobs, newest first, and a province's dead jobs: batched for the GraphQL
loaders, keyset-paginated, scoped by the caller's transaction (the province's tenants come
from the readers' ``tenants``, which row-level security confines to the caller's scope)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from danvan.domain.policies import province_scope
from danvan.projections.base import Connection
from danvan.projections.jobs.rows import JobSummary
from danvan.projections.paging import UUID, BadCursor, Page, check_first, decode_cursor, page_of
from danvan.projections.reading import select_list
from danvan.projections.schema import READ_SCHEMA

R = READ_SCHEMA
_FIELDS = select_list(JobSummary)


def _key(cursor: str | None) -> tuple[datetime, str] | None:
    """The (created_at, id) a cursor carries, checked: a forged one is ``BadCursor``."""
    key = decode_cursor("job", cursor, (str, UUID))
    if key is None:
        return None
    try:
        return datetime.fromisoformat(key[0]), key[1]
    except ValueError as exc:
        raise BadCursor("malformed cursor") from exc


def _page(rows: Sequence[Any], first: int, total: int) -> Page[JobSummary]:
    return page_of([JobSummary(*row) for row in rows], first, total, "job",
                   lambda job: (job.created_at.isoformat(), job.id))


def jobs_by_tenant(conn: Connection, tenant_ids: Sequence[str], *, first: int,
                   after: str | None = None) -> dict[str, Page[JobSummary]]:
    """One page of each tenant's jobs, newest first (one statement for every tenant)."""
    check_first(first)
    key = _key(after)
    ids = list(dict.fromkeys(tenant_ids))
    rows = conn.execute(
        f"SELECT p.* FROM unnest(%(ids)s::text[]) AS t(tid) CROSS JOIN LATERAL ("
        f" SELECT {_FIELDS} FROM public.jobs WHERE tenant_id = t.tid"
        " AND (%(at)s::timestamptz IS NULL OR (created_at, job_id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY created_at DESC, job_id DESC LIMIT %(n)s) p",
        {"ids": ids, "at": key[0] if key else None, "id": key[1] if key else None,
         "n": first + 1}).fetchall()
    totals = dict(conn.execute(
        "SELECT tenant_id, count(*) FROM public.jobs WHERE tenant_id = ANY(%s) "
        "GROUP BY tenant_id", (ids,)).fetchall())
    grouped: dict[str, list[Any]] = {t: [] for t in ids}
    for row in rows:
        grouped[row[1]].append(row)
    return {t: _page(grouped[t], first, int(totals.get(t, 0))) for t in ids}


def dead_jobs(conn: Connection, province_code: str, *, first: int,
              after: str | None = None) -> Page[JobSummary]:
    """The province's dead jobs (its own and its tenants'), newest first."""
    check_first(first)
    key = _key(after)
    scope = (f"dead AND (tenant_id = %(p)s OR tenant_id IN (SELECT tenant_id FROM {R}.tenants "
             "WHERE province_code = %(code)s))")
    params = {"p": province_scope(province_code), "code": province_code,
              "at": key[0] if key else None, "id": key[1] if key else None, "n": first + 1}
    rows = conn.execute(
        f"SELECT {_FIELDS} FROM public.jobs WHERE {scope}"
        " AND (%(at)s::timestamptz IS NULL OR (created_at, job_id) < (%(at)s, %(id)s::uuid))"
        " ORDER BY created_at DESC, job_id DESC LIMIT %(n)s", params).fetchall()
    total = conn.execute(f"SELECT count(*) FROM public.jobs WHERE {scope}", params).fetchone()
    return _page(rows, first, int(total[0]) if total else 0)
