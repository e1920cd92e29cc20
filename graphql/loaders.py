"""DataLoaders, made per request (their caches must not outlive the caller's scope).

Each loader gathers the keys asked for in one tick of the event loop and answers them with
one statement per distinct set of arguments, all on one connection and one worker thread:
a list of 100 tenants with their units, models or quota costs a query per level, not per row.
Keys are ``(tenant_id, *arguments)`` tuples; the arguments group the batch. Every loader
calls a read model's batched ``read`` functions (``projections.<model>.read``), the ones the
tests and reports call too: no SQL here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from danvan.graphql.db import Reader
from danvan.graphql.errors import Unavailable
from danvan.graphql.history import Stream, model_events
from danvan.graphql.sources import PersonVault, ReadSources
from danvan.projections.audit.read import sealed_persons
from danvan.projections.base import Connection
from danvan.projections.directory import read as directory_read
from danvan.projections.directory.rows import TenantRef, UnitRow
from danvan.projections.jobs.read import jobs_by_tenant
from danvan.projections.jobs.rows import JobSummary
from danvan.projections.models import read as models_read
from danvan.projections.models.rows import (
    ModelSummary,
    PeriodQuotaRow,
    RecognitionRow,
    TenantQuota,
    UnitCompliance,
)
from danvan.projections.paging import Page
from danvan.projections.plans import read as plans_read
from danvan.projections.plans.rows import PlanTaskRow, PlanTaskUnitRow, YearListRow
from danvan.projections.reminders.read import reminders_by_tenant
from danvan.projections.reminders.rows import ReminderRow
from danvan.projections.users.read import user_pages
from danvan.projections.users.rows import UserRow

V = TypeVar("V")
Read = tuple[ModelSummary | None, dict[str, TenantRef | None], Stream | None]
"""``model_with_events``' row, the tenants read with it and its events (None: not read)."""


