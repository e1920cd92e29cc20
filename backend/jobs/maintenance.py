"""Jobs that keep the deployment in order: seals, purges, and a no-op to check the pipeline.

``seal``: with ``{"all": true}`` (nightly) every tenant whose chain moved since its last seal
by this key; otherwise those ``infra.seals.SealPolicy`` says are due (``DANVAN_SEAL_EVERY``
events, or a day, since the last seal, or never sealed). Sealing is idempotent (one seal per
tenant, position and key), so a job run twice seals nothing twice.
"""

from __future__ import annotations

from typing import Any

from danvan.backend.jobs.running import JobFailed, JobRun
from danvan.infra.database import connect_app
from danvan.infra.seals import SealPolicy, due_tenants, key_id, load_seal_key, seal_all
from danvan.infra.settings import Settings


def ping(run: JobRun) -> dict[str, Any]:
    """Nothing: a job that only proves the outbox, relay, broker and worker work
    (``danvan jobs ping``, ``danvan bench jobs``)."""
    return {"pong": True}


def seal_due(settings: Settings) -> bool:
    """Whether any tenant is due for a seal (the scheduler asks before recording a job)."""
    key = load_seal_key(settings)
    with connect_app(settings) as conn:
        return bool(due_tenants(conn, key_id(key.public_key()), SealPolicy.of(settings)))


def seal(run: JobRun) -> dict[str, Any]:
    """Seal what is due (``SealPolicy``), or with ``{"all": true}`` every chain that moved."""
    settings = run.settings
    key = load_seal_key(settings)
    with connect_app(settings) as conn:
        policy = None if run.params.get("all") else SealPolicy.of(settings)
        results = seal_all(conn, key, policy=policy)
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
