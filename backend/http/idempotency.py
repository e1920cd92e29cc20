"""``Idempotency-Key``: a retried command replays its first 2xx answer and appends nothing.

Keys are per user and kept 24 hours in PostgreSQL (``infra/sql/030_idempotency.sql``). The
mechanism is transparent to controllers and services: ``IdempotencyMiddleware`` handles every
authenticated POST/PUT/PATCH/DELETE that carries the header.

How a retry never duplicates
----------------------------
1. Before the handler runs, the middleware hashes ``method, path, body`` and looks the key up.
   A JSON body is hashed in its canonical form (``body_fingerprint``), so a retry that writes
   the same value with other white space or member order is the same request. A completed
   row with the same hash is replayed (``Idempotent-Replayed: true``); a row with another hash
   answers 422 ``idempotency_key_reused``. Rows older than 24 h are deleted first.
2. Otherwise it runs the handler with a ``PendingKey`` (with a fresh ``attempt_id``) in a
   context variable, which ``sync_to_thread`` carries into the handler's thread.
3. The store's recorder runs ``record_pending_key`` (one of its ``InTransaction`` writers,
   ``infra/event_store.py``, registered by ``backend/wiring.py``) to write the key row
   **inside the transaction that appends the events**: an upsert that only
   succeeds for the same ``attempt_id`` (so one request may save several times), recording
   which aggregates reached which version. If another attempt already holds the key, the
   hook raises ``IntegrityError`` and the whole transaction, events included, rolls back.
4. After a 2xx answer, the middleware stores its status, body and a few headers in the row.

Failure cases: a crash before the commit leaves nothing (the retry runs afresh); a crash after
the commit but before step 4 leaves the row with its saved versions, and the retry answers a
response rebuilt from them (``{id, version, state}``) without running the command again. Two
concurrent requests with one key both run, but only one commits: the other's upsert waits for
the first transaction and then fails, its 409 is replaced by the replay of the winner.
Failed commands (4xx) store nothing, so a retry runs again, as the contract says.

Without the writer (a recorder that is not PostgreSQL's), step 4 alone records the key; a
crash between the append and step 4 may then re-run the command on retry. Creates are still
safe (derived IDs collide: 409) and so are actions sent with ``If-Match`` (412); the key also
rides in each event's ``meta`` for the audit trail.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

import structlog
from eventsourcing.persistence import IntegrityError, StoredEvent
from litestar.concurrency import sync_to_thread
from litestar.connection import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from psycopg.sql import SQL, Identifier

from danvan.backend.auth.tokens import Principal
from danvan.backend.errors import Problem
from danvan.backend.http.body import canonical_json, is_json
from danvan.backend.http.position import HEADER as POSITION_HEADER

HEADER = "idempotency-key"
TTL_HOURS = 24
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "idempotent-replayed"
KEPT_HEADERS = ("content-type", "etag", "location", "content-language", POSITION_HEADER)
SETTLE_SECONDS = 1.0
"""How long a retry waits for a committed command's answer to be stored before rebuilding it."""

log = structlog.get_logger("danvan.idempotency")


@dataclass(frozen=True)
class PendingKey:
    user_id: str
    key: str
    request_hash: bytes
    method: str
    path: str
    attempt_id: str = field(default_factory=lambda: uuid.uuid4().hex)


_pending: ContextVar[PendingKey | None] = ContextVar("danvan_idempotency_pending", default=None)


def current_key() -> PendingKey | None:
    """The key of the command being handled in this context, if the client sent one."""
    return _pending.get()


@dataclass(frozen=True)
class KeyRecord:
    request_hash: bytes
    attempt_id: str
    saved: list[dict[str, Any]]
    status: int | None
    body: bytes | None
    headers: dict[str, str]


Connect = Callable[[], AbstractContextManager[Any]]


