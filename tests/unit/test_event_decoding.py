"""How the projections read stored events: at the class's current version straight away,
older versions through the class's upcasters (as the library does), renamed classes through
their aliases, anything else refused by name and position; a state that cannot be decoded
fails only the projections that read it. And which failures are an event's fault."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from danvan.domain.model import Model
from danvan.domain.plans import PlanTask
from danvan.domain.year_lists import YearList
from danvan.projections.event_types import UnknownEvent, transcoder
from danvan.projections.events import EventNotDecoded, Undecodable, decode_row, topic_of
from danvan.projections.quarantine import event_fault

PROGRESS = topic_of(Model.ProgressReported)


def stored_report(money_vnd: str, land_m2: str = "0", **extra: Any) -> bytes:
    """A progress report's state as the store keeps it (``extra``: ``class_version``)."""
    return json.dumps({
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-06-01T09:00:00+00:00"},
        "tenant_id": "t1", "meta": {"actor_id": "u1"}, "period": "2026-Q2",
        "participants": 3, "workdays": 5, "money_vnd": money_vnd, "land_m2": land_m2,
        "note": "", **extra}).encode()


def row(state: bytes, topic: str = PROGRESS, position: int = 7) -> tuple[Any, ...]:
    return (position, str(uuid.uuid4()), 2, topic, state)


class TestTheProgressUpcaster:
    @pytest.mark.parametrize(("money", "land", "read"), [
        ("1E-999999999", "0", ("0.00", "0")),
        ("1E+999999999", "-5", ("1000000000000000", "0")),
        ("0.125", "1E+11", ("0.12", "10000000000")),
        ("NaN", "x" * 70, ("0", "0")),
    ])
    def test_values_outside_the_bounds_read_as_the_nearest_allowed(
            self, money: str, land: str, read: tuple[str, str]) -> None:
        state = {"money_vnd": money, "land_m2": land}
        Model.ProgressReported.upcast_v1_v2(state)
        assert (state["money_vnd"], state["land_m2"]) == read

    def test_values_within_the_bounds_are_kept_as_recorded(self) -> None:
        state = {"money_vnd": "1000.5", "land_m2": "1E+2"}
        Model.ProgressReported.upcast_v1_v2(state)
        assert state == {"money_vnd": "1000.5", "land_m2": "1E+2"}

    def test_the_library_reads_a_stored_version_1_report_repaired_too(self) -> None:
        """History and time travel (the library) agree with the read models."""
        mapper: Mapper[uuid.UUID] = Mapper(transcoder())
        event = mapper.to_domain_event(StoredEvent(uuid.uuid4(), 2, PROGRESS,
                                                   stored_report("1E-999999999")))
        assert isinstance(event, Model.ProgressReported)
        assert event.money_vnd == "0.00"


def stored_v1(**fields: Any) -> bytes:
    """A creation event's state as version 1 kept it (no ``class_version``)."""
    return json.dumps({
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-04-10T09:00:00+00:00"},
        "originator_topic": "", "tenant_id": "t1", "meta": {"actor_id": "u1"},
        **fields}).encode()


class TestCreationsBeforeTheyNamedTheirParts:
    """A year's list approved before decisions named their models covers those accepted by
    then; a plan task scheduled before tasks had units is the tenant's own."""

    def test_a_version_1_list_approval_names_no_models(self) -> None:
        state = stored_v1(year=2026, decision_number="05-QĐ/ĐU",
                          originator_topic="danvan.domain.year_lists:YearList")
        e = decode_row(row(state, topic=topic_of(YearList.Approved), position=5))
        assert (e.data.model_ids, e.data.decision_number) == (None, "05-QĐ/ĐU")
        mapper: Mapper[uuid.UUID] = Mapper(transcoder())
        event = mapper.to_domain_event(StoredEvent(uuid.uuid4(), 1,
                                                   topic_of(YearList.Approved), state))
        year_list = event.mutate(None)
        assert isinstance(year_list, YearList) and year_list.decisions[0].model_ids is None
        at = year_list.decisions[0].at
        assert year_list.not_yet_approved({"a": at, "b": at + timedelta(seconds=1)}) == ["b"]

    def test_a_version_1_plan_task_is_assigned_to_no_unit(self) -> None:
        state = stored_v1(year=2026, title="Sơ kết", due_date="2026-07-15",
                          originator_topic="danvan.domain.plans:PlanTask")
        e = decode_row(row(state, topic=topic_of(PlanTask.Scheduled), position=6))
        assert e.data.unit_ids == []
        mapper: Mapper[uuid.UUID] = Mapper(transcoder())
        task = mapper.to_domain_event(StoredEvent(uuid.uuid4(), 1,
                                                  topic_of(PlanTask.Scheduled), state)
                                      ).mutate(None)
        assert isinstance(task, PlanTask) and task.unit_ids == []


