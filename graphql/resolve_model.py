"""Resolvers of ``model(id)`` and a model's fields: its unit, tenant, form, the exemplar's
person (``PERSONAL_DATA_READ`` only; erased shows as erased), its history and its state at a
moment (these two from the event store)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from danvan.domain.policies import Action
from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.enums import ModelField, ModelKind, ModelState, RecognitionLevel
from danvan.graphql.errors import Forbidden, NotFound, Unavailable
from danvan.graphql.history import HistoryEntry, domain_events, history, state_as_of
from danvan.graphql.rows import view
from danvan.graphql.selection import selects_any
from danvan.graphql.type_actor import ActorType
from danvan.graphql.type_model_event import ModelEventType
from danvan.graphql.type_model_form import ModelFormType, form_of
from danvan.graphql.type_model_snapshot import ModelSnapshotType
from danvan.graphql.type_person import PersonType
from danvan.graphql.type_recognition_decision import RecognitionDecisionType
from danvan.graphql.type_unit import UnitType
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.rows import ModelSummary

if TYPE_CHECKING:
    from danvan.graphql.type_model import ModelType
    from danvan.graphql.type_tenant import TenantType

LazyModel = Annotated["ModelType", strawberry.lazy("danvan.graphql.type_model")]
LazyTenant = Annotated["TenantType", strawberry.lazy("danvan.graphql.type_tenant")]
INDIVIDUAL = "individual"


async def resolve_model(info: Info, id: strawberry.ID) -> LazyModel | None:
    """A model the caller may read: one of its tenants' (a unit user: of its unit)."""
    model_id = inputs.uuid_id(id, "id")
    access = info.context.access

    def check(row: ModelSummary, tenant: TenantRef | None) -> None:
        province = tenant.province_code if tenant is not None else None
        if not access.may(Action.TENANT_READ, tenant_id=row.tenant_id, province_code=province):
            raise Forbidden("not allowed to read this model")
        scope = access.unit_scope(row.tenant_id, province)
        if scope is not None and row.unit_id not in scope:
            raise Forbidden("a unit user reads only its own unit's models")

    loaders = info.context.loaders
    if info.context.sources.store is not None and _asks_events(info):
        # Its events are read in the same hop as its row, once ``check`` let the caller in
        # (a caller refused reads nothing of them).
        row = await loaders.model_with_events(model_id, check)  # scoped
    else:
        row = await loaders.model.load(model_id)  # scoped
        if row is not None:
            check(row, await loaders.tenant.load(row.tenant_id))
    if row is None:
        raise NotFound("no such model in the tenants you may read")
    return cast("ModelType", row)


EVENT_FIELDS = frozenset({"history", "stateAsOf"})


def _asks_events(info: Info) -> bool:
    """Whether the query asks for the model's ``history`` or ``stateAsOf``."""
    return selects_any(info, EVENT_FIELDS)


async def resolve_unit(root: strawberry.Parent[ModelSummary], info: Info) -> UnitType | None:
    return view(UnitType, await info.context.loaders.unit.load(root.unit_id))


async def resolve_tenant_of(root: strawberry.Parent[ModelSummary], info: Info
                            ) -> LazyTenant | None:
    return cast("TenantType | None", await info.context.loaders.tenant.load(root.tenant_id))


def resolve_form(root: strawberry.Parent[ModelSummary]) -> ModelFormType:
    return form_of(root.form)


async def resolve_person(root: strawberry.Parent[ModelSummary], info: Info
                         ) -> PersonType | None:
    """The exemplar's details (None for a collective model)."""
    if root.kind != INDIVIDUAL:
        return None
    if root.person_erased:
        return PersonType(erased=True)
    opened = await info.context.loaders.person.load(root.id)
    if opened is None:
        raise NotFound("the person's details are not available")
    if not isinstance(opened, dict):
        return PersonType(erased=True)
    birth_year = opened.get("birth_year")
    return PersonType(erased=False, full_name=opened.get("full_name"),
                      birth_year=int(birth_year) if birth_year is not None else None,
                      phone=opened.get("phone"), address=opened.get("address"))


def _event(entry: HistoryEntry) -> ModelEventType:
    return ModelEventType(
        version=entry.version, at=entry.at, type=entry.type,
        actor=ActorType(id=strawberry.ID(entry.actor_id) if entry.actor_id else None,
                        role=entry.actor_role),
        correlation_id=entry.correlation_id, causation_id=entry.causation_id,
        reason=entry.reason, payload=cast(JSON, entry.payload))


async def resolve_history(root: strawberry.Parent[ModelSummary], info: Info
                          ) -> list[ModelEventType]:
    """Every event of the model, oldest first, from the event store."""
    if info.context.sources.store is None:
        raise Unavailable("the event store is not available")
    stream = await info.context.loaders.events.load(root.id)
    return [_event(e) for e in history(domain_events(info.context.sources.store, stream))]


async def resolve_state_as_of(root: strawberry.Parent[ModelSummary], info: Info,
                              at: datetime) -> ModelSnapshotType | None:
    """The model as it stood at ``at`` (null before its registration)."""
    at = inputs.moment(at, "at")
    if info.context.sources.store is None:
        raise Unavailable("the event store is not available")
    model = state_as_of(await info.context.loaders.events.load(root.id), at)
    if model is None:
        return None
    lc = model.lifecycle
    return ModelSnapshotType(
        id=strawberry.ID(str(model.id)), at=at, version=model.version,
        last_event_at=model.last_event_at, tenant_id=strawberry.ID(model.tenant_id),
        unit_id=strawberry.ID(str(model.unit_id)), year=model.year, kind=ModelKind(model.kind),
        name=lc.name, field=ModelField(lc.field) if lc.field else None,
        state=ModelState(lc.state),
        vertical_line=model.vertical_line, form=form_of(lc.form),
        submitted_ever=lc.submitted_ever, accepted=lc.accepted, passed=lc.passed,
        total_score=Decimal(lc.total_score) if lc.total_score is not None else None,
        recognitions=[RecognitionDecisionType(level=RecognitionLevel(level),
                                              decision_number=d.decision_number,
                                              decision_date=d.decision_date)
                      for level, d in sorted(lc.recognitions.items())],
        list_years=list(lc.list_years), person_erased=lc.person_erased)
