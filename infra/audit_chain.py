"""The per-tenant hash chain of events: its byte layout, and a streaming verifier.

Pure: no database, no files. ``infra/sql/010_event_store_guard.sql`` computes the same
hash in a trigger; this module recomputes it so that anyone can verify offline.

Canonical layout (all integers big-endian, lengths in bytes)::

    hash = SHA-256( prev_hash                         32 bytes; genesis = 32 zero bytes
                  || int64 notification_id
                  || originator_id                    16 raw UUID bytes
                  || int64 originator_version
                  || int32 len(topic) || topic        UTF-8 (NULL stored as '')
                  || int32 len(state) || state )      the stored bytes as they are

``prev_hash`` is the hash of the same tenant's previous event in notification order.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

GENESIS = bytes(32)
HASH_LAYOUT = (
    "sha256(prev_hash[32] || int64be(notification_id) || uuid16(originator_id) "
    "|| int64be(originator_version) || int32be(len(topic_utf8)) || topic_utf8 "
    "|| int32be(len(state)) || state)"
)
MAX_PROBLEMS = 20

_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")


def canonical_bytes(notification_id: int, originator_id: UUID, originator_version: int,
                    topic: str | None, state: bytes | None) -> bytes:
    """Everything an event's hash covers, except the previous hash."""
    topic_bytes = (topic or "").encode("utf-8")
    state_bytes = state or b""
    return b"".join((
        _INT64.pack(notification_id),
        originator_id.bytes,
        _INT64.pack(originator_version),
        _INT32.pack(len(topic_bytes)), topic_bytes,
        _INT32.pack(len(state_bytes)), state_bytes,
    ))


def event_hash(prev_hash: bytes, notification_id: int, originator_id: UUID,
               originator_version: int, topic: str | None, state: bytes | None) -> bytes:
    digest = hashlib.sha256(prev_hash)
    digest.update(canonical_bytes(notification_id, originator_id, originator_version,
                                  topic, state))
    return digest.digest()


class ChainRow(NamedTuple):
    """One stored event with its chain columns (a tuple: verification makes one per event,
    and a frozen dataclass took longer to make than its hash to compute)."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str | None
    state: bytes
    prev_hash: bytes
    hash: bytes

    def recompute(self, prev_hash: bytes) -> bytes:
        return event_hash(prev_hash, self.notification_id, self.originator_id,
                          self.originator_version, self.topic, self.state)


@dataclass(frozen=True)
class Head:
    """Where the trigger says a tenant's chain ends (``audit_chain_heads``)."""

    position: int
    hash: bytes


@dataclass(frozen=True)
class Seal:
    """A signed statement that a tenant's chain had ``hash`` at ``position``."""

    tenant_id: str
    position: int
    hash: bytes
    sealed_at: datetime
    key_id: str
    signature: bytes


SignatureCheck = Callable[[Seal], bool | None]
"""True: valid; False: invalid or unknown key; None: no trusted key, not checked."""


@dataclass(frozen=True)
class TenantVerification:
    """The verdict on one tenant's chain (GraphQL: ``ok eventsChecked firstBrokenPosition``)."""

    tenant_id: str
    ok: bool
    events_checked: int
    first_broken_position: int | None
    last_position: int | None = None
    head_position: int | None = None
    seals_checked: int = 0
    seals_unverified: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)
    """The chain is intact but not (recently enough) sealed, so a rewrite of its unsealed
    events would not show (``seals.SealPolicy.warning``)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = list(self.problems)
        data["warnings"] = list(self.warnings)
        return data


class _Tenanted(msgspec.Struct):
    """The one member of an event's state the chain checks; msgspec skips the rest unparsed."""

    tenant_id: str | None = None


_tenant_decoder = msgspec.json.Decoder(_Tenanted)


def _state_tenant(state: bytes) -> str | None:
    try:
        return _tenant_decoder.decode(state).tenant_id
    except msgspec.DecodeError:  # not JSON, not an object, or tenant_id not a string
        return None


