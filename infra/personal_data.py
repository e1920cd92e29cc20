"""Personal data of individual exemplars, encrypted per person so that it can be erased.

Name, birth year, phone, address and the like never enter the event log in clear. The
domain stores two things in its events: the person's ``key_id`` and a *token*, the
ciphertext of a JSON object sealed with that person's data key. Erasing the key
(crypto-shredding) makes every token sealed with it unreadable, while the log itself stays
intact and its hash chain valid.

Keys, in the table ``person_keys`` (``infra/sql/020_person_keys.sql``):

- each person of a tenant has one live random 256-bit *data key*; tokens are
  AES-256-GCM with that key, the associated data binding key, tenant and person;
- the data key is stored *wrapped*: AES-256-GCM under the *key-encryption key* (KEK),
  which is derived with HKDF from the service secret (``DANVAN_SECRET_KEY``) and never
  stored, so a database dump alone reveals no personal data;
- erasing sets the wrapped key to NULL and records when and why; the row stays, so a
  reader can tell "erased" from "unknown", and a trigger forbids giving it material again.

Limits: PostgreSQL keeps the old row version until VACUUM, and backups taken before an
erasure still hold the wrapped key; with the KEK those could recover the data, so backups
must expire. Changing ``DANVAN_SECRET_KEY`` makes every key unreadable unless
``rewrap(old_kek)`` is run with the new KEK first.

    vault = PersonalDataVault(pool_or_conninfo, kek_from_secret(settings.secret_key))
    key_id = vault.create_key(tenant_id, person_id)
    token = vault.seal(key_id, {"name": "Nguyễn Văn A", "birth_year": 1970})
    data = vault.open(key_id, token)       # the dict, or ERASED
    vault.erase(key_id, reason="request of the person", at=now)
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

TOKEN_PREFIX: Final = "pd1."
"""Version tag of the token format: ``pd1.`` + base64url(nonce || ciphertext || tag)."""

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
PAD_TO: Final = 64
"""Plaintexts are padded to a multiple of this many bytes so lengths leak less."""

_KEK_SALT: Final = b"danvan personal data"
_KEK_INFO: Final = b"danvan/personal-data/kek/v1"


class Erased(enum.Enum):
    ERASED = "erased"


ERASED: Final = Erased.ERASED
"""What ``open`` returns when the person's key has been erased: the data is gone for good."""

Opened: TypeAlias = dict[str, Any] | Literal[Erased.ERASED]


class VaultError(Exception):
    """Personal data cannot be sealed or opened."""


class UnknownKey(VaultError):
    """No key with this id was ever created (not the same as erased)."""


class KeyErased(VaultError):
    """The key was erased: nothing can be sealed with it any more."""


class WrongKek(VaultError):
    """The key was wrapped by another key-encryption key (another or an older secret)."""


class InvalidToken(VaultError):
    """The token is malformed, tampered with, or was sealed with another person's key."""


@dataclass(frozen=True)
class KeyStatus:
    key_id: uuid.UUID
    tenant_id: str
    person_id: str
    created_at: datetime
    erased_at: datetime | None
    erased_reason: str | None

    @property
    def erased(self) -> bool:
        return self.erased_at is not None