class TestDecoding:
    def test_a_version_1_event_is_upcast(self) -> None:
        e = decode_row(row(stored_report("1E-999999999")))
        assert (e.data.money_vnd, e.data.class_version, e.topic) == ("0.00", 2, PROGRESS)
        assert e.at == "2026-06-01T09:00:00+00:00" and e.meta.actor_id == "u1"

    def test_an_event_at_the_current_version_is_read_as_stored(self) -> None:
        e = decode_row(row(stored_report("1E-999999999", class_version=2)))
        assert e.data.money_vnd == "1E-999999999"  # not repaired: its projection judges it

    def test_a_version_newer_than_the_code_is_refused_by_position(self) -> None:
        with pytest.raises(UnknownEvent) as caught:
            decode_row(row(stored_report("1", class_version=3), position=41))
        assert caught.value.position == 41 and "class version 3" in str(caught.value)

    def test_so_is_a_newer_version_of_a_class_still_at_version_1(self) -> None:
        state = json.dumps({"timestamp": {"_type_": "datetime_iso", "_data_": "2026-06-01"},
                            "tenant_id": "t1", "class_version": 2}).encode()
        with pytest.raises(UnknownEvent) as caught:
            decode_row(row(state, topic=topic_of(Model.Accepted), position=42))
        assert caught.value.position == 42 and "class version 2" in str(caught.value)

    def test_an_unknown_topic_is_refused_naming_it_and_its_position(self) -> None:
        topic = "danvan.domain.model:Model.Vanished"
        with pytest.raises(UnknownEvent) as caught:
            decode_row(row(stored_report("1"), topic=topic, position=99))
        assert (caught.value.topic, caught.value.position) == (topic, 99)
        assert topic in str(caught.value) and "position 99" in str(caught.value)

    def test_a_topic_that_names_no_event_class_is_refused(self) -> None:
        with pytest.raises(UnknownEvent):
            decode_row(row(stored_report("1"), topic="danvan.domain.model:Model"))

    def test_an_undecodable_state_fails_only_whoever_reads_it(self) -> None:
        state = json.dumps({"meta": {}, "money_vnd": "1"}).encode()  # no time, no tenant
        e = decode_row(row(state, position=12))
        assert isinstance(e, Undecodable)
        assert (e.position, e.topic) == (12, PROGRESS)
        with pytest.raises(EventNotDecoded, match="event 12"):
            _ = e.tenant_id
        with pytest.raises(EventNotDecoded):
            _ = e.data.money_vnd
        odd = decode_row(row(stored_report("1", class_version="two"), position=13))
        assert isinstance(odd, Undecodable)  # bad, but not from a newer release


class TestWhoseFault:
    @pytest.mark.parametrize("error", [
        psycopg.errors.NumericValueOutOfRange("value overflows numeric format"),
        psycopg.errors.NotNullViolation("null value"),
        psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"),
        psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        KeyError("level"), TypeError("unsupported operand"), EventNotDecoded("x"),
    ])
    def test_what_an_event_may_have_caused_is_isolated(self, error: Exception) -> None:
        assert event_fault(error)

    @pytest.mark.parametrize("error", [
        psycopg.OperationalError("connection lost"),
        psycopg.errors.QueryCanceled("statement timeout"),
        psycopg.errors.DeadlockDetected("deadlock"),
        psycopg.errors.UndefinedColumn("column does not exist"),
        UnknownEvent("t", 1, "unknown"), MemoryError(),
    ])
    def test_what_no_event_causes_is_not(self, error: Exception) -> None:
        assert not event_fault(error)
