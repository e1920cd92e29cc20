"""Folding a batch of model events into row changes, in memory, before any SQL is written.

Pure: given the current rows of the models a batch touches and the batch's model events (in
log order), ``fold`` returns what the registry, quota and breakdown tables must receive: the
models' new rows, recognitions opened (and closed), list-year rows, progress rows, and counter
deltas. How an event moves a model is the domain's ``evolve`` (``danvan.domain.model``), the
very function the aggregate applies; the fold only compares each model's lifecycle before and
after an event to derive what the tables keep: the moments of first submission, acceptance,
copy, discontinuation; recognitions opened and closed; years maintained into; counters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import msgspec

from danvan.domain.model import Decision, Level, Lifecycle, Model, State, begin, evolve
from danvan.domain.progress import period_year
from danvan.projections.base import COPY_NULL, copy_line, copy_safe, opt, pg_array, pg_bool
from danvan.projections.event_types import event_classes_of
from danvan.projections.events import Envelope, topic_of

REGISTERED = topic_of(Model.Registered)
IMPORTED = topic_of(Model.Imported)
CREATED = frozenset({REGISTERED, IMPORTED})
PROGRESS = topic_of(Model.ProgressReported)

MODEL_EVENTS: dict[str, str] = {topic_of(cls): cls.__name__ for cls in event_classes_of(Model)}
"""Each model event's topic and the name ``evolve`` knows it by."""
MODEL_TOPICS = frozenset(MODEL_EVENTS)

MODEL_COLUMNS = ("model_id", "tenant_id", "unit_id", "year", "kind", "name", "field", "state",
                 "vertical_line", "registered_at", "submitted_at", "accepted_at",
                 "copy_received_at", "discontinued_at", "evaluation_total", "passed",
                 "person_erased", "list_years", "recognized_levels", "version", "updated_at")
"""Columns of ``models``, as the fold keeps them (``search_text`` is computed in SQL)."""

_NO_FORM: Mapping[str, str] = MappingProxyType({})
_KNOWN_DECISION = Decision("", "")
"""A recognition read back from ``models`` (its decision lives in ``recognitions``)."""


class ModelRow:
    """One row of ``models``: the columns that never change after registration, the model's
    ``Lifecycle`` (without its form: ``model_forms`` keeps that), and the moments the fold
    stamps. Timestamps stay text (as the events carry them, or as PostgreSQL prints them), so
    rows go back to the database as text without parsing; ``renamed`` marks rows whose
    ``search_text`` must be recomputed."""

    __slots__ = ("accepted_at", "copy_received_at", "discontinued_at", "kind", "lifecycle",
                 "model_id", "registered_at", "renamed", "submitted_at", "tenant_id",
                 "unit_id", "updated_at", "version", "vertical_line")

    model_id: str
    tenant_id: str
    unit_id: str
    kind: str
    vertical_line: bool
    registered_at: str
    lifecycle: Lifecycle
    submitted_at: str | None
    accepted_at: str | None
    copy_received_at: str | None
    discontinued_at: str | None
    version: int
    updated_at: str
    renamed: bool

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> ModelRow:
        """A row as ``registry.load`` reads it (``MODEL_COLUMNS`` order)."""
        (model_id, tenant_id, unit_id, year, kind, name, field_, state, vertical_line,
         registered_at, submitted_at, accepted_at, copy_received_at, discontinued_at,
         evaluation_total, passed, person_erased, list_years, recognized_levels, version,
         updated_at) = values
        lifecycle = Lifecycle(
            State(state), year, name, field_, _NO_FORM,
            submitted_ever=submitted_at is not None, accepted=accepted_at is not None,
            passed=passed, total_score=evaluation_total,
            recognitions={level: _KNOWN_DECISION for level in recognized_levels},
            list_years=tuple(list_years), person_erased=person_erased)
        return cls._make(model_id, tenant_id, unit_id, kind, vertical_line, registered_at,
                         lifecycle, submitted_at, accepted_at, copy_received_at,
                         discontinued_at, version, updated_at, renamed=False)

    @classmethod
    def registered(cls, e: Envelope) -> ModelRow:
        d = e.data
        lifecycle = evolve(None, "Registered", d).replaced(form=_NO_FORM)
        return cls._make(e.originator_id, e.tenant_id, d.unit_id, d.kind, d.vertical_line,
                         e.at, lifecycle, None, None, None, None, e.version, e.at,
                         renamed=True)

    @classmethod
    def imported(cls, e: Envelope) -> ModelRow:
        """A model an import brought in: a row as registered (a draft), which ``fold`` then
        steps to the imported lifecycle like any other event, so the quota counts it."""
        d = e.data
        lifecycle = begin(d.year, d.name, d.field, _NO_FORM)
        return cls._make(e.originator_id, e.tenant_id, d.unit_id, d.kind, d.vertical_line,
                         e.at, lifecycle, None, None, None, None, e.version, e.at,
                         renamed=True)

    @classmethod
    def _make(cls, *values: Any, renamed: bool) -> ModelRow:
        row = cls.__new__(cls)
        (row.model_id, row.tenant_id, row.unit_id, row.kind, row.vertical_line,
         row.registered_at, row.lifecycle, row.submitted_at, row.accepted_at,
         row.copy_received_at, row.discontinued_at, row.version, row.updated_at) = values
        row.renamed = renamed
        return row

    @property
    def year(self) -> int:
        return self.lifecycle.year

    def text_values(self) -> tuple[str | None, ...]:
        """The row for COPY (text format), ``renamed`` last."""
        lc = self.lifecycle
        return (self.model_id, self.tenant_id, str(self.unit_id), str(lc.year),
                self.kind, lc.name, lc.field, str(lc.state), pg_bool(self.vertical_line),
                self.registered_at, self.submitted_at, self.accepted_at,
                self.copy_received_at, self.discontinued_at, opt(lc.total_score),
                pg_bool(lc.passed), pg_bool(lc.person_erased),
                pg_array(lc.list_years) if lc.list_years else "{}",
                pg_array(sorted(lc.recognitions)) if lc.recognitions else "{}",
                str(self.version), self.updated_at,
                pg_bool(self.renamed))


