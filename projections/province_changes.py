"""Which provinces a batch changed: each applied batch counts one change for every province
one of its events belongs to (a tenant's events belong to the tenant's province, a province
scope's to that province). What is cached per province (``graphql/figures.py``) keys on its
count, so a batch in province 01 leaves province 15's figures valid.

An event of a tenant whose province is unknown counts for ``*`` (every province). Counting
a batch that changed none of a province's rows (an event no projection reads) only costs a
recomputation, never a stale answer.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from danvan.domain.policies import province_of_scope
from danvan.domain.tenants import Tenant
from danvan.projections.base import Connection, Cursor
from danvan.projections.events import Batch, EventNotDecoded, Undecodable, topic_of

ONBOARDED = topic_of(Tenant.Onboarded)
EVERY_PROVINCE = "*"


_PROVINCES: weakref.WeakKeyDictionary[Connection, dict[str, str]] = \
    weakref.WeakKeyDictionary()
"""Per connection (a runner's, so one database), the tenants' provinces it has read from
``danvan_tenant_provinces`` (a tenant's province is its onboarding's, never changed): a live
batch of tenants seen before asks for none of them."""
_PROVINCES_KEPT = 100_000


@dataclass(frozen=True)
class Touched:
    """What a batch's events say of their provinces, read without the database (so that a
    pipeline can note it while preparing, after which it drops the decoded events)."""

    tenant_ids: frozenset[str]
    onboarded: dict[str, str]
    """Tenants onboarded in the batch, with their province."""
    undecodable: bool
    """Some event could not be read: its tenant is unknown."""


def touched(batch: Batch) -> Touched:
    events = batch.events
    try:  # one pass over the batch in the common case: every event decoded
        tenant_ids = frozenset([e.tenant_id for e in events])
        undecodable = False
    except EventNotDecoded:
        events = [e for e in events if not isinstance(e, Undecodable)]
        tenant_ids = frozenset([e.tenant_id for e in events])
        undecodable = True
    return Touched(tenant_ids,
                   {e.tenant_id: e.data.province_code for e in events if e.topic == ONBOARDED},
                   undecodable)


def record(cur: Cursor, batch: Batch | Touched) -> None:
    """Inside the batch's transaction: count a change for each province ``batch`` touched."""
    seen = batch if isinstance(batch, Touched) else touched(batch)
    if not seen.tenant_ids and not seen.undecodable:
        return
    onboarded = seen.onboarded
    provinces: set[str] = set()
    unknown: set[str] = set()
    if seen.undecodable:  # whose tenant is unknown
        provinces.add(EVERY_PROVINCE)
    for tenant_id in seen.tenant_ids:
        code = province_of_scope(tenant_id) or onboarded.get(tenant_id)
        if code is not None:
            provinces.add(code)
        else:
            unknown.add(tenant_id)
    if onboarded:
        cur.execute("INSERT INTO public.danvan_tenant_provinces (tenant_id, province_code) "
                    "SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                    (list(onboarded), list(onboarded.values())))
    if unknown:
        cached = _PROVINCES.setdefault(cur.connection, {})
        known = {t: cached[t] for t in unknown if t in cached}
        if len(known) < len(unknown):
            found = dict(cur.execute(
                "SELECT tenant_id, province_code FROM public.danvan_tenant_provinces "
                "WHERE tenant_id = ANY(%s::text[])",
                (sorted(unknown - known.keys()),)).fetchall())
            if len(cached) + len(found) > _PROVINCES_KEPT:
                cached.clear()
            cached.update(found)
            known.update(found)
        provinces.update(known.values())
        if len(known) < len(unknown):
            provinces.add(EVERY_PROVINCE)
    # Sorted: two runners counting the same provinces lock their rows in the same order.
    cur.execute("INSERT INTO public.danvan_province_changes AS c (province_code, changes) "
                "SELECT p, 1 FROM unnest(%s::text[]) AS p ORDER BY p "
                "ON CONFLICT (province_code) DO UPDATE SET changes = c.changes + 1",
                (sorted(provinces),))


def changes(conn: Connection, province_code: str) -> tuple[int, int]:
    """The province's count of changes and that of every province (``*``)."""
    rows = dict(conn.execute(
        "SELECT province_code, changes FROM public.danvan_province_changes "
        "WHERE province_code = ANY(%s::text[])", ([province_code, EVERY_PROVINCE],)).fetchall())
    return int(rows.get(province_code, 0)), int(rows.get(EVERY_PROVINCE, 0))


def every_change(conn: Connection) -> dict[str, int]:
    """Every province's count of changes (and ``*``'s)."""
    return dict(conn.execute(
        "SELECT province_code, changes FROM public.danvan_province_changes").fetchall())
