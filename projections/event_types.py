"""Typed decoding of stored events, derived from the domain's event classes.

For every event class of every aggregate, a msgspec Struct with the class's own fields
(names from the class, so nothing is spelled twice); msgspec decodes a state straight into
it, about three times faster than into dicts, and skips what no field asks for.

Stored events are never edited, so decoding honours what the ``eventsourcing`` library does
when it rebuilds an aggregate:

- *Upcasting.* A class with ``class_version = N`` (N > 1) has static methods
  ``upcast_v1_v2(state)`` ... ``upcast_v{N-1}_vN``; events stored at an older version (no
  ``class_version`` in their state means 1) are decoded with the store's own transcoder,
  upcast in place, and only then turned into the Struct. Events at the class's current
  version take the fast path (one msgspec decode, about 1 us); an older one costs about
  15 us more (measured on ``Model.ProgressReported`` v1, a quarter of a realistic log: a
  full rebuild of a log written before v2 spends about 5 us more Python per event).
- *Topic aliases.* A renamed or moved class is found under its old topic when the old topic
  is registered (``eventsourcing.utils.register_topic(old_topic, NewClass)``) or still
  resolves; the event is then seen under the class's current topic.

Anything else is the code being behind the log (a rename without an alias, an event written
by a newer binary): ``UnknownEvent``, naming topic and position. Nothing may be guessed
there: decoding an unknown event into an empty shell would quietly drop it from every read
model on the next rebuild.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

import msgspec
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import TopicError, get_topic, resolve_topic

from danvan.domain.base import TenantAggregate
from danvan.domain.evaluation import ProvinceEvaluationRules
from danvan.domain.model import Model
from danvan.domain.operations import Operation
from danvan.domain.plans import PlanTask
from danvan.domain.reminders import Reminder
from danvan.domain.targets import PeriodTargets, ProvinceTargets, TenantTargets
from danvan.domain.tenants import Tenant
from danvan.domain.units import Unit
from danvan.domain.users import User
from danvan.domain.year_lists import YearList

AGGREGATES: tuple[type[TenantAggregate], ...] = (
    Tenant, Unit, User, Model, TenantTargets, ProvinceTargets, PeriodTargets, YearList,
    PlanTask, ProvinceEvaluationRules, Reminder, Operation)

# Fields stored as columns, or in the envelope structs below, not as event fields.
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "tenant_id",
                       "meta", "originator_topic"})


class UnknownEvent(RuntimeError):
    """An event this code cannot read at all: the code is behind the log. The projections
    must stop here (applying nothing of the batch) until an alias or the newer code exists."""

    def __init__(self, topic: str, position: int, why: str) -> None:
        super().__init__(
            f"event at position {position} has topic {topic!r}, {why}: the code is behind "
            "the log (register the old topic as an alias of the renamed class with "
            "eventsourcing.utils.register_topic, or run the code that wrote it); "
            "nothing of its batch was applied")
        self.topic = topic
        self.position = position


class Stamp(msgspec.Struct, gc=False):
    """The transcoded timestamp: ``{"_type_": "datetime_iso", "_data_": "..."}``."""

    _data_: str


class Meta(msgspec.Struct, gc=False):
    """What projections read of an event's metadata: msgspec skips the rest (role,
    correlation, causation, request) without making strings of them. The audit log's
    readers get those from the stored event itself."""

    actor_id: str | None = None
    reason: str | None = None


class Head(msgspec.Struct, gc=False):
    """What every event carries: when, for which tenant, by whom and why. (Not tracked by
    the cycle collector: decoded events hold no cycles, and there are millions of them.)"""

    timestamp: Stamp
    tenant_id: str
    meta: Meta = msgspec.field(default_factory=Meta)


def event_classes_of(aggregate: type[TenantAggregate]) -> list[type]:
    """The event classes nested in ``aggregate`` (``Model.Accepted``, ...), not the base
    class its events share (``Model.Event``), which is never stored."""
    return [value for name, value in vars(aggregate).items()
            if isinstance(value, type) and issubclass(value, TenantAggregate.Event)
            and dataclasses.is_dataclass(value) and name != "Event"]


class _Stored(msgspec.Struct):
    """The class version an event was stored at (absent: 1)."""

    class_version: Any = 1


def event_classes() -> list[type]:
    """Every event class nested in the aggregates."""
    return [cls for aggregate in AGGREGATES for cls in event_classes_of(aggregate)]


def struct_for(cls: type) -> type[msgspec.Struct]:
    """A Struct with the event class's own fields (any JSON value each, None when absent)
    and the class version it was stored at, which can only be the class's current one:
    msgspec checks it, so the fast path pays no Python for it (an older one fails, and
    ``Decoding.decode_any`` upcasts it)."""
    version = getattr(cls, "class_version", 1)
    names = [f.name for f in dataclasses.fields(cls) if f.name not in _ENVELOPE]
    # Absent means 1: a later class's state must say its version (the store writes it).
    stored: Any = ("class_version", Literal[1], 1) if version == 1 else \
        ("class_version", Literal[version])
    return msgspec.defstruct(cls.__qualname__.replace(".", "_"),
                             [*((name, Any, None) for name in names), stored],
                             bases=(Head,), gc=False, kw_only=True)


@lru_cache(maxsize=1)
def transcoder() -> JSONTranscoder:
    """The event store's own transcoder: its registered transcodings (datetime, UUID,
    Decimal, date) say what ``{"_type_": name, "_data_": ...}`` values are."""
    from danvan.infra.event_store import register_transcodings

    coder = JSONTranscoder()
    register_transcodings(coder)
    return coder


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""JSON values that transcode to themselves (checked inline: a call per value costs more
than the walk's work)."""