@dataclass(slots=True)
class Recognition:
    position: int
    model_id: str
    tenant_id: str
    year: int
    field: str | None
    level: str
    decision_number: str
    decision_date: str
    recognized_at: str
    revoked_at: str | None = None
    revoked_position: int | None = None
    revoke_reason: str | None = None

    def text_values(self) -> tuple[str | None, ...]:
        return (str(self.position), self.model_id, self.tenant_id, str(self.year),
                self.field, self.level, self.decision_number, self.decision_date,
                self.recognized_at, self.revoked_at, opt(self.revoked_position),
                self.revoke_reason)


RECOGNITION_COLUMNS = ("position", "model_id", "tenant_id", "year", "field", "level",
                       "decision_number", "decision_date", "recognized_at", "revoked_at",
                       "revoked_position", "revoke_reason")

# Counter indexes into the per-(tenant, year) quota deltas.
NEW, REC_TENANT, REC_PROVINCE, MAINTAINED_N, DISCONTINUED_N, SUBMITTED_N, COPIES = range(7)
QUOTA_COUNTERS = ("new_models", "recognized_tenant_level", "recognized_province_level",
                  "maintained_models", "discontinued_models", "submitted_models",
                  "copies_received")
FIELD_COUNTERS = QUOTA_COUNTERS[:3]
_LEVEL_COUNTER = {Level.TENANT.value: REC_TENANT, Level.PROVINCE.value: REC_PROVINCE}


def _zeros() -> list[int]:
    return [0] * len(QUOTA_COUNTERS)


