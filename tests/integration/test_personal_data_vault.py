"""The personal data vault on real PostgreSQL: seal, open, erase (crypto-shredding).

The vault connects as the application's role to a freshly migrated database, so these
tests also prove the grants and the guard trigger of ``infra/sql/020_person_keys.sql``.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from danvan.infra.database import app_params
from danvan.infra.personal_data import (
    ERASED,
    InvalidToken,
    KeyErased,
    PersonalDataVault,
    UnknownKey,
    WrongKek,
    kek_from_secret,
)
from danvan.infra.settings import Settings

KEK = kek_from_secret("a test secret that is long enough to be used in production")
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PERSON = {"name": "Nguyễn Thị Hoa", "birth_year": 1968, "phone": "0912 345 678",
          "address": "Tổ 5, phường Yên Bái, tỉnh Lào Cai"}


@pytest.fixture
def app_conninfo(settings: Settings) -> str:
    """A fresh migrated database (shared fixture), reached as the application's role."""
    return app_params(settings).conninfo()


@pytest.fixture
def vault(app_conninfo: str) -> PersonalDataVault:
    return PersonalDataVault(app_conninfo, KEK)


def tenant() -> str:
    return f"ward-{uuid.uuid4().hex[:8]}"


def test_personal_data_comes_back_from_its_token(vault: PersonalDataVault) -> None:
    key_id = vault.create_key(tenant(), "person-1")
    token = vault.seal(key_id, PERSON)

    assert vault.open(key_id, token) == PERSON
    assert vault.open(str(key_id), token) == PERSON


def test_a_token_shows_nothing_of_the_data_and_is_new_each_time(
    vault: PersonalDataVault,
) -> None:
    key_id = vault.create_key(tenant(), "person-1")
    first, second = vault.seal(key_id, PERSON), vault.seal(key_id, PERSON)

    assert first != second
    for word in ("Hoa", "1968", "0912", "Yên", "name"):
        assert word not in first
    for data in (PERSON, {"name": "Hoa"}, {}):  # lengths padded to 64 bytes
        blob = base64.urlsafe_b64decode(vault.seal(key_id, data)[4:] + "==")
        assert (len(blob) - 12 - 16) % 64 == 0


def test_erased_data_is_unreadable_and_reported_as_erased(
    vault: PersonalDataVault, app_conninfo: str
) -> None:
    ward = tenant()
    key_id = vault.create_key(ward, "person-1")
    token = vault.seal(key_id, PERSON)

    erasure = vault.erase(key_id, reason="the person asked for erasure", at=AT)

    assert erasure.erased and erasure.erased_at == AT
    assert erasure.erased_reason == "the person asked for erasure"
    assert vault.open(key_id, token) is ERASED
    assert PersonalDataVault(app_conninfo, KEK).open(key_id, token) is ERASED
    with pytest.raises(KeyErased):
        vault.seal(key_id, PERSON)
    again = vault.erase(key_id, reason="asked twice", at=datetime(2027, 1, 1, tzinfo=UTC))
    assert (again.erased_at, again.erased_reason) == (AT, "the person asked for erasure")
    with psycopg.connect(app_conninfo) as conn:
        row = conn.execute("SELECT wrapped_key FROM public.person_keys WHERE key_id = %s",
                           (key_id,)).fetchone()
    assert row == (None,)


def test_the_application_can_neither_restore_nor_delete_an_erased_key(
    vault: PersonalDataVault, app_conninfo: str
) -> None:
    key_id = vault.create_key(tenant(), "person-1")
    vault.erase(key_id, reason="erasure", at=AT)

    with psycopg.connect(app_conninfo) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE public.person_keys SET wrapped_key = %s, erased_at = NULL,"
                     " erased_reason = NULL WHERE key_id = %s", (bytes(60), key_id))
    with psycopg.connect(app_conninfo) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM public.person_keys WHERE key_id = %s", (key_id,))
    assert vault.status(key_id).erased