class IdempotencyStore:
    """The ``idempotency_keys`` table, through any psycopg connection factory."""

    def __init__(self, connect: Connect, table: str = "idempotency_keys") -> None:
        self.connect = connect
        self.table = table

    def find(self, user_id: str, key: str) -> KeyRecord | None:
        with self.connect() as conn, conn.transaction():
            conn.execute(f"DELETE FROM {self.table} WHERE user_id = %s AND key = %s "
                         "AND expires_at <= now()", (user_id, key))
            row = conn.execute(
                f"SELECT request_hash, attempt_id, saved, status, body, headers "
                f"FROM {self.table} WHERE user_id = %s AND key = %s", (user_id, key)).fetchone()
        if row is None:
            return None
        values = list(row.values()) if isinstance(row, dict) else list(row)
        request_hash, attempt_id, saved, status, body, headers = values
        return KeyRecord(request_hash=bytes(request_hash), attempt_id=attempt_id,
                         saved=list(saved or []), status=status,
                         body=bytes(body) if body is not None else None,
                         headers=dict(headers or {}))

    def complete(self, pending: PendingKey, status: int, body: bytes,
                 headers: dict[str, str]) -> None:
        with self.connect() as conn, conn.transaction():
            conn.execute(
                f"INSERT INTO {self.table} AS k (user_id, key, request_hash, method, path, "
                "attempt_id, saved, status, body, headers, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, '[]'::jsonb, %s, %s, %s::jsonb, now(), "
                f"now() + interval '{TTL_HOURS} hours') "
                "ON CONFLICT (user_id, key) DO UPDATE SET status = EXCLUDED.status, "
                "body = EXCLUDED.body, headers = EXCLUDED.headers "
                "WHERE k.attempt_id = EXCLUDED.attempt_id",
                (pending.user_id, pending.key, pending.request_hash, pending.method,
                 pending.path, pending.attempt_id, status, body, json.dumps(headers)))

    def purge_expired(self) -> int:
        with self.connect() as conn, conn.transaction():
            cursor = conn.execute(f"DELETE FROM {self.table} WHERE expires_at <= now()")
            return int(cursor.rowcount or 0)


# --- the recorder hook: the key row rides in the events' transaction ------------------------