@dataclass
class Changes:
    """Everything one batch of model events does to the read models."""

    rows: dict[str, ModelRow] = field(default_factory=dict)
    recognitions: list[Recognition] = field(default_factory=list)
    closed: list[tuple[str, int, str | None, str, str]] = field(default_factory=list)
    """(revoked_at, revoked_position, reason, model_id, level) of earlier batches' rows."""
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Form members set per model in the batch (all of them at registration)."""
    list_years: list[tuple[str | None, ...]] = field(default_factory=list)
    progress: list[str] = field(default_factory=list)
    """Rows of ``progress_reports``, spelled for COPY (``base.copy_text``)."""
    progress_sums: dict[tuple[str, int, str], list[Any]] = field(default_factory=dict)
    """Per (tenant, period year, field) of ``progress``: participants, workdays, money,
    land, reports."""
    model_text: list[tuple[str | None, ...]] = field(default_factory=list)
    recognition_text: list[tuple[str | None, ...]] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    """Models registered (or imported) in the batch: no row of theirs exists yet."""
    form_text: list[str] = field(default_factory=list)
    """Rows for ``model_forms``' stage (merged into existing rows), spelled for COPY."""
    new_form_text: list[str] = field(default_factory=list)
    """Rows of ``model_forms`` of the models created in the batch, spelled for COPY."""
    quota: defaultdict[tuple[str, int], list[int]] = field(
        default_factory=lambda: defaultdict(_zeros))
    fields: defaultdict[tuple[str, int, str], list[int]] = field(
        default_factory=lambda: defaultdict(_zeros))
    units: defaultdict[tuple[str, int, str], int] = field(
        default_factory=lambda: defaultdict(int))


    def freeze(self) -> Changes:
        """Take the rows as text now: later batches go on changing the same row objects
        (a runner may keep them) before this batch's writes run."""
        self.model_text = [row.text_values() for row in self.rows.values()]
        self.recognition_text = [r.text_values() for r in self.recognitions]
        created = self.created
        for model_id, form in self.forms.items():
            line = _form_line(model_id, self.rows[model_id].tenant_id, form)
            (self.new_form_text if model_id in created else self.form_text).append(line)
        for row in self.rows.values():
            row.renamed = False
        return self


def _form_line(model_id: str, tenant_id: str, form: dict[str, Any]) -> str:
    text = _encode(form).decode()
    if copy_safe(tenant_id + text):
        return f"{model_id}\t{tenant_id}\t{text}\n"
    return copy_line((model_id, tenant_id, text))


_encode = msgspec.json.Encoder().encode


def models_to_load(events: Iterable[Envelope]) -> set[str]:
    """Models whose current row must be read first: touched, but not registered in the batch."""
    created: set[str] = set()
    needed: set[str] = set()
    for e in events:
        if e.topic in CREATED:
            created.add(e.originator_id)
        elif e.originator_id not in created:
            needed.add(e.originator_id)
    return needed


def fold(rows: dict[str, ModelRow], events: Iterable[Envelope]) -> Changes:
    """Apply ``events`` (model events, log order) to ``rows`` (the current rows of the models
    touched and not registered in the batch); ``rows`` is updated in place."""
    changes = Changes(rows=rows)
    open_now: dict[tuple[str, str], Recognition] = {}
    for e in events:
        if e.topic == REGISTERED:
            rows[e.originator_id] = ModelRow.registered(e)
            changes.forms[e.originator_id] = dict(e.data.form or {})
            changes.created.add(e.originator_id)
            continue
        if e.topic == IMPORTED:
            new = rows[e.originator_id] = ModelRow.imported(e)
            changes.forms[e.originator_id] = {}
            changes.created.add(e.originator_id)
            before = new.lifecycle
            new.lifecycle = after = evolve(None, "Imported", e.data).replaced(form=_NO_FORM)
            _stamp(changes, new, before, after, e, open_now)
            continue
        m = rows.get(e.originator_id)
        if m is None:
            raise LookupError(f"event {e.position} ({e.topic}) for model {e.originator_id}, "
                              "which was never registered")
        m.version = e.version
        m.updated_at = e.at
        before = m.lifecycle
        after = evolve(before, MODEL_EVENTS[e.topic], e.data)
        if after is before:
            if e.topic == PROGRESS:
                _progress(changes, m, e)
            continue
        if after.form is not before.form:
            changed = {k: v for k, v in after.form.items() if before.form.get(k) != v}
            if changed:
                changes.forms.setdefault(m.model_id, {}).update(changed)
            after = after.replaced(form=_NO_FORM)
        m.lifecycle = after
        _stamp(changes, m, before, after, e, open_now)
    return changes


_PERIOD_YEARS: dict[str, int] = {}


