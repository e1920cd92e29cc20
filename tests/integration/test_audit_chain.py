"""The per-tenant hash chain: it verifies when intact and pinpoints every kind of tampering.

Tampering is done as the owner with triggers off (``session_replication_role = replica``),
as an attacker with full database access would.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from danvan.infra.audit_chain import GENESIS, event_hash
from danvan.infra.audit_verify import export_tenant, verify_all, verify_export, verify_tenant
from danvan.infra.event_store import EventStore
from danvan.infra.seals import KeyRing, SealPolicy, load_seal_key, seal_all, seal_due
from danvan.infra.settings import Settings
from tests.integration._aggregates import Note, ctx

A, B = "province:15", "commune:08011"


def positions(conn: psycopg.Connection, tenant: str) -> list[int]:
    rows = conn.execute("SELECT notification_id FROM danvan_events WHERE tenant_id = %s "
                        "ORDER BY notification_id", (tenant,)).fetchall()
    return [r[0] for r in rows]


@contextmanager
def tampering(conn: psycopg.Connection) -> Iterator[None]:
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        yield


def alter_event(conn: psycopg.Connection, position: int) -> None:
    """Rewrite the ``text`` of one stored event (every Note event has one)."""
    changed = conn.execute(
        "UPDATE danvan_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
        "'\"text\":\"', '\"text\":\"forged '), 'UTF8') WHERE notification_id = %s",
        (position,))
    assert changed.rowcount == 1


def rehash_from(conn: psycopg.Connection, tenant: str, start: int) -> None:
    """What a careful attacker does after an edit: recompute every later hash and the head."""
    rows = conn.execute(
        "SELECT notification_id, originator_id, originator_version, topic, state, prev_hash "
        "FROM danvan_events WHERE tenant_id = %s AND notification_id >= %s "
        "ORDER BY notification_id", (tenant, start)).fetchall()
    prev = bytes(rows[0][5])
    for nid, oid, version, topic, state, _ in rows:
        new = event_hash(prev, nid, oid, version, topic, bytes(state))
        conn.execute("UPDATE danvan_events SET prev_hash = %s, hash = %s "
                     "WHERE notification_id = %s", (prev, new, nid))
        prev = new
    conn.execute("UPDATE audit_chain_heads SET hash = %s WHERE tenant_id = %s", (prev, tenant))


@pytest.fixture
def history(event_store: EventStore) -> None:
    """Two tenants with interleaved events: each tenant's positions have gaps."""
    for i in range(4):
        notes = [Note.write(ctx(A), f"a{i}"), Note.write(ctx(B), f"b{i}")]
        for note in notes:
            note.edit(ctx(note.tenant_id), f"edit {i}")
        event_store.save(*notes)


@pytest.fixture
def keys(settings: Settings) -> KeyRing:
    return KeyRing([load_seal_key(settings).public_key()])


