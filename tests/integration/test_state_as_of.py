"""``stateAsOf(at)`` answers what the model, loaded by the library from the store up to the
last event stamped at or before ``at``, holds: at every event's moment, between events,
before the first, across an erasure of personal data, for an event stored at an older class
version (upcast) and one stored under a class's former topic."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from danvan.domain.base import Context
from danvan.domain.commands import (
    AcceptModel,
    AmendModel,
    ErasePersonalData,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    NominateModel,
    ProposeModel,
    RecognizeModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SelfAssessModel,
    SubmitModel,
)
from danvan.domain.evaluation import PERSON_CRITERIA
from danvan.domain.model import Model
from danvan.graphql.history import ModelAsOf, model_events, state_as_of
from danvan.infra.event_store import EventStore
from danvan.projections.events import EventNotDecoded, topic_of
from tests.unit.builders import NOW, PERSON, complete_form, ctx, form, unit

VIETNAM = timezone(timedelta(hours=7))


def at(hour: int, role: str = "unit_user") -> Context:
    return ctx(role, at=NOW + timedelta(hours=hour))


STEPS: list[tuple[Any, str, int]] = [
    (AmendModel(form=form(goals="Bê tông hóa 3 km đường")), "unit_user", 1),
    (SubmitModel(), "unit_user", 2),
    (ReturnModel("Bổ sung chỉ số"), "reviewer", 3),
    (SubmitModel(), "unit_user", 4),
    (AcceptModel(), "reviewer", 5),
    (ReportProgress(period="2026", participants=40, workdays=12,
                    money_vnd=Decimal("15000000")), "unit_user", 6),
    (InspectModel("Đúng tiến độ"), "reviewer", 7),
    (SelfAssessModel("Đạt mục tiêu"), "unit_user", 8),
    (EvaluateModel(dict.fromkeys(PERSON_CRITERIA, Decimal(85))), "reviewer", 9),
    (ProposeModel(), "reviewer", 10),
    (RecognizeModel(Level.TENANT, "15/QĐ-ĐU", date(2026, 5, 20)), "approver", 11),
    (NominateModel(), "approver", 12),
    (RecognizeModel(Level.PROVINCE, "120/QĐ-TU", date(2026, 5, 30)), "province_admin", 13),
    (RevokeRecognition(Level.PROVINCE, "Sai quy trình"), "province_admin", 13),
    (MaintainModel(2027), "reviewer", 14),
    (ErasePersonalData("Yêu cầu của người dân"), "tenant_admin", 15),
]
"""Every kind of event a model records after its registration; two at the same moment."""


def kept(model: Model | ModelAsOf | None) -> tuple[Any, ...] | None:
    """What ``stateAsOf`` answers from, as the aggregate or the fold holds it."""
    if model is None:
        return None
    last = model.modified_on if isinstance(model, Model) else model.last_event_at
    return (str(model.id), model.version, last, model.tenant_id, str(model.unit_id),
            model.year, model.kind, model.vertical_line, tuple(model.lifecycle))


def test_the_state_at_any_moment_is_the_model_loaded_up_to_it(
        event_store: EventStore, owner_conn: psycopg.Connection[Any]) -> None:
    u = unit()
    model = Model.register(at(0), u, complete_form(str(u.id), kind="individual",
                                                   person=PERSON),
                           person_key_id="key-1", person_token="sealed")
    for command, role, hour in STEPS:
        model.handle(command, at(hour, role))
    event_store.save(model)
    with owner_conn.transaction():
        owner_conn.execute("SET LOCAL session_replication_role = replica")  # past the guard
        # The progress report as version 1 recorded it (money beyond today's bounds: the
        # upcaster repairs it); the first recognition under the class's former topic.
        owner_conn.execute(
            "UPDATE public.danvan_events SET state = convert_to(jsonb_set("
            "convert_from(state, 'UTF8')::jsonb - 'class_version', '{money_vnd}', "
            "'\"1E-999999999\"')::text, 'UTF8') WHERE topic = %s AND originator_id = %s",
            (topic_of(Model.ProgressReported), model.id))
        owner_conn.execute(
            "UPDATE public.danvan_events SET topic = 'danvan.domain.model:Model.Recognised' "
            "WHERE originator_id = %s AND originator_version = 12", (model.id,))
    stream = model_events(event_store, [str(model.id)])[0]
    assert [row[2] for row in stream] == list(range(1, len(STEPS) + 2))
    stamps = {version: event_store.repository.get(model.id, version=version).modified_on
              for version in range(1, len(STEPS) + 2)}

    def loaded(moment: datetime) -> Model | None:
        versions = [v for v, stamp in stamps.items() if stamp <= moment]
        return event_store.repository.get(model.id, version=max(versions)) if versions \
            else None

    moments = [stamps[1] - timedelta(microseconds=1), stamps[1] - timedelta(days=400)]
    for stamp in stamps.values():
        moments += [stamp, stamp.astimezone(VIETNAM), stamp + timedelta(minutes=30),
                    stamp - timedelta(microseconds=1)]
    for moment in moments:
        assert kept(state_as_of(stream, moment)) == kept(loaded(moment)), moment
    last = state_as_of(stream, stamps[len(STEPS) + 1])
    assert last is not None and last.lifecycle.person_erased
    assert last.lifecycle.state == "recognized_tenant" and last.version == len(STEPS) + 1
    between = state_as_of(stream, stamps[14] + timedelta(minutes=30))
    assert between is not None and between.version == 15  # both events of hour 13
    assert state_as_of(stream, NOW - timedelta(seconds=1)) is None


def test_several_models_are_read_in_one_go_each_its_own_stream(event_store: EventStore) -> None:
    u = unit()
    first = Model.register(at(0), u, complete_form(str(u.id), name="Mô hình thứ nhất"))
    second = Model.register(at(0), u, complete_form(str(u.id), name="Mô hình thứ hai"))
    second.handle(SubmitModel(), at(1))
    event_store.save(first, second)
    missing = "9b0c5a64-5d1e-4f0e-8f57-7f1c2d6a9e10"
    streams = model_events(event_store, [str(second.id), "not-a-uuid", str(first.id), missing])
    assert [[(row[1], row[2]) for row in stream] for stream in streams] == [
        [(second.id, 1), (second.id, 2)], [], [(first.id, 1)], []]
    assert model_events(event_store, [missing]) == [[]]


def test_an_event_whose_state_cannot_be_decoded_refuses_the_moments_it_may_reach(
        event_store: EventStore) -> None:
    """As the projections read it (``Undecodable``): its moment is unknown, so a moment past
    the events before it raises ``EventNotDecoded`` rather than answer a state that may
    lack it; one before the registration still answers that there was no model."""
    u = unit()
    model = Model.register(at(0), u, complete_form(str(u.id)))
    model.handle(SubmitModel(), at(1))
    model.handle(ReturnModel("Bổ sung chỉ số"), at(2, "reviewer"))
    event_store.save(model)
    stream = model_events(event_store, [str(model.id)])[0]
    broken = [*stream[:2], (*stream[2][:4], b'{"timestamp": 7}')]
    assert state_as_of(broken, NOW - timedelta(seconds=1)) is None
    for hours in (1, 2, 3):
        with pytest.raises(EventNotDecoded):
            state_as_of(broken, NOW + timedelta(hours=hours))