def saved_versions(stored_events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    spans: dict[str, list[int]] = {}
    for event in stored_events:
        span = spans.setdefault(str(event.originator_id), [event.originator_version] * 2)
        span[0] = min(span[0], event.originator_version)
        span[1] = max(span[1], event.originator_version)
    return [{"id": i, "from_version": a, "version": b} for i, (a, b) in spans.items()]


def record_in_transaction(cursor: Any, pending: PendingKey,
                          stored_events: Sequence[StoredEvent],
                          table: str = "idempotency_keys") -> None:
    """Claim the key for this attempt in the current transaction, or refuse the whole save."""
    cursor.execute(
        f"INSERT INTO {table} AS k (user_id, key, request_hash, method, path, attempt_id, "
        "saved, created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, now(), "
        f"now() + interval '{TTL_HOURS} hours') "
        "ON CONFLICT (user_id, key) DO UPDATE SET saved = k.saved || EXCLUDED.saved "
        "WHERE k.attempt_id = EXCLUDED.attempt_id RETURNING 1",
        (pending.user_id, pending.key, pending.request_hash, pending.method, pending.path,
         pending.attempt_id, json.dumps(saved_versions(stored_events))))
    if cursor.fetchone() is None:
        raise IntegrityError(f"idempotency key {pending.key!r} is held by another attempt")


def record_pending_key(cursor: Any, stored_events: Sequence[StoredEvent],
                       _saved_with: Mapping[str, Any]) -> None:
    """The store's ``InTransaction`` writer (``infra/event_store.py``) for the command's
    ``Idempotency-Key``, if it came with one (``current_key``)."""
    pending = _pending.get()
    if pending is not None:
        record_in_transaction(cursor, pending, stored_events)


# --- the middleware ---------------------------------------------------------------------

Rebuild = Callable[[list[dict[str, Any]]], tuple[int, dict[str, Any], int | None]]


def body_fingerprint(content_type: tuple[str, dict[str, str]], body: bytes) -> bytes:
    """What identifies a body: its canonical JSON when it is JSON, else its bytes. (The only
    second parse of a body, paid only by requests that carry a key.)"""
    if is_json(*content_type):
        canonical = canonical_json(body)
        if canonical is not None:
            return canonical
    return body


def request_hash(method: str, path: str, query: bytes, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


async def _send_stored(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((REPLAYED_HEADER.encode(), b"true"))
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _settled(store: IdempotencyStore, pending: PendingKey, found: KeyRecord) -> KeyRecord:
    """A key whose command committed but whose answer is not stored yet is, most likely, still
    being answered by a concurrent request: wait a moment for that very answer (the first
    response, byte for byte) before ``_replay`` rebuilds one from the saved versions (which is
    only needed when that request died between its commit and storing its answer)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while (found.status is None and found.saved and found.request_hash == pending.request_hash
           and asyncio.get_running_loop().time() < deadline):
        await asyncio.sleep(0.02)
        latest = await sync_to_thread(store.find, pending.user_id, pending.key)
        if latest is None:  # expired meanwhile: replay what was found
            break
        found = latest
    return found


class IdempotencyMiddleware:
    """App-level middleware (after authentication); see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = cast("dict[str, Any]", scope)
        if http["type"] != "http" or http["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        key = _header(scope, HEADER)
        principal = http.get("user")
        state = http["litestar_app"].state
        store: IdempotencyStore | None = state.get("idempotency")
        if key is None or not isinstance(principal, Principal) or store is None:
            await self.app(scope, receive, send)
            return
        if not KEY_PATTERN.match(key):
            raise Problem(400, "invalid_header", header="Idempotency-Key")
        request: Request[Any, Any, Any] = Request(scope, receive)
        body = body_fingerprint(request.content_type, await request.body())
        pending = PendingKey(user_id=principal.user_id, key=key,
                             request_hash=request_hash(http["method"], http["path"],
                                                       http.get("query_string", b""), body),
                             method=http["method"], path=http["path"])
        found = await sync_to_thread(store.find, pending.user_id, key)
        if found is not None:
            found = await _settled(store, pending, found)
            await self._replay(found, pending, state.get("idempotency_rebuild"), send)
            return
        messages = await self._run(scope, receive, pending)
        start = messages[0]
        status = int(start["status"])
        if 200 <= status < 300:
            payload = b"".join(m.get("body", b"") for m in messages[1:])
            kept = {k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in start.get("headers", [])
                    if k.decode("latin-1").lower() in KEPT_HEADERS}
            try:
                await sync_to_thread(store.complete, pending, status, payload, kept)
            except Exception as exc:  # the answer stands; a retry will rebuild it
                log.warning("idempotency_complete_failed", error=str(exc)[:300])
        elif status == 409:
            found = await sync_to_thread(store.find, pending.user_id, key)
            if found is not None and found.attempt_id != pending.attempt_id:
                found = await _settled(store, pending, found)
                await self._replay(found, pending, state.get("idempotency_rebuild"), send)
                return
        for message in messages:
            await send(cast("Message", message))

    async def _run(self, scope: Scope, receive: Receive,
                   pending: PendingKey) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []

        async def capture(message: Message) -> None:
            messages.append(cast("dict[str, Any]", message))

        token = _pending.set(pending)
        try:
            await self.app(scope, receive, capture)
        finally:
            _pending.reset(token)
        return messages

    async def _replay(self, found: KeyRecord, pending: PendingKey, rebuild: Rebuild | None,
                      send: Send) -> None:
        if found.request_hash != pending.request_hash:
            raise Problem(422, "idempotency_key_reused",
                          errors=[("Idempotency-Key", "already used with another body")])
        if found.status is not None and found.body is not None:
            await _send_stored(send, found.status, found.body, found.headers)
            return
        if rebuild is None or not found.saved:
            raise Problem(409, "idempotency_in_progress", headers={"Retry-After": "1"})
        status, body, position = await sync_to_thread(rebuild, found.saved)
        # as the handler would have answered: compact JSON, the version's ETag, the position
        headers = {"content-type": "application/json", "etag": f'"{body["version"]}"'}
        if position is not None:
            headers[POSITION_HEADER] = str(position)
        await _send_stored(send, status, json.dumps(body, separators=(",", ":")).encode(),
                           headers)


def rebuild_from_store(store: Any) -> Rebuild:
    """Answer a committed-but-unanswered command from the versions it saved, and the
    position of the last event they reached."""

    def rebuild(saved: list[dict[str, Any]]) -> tuple[int, dict[str, Any], int | None]:
        last = saved[-1]
        aggregate = store.repository.get(uuid.UUID(last["id"]), version=last["version"])
        body: dict[str, Any] = {"id": last["id"], "version": last["version"]}
        state = getattr(aggregate, "state", None)
        if state is not None:
            body["state"] = str(state)
        created = any(item.get("from_version") == 1 for item in saved)
        return (201 if created else 200), body, _position_of(store, saved)

    return rebuild


def _position_of(store: Any, saved: list[dict[str, Any]]) -> int | None:
    recorder = store.recorder
    ids = [uuid.UUID(item["id"]) for item in saved]
    versions = [int(item["version"]) for item in saved]
    query = SQL("SELECT max(e.notification_id) AS position FROM {} e "
                "JOIN unnest(%s::uuid[], %s::int[]) AS s(id, version) "
                "ON e.originator_id = s.id AND e.originator_version = s.version").format(
        Identifier(recorder.datastore.schema, recorder.events_table_name))
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(query, (ids, versions)).fetchone()
    return None if row is None else row["position"]


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1").strip())
    return None
