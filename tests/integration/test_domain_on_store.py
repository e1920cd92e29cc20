"""The real aggregates on the real store: duplicates, stale saves and crypto-erasure."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from danvan.backend.services.models import erase_personal_data, read_person, register_model
from danvan.domain.commands import (
    AddUnit,
    AmendModel,
    ErasePersonalData,
    PersonDetails,
    RegistrationForm,
    SubmitModel,
)
from danvan.domain.units import Unit, UnitKind
from danvan.infra.audit_verify import verify_tenant
from danvan.infra.database import app_params
from danvan.infra.event_store import EventStore
from danvan.infra.personal_data import PersonalDataVault, kek_from_secret
from danvan.infra.settings import Settings
from tests.unit.builders import TENANT, complete_form, ctx, register

PERSON = PersonDetails("Nguyễn Thị Hoa", 1968, "0912 345 678", "Tổ 5, phường Yên Bái")
AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def event_rows(conn: psycopg.Connection) -> list[tuple[int, bytes, bytes]]:
    rows = conn.execute("SELECT notification_id, state, hash FROM danvan_events "
                        "ORDER BY notification_id").fetchall()
    return [(n, bytes(s), bytes(h)) for n, s, h in rows]


@pytest.fixture
def unit(event_store: EventStore) -> Unit:
    u = Unit.add(ctx("tenant_admin"), AddUnit("Hội Phụ nữ phường", UnitKind.MASS_ORG))
    event_store.save(u)
    return u


def test_a_duplicate_registration_is_refused_by_the_store(event_store: EventStore, unit: Unit,
                                                         owner_conn: psycopg.Connection) -> None:
    event_store.save(register(unit))
    before = event_rows(owner_conn)
    with pytest.raises(IntegrityError):
        event_store.save(register(unit))
    assert event_rows(owner_conn) == before


def test_a_stale_save_is_refused_and_persists_nothing(event_store: EventStore, unit: Unit,
                                                      owner_conn: psycopg.Connection) -> None:
    model = register(unit)
    event_store.save(model)
    first, second = (event_store.repository.get(model.id) for _ in range(2))
    first.handle(SubmitModel(), ctx())
    event_store.save(first)
    before = event_rows(owner_conn)
    second.handle(AmendModel(form=RegistrationForm(goals="Khác")), ctx())
    with pytest.raises(IntegrityError):
        event_store.save(second)
    assert event_rows(owner_conn) == before
    assert event_store.repository.get(model.id).state == "submitted"


def test_erasing_the_key_makes_the_exemplar_unreadable_and_leaves_the_log_whole(
        event_store: EventStore, unit: Unit, settings: Settings,
        owner_conn: psycopg.Connection) -> None:
    vault = PersonalDataVault(app_params(settings).conninfo(), kek_from_secret("s" * 40))
    command = complete_form(str(unit.id), kind="individual", name="Điển hình bà Hoa",
                            person=PERSON)
    created = register_model(event_store, vault, ctx(), command, unit_scope=None)
    model = event_store.repository.get(created.id)
    assert read_person(vault, model) == {"full_name": PERSON.full_name,
                                         "birth_year": PERSON.birth_year,
                                         "phone": PERSON.phone, "address": PERSON.address}
    stored = event_rows(owner_conn)
    for clear in (b"Nguy", b"1968", b"0912", b"T\\u1ed5 5", "Tổ 5".encode()):
        assert not any(clear in state for _, state, _ in stored), clear

    erase_personal_data(event_store, vault, ctx("tenant_admin"), model,
                        ErasePersonalData("Yêu cầu của cá nhân"), expected_version=None)

    after = event_rows(owner_conn)
    assert after[: len(stored)] == stored  # earlier rows untouched, one event appended
    assert len(after) == len(stored) + 1
    model = event_store.repository.get(created.id)
    assert read_person(vault, model) == "erased"
    assert not isinstance(vault.open(model.person_key_id, model.person_token), dict)
    verification = verify_tenant(owner_conn, TENANT)
    assert verification.ok and verification.events_checked == len(after)
