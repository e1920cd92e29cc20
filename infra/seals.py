"""Ed25519 seals over each tenant's chain head, signed with a key kept out of the database.

The private key lives in a file (``settings.seal_key_path``, default ``<data_dir>/seal.key``,
PKCS#8 PEM, mode 0600), created on first use except in production, where it must exist.
Inspectors get the public key (``danvan audit pubkey``) and check seals with it.

Why seals: the database owner can rewrite an event and recompute every later hash and the
chain head, and the chain alone still verifies. A seal signs a tenant's head with a key the
database cannot read, so a rewrite of anything up to a sealed position shows. Events after the
last seal are not covered: ``SealPolicy`` says when a chain is due for a new seal (the
sealer, ``seal_due``, run by the scheduler or ``danvan audit seal --due``) and when a missing
or old seal is worth a warning (``danvan audit verify``).

Signed message (``seal_message``)::

    b"danvan-seal-v1\\0" || int32be(len(tenant_utf8)) || tenant_utf8
                         || int64be(position) || hash[32]
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from psycopg.rows import TupleRow

from danvan.infra.audit_chain import GENESIS, ChainRow, Seal
from danvan.infra.settings import Settings, SettingsError

SEAL_PREFIX = b"danvan-seal-v1\x00"

Conn = psycopg.Connection[TupleRow]


def seal_message(tenant_id: str, position: int, hash_: bytes) -> bytes:
    tenant = tenant_id.encode("utf-8")
    return b"".join((SEAL_PREFIX, struct.pack(">i", len(tenant)), tenant,
                     struct.pack(">q", position), hash_))


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def seal_key_path(settings: Settings) -> Path:
    return settings.seal_key_path or settings.data_dir / "seal.key"


def load_seal_key(settings: Settings, *, create: bool | None = None) -> Ed25519PrivateKey:
    """The sealing key; created (0600) when missing unless in production or ``create=False``."""
    path = seal_key_path(settings)
    if create is None:
        create = not settings.is_production
    if not path.exists():
        if not create:
            raise SettingsError(f"seal key {path} does not exist (DANVAN_SEAL_KEY_FILE)")
        _create_key_file(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingsError(f"seal key {path} is not an Ed25519 private key")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first: use theirs
    with os.fdopen(fd, "wb") as file:
        file.write(pem)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key, or the public half of a PEM private key."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if isinstance(private, Ed25519PrivateKey):
            return private.public_key()
    else:
        public = serialization.load_pem_public_key(data)
        if isinstance(public, Ed25519PublicKey):
            return public
    raise ValueError(f"{path} holds no Ed25519 key")


def sign_seal(key: Ed25519PrivateKey, tenant_id: str, position: int, hash_: bytes) -> bytes:
    return key.sign(seal_message(tenant_id, position, hash_))


class KeyRing:
    """Trusted public keys by key id; checks seal signatures for the verifier."""

    def __init__(self, keys: Iterable[Ed25519PublicKey] = ()):
        self.keys = {key_id(k): k for k in keys}

    def __bool__(self) -> bool:
        return bool(self.keys)

    def check(self, seal: Seal) -> bool | None:
        if not self.keys:
            return None
        key = self.keys.get(seal.key_id)
        if key is None:
            return False
        try:
            key.verify(seal.signature, seal_message(seal.tenant_id, seal.position, seal.hash))
        except InvalidSignature:
            return False
        return True


def seal_from_row(row: Sequence[Any]) -> Seal:
    """A seal from ``(tenant_id, position, hash, sealed_at, key_id, signature)``."""
    tenant, position, hash_, sealed_at, kid, signature = row
    return Seal(str(tenant), int(position), bytes(hash_), sealed_at, str(kid), bytes(signature))


SEAL_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class SealPolicy:
    """A chain that moved is due for a seal after ``every_events`` events (``DANVAN_SEAL_EVERY``)
    or ``max_age`` after its last seal, and at once if it was never sealed; verification warns
    when a chain has events past what that rule allows."""

    every_events: int = Settings().seal_every_events
    max_age: timedelta = SEAL_MAX_AGE

    @classmethod
    def of(cls, settings: Settings) -> SealPolicy:
        return cls(every_events=max(1, settings.seal_every_events))

    def warning(self, unsealed_events: int, last_seal: Seal | None,
                now: datetime) -> str | None:
        """Why the unsealed end of an intact chain deserves a warning, if it does: no seal,
        or more than ``every_events`` events or more than ``max_age`` since the last one."""
        if unsealed_events <= 0:
            return None
        if last_seal is None:
            return (f"no seal: none of its {unsealed_events} events is covered, a rewrite "
                    f"with recomputed hashes would not show (run danvan audit seal)")
        since = f"{unsealed_events} events since the last seal at position {last_seal.position}"
        if unsealed_events > self.every_events:
            return (f"stale seal: {since}, more than DANVAN_SEAL_EVERY={self.every_events}; "
                    f"they are not covered")
        if now - last_seal.sealed_at > self.max_age:
            return (f"stale seal: {since}, sealed {last_seal.sealed_at:%Y-%m-%d %H:%M} UTC, "
                    f"more than {_age(self.max_age)} ago; they are not covered")
        return None


def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return "a day" if hours == 24 else f"{hours} hours"


@dataclass(frozen=True)
class SealResult:
    tenant_id: str
    position: int
    sealed: bool
    reason: str | None = None


def due_tenants(conn: Conn, kid: str, policy: SealPolicy) -> set[str]:
    """The tenants ``policy`` says are due for a seal by the key ``kid``: the chain moved
    since the last seal, and it was never sealed, or ``every_events`` events or ``max_age``
    have passed since (one statement; each count stops at ``every_events``)."""
    rows = conn.execute(
        "SELECT h.tenant_id FROM audit_chain_heads h "
        "LEFT JOIN LATERAL (SELECT s.position, s.sealed_at FROM audit_seals s "
        " WHERE s.tenant_id = h.tenant_id AND s.key_id = %(kid)s "
        " ORDER BY s.position DESC LIMIT 1) last ON true "
        "WHERE h.position > coalesce(last.position, 0) AND (last.position IS NULL "
        " OR last.sealed_at <= now() - %(age)s OR (SELECT count(*) FROM ("
        "  SELECT 1 FROM danvan_events e WHERE e.tenant_id = h.tenant_id"
        "  AND e.notification_id > last.position LIMIT %(every)s) n) >= %(every)s)",
        {"kid": kid, "age": policy.max_age, "every": policy.every_events}).fetchall()
    return {row[0] for row in rows}


def seal_all(conn: Conn, key: Ed25519PrivateKey, *, tenant_id: str | None = None,
             policy: SealPolicy | None = None) -> list[SealResult]:
    """Seal the head of every tenant whose chain moved since its last seal by this key (with
    a ``policy``: only those it says are due, see ``seal_due``).

    The events since that seal are verified first (from its hash on), and a chain that
    does not verify is not sealed. Safe to run concurrently (one seal per position and key).
    """
    public = key.public_key()
    kid = key_id(public)
    ring = KeyRing([public])
    heads = conn.execute(
        "SELECT tenant_id, position, hash FROM audit_chain_heads "
        "WHERE %(t)s::text IS NULL OR tenant_id = %(t)s ORDER BY tenant_id",
        {"t": tenant_id}).fetchall()
    last_seals = {row[0]: seal_from_row(row) for row in conn.execute(
        "SELECT DISTINCT ON (tenant_id) tenant_id, position, hash, sealed_at, key_id, "
        "signature FROM audit_seals WHERE key_id = %s ORDER BY tenant_id, position DESC",
        (kid,))}
    results = []
    due = due_tenants(conn, kid, policy) if policy is not None else None
    for tenant, position, head_hash in heads:
        last = last_seals.get(tenant)
        if last is not None and last.position >= position:
            continue
        if due is not None and tenant not in due:
            continue
        if last is not None and not ring.check(last):
            results.append(SealResult(tenant, position, False, "last seal's signature invalid"))
            continue
        problem = _verify_since(conn, tenant, last, position, bytes(head_hash))
        if problem:
            results.append(SealResult(tenant, position, False, problem))
            continue
        conn.execute(
            "INSERT INTO audit_seals (tenant_id, position, hash, key_id, signature) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (tenant, position, head_hash, kid, sign_seal(key, tenant, position, head_hash)))
        results.append(SealResult(tenant, position, True))
    return results


def seal_due(conn: Conn, key: Ed25519PrivateKey, policy: SealPolicy) -> list[SealResult]:
    """What the scheduler runs: seal every tenant whose chain moved ``policy.every_events``
    events, or at all a day after its last seal (or never sealed). Idempotent: a second run
    finds nothing due; concurrent runs write each seal once."""
    return seal_all(conn, key, policy=policy)


def _verify_since(conn: Conn, tenant: str, last: Seal | None, head_position: int,
                  head_hash: bytes) -> str | None:
    """None when the events after ``last`` link up to exactly the head, else why not."""
    prev, start = (last.hash, last.position) if last else (GENESIS, 0)
    last_position = start
    with conn.transaction(), conn.cursor(name="danvan_seal_verify") as cursor:
        cursor.itersize = 2000
        # Plan for every row (as audit_verify._rows): planned for its first tenth, the cursor
        # walks every tenant's events of the range by notification_id, filtering by tenant.
        conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            "prev_hash, hash FROM danvan_events WHERE tenant_id = %s "
            "AND notification_id > %s AND notification_id <= %s ORDER BY notification_id",
            (tenant, start, head_position))
        for values in cursor:
            row = ChainRow(values[0], values[1], values[2], values[3], bytes(values[4]),
                           bytes(values[5]), bytes(values[6]))
            if row.prev_hash != prev or row.hash != row.recompute(prev):
                return f"chain broken at position {row.notification_id}"
            prev, last_position = row.hash, row.notification_id
    if last_position != head_position or prev != head_hash:
        return f"chain does not reach its head at position {head_position}"
    return None