def test_erasing_a_person_erases_every_key_they_had(vault: PersonalDataVault) -> None:
    ward = tenant()
    first = vault.create_key(ward, "person-1")
    old_token = vault.seal(first, PERSON)
    vault.erase(first, reason="first erasure", at=AT)
    second = vault.create_key(ward, "person-1")
    new_token = vault.seal(second, PERSON)
    other = vault.create_key(ward, "person-2")

    erased = vault.erase_person(ward, "person-1", reason="court order", at=AT)

    assert [s.key_id for s in erased] == [first, second]
    assert vault.open(first, old_token) is ERASED
    assert vault.open(second, new_token) is ERASED
    assert not vault.status(other).erased


def test_a_person_has_one_live_key_and_a_new_one_after_erasure(
    vault: PersonalDataVault,
) -> None:
    ward = tenant()
    key_id = vault.create_key(ward, "person-1")

    assert vault.create_key(ward, "person-1") == key_id
    assert vault.create_key(ward, "person-2") != key_id
    vault.erase(key_id, reason="erasure", at=AT)
    assert vault.create_key(ward, "person-1") != key_id


def test_a_token_does_not_open_with_another_persons_key(vault: PersonalDataVault) -> None:
    ward = tenant()
    hoa, lan = vault.create_key(ward, "person-hoa"), vault.create_key(ward, "person-lan")
    token = vault.seal(hoa, PERSON)

    with pytest.raises(InvalidToken):
        vault.open(lan, token)


def test_a_token_does_not_open_with_the_same_person_id_in_another_tenant(
    vault: PersonalDataVault,
) -> None:
    here, there = vault.create_key(tenant(), "person-1"), vault.create_key(tenant(), "person-1")
    token = vault.seal(here, PERSON)

    assert here != there
    with pytest.raises(InvalidToken):
        vault.open(there, token)


def test_an_altered_token_is_refused(vault: PersonalDataVault) -> None:
    key_id = vault.create_key(tenant(), "person-1")
    token = vault.seal(key_id, PERSON)
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    for bad in (flipped, token[:20], "pd1.!!!", "plain text", token.replace("pd1.", "pd2.")):
        with pytest.raises(InvalidToken):
            vault.open(key_id, bad)


def test_a_vault_with_the_wrong_kek_can_neither_open_nor_seal(
    vault: PersonalDataVault, app_conninfo: str
) -> None:
    key_id = vault.create_key(tenant(), "person-1")
    token = vault.seal(key_id, PERSON)
    stranger = PersonalDataVault(app_conninfo, kek_from_secret("another secret"))

    with pytest.raises(WrongKek):
        stranger.open(key_id, token)
    with pytest.raises(WrongKek):
        stranger.seal(key_id, PERSON)
    assert vault.open(key_id, token) == PERSON


def test_an_unknown_key_is_not_mistaken_for_an_erased_one(vault: PersonalDataVault) -> None:
    key_id = vault.create_key(tenant(), "person-1")
    token = vault.seal(key_id, PERSON)

    with pytest.raises(UnknownKey):
        vault.open(uuid.uuid4(), token)
    with pytest.raises(UnknownKey):
        vault.status("not-a-key")


def test_keys_survive_a_change_of_secret_once_rewrapped(app_conninfo: str) -> None:
    old_kek, new_kek = kek_from_secret("old secret"), kek_from_secret("new secret")
    with ConnectionPool(app_conninfo, min_size=1, max_size=2, open=True) as pool:
        old, new = PersonalDataVault(pool, old_kek), PersonalDataVault(pool, new_kek)
        live = old.create_key(tenant(), "person-1")
        erased = old.create_key(tenant(), "person-2")
        token = old.seal(live, PERSON)
        old.erase(erased, reason="erasure", at=AT)

        assert new.rewrap(old_kek) == 1

        assert new.open(live, token) == PERSON
        assert new.open(erased, token) is ERASED
        with pytest.raises(WrongKek):
            old.open(live, token)