def kek_from_secret(secret: str | bytes) -> bytes:
    """The key-encryption key: HKDF-SHA256 of the service secret, for this purpose only."""
    raw = secret.encode() if isinstance(secret, str) else secret
    if not raw:
        raise ValueError("the service secret is empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_KEK_SALT, info=_KEK_INFO)
    return hkdf.derive(raw)


def kek_id(kek: bytes) -> str:
    """A public fingerprint of a KEK, stored beside each wrapped key (reveals nothing of it)."""
    return hmac.new(kek, b"danvan/personal-data/kek-id", hashlib.sha256).hexdigest()[:16]


def _aad(purpose: str, key_id: uuid.UUID, tenant_id: str, person_id: str) -> bytes:
    return json.dumps([purpose, str(key_id), tenant_id, person_id]).encode()


def _as_uuid(key_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(key_id, uuid.UUID):
        return key_id
    try:
        return uuid.UUID(key_id)
    except ValueError as exc:
        raise UnknownKey(f"not a key id: {key_id!r}") from exc


_COLUMNS = "key_id, tenant_id, person_id, created_at, erased_at, erased_reason"


def _status(row: tuple[Any, ...]) -> KeyStatus:
    return KeyStatus(*row[:6])


class PersonalDataVault:
    """Creates, uses and erases the per-person data keys kept in ``person_keys``.

    ``db`` is a psycopg connection pool or a conninfo string (a connection per call). Each
    method runs in its own transaction. Nothing is cached, so an erasure is seen at once by
    every process.
    """

    def __init__(self, db: ConnectionPool[Any] | str, kek: bytes) -> None:
        if len(kek) != KEY_BYTES:
            raise ValueError(f"the KEK must be {KEY_BYTES} bytes; derive it with kek_from_secret")
        self._db = db
        self._kek = AESGCM(kek)
        self.kek_id = kek_id(kek)

    # --- keys ---------------------------------------------------------------------------

    def create_key(self, tenant_id: str, person_id: str) -> uuid.UUID:
        """The person's live key, created if there is none (so retries do not orphan keys)."""
        if not tenant_id or not person_id:
            raise ValueError("tenant_id and person_id are required")
        with self._connect() as conn:
            for _ in range(3):
                key_id = uuid.uuid4()
                wrapped = self._wrap(os.urandom(KEY_BYTES), key_id, tenant_id, person_id)
                row = conn.execute(
                    "INSERT INTO public.person_keys (key_id, tenant_id, person_id, wrapped_key,"
                    " kek_id) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (tenant_id, person_id) WHERE erased_at IS NULL DO NOTHING"
                    " RETURNING key_id",
                    (key_id, tenant_id, person_id, wrapped, self.kek_id),
                ).fetchone()
                if row is None:
                    row = conn.execute(
                        "SELECT key_id FROM public.person_keys"
                        " WHERE tenant_id = %s AND person_id = %s AND erased_at IS NULL",
                        (tenant_id, person_id),
                    ).fetchone()
                if row is not None:
                    return uuid.UUID(str(row[0]))
        raise VaultError(f"could not create a key for person {person_id!r} of {tenant_id!r}")

    def status(self, key_id: uuid.UUID | str) -> KeyStatus:
        with self._connect() as conn:
            return _status(self._row(conn, _as_uuid(key_id)))

    def erase(self, key_id: uuid.UUID | str, reason: str, at: datetime) -> KeyStatus:
        """Destroy the key material; the row stays as the record of the erasure.

        Erasing an erased key changes nothing and returns the first erasure."""
        if not reason.strip():
            raise ValueError("an erasure needs a reason")
        if at.tzinfo is None:
            raise ValueError("the time of erasure must be timezone-aware")
        kid = _as_uuid(key_id)
        with self._connect() as conn:
            row = conn.execute(
                "UPDATE public.person_keys SET wrapped_key = NULL, erased_at = %s,"
                " erased_reason = %s WHERE key_id = %s AND erased_at IS NULL"
                f" RETURNING {_COLUMNS}",
                (at, reason, kid),
            ).fetchone()
            return _status(row) if row is not None else _status(self._row(conn, kid))

    def erase_person(
        self, tenant_id: str, person_id: str, reason: str, at: datetime
    ) -> list[KeyStatus]:
        """Erase every key the person of this tenant has had; returns them all."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key_id FROM public.person_keys WHERE tenant_id = %s AND person_id = %s"
                " ORDER BY created_at",
                (tenant_id, person_id),
            ).fetchall()
        return [self.erase(row[0], reason, at) for row in rows]

    def rewrap(self, old_kek: bytes) -> int:
        """Re-wrap every live key wrapped by ``old_kek`` with this vault's KEK (secret change).

        Returns how many keys were re-wrapped."""
        old = AESGCM(old_kek)
        old_id = kek_id(old_kek)
        count = 0
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key_id, tenant_id, person_id, wrapped_key FROM public.person_keys"
                " WHERE kek_id = %s AND erased_at IS NULL FOR UPDATE",
                (old_id,),
            ).fetchall()
            for key_id, tenant_id, person_id, wrapped in rows:
                key = self._unwrap_with(old, bytes(wrapped), key_id, tenant_id, person_id)
                conn.execute(
                    "UPDATE public.person_keys SET wrapped_key = %s, kek_id = %s WHERE key_id = %s",
                    (self._wrap(key, key_id, tenant_id, person_id), self.kek_id, key_id),
                )
                count += 1
        return count

    # --- data ---------------------------------------------------------------------------

    def seal(self, key_id: uuid.UUID | str, data: Mapping[str, Any]) -> str:
        """Encrypt a JSON object of personal data with the person's key; returns the token."""
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            raise TypeError("personal data must be a mapping with string keys")
        plain = json.dumps(dict(data), ensure_ascii=False, allow_nan=False, sort_keys=True)
        raw = plain.encode()
        raw += b" " * (-len(raw) % PAD_TO)
        kid = _as_uuid(key_id)
        with self._connect() as conn:
            row = self._row(conn, kid)
        if row[4] is not None:
            raise KeyErased(f"key {kid} was erased at {row[4]:%Y-%m-%d %H:%M:%S%z}")
        key = self._unwrap(row)
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, raw, _aad("data", kid, row[1], row[2]))
        return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, key_id: uuid.UUID | str, token: str) -> Opened:
        """The personal data sealed in ``token``, or ``ERASED`` if the key was erased."""
        kid = _as_uuid(key_id)
        blob = _decode_token(token)
        with self._connect() as conn:
            row = self._row(conn, kid)
        if row[4] is not None:
            return ERASED
        key = self._unwrap(row)
        try:
            raw = AESGCM(key).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad("data", kid, row[1], row[2])
            )
        except InvalidTag as exc:
            raise InvalidToken(f"the token was not sealed with key {kid}, or was altered") from exc
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise InvalidToken("the sealed value is not a JSON object")
        return data

    # --- internals ----------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[TupleRow]]:
        if isinstance(self._db, str):
            with psycopg.connect(self._db) as conn:
                yield conn
        else:
            with self._db.connection() as pooled:
                yield pooled

    @staticmethod
    def _row(conn: psycopg.Connection[TupleRow], key_id: uuid.UUID) -> tuple[Any, ...]:
        row = conn.execute(
            f"SELECT {_COLUMNS}, wrapped_key, kek_id FROM public.person_keys WHERE key_id = %s",
            (key_id,),
        ).fetchone()
        if row is None:
            raise UnknownKey(f"no personal data key {key_id}")
        return tuple(row)

    def _wrap(self, key: bytes, key_id: uuid.UUID, tenant_id: str, person_id: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._kek.encrypt(nonce, key, _aad("wrap", key_id, tenant_id, person_id))

    def _unwrap(self, row: tuple[Any, ...]) -> bytes:
        key_id, tenant_id, person_id, wrapped, row_kek_id = row[0], row[1], row[2], row[6], row[7]
        if row_kek_id != self.kek_id:
            raise WrongKek(
                f"key {key_id} was wrapped by KEK {row_kek_id}, this vault holds {self.kek_id}"
            )
        return self._unwrap_with(self._kek, bytes(wrapped), key_id, tenant_id, person_id)

    @staticmethod
    def _unwrap_with(
        kek: AESGCM, wrapped: bytes, key_id: uuid.UUID, tenant_id: str, person_id: str
    ) -> bytes:
        aad = _aad("wrap", key_id, tenant_id, person_id)
        try:
            return kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise WrongKek(f"key {key_id} does not unwrap with this KEK (or was altered)") from exc


def _decode_token(token: str) -> bytes:
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        raise InvalidToken(f"a personal data token starts with {TOKEN_PREFIX!r}")
    body = token[len(TOKEN_PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("the token is not valid base64url") from exc
    if len(blob) < NONCE_BYTES + 16:
        raise InvalidToken("the token is too short")
    return blob