def by_id(reader: Reader, fetch: Callable[[Connection, list[str]], dict[str, V]]
          ) -> DataLoader[str, V | None]:
    async def load(ids: list[str]) -> list[V | None]:
        found = await reader.run(fetch, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def grouped(reader: Reader,
            fetch: Callable[[Connection, list[str], Any], dict[str, V]]
            ) -> DataLoader[tuple[Any, ...], V]:
    """Keys ``(tenant_id, *args)``: one ``fetch(conn, tenant_ids, args)`` per distinct args."""
    def run(conn: Connection, keys: Sequence[tuple[Any, ...]]) -> list[V]:
        groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for key in keys:
            groups[key[1:]].append(key[0])
        answers: dict[tuple[Any, ...], V] = {}
        for args, tenant_ids in groups.items():
            found = fetch(conn, list(dict.fromkeys(tenant_ids)), args)
            for tenant_id in tenant_ids:
                answers[(tenant_id, *args)] = found[tenant_id]
        return [answers[key] for key in keys]

    async def load(keys: list[tuple[Any, ...]]) -> list[V]:
        return await reader.run(run, keys)

    return DataLoader(load_fn=load)


def _models(conn: Connection, tenant_ids: list[str], args: Any) -> dict[str, Page[ModelSummary]]:
    year, state, field, units, search, first, after = args
    return models_read.model_pages(conn, tenant_ids, year=year, state=state, field=field,
                                   unit_ids=units, search=search, first=first, after=after)


def _recognitions(conn: Connection, tenant_ids: list[str], args: Any
                  ) -> dict[str, list[RecognitionRow]]:
    year, level, include_revoked, units = args
    return models_read.recognitions_by_tenant(conn, tenant_ids, year=year, level=level,
                                              include_revoked=include_revoked, unit_ids=units)


def _tasks(conn: Connection, tenant_ids: list[str], args: Any) -> dict[str, list[PlanTaskRow]]:
    year, overdue = args
    return plans_read.plan_tasks_by_tenant(conn, tenant_ids, year=year, overdue=overdue)


def _province_models(conn: Connection, codes: list[str], args: Any
                     ) -> dict[str, Page[ModelSummary]]:
    year, state, field, search, first, after = args
    return models_read.province_model_pages(conn, codes, year=year, state=state, field=field,
                                            search=search, first=first, after=after)


def _province_tasks(conn: Connection, codes: list[str], args: Any
                    ) -> dict[str, list[PlanTaskRow]]:
    year, overdue = args
    return plans_read.plan_tasks_by_province(conn, codes, year=year, overdue=overdue)


def _task_units(conn: Connection, task_ids: list[str], args: Any
                ) -> dict[str, list[PlanTaskUnitRow]]:
    return plans_read.task_units(conn, task_ids)


def _year_lists(conn: Connection, tenant_ids: list[str], args: Any
                ) -> dict[str, list[YearListRow]]:
    (as_of,) = args
    return plans_read.year_lists_by_tenant(conn, tenant_ids, as_of=as_of)


def _unit_compliance(conn: Connection, tenant_ids: list[str], args: Any
                     ) -> dict[str, list[UnitCompliance]]:
    year, as_of = args
    return models_read.unit_compliance(conn, tenant_ids, year, as_of=as_of)


def _period_quotas(conn: Connection, tenant_ids: list[str], args: Any
                   ) -> dict[str, PeriodQuotaRow | None]:
    start, end, as_of = args
    found = models_read.period_quota(conn, tenant_ids, start, end, as_of=as_of)
    return {t: found.get(t) for t in tenant_ids}


def _reminders(conn: Connection, tenant_ids: list[str], args: Any
               ) -> dict[str, Page[ReminderRow]]:
    subject, since, first, after = args
    return reminders_by_tenant(conn, tenant_ids, first=first, after=after, subject=subject,
                               since=since)


def _jobs(conn: Connection, tenant_ids: list[str], args: Any) -> dict[str, Page[JobSummary]]:
    first, after = args
    return jobs_by_tenant(conn, tenant_ids, first=first, after=after)


def _users(conn: Connection, tenant_ids: list[str], args: Any) -> dict[str, Page[UserRow]]:
    active, search, first, after = args
    return user_pages(conn, tenant_ids, first=first, after=after, active=active, search=search)


def _units(conn: Connection, tenant_ids: list[str], args: Any) -> dict[str, list[UnitRow]]:
    return directory_read.units_by_tenant(conn, tenant_ids)


def _quotas(conn: Connection, tenant_ids: list[str], args: Any
            ) -> dict[str, TenantQuota | None]:
    year, as_of = args
    tenants = list(directory_read.tenants_by_id(conn, tenant_ids).values())
    found = {q.tenant.id: q for q in models_read.quotas(conn, tenants, year, as_of=as_of)}
    return {t: found.get(t) for t in tenant_ids}


def _persons(reader: Reader, vault: PersonVault | None) -> DataLoader[str, Any]:
    """Each exemplar's details: the sealed tokens from the read models (one query), then
    opened by the vault on one worker thread (after the read's connection went back to the
    pool, which the vault draws on too). None: no token; not a dict: erased."""
    async def load(ids: list[str]) -> list[Any]:
        sealed = await reader.run(sealed_persons, ids)
        if not sealed:
            return [None] * len(ids)
        if vault is None:
            raise Unavailable("the personal data vault is not available")
        opened = await asyncio.to_thread(
            lambda: {i: vault.open(p.key_id, p.token) for i, p in sealed.items()})
        return [opened.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _events(store: Any) -> DataLoader[str, Stream]:
    async def load(ids: list[str]) -> list[Stream]:
        return await asyncio.to_thread(model_events, store, ids)

    return DataLoader(load_fn=load)


class Loaders:
    """The request's loaders, each made when first used (most requests use one or two)."""

    def __init__(self, reader: Reader, sources: ReadSources) -> None:
        self.reader = reader
        self.sources = sources

    @cached_property
    def tenant(self) -> DataLoader[str, TenantRef | None]:
        return by_id(self.reader, directory_read.tenants_by_id)

    @cached_property
    def unit(self) -> DataLoader[str, UnitRow | None]:
        return by_id(self.reader, directory_read.units_by_id)

    @cached_property
    def model(self) -> DataLoader[str, ModelSummary | None]:
        """Models by id, their tenants read in the same statement (every reader of a model
        asks for its tenant next, for the access check): one worker-thread hop, not two."""
        async def load(ids: list[str]) -> list[ModelSummary | None]:
            found, tenants = await self.reader.run(models_read.models_with_tenants, ids)
            for tenant_id, tenant in tenants.items():
                self.tenant.prime(tenant_id, tenant)
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    async def model_with_events(self, model_id: str,
                                check: Callable[[ModelSummary, TenantRef | None], None]
                                ) -> ModelSummary | None:
        """A model and its events in one worker-thread hop (not two in turn): its row and
        tenant, then ``check(row, tenant)`` (the caller's access: raises to refuse), and only
        once that passed, its events from the store (on the same connection, sent with the
        COMMIT, where the pool reaches the store's database). ``model``, ``tenant`` and
        ``events`` are primed with what was read. None: no such model in the caller's
        scope."""
        store = self.sources.store

        def admitted(found: dict[str, ModelSummary], tenants: dict[str, TenantRef | None]
                     ) -> ModelSummary | None:
            row = found.get(model_id)
            if row is not None:
                check(row, tenants.get(row.tenant_id))
            return row

        def row_then_events(conn: Connection) -> Callable[[], Read]:
            assert store is not None  # the resolver asks for events only with a store
            found, tenants = models_read.models_with_tenants(conn, [model_id])
            row = admitted(found, tenants)
            sent = store.send_streams(conn, [uuid.UUID(row.id)]) if row is not None else None
            return lambda: (row, tenants, sent.fetchall() if sent is not None else None)

        def read() -> Read:
            if self.sources.events_on_pool:
                return self.reader.run_then_sync(row_then_events)
            found, tenants = self.reader.run_sync(models_read.models_with_tenants, [model_id])
            row = admitted(found, tenants)
            return row, tenants, model_events(store, [model_id])[0] if row is not None else None

        row, tenants, stream = await asyncio.to_thread(read)
        for tenant_id, tenant in tenants.items():
            self.tenant.prime(tenant_id, tenant)
        self.model.prime(model_id, row)
        if stream is not None:
            self.events.prime(model_id, stream)
        return row

    @cached_property
    def units(self) -> DataLoader[tuple[Any, ...], list[UnitRow]]:
        return grouped(self.reader, _units)

    @cached_property
    def models(self) -> DataLoader[tuple[Any, ...], Page[ModelSummary]]:
        return grouped(self.reader, _models)

    @cached_property
    def quota(self) -> DataLoader[tuple[Any, ...], TenantQuota | None]:
        return grouped(self.reader, _quotas)

    @cached_property
    def recognitions(self) -> DataLoader[tuple[Any, ...], list[RecognitionRow]]:
        return grouped(self.reader, _recognitions)

    @cached_property
    def plan_tasks(self) -> DataLoader[tuple[Any, ...], list[PlanTaskRow]]:
        return grouped(self.reader, _tasks)

    @cached_property
    def province_models(self) -> DataLoader[tuple[Any, ...], Page[ModelSummary]]:
        """Keys ``(province_code, *filters)``."""
        return grouped(self.reader, _province_models)

    @cached_property
    def province_plan_tasks(self) -> DataLoader[tuple[Any, ...], list[PlanTaskRow]]:
        """Keys ``(province_code, year, overdue)``."""
        return grouped(self.reader, _province_tasks)

    @cached_property
    def task_units(self) -> DataLoader[tuple[Any, ...], list[PlanTaskUnitRow]]:
        """Keys ``(task_id,)``."""
        return grouped(self.reader, _task_units)

    @cached_property
    def year_lists(self) -> DataLoader[tuple[Any, ...], list[YearListRow]]:
        return grouped(self.reader, _year_lists)

    @cached_property
    def unit_compliance(self) -> DataLoader[tuple[Any, ...], list[UnitCompliance]]:
        return grouped(self.reader, _unit_compliance)

    @cached_property
    def period_quota(self) -> DataLoader[tuple[Any, ...], PeriodQuotaRow | None]:
        return grouped(self.reader, _period_quotas)

    @cached_property
    def reminders(self) -> DataLoader[tuple[Any, ...], Page[ReminderRow]]:
        return grouped(self.reader, _reminders)

    @cached_property
    def jobs(self) -> DataLoader[tuple[Any, ...], Page[JobSummary]]:
        return grouped(self.reader, _jobs)

    @cached_property
    def users(self) -> DataLoader[tuple[Any, ...], Page[UserRow]]:
        return grouped(self.reader, _users)

    @cached_property
    def person(self) -> DataLoader[str, Any]:
        return _persons(self.reader, self.sources.vault)

    @cached_property
    def events(self) -> DataLoader[str, Stream]:
        return _events(self.sources.store)