class ChainVerifier:
    """Verify one tenant's chain from its rows fed in notification order (flat memory).

    Findings, each reported at the position where recomputation first disagrees:
    altered bytes (the row's hash), a removed or moved row (the next row's prev_hash),
    reordered rows (the first of them), a sealed position that is missing or whose
    sealed hash differs from the recomputed one (an alteration hidden by rehashing every
    later row), an invalid seal signature, and a head that is not the last row.
    After a finding the verifier resynchronises on the stored hash, so each tampering
    is reported once.
    """

    def __init__(self, tenant_id: str, *, head: Head | None = None,
                 seals: Iterable[Seal] = (), check_signature: SignatureCheck | None = None):
        self.tenant_id = tenant_id
        self.head = head
        self.seals: list[Seal] = sorted(seals, key=lambda s: s.position)
        self.check_signature = check_signature
        self.prev = GENESIS
        self.count = 0
        self.last_position: int | None = None
        self.first_past_head: int | None = None
        self.breaks: list[int] = []
        self.problems: list[str] = []
        self.seals_checked = 0
        self.seals_unverified = 0
        self._next_seal = 0

    def _break(self, position: int, message: str) -> None:
        self.breaks.append(position)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"position {position}: {message}")

    def feed(self, row: ChainRow) -> None:
        position = row.notification_id
        self.count += 1
        self._missing_seals(below=position)
        recomputed = row.recompute(self.prev)
        if self.last_position is not None and position <= self.last_position:
            self._break(position, "out of notification order")
        if row.prev_hash != self.prev:
            self._break(position, "prev_hash does not match the previous event's hash "
                                  "(an event before it was removed, moved or reordered)")
        elif row.hash != recomputed:
            self._break(position, "hash does not match the event's bytes (altered)")
        elif _state_tenant(row.state) != self.tenant_id:
            self._break(position, "event state names another tenant")
        broken = bool(self.breaks) and self.breaks[-1] == position
        # Resynchronise on the stored hash after a finding, so later rows are judged alone.
        self.prev = row.hash if broken else recomputed
        self.last_position = position
        if self.head is not None and position > self.head.position \
                and self.first_past_head is None:
            self.first_past_head = position
        while self._next_seal < len(self.seals) \
                and self.seals[self._next_seal].position == position:
            self._check_seal(self.seals[self._next_seal], self.prev)
            self._next_seal += 1

    def feed_all(self, rows: Iterable[ChainRow]) -> ChainVerifier:
        """``feed`` each row; a row that is in order, links, hashes right, names the tenant
        and is neither sealed nor past the head (nearly all of them) takes a shorter path
        with the same outcome, anything else takes ``feed`` itself."""
        tenant_id = self.tenant_id
        head_position = self.head.position if self.head is not None else None
        for row in rows:
            position = row.notification_id
            last = self.last_position
            seal_due = self._next_seal < len(self.seals) \
                and self.seals[self._next_seal].position <= position
            if seal_due or (last is not None and position <= last) \
                    or row.prev_hash != self.prev \
                    or (head_position is not None and position > head_position):
                self.feed(row)
                continue
            recomputed = event_hash(self.prev, position, row.originator_id,
                                    row.originator_version, row.topic, row.state)
            if row.hash != recomputed or _state_tenant(row.state) != tenant_id:
                self.feed(row)
                continue
            self.count += 1
            self.prev = recomputed
            self.last_position = position
        return self

    def _missing_seals(self, below: int | None) -> None:
        while self._next_seal < len(self.seals):
            seal = self.seals[self._next_seal]
            if below is not None and seal.position >= below:
                return
            self._check_seal(seal, None)
            self._next_seal += 1

    def _check_seal(self, seal: Seal, recomputed: bytes | None) -> None:
        self.seals_checked += 1
        valid = self.check_signature(seal) if self.check_signature else None
        if valid is None:
            self.seals_unverified += 1
        elif not valid:
            self._break(seal.position, f"seal signature by key {seal.key_id} is invalid")
            return
        if recomputed is None:
            self._break(seal.position, "sealed event is missing")
        elif seal.hash != recomputed:
            self._break(seal.position, "sealed hash differs from the recomputed chain "
                                       "(events up to here were altered and rehashed)")

    def finish(self) -> TenantVerification:
        self._missing_seals(below=None)
        head = self.head
        if head is None:
            if self.count:
                self._break(self.last_position or 0, "no chain head recorded for the tenant")
        elif self.last_position is None or head.position > self.last_position:
            self._break(head.position, "the head's event is missing (events removed)")
        elif head.position < self.last_position:
            self._break(self.first_past_head or self.last_position,
                        "events recorded past the chain head")
        elif head.hash != self.prev:
            self._break(head.position, "head hash differs from the recomputed chain")
        return TenantVerification(
            tenant_id=self.tenant_id,
            ok=not self.breaks,
            events_checked=self.count,
            first_broken_position=min(self.breaks) if self.breaks else None,
            last_position=self.last_position,
            head_position=head.position if head else None,
            seals_checked=self.seals_checked,
            seals_unverified=self.seals_unverified,
            problems=tuple(self.problems),
        )


def verify_rows(tenant_id: str, rows: Iterable[ChainRow], *, head: Head | None = None,
                seals: Sequence[Seal] = (),
                check_signature: SignatureCheck | None = None) -> TenantVerification:
    verifier = ChainVerifier(tenant_id, head=head, seals=seals, check_signature=check_signature)
    return verifier.feed_all(rows).finish()