def revive(value: Any) -> Any:
    """A JSON value as the store's transcoder decodes it (``{"_type_", "_data_"}`` objects
    become datetimes, UUIDs, ...): what upcasters are given, as in the library."""
    names = transcoder().names

    def walk(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return names[value["_type_"]].decode(walk(value["_data_"]))
            return {key: item if type(item) in _PLAIN else walk(item)
                    for key, item in value.items()}
        if kind is list:
            return [item if type(item) in _PLAIN else walk(item) for item in value]
        return value
    return walk(value)


def bury(value: Any) -> Any:
    """The inverse of ``revive``: plain JSON values again."""
    types = transcoder().types

    def walk(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return {key: item if type(item) in _PLAIN else walk(item)
                    for key, item in value.items()}
        if kind is list or kind is tuple:
            return [item if type(item) in _PLAIN else walk(item) for item in value]
        transcoding = types.get(kind)
        if transcoding is not None:
            return {"_type_": transcoding.name, "_data_": walk(transcoding.encode(value))}
        return value
    return walk(value)


class NewerThanCode(Exception):
    """An event stored at a class version this code does not know yet."""

    def __init__(self, stored: object, known: int) -> None:
        super().__init__(f"stored at class version {stored} while this code knows "
                         f"version {known}")


class Decoding:
    """How the stored events of one class become Structs: ``decode(state)``, one msgspec
    call, for an event at the class's current version; ``decode_any(state)`` for any:
    the upcasters for an older one, ``NewerThanCode`` for a newer one."""

    __slots__ = ("cls", "decode", "struct", "topic", "version")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.topic = get_topic(cls)
        """The class's current topic: what projections compare with, whatever was stored."""
        self.version: int = getattr(cls, "class_version", 1)
        self.struct = struct_for(cls)
        self.decode: Callable[[bytes], Any] = msgspec.json.Decoder(self.struct).decode

    def decode_any(self, state: bytes) -> Any:
        try:
            return self.decode(state)
        except msgspec.ValidationError as error:
            stored = _stored_version(state)
            if stored is None or stored == self.version:
                raise error from None
            return self.upcast(state, stored)

    def upcast(self, state: bytes, stored_version: int) -> Any:
        """The slow path, for an event stored at an older version of its class: its state as
        the store's transcoder decodes it, brought to the current version by the class's
        upcasters (as the library does when it loads an aggregate), then the Struct.
        (msgspec parses and builds, ``revive`` and ``bury`` transcode: several times
        cheaper than the transcoder's own ``json`` round trip.)"""
        if stored_version > self.version:
            raise NewerThanCode(stored_version, self.version)
        fields = revive(msgspec.json.decode(state))
        fields.pop("class_version", None)
        for version in range(stored_version, self.version):
            getattr(self.cls, f"upcast_v{version}_v{version + 1}")(fields)
        fields["class_version"] = self.version
        return msgspec.convert(bury(fields), self.struct)

    def refusal(self, state: bytes, error: Exception) -> Exception:
        """What a failed ``decode`` means: the code is behind (``NewerThanCode``: a version
        1 class's struct refuses any other version), or the state is bad (``error``)."""
        if isinstance(error, NewerThanCode):
            return error
        stored = _stored_version(state)
        if stored is not None and stored > self.version:
            return NewerThanCode(stored, self.version)
        return error


def _stored_version(state: bytes) -> int | None:
    """The class version a state says it was stored at (absent: 1), None if it says
    something else than a whole number."""
    try:
        stored = msgspec.json.decode(state, type=_Stored).class_version
    except msgspec.MsgspecError:
        return None
    if isinstance(stored, int) and not isinstance(stored, bool):
        return stored
    return None


@lru_cache(maxsize=1)
def decodings() -> dict[str, Decoding]:
    """Per current topic, its decoding."""
    return {d.topic: d for d in map(Decoding, event_classes())}


@lru_cache(maxsize=1)
def _by_class() -> dict[type, Decoding]:
    return {d.cls: d for d in decodings().values()}


def forget_decodings() -> None:
    """The decodings are made from the event classes once a process; after a class changes
    (a test standing in for an older release changes its version), make them again."""
    decodings.cache_clear()
    _by_class.cache_clear()


def decoding_of(topic: str, position: int) -> Decoding:
    """The decoding of a stored topic: the current one, else a registered or still
    resolvable alias of a known class; else ``UnknownEvent``. (Aliases are not cached here:
    the library's topic cache answers them in one lookup.)"""
    found = decodings().get(topic)
    if found is not None:
        return found
    try:
        cls = resolve_topic(topic)
    except TopicError:
        raise UnknownEvent(topic, position, "which no event class of this code has or "
                           "is registered under") from None
    found = _by_class().get(cls) if isinstance(cls, type) else None
    if found is None:
        raise UnknownEvent(topic, position, f"which names {cls!r}, not an event class the "
                           "projections know")
    return found
