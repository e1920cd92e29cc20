"""The daily reminders as jobs: one ``reminders`` job a day (the schedule's) records one
``tenant_reminders`` job per tenant, each records that tenant's ``Reminder.Sent`` events,
each of which records one ``deliver_reminder`` job per configured channel. Every step goes
through the outbox, so a crash anywhere resumes without doubling anything: the jobs of a day
are deduplicated by key, the reminders by their derived ids, a delivery by its job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from danvan.backend.jobs.running import JobFailed, JobRun
from danvan.backend.services import reminders
from danvan.backend.services.repository import find
from danvan.domain.clock import vietnam_date
from danvan.domain.reminders import Reminder
from danvan.infra.database import connect_owner
from danvan.infra.outbox import JobRequest, enqueue
from danvan.projections.directory.read import every_tenant, tenants_by_id
from danvan.projections.queries import scoped


def _at(run: JobRun) -> datetime:
    return datetime.fromisoformat(run.params["at"])


def fan_out(run: JobRun) -> dict[str, Any]:
    """One ``tenant_reminders`` job per tenant for the day of ``params.at`` (read as the
    schema owner: a job for the whole deployment)."""
    at = _at(run)
    day = vietnam_date(at).isoformat()
    with connect_owner(run.settings) as conn:
        refs = every_tenant(conn)
        added = enqueue(conn, [
            JobRequest("tenant_reminders", tenant_id=ref.id, params={"at": at.isoformat()},
                       dedup_key=f"reminders:{ref.id}:{day}") for ref in refs])
    return {"day": day, "tenants": len(refs), "jobs": len(added)}


def tenant_reminders(run: JobRun) -> dict[str, Any]:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        raise JobFailed("tenant reminders need a tenant")
    services = run.services
    if services.db_pool is None or services.store is None:
        raise RuntimeError("tenant reminders need the database")
    at = _at(run)
    with services.db_pool.connection() as conn:
        with scoped(conn, tenant_ids=[tenant_id]):
            ref = tenants_by_id(conn, [tenant_id]).get(tenant_id)
        if ref is None:
            raise JobFailed("no such tenant in the read models")
        with scoped(conn, tenant_ids=[tenant_id], province_codes=[ref.province_code]):
            due = reminders.due_reminders(conn, tenant_id, at,
                                          deadline=run.settings.registration_deadline)
    # judged as of the scheduled moment, recorded as of now (an event's time is when it was)
    recorded = reminders.reminder_context(tenant_id, datetime.now(UTC), run.job.id)
    sent = reminders.send_reminders(services.store, recorded, due, sorted(services.delivery))
    return {"day": vietnam_date(at).isoformat(),
            "sent": [r.subject for r in sent], "already": len(due) - len(sent)}


def deliver(run: JobRun) -> dict[str, Any]:
    services = run.services
    channel = services.delivery.get(str(run.params.get("channel")))
    if channel is None:
        raise JobFailed(f"the channel {run.params.get('channel')!r} is not configured")
    if services.store is None or services.db_pool is None:
        raise RuntimeError("delivering needs the database")
    reminder = find(services.store, Reminder, str(run.params["reminder_id"]))
    if reminder is None:
        raise JobFailed("no such reminder")
    with services.db_pool.connection() as conn, scoped(conn, tenant_ids=[reminder.tenant_id]):
        ref = tenants_by_id(conn, [reminder.tenant_id]).get(reminder.tenant_id)
    channel.send(reminders.notice(reminder, ref.name if ref else reminder.tenant_id))
    return {"channel": channel.name}
