"""Jobs that keep the deployment in order: seals, purges, and a no-op to check the pipeline.

``seal``: with ``{"all": true}`` (nightly) every tenant whose chain moved since its last seal
by this key; otherwise only those whose chain moved ``DANVAN_SEAL_EVERY`` events since it.
Sealing is idempotent (one seal per tenant, position and key), so a job run twice seals
nothing twice. Written against ``infra/seals.seal_all``; the "which tenants are due" query is
``tenants_due_for_seal`` below.
"""

from __future__ import annotations

from typing import Any

from danvan.backend.jobs.running import JobFailed, JobRun
from danvan.infra.database import connect_app
from danvan.infra.seals import key_id, load_seal_key, seal_all
from danvan.infra.settings import Settings


def ping(run: JobRun) -> dict[str, Any]:
    """Nothing: a job that only proves the outbox, relay, broker and worker work
    (``danvan jobs ping``, ``danvan bench jobs``)."""
    return {"pong": True}


def tenants_due_for_seal(conn: Any, kid: str, every: int) -> list[str]:
    """Tenants whose chain holds at least ``every`` events after their last seal by the key
    ``kid`` (counting stops at ``every``: an index range scan, bounded per tenant)."""
    rows = conn.execute(
        "SELECT h.tenant_id FROM public.audit_chain_heads h "
        "LEFT JOIN LATERAL (SELECT s.position FROM public.audit_seals s "
        " WHERE s.tenant_id = h.tenant_id AND s.key_id = %(kid)s "
        " ORDER BY s.position DESC LIMIT 1) last ON true "
        "WHERE h.position > coalesce(last.position, 0) AND (SELECT count(*) FROM ("
        " SELECT 1 FROM public.danvan_events e WHERE e.tenant_id = h.tenant_id"
        " AND e.notification_id > coalesce(last.position, 0) LIMIT %(every)s) n) >= %(every)s "
        "ORDER BY h.tenant_id", {"kid": kid, "every": every}).fetchall()
    return [row[0] for row in rows]


def seal_due(settings: Settings) -> bool:
    """Whether any tenant is due for a seal (the scheduler asks before recording a job)."""
    kid = key_id(load_seal_key(settings).public_key())
    with connect_app(settings) as conn:
        return bool(tenants_due_for_seal(conn, kid, settings.seal_every_events))


def seal(run: JobRun) -> dict[str, Any]:
    settings = run.settings
    key = load_seal_key(settings)
    with connect_app(settings) as conn:
        if run.params.get("all"):
            results = seal_all(conn, key)
        else:
            due = tenants_due_for_seal(conn, key_id(key.public_key()),
                                       settings.seal_every_events)
            results = []
            for done, tenant_id in enumerate(due):
                results.extend(seal_all(conn, key, tenant_id=tenant_id))
                run.progress(done + 1, len(due))
    refused = [{"row": None, "field": r.tenant_id, "message": r.reason or "refused"}
               for r in results if not r.sealed]
    if refused:  # a broken chain is for an inspector, not for a retry
        raise JobFailed("some chains do not verify", refused)
    return {"sealed": [{"tenant_id": r.tenant_id, "position": r.position} for r in results]}


def purge(run: JobRun) -> dict[str, Any]:
    services = run.services
    keys = services.idempotency.purge_expired() if services.idempotency else 0
    jobs = run.runtime.jobs.purge_finished(run.settings.job_retention_days)
    return {"idempotency_keys": keys, "jobs": jobs}