def _progress(changes: Changes, m: ModelRow, e: Envelope) -> None:
    d = e.data
    period = d.period
    year = _PERIOD_YEARS.get(period)
    if year is None:
        if len(_PERIOD_YEARS) > 10_000:
            _PERIOD_YEARS.clear()
        year = _PERIOD_YEARS[period] = period_year(period)
    lc = m.lifecycle
    participants, workdays, money, land = d.participants, d.workdays, d.money_vnd, d.land_m2
    people, days, field_, model_year, at = (str(participants), str(workdays), lc.field,
                                            str(lc.year), e.at)
    # The row spelled for COPY at once when nothing in it needs an escape (as for the audit
    # index): ids, positions and the period's year never do.
    if type(money) is str and type(land) is str and copy_safe(
            f"{m.tenant_id}{model_year}{field_}{period}{people}{days}{money}{land}{at}"):
        changes.progress.append(
            f"{e.position}\t{m.model_id}\t{m.tenant_id}\t{year}\t{model_year}\t"
            f"{COPY_NULL if field_ is None else field_}\t{period}\t{people}\t{days}\t"
            f"{money}\t{land}\t{at}\n")
    else:
        changes.progress.append(copy_line((
            str(e.position), m.model_id, m.tenant_id, str(year), model_year, field_, period,
            people, days, _text(money), _text(land), at)))
    key = (m.tenant_id, year, field_ or "")
    sums = changes.progress_sums.get(key)
    if sums is None:
        sums = changes.progress_sums[key] = [0, 0, Decimal(0), Decimal(0), 0]
    # (the event's values as they are when they are what they usually are: the same sums)
    sums[0] += participants if type(participants) is int else int(people)
    sums[1] += workdays if type(workdays) is int else int(days)
    sums[2] += Decimal(_text(money))
    sums[3] += Decimal(_text(land))
    sums[4] += 1


def _text(value: Any) -> str:
    """A number of the event as COPY's formatting would spell it (``str``, as psycopg's
    dumpers of int and float do; nothing else gets this far: ``Decimal`` refuses it)."""
    return value if type(value) is str else str(value)


def _stamp(changes: Changes, m: ModelRow, before: Lifecycle, after: Lifecycle, e: Envelope,
           open_now: dict[tuple[str, str], Recognition]) -> None:
    """What the tables keep of the step from ``before`` to ``after``."""
    counts = changes.quota[(m.tenant_id, after.year)]
    field_key = (m.tenant_id, after.year, after.field or "")
    if after.submitted_ever and not before.submitted_ever:
        m.submitted_at = e.at
        counts[SUBMITTED_N] += 1
        changes.units[(m.tenant_id, after.year, str(m.unit_id))] += 1
    if after.state == State.COPY_RECEIVED and before.state != State.COPY_RECEIVED:
        m.copy_received_at = e.at
        counts[COPIES] += 1
    if after.accepted and not before.accepted:
        m.accepted_at = e.at
        counts[NEW] += 1
        changes.fields[field_key][NEW] += 1
    if after.state == State.DISCONTINUED and before.state != State.DISCONTINUED:
        m.discontinued_at = e.at
        counts[DISCONTINUED_N] += 1
    if after.name != before.name:
        m.renamed = True
    if after.recognitions is not before.recognitions:
        for level, decision in after.recognitions.items():
            if level not in before.recognitions:
                rec = Recognition(e.position, m.model_id, m.tenant_id, after.year, after.field,
                                  level, decision.decision_number, decision.decision_date, e.at)
                changes.recognitions.append(rec)
                open_now[(m.model_id, level)] = rec
                counts[_LEVEL_COUNTER[level]] += 1
                changes.fields[field_key][_LEVEL_COUNTER[level]] += 1
        for level in before.recognitions:
            if level not in after.recognitions:
                _close(changes, m, level, e, open_now)
                counts[_LEVEL_COUNTER[level]] -= 1
                changes.fields[field_key][_LEVEL_COUNTER[level]] -= 1
    # The first list year is the acceptance's own; later ones are maintenances.
    for into in after.list_years[max(1, len(before.list_years)):]:
        changes.list_years.append((m.model_id, str(into), m.tenant_id, after.field, e.at,
                                   str(e.position)))
        changes.quota[(m.tenant_id, into)][MAINTAINED_N] += 1


def _close(changes: Changes, m: ModelRow, level: str, e: Envelope,
           open_now: dict[tuple[str, str], Recognition]) -> None:
    reason = e.meta.reason
    rec_open = open_now.pop((m.model_id, level), None)
    if rec_open is not None:
        rec_open.revoked_at, rec_open.revoked_position = e.at, e.position
        rec_open.revoke_reason = reason
    else:
        changes.closed.append((e.at, e.position, reason, m.model_id, level))