@pytest.fixture
def danvan(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """``danvan ARGS...`` in this process, on the test database, with ``DANVAN_*`` extras."""
    from danvan.backend.cli import main
    from danvan.infra.settings import get_settings

    def run(*args: str, **env: str) -> int:
        for name in list(os.environ):
            if name.startswith("DANVAN_") or name == "DATABASE_URL":
                monkeypatch.delenv(name)
        monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
        monkeypatch.setenv("DANVAN_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("DANVAN_APP_DB_ROLE", settings.app_db_role)
        monkeypatch.setenv("DANVAN_APP_DB_PASSWORD", settings.app_db_password)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return main(list(args))
        finally:
            get_settings.cache_clear()

    return run


def test_python_and_postgresql_compute_the_same_hash(owner_conn: psycopg.Connection) -> None:
    cases = [(GENESIS, 1, uuid.uuid4(), 1, "a:B.C", b'{"tenant_id":"t"}'),
             (b"\x01" * 32, 2**40, uuid.uuid4(), 7, "Mô hình:Đã duyệt", "ư".encode() * 1000),
             (b"\xff" * 32, 3, uuid.uuid4(), 2**62, None, b""),
             (b"\x07" * 32, 4, uuid.uuid4(), 1, "", None)]
    for case in cases:
        row = owner_conn.execute("SELECT danvan_event_hash(%s, %s, %s, %s, %s, %s)",
                                 case).fetchone()
        assert row is not None and bytes(row[0]) == event_hash(*case)


def test_an_intact_chain_verifies(history: None, owner_conn: psycopg.Connection) -> None:
    results = {r.tenant_id: r for r in verify_all(owner_conn)}

    assert set(results) == {A, B}
    assert all(r.ok and r.first_broken_position is None for r in results.values())
    assert results[A].events_checked == 8
    assert results[A].head_position == positions(owner_conn, A)[-1]


def test_the_application_role_can_verify_and_seal(history: None, settings: Settings,
                                                   keys: KeyRing,
                                                   app_conn: psycopg.Connection) -> None:
    assert [r.sealed for r in seal_all(app_conn, load_seal_key(settings))] == [True, True]
    result = verify_tenant(app_conn, A, check_signature=keys.check)
    assert (result.ok, result.events_checked, result.seals_checked) == (True, 8, 1)


def test_the_first_event_links_to_genesis_and_each_to_its_tenants_previous(
        history: None, owner_conn: psycopg.Connection) -> None:
    rows = owner_conn.execute("SELECT prev_hash, hash FROM danvan_events WHERE tenant_id = %s "
                              "ORDER BY notification_id", (A,)).fetchall()
    assert bytes(rows[0][0]) == GENESIS
    assert all(bytes(rows[i][0]) == bytes(rows[i - 1][1]) for i in range(1, len(rows)))


def test_an_altered_event_is_found_at_its_position(history: None,
                                                    owner_conn: psycopg.Connection) -> None:
    target = positions(owner_conn, A)[3]
    with tampering(owner_conn):
        alter_event(owner_conn, target)

    result = verify_tenant(owner_conn, A)
    assert (result.ok, result.first_broken_position) == (False, target)
    assert "altered" in result.problems[0]
    assert len(result.problems) == 1  # later events still link: reported once
    assert verify_tenant(owner_conn, B).ok


def test_a_removed_event_is_found_at_the_next_event_of_the_tenant(
        history: None, owner_conn: psycopg.Connection) -> None:
    a_positions = positions(owner_conn, A)
    with tampering(owner_conn):
        owner_conn.execute("DELETE FROM danvan_events WHERE notification_id = %s",
                           (a_positions[2],))

    result = verify_tenant(owner_conn, A)
    assert (result.ok, result.first_broken_position) == (False, a_positions[3])
    assert result.events_checked == 7


def test_a_removed_last_event_is_found_through_the_head(history: None,
                                                        owner_conn: psycopg.Connection) -> None:
    last = positions(owner_conn, A)[-1]
    with tampering(owner_conn):
        owner_conn.execute("DELETE FROM danvan_events WHERE notification_id = %s", (last,))

    result = verify_tenant(owner_conn, A)
    assert (result.ok, result.first_broken_position) == (False, last)


def test_two_swapped_events_are_found_at_the_first_of_them(history: None,
                                                           owner_conn: psycopg.Connection) -> None:
    a_positions = positions(owner_conn, A)
    p, q = a_positions[2], a_positions[5]
    with tampering(owner_conn):
        owner_conn.execute("UPDATE danvan_events SET notification_id = -1 "
                           "WHERE notification_id = %s", (p,))
        owner_conn.execute("UPDATE danvan_events SET notification_id = %s "
                           "WHERE notification_id = %s", (p, q))
        owner_conn.execute("UPDATE danvan_events SET notification_id = %s "
                           "WHERE notification_id = -1", (q,))

    result = verify_tenant(owner_conn, A)
    assert (result.ok, result.first_broken_position) == (False, p)


def test_an_event_moved_to_another_tenant_breaks_both_chains(
        history: None, owner_conn: psycopg.Connection) -> None:
    target = positions(owner_conn, A)[1]
    with tampering(owner_conn):
        owner_conn.execute("UPDATE danvan_events SET tenant_id = %s WHERE notification_id = %s",
                           (B, target))

    assert verify_tenant(owner_conn, A).first_broken_position == positions(owner_conn, A)[1]
    assert verify_tenant(owner_conn, B).first_broken_position == target


def test_a_rehashed_alteration_passes_the_chain_but_not_the_seal(
        history: None, event_store: EventStore, settings: Settings, keys: KeyRing,
        owner_conn: psycopg.Connection) -> None:
    key = load_seal_key(settings)
    assert [r.sealed for r in seal_all(owner_conn, key)] == [True, True]
    sealed_at = positions(owner_conn, A)[-1]
    event_store.save(Note.write(ctx(A), "after the seal"))
    target = positions(owner_conn, A)[2]
    with tampering(owner_conn):
        alter_event(owner_conn, target)
        rehash_from(owner_conn, A, target)

    result = verify_tenant(owner_conn, A, check_signature=keys.check)
    assert (result.ok, result.first_broken_position) == (False, sealed_at)
    assert "rehashed" in result.problems[0]
    assert (result.seals_checked, result.seals_unverified) == (1, 0)
    # Without the public key the sealed hash still disagrees.
    assert verify_tenant(owner_conn, A).first_broken_position == sealed_at
    # And the sealer refuses to seal over it.
    refused = seal_all(owner_conn, key, tenant_id=A)
    assert [r.sealed for r in refused] == [False]


def test_a_forged_seal_is_found(history: None, owner_conn: psycopg.Connection,
                                settings: Settings, keys: KeyRing) -> None:
    seal_all(owner_conn, load_seal_key(settings))
    head = positions(owner_conn, A)[-1]
    with tampering(owner_conn):
        owner_conn.execute("UPDATE audit_seals SET signature = %s WHERE tenant_id = %s",
                           (b"\0" * 64, A))

    result = verify_tenant(owner_conn, A, check_signature=keys.check)
    assert (result.ok, result.first_broken_position) == (False, head)
    assert "signature" in result.problems[0]


def test_a_seal_of_an_unknown_key_is_not_trusted(history: None, owner_conn: psycopg.Connection,
                                                 settings: Settings, tmp_path: Path) -> None:
    seal_all(owner_conn, load_seal_key(settings))
    other = KeyRing([load_seal_key(Settings(data_dir=tmp_path / "other")).public_key()])

    assert not verify_tenant(owner_conn, A, check_signature=other.check).ok


def test_seal_all_seals_each_moved_head_once(history: None, event_store: EventStore,
                                             settings: Settings,
                                             owner_conn: psycopg.Connection) -> None:
    key = load_seal_key(settings)
    assert {(r.tenant_id, r.sealed) for r in seal_all(owner_conn, key)} == {(A, True), (B, True)}
    assert seal_all(owner_conn, key) == []
    event_store.save(Note.write(ctx(B), "new"))

    again = seal_all(owner_conn, key)
    assert [(r.tenant_id, r.position, r.sealed) for r in again] == [
        (B, positions(owner_conn, B)[-1], True)]
    assert (settings.data_dir / "seal.key").stat().st_mode & 0o777 == 0o600


def test_the_production_seal_key_must_exist(tmp_path: Path) -> None:
    from danvan.infra.settings import SettingsError

    production = Settings(env="production", secret_key="x" * 40, data_dir=tmp_path)
    with pytest.raises(SettingsError, match="seal key"):
        load_seal_key(production)


def test_an_export_verifies_offline_and_an_edited_export_does_not(
        history: None, settings: Settings, keys: KeyRing, owner_conn: psycopg.Connection,
        tmp_path: Path) -> None:
    seal_all(owner_conn, load_seal_key(settings))
    path = tmp_path / "a.jsonl"
    with path.open("w", encoding="utf-8") as out:
        assert export_tenant(owner_conn, A, out) == 8

    result = verify_export(path, check_signature=keys.check)
    assert (result.ok, result.events_checked, result.seals_checked) == (True, 8, 1)
    assert result.seals_unverified == 0

    lines = path.read_text(encoding="utf-8").splitlines()
    events = [i for i, line in enumerate(lines) if '"type":"event"' in line]
    fifth = json.loads(lines[events[4]])
    fifth["originator_version"] += 1
    lines[events[4]] = json.dumps(fifth)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert verify_export(edited).first_broken_position == positions(owner_conn, A)[4]


def test_an_export_writes_each_line_as_the_format_says(
        history: None, settings: Settings, owner_conn: psycopg.Connection,
        tmp_path: Path) -> None:
    """Header, head, seals, then one line per event in log order: compact JSON, UTF-8 as it
    is, keys in the documented order, ids as text, hashes hex, ``state`` padded base64."""
    seal_all(owner_conn, load_seal_key(settings))
    path = tmp_path / "a.jsonl"
    with path.open("w", encoding="utf-8") as out:
        export_tenant(owner_conn, A, out)
    rows = owner_conn.execute(
        "SELECT notification_id, originator_id, originator_version, topic, state, prev_hash, "
        "hash FROM danvan_events WHERE tenant_id = %s ORDER BY notification_id",
        (A,)).fetchall()
    expected = [json.dumps({
        "type": "event", "notification_id": nid, "originator_id": str(oid),
        "originator_version": version, "topic": topic,
        "state": base64.b64encode(bytes(state)).decode("ascii"),
        "prev_hash": bytes(prev).hex(), "hash": bytes(hash_).hex()},
        ensure_ascii=False, separators=(",", ":"))
        for nid, oid, version, topic, state, prev, hash_ in rows]
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == ""
    assert [json.loads(line)["type"] for line in lines[:3]] == ["header", "head", "seal"]
    assert lines[3:-1] == expected
    assert len(expected) == 8


def test_the_cli_verifies_exports_and_seals(history: None, owner_conn: psycopg.Connection,
                                            tmp_path: Path, danvan: Callable[..., int],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export.jsonl"
    public = tmp_path / "seal.pub"
    assert danvan("audit", "seal") == 0
    assert danvan("audit", "pubkey", "--out", str(public)) == 0
    assert danvan("audit", "verify") == 0
    assert danvan("audit", "export", "--tenant", A, "--out", str(export)) == 0
    assert danvan("audit", "verify", "--file", str(export), "--public-key", str(public),
                  "--json") == 0
    assert '"ok": true' in capsys.readouterr().out

    with tampering(owner_conn):
        owner_conn.execute("DELETE FROM danvan_events WHERE notification_id = %s",
                           (positions(owner_conn, B)[0],))
    assert danvan("audit", "verify", "--tenant", B) == 1
    assert "BROKEN  tenant=commune:08011" in capsys.readouterr().out


def test_a_rehashed_suffix_with_no_seal_verifies_only_with_a_warning(
        history: None, owner_conn: psycopg.Connection, danvan: Callable[..., int],
        capsys: pytest.CaptureFixture[str]) -> None:
    target = positions(owner_conn, A)[2]
    with tampering(owner_conn):
        alter_event(owner_conn, target)
        rehash_from(owner_conn, A, target)

    result = verify_tenant(owner_conn, A)
    assert result.ok  # the chain alone cannot tell
    assert len(result.warnings) == 1 and result.warnings[0].startswith("no seal")
    assert "8 events" in result.warnings[0]

    assert danvan("audit", "verify") == 3
    out = capsys.readouterr().out
    assert f"WARNING tenant={A} no seal" in out and f"WARNING tenant={B} no seal" in out


def test_a_rehashed_suffix_under_an_older_seal_fails_verification(
        history: None, event_store: EventStore, owner_conn: psycopg.Connection,
        danvan: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    assert danvan("audit", "seal") == 0
    event_store.save(Note.write(ctx(A), "after the seal"))
    target = positions(owner_conn, A)[2]
    with tampering(owner_conn):
        alter_event(owner_conn, target)
        rehash_from(owner_conn, A, target)

    assert danvan("audit", "verify") == 1
    assert f"BROKEN  tenant={A}" in capsys.readouterr().out


def test_events_past_a_stale_seal_are_a_warning(
        history: None, event_store: EventStore, settings: Settings,
        owner_conn: psycopg.Connection) -> None:
    seal_all(owner_conn, load_seal_key(settings))
    policy = SealPolicy(every_events=2)
    assert verify_tenant(owner_conn, A, policy=policy).warnings == ()
    sealed_at = positions(owner_conn, A)[-1]

    event_store.save(Note.write(ctx(A), "one"), Note.write(ctx(A), "two"))
    assert verify_tenant(owner_conn, A, policy=policy).warnings == ()  # 2: not more than 2
    event_store.save(Note.write(ctx(A), "three"))
    by_count = verify_tenant(owner_conn, A, policy=policy)
    assert by_count.ok and by_count.warnings == (
        f"stale seal: 3 events since the last seal at position {sealed_at}, more than "
        "DANVAN_SEAL_EVERY=2; they are not covered",)

    with tampering(owner_conn):
        owner_conn.execute("UPDATE audit_seals SET sealed_at = now() - interval '25 hours' "
                           "WHERE tenant_id = %s", (B,))
    assert verify_tenant(owner_conn, B, policy=policy).warnings == ()  # not moved since
    event_store.save(Note.write(ctx(B), "late"))
    by_age = verify_tenant(owner_conn, B, policy=policy)
    assert len(by_age.warnings) == 1 and "more than a day ago" in by_age.warnings[0]


def test_seal_due_seals_each_chain_that_moved_enough_or_a_day_ago_once(
        history: None, event_store: EventStore, settings: Settings,
        owner_conn: psycopg.Connection) -> None:
    key = load_seal_key(settings)
    policy = SealPolicy(every_events=3)
    assert {(r.tenant_id, r.sealed) for r in seal_due(owner_conn, key, policy)} == {
        (A, True), (B, True)}  # never sealed: due at once
    assert seal_due(owner_conn, key, policy) == []

    event_store.save(Note.write(ctx(A), "one"), Note.write(ctx(A), "two"),
                     Note.write(ctx(B), "one"))
    assert seal_due(owner_conn, key, policy) == []  # 2 and 1 events, sealed just now
    event_store.save(Note.write(ctx(A), "three"))
    assert [(r.tenant_id, r.position) for r in seal_due(owner_conn, key, policy)] == [
        (A, positions(owner_conn, A)[-1])]
    with tampering(owner_conn):
        owner_conn.execute("UPDATE audit_seals SET sealed_at = sealed_at - interval '1 day' "
                           "WHERE tenant_id = %s", (B,))
    assert [(r.tenant_id, r.position) for r in seal_due(owner_conn, key, policy)] == [
        (B, positions(owner_conn, B)[-1])]
    assert seal_due(owner_conn, key, policy) == []
    assert all(r.ok and not r.warnings for r in verify_all(owner_conn, policy=policy))


def test_the_cli_seals_what_is_due_by_the_configured_count(
        history: None, event_store: EventStore, owner_conn: psycopg.Connection,
        danvan: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    assert danvan("audit", "seal", "--due", DANVAN_SEAL_EVERY="3") == 0
    event_store.save(Note.write(ctx(A), "one"), Note.write(ctx(A), "two"),
                     Note.write(ctx(A), "three"), Note.write(ctx(A), "four"))
    assert danvan("audit", "verify", DANVAN_SEAL_EVERY="3") == 3
    assert f"WARNING tenant={A} stale seal: 4 events" in capsys.readouterr().out

    assert danvan("audit", "seal", "--due", DANVAN_SEAL_EVERY="3") == 0
    assert f"sealed  tenant={A}" in capsys.readouterr().out
    assert danvan("audit", "verify", DANVAN_SEAL_EVERY="3") == 0
