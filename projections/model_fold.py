"""Folding a batch of model events into row changes, in memory, before any SQL is written.

Pure: given the current rows of the models a batch touches and the batch's model events (in
log order), ``fold`` returns what the registry, quota and breakdown tables must receive: the
models' new rows, recognitions opened (and closed), list-year rows, progress rows, and counter
deltas. The transitions mirror ``danvan.domain.model.Model``'s event ``apply`` methods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from danvan.domain.model import Level, Model, State
from danvan.domain.progress import period_year
from danvan.projections.base import opt, pg_array, pg_bool
from danvan.projections.events import Envelope, topic_of

REGISTERED = topic_of(Model.Registered)
AMENDED = topic_of(Model.Amended)
SUBMITTED = topic_of(Model.Submitted)
COPY_RECEIVED = topic_of(Model.CopyReceived)
ACCEPTED = topic_of(Model.Accepted)
RECOGNISED = topic_of(Model.Recognised)
REVOKED = topic_of(Model.Revoked)
DISCONTINUED = topic_of(Model.Discontinued)
MAINTAINED = topic_of(Model.Maintained)
PROGRESS = topic_of(Model.ProgressReported)
EVALUATED = topic_of(Model.Evaluated)
ERASED = topic_of(Model.PersonalDataErased)
SELF_ASSESSED = topic_of(Model.SelfAssessed)

# Events that only move the model to a state.
STATE_OF: dict[str, State] = {
    topic_of(Model.Returned): State.RETURNED,
    topic_of(Model.Rejected): State.REJECTED,
    SELF_ASSESSED: State.SELF_ASSESSED,
    topic_of(Model.Proposed): State.PROPOSED,
    topic_of(Model.Nominated): State.NOMINATED,
    DISCONTINUED: State.DISCONTINUED,
}
# Events that change nothing the read models keep, beyond version and time.
UNTRACKED = frozenset({topic_of(Model.Inspected)})

MODEL_TOPICS = frozenset({REGISTERED, AMENDED, SUBMITTED, COPY_RECEIVED, ACCEPTED, RECOGNISED,
                          REVOKED, MAINTAINED, PROGRESS, EVALUATED, ERASED,
                          *STATE_OF, *UNTRACKED})

MODEL_COLUMNS = ("model_id", "tenant_id", "unit_id", "year", "kind", "name", "field", "state",
                 "vertical_line", "registered_at", "submitted_at", "accepted_at",
                 "copy_received_at", "discontinued_at", "evaluation_total", "passed",
                 "person_erased", "list_years", "recognized_levels", "version", "updated_at")
"""Columns of ``models``, as the fold keeps them (``search_text`` is computed in SQL)."""


class ModelRow:
    """One row of ``models``; attribute names are its columns (``MODEL_COLUMNS``).

    Timestamps stay text (as the events carry them, or as PostgreSQL prints them), so rows
    go back to the database as text without parsing; ``renamed`` marks rows whose
    ``search_text`` must be recomputed."""

    __slots__ = (*MODEL_COLUMNS, "renamed")

    model_id: str
    tenant_id: str
    unit_id: str
    year: int
    kind: str
    name: str
    field: str | None
    state: str
    vertical_line: bool
    registered_at: str
    submitted_at: str | None
    accepted_at: str | None
    copy_received_at: str | None
    discontinued_at: str | None
    evaluation_total: str | None
    passed: bool
    person_erased: bool
    list_years: list[int]
    recognized_levels: list[str]
    version: int
    updated_at: str
    renamed: bool

    @classmethod
    def from_values(cls, values: Iterable[Any], renamed: bool = False) -> ModelRow:
        row = cls.__new__(cls)
        for name, value in zip(MODEL_COLUMNS, values, strict=True):
            setattr(row, name, value)
        row.renamed = renamed
        return row

    @classmethod
    def registered(cls, e: Envelope) -> ModelRow:
        d = e.data
        return cls.from_values((
            e.originator_id, e.tenant_id, d.unit_id, d.year, d.kind, d.name,
            d.field, State.DRAFT.value, d.vertical_line, e.at, None, None, None, None,
            None, False, False, [], [], e.version, e.at), renamed=True)

    def text_values(self) -> tuple[str | None, ...]:
        """The row for COPY (text format), ``renamed`` last."""
        return (self.model_id, self.tenant_id, str(self.unit_id), str(self.year),
                self.kind, self.name, self.field, self.state, pg_bool(self.vertical_line),
                self.registered_at, self.submitted_at, self.accepted_at,
                self.copy_received_at, self.discontinued_at, self.evaluation_total,
                pg_bool(self.passed), pg_bool(self.person_erased), pg_array(self.list_years),
                pg_array(self.recognized_levels), str(self.version), self.updated_at,
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
    progress: list[tuple[str | None, ...]] = field(default_factory=list)
    model_text: list[tuple[str | None, ...]] = field(default_factory=list)
    recognition_text: list[tuple[str | None, ...]] = field(default_factory=list)
    form_text: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
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
        self.form_text = [(model_id, self.rows[model_id].tenant_id, form)
                          for model_id, form in self.forms.items()]
        for row in self.rows.values():
            row.renamed = False
        return self


def models_to_load(events: Iterable[Envelope]) -> set[str]:
    """Models whose current row must be read first: touched, but not registered in the batch."""
    created: set[str] = set()
    needed: set[str] = set()
    for e in events:
        if e.topic == REGISTERED:
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
        topic = e.topic
        if topic == REGISTERED:
            rows[e.originator_id] = ModelRow.registered(e)
            changes.forms[e.originator_id] = dict(e.data.form or {})
            continue
        m = rows.get(e.originator_id)
        if m is None:
            raise LookupError(f"event {e.position} ({topic}) for model {e.originator_id}, "
                              "which was never registered")
        m.version = e.version
        m.updated_at = e.at
        d = e.data
        if topic in STATE_OF:
            m.state = STATE_OF[topic].value
            if topic == DISCONTINUED:
                m.discontinued_at = e.at
                changes.quota[(m.tenant_id, m.year)][DISCONTINUED_N] += 1
            elif topic == SELF_ASSESSED:
                m.passed = False
        elif topic == PROGRESS:
            year = period_year(d.period)
            changes.progress.append((str(e.position), m.model_id, m.tenant_id, str(year),
                                     str(m.year), m.field, d.period, str(d.participants),
                                     str(d.workdays), d.money_vnd, d.land_m2, e.at))
        elif topic in (SUBMITTED, COPY_RECEIVED):
            if topic == COPY_RECEIVED:
                m.state = State.COPY_RECEIVED.value
                m.copy_received_at = e.at
                changes.quota[(m.tenant_id, m.year)][COPIES] += 1
            else:
                m.state = State.SUBMITTED.value
            if m.submitted_at is None:
                m.submitted_at = e.at
                changes.quota[(m.tenant_id, m.year)][SUBMITTED_N] += 1
                changes.units[(m.tenant_id, m.year, str(m.unit_id))] += 1
        elif topic == ACCEPTED:
            m.state = State.ACCEPTED.value
            m.accepted_at = e.at
            m.list_years = [m.year]
            changes.quota[(m.tenant_id, m.year)][NEW] += 1
            changes.fields[(m.tenant_id, m.year, m.field or "")][NEW] += 1
        elif topic == RECOGNISED:
            level = d.level
            m.state = (State.RECOGNIZED_PROVINCE if level == Level.PROVINCE
                       else State.RECOGNIZED_TENANT).value
            m.recognized_levels = sorted({*m.recognized_levels, level})
            rec = Recognition(e.position, m.model_id, m.tenant_id, m.year, m.field, level,
                              d.decision_number, d.decision_date, e.at)
            changes.recognitions.append(rec)
            open_now[(m.model_id, level)] = rec
            changes.quota[(m.tenant_id, m.year)][_LEVEL_COUNTER[level]] += 1
            changes.fields[(m.tenant_id, m.year, m.field or "")][_LEVEL_COUNTER[level]] += 1
        elif topic == REVOKED:
            level = d.level
            if level not in m.recognized_levels:
                continue  # nothing to revoke (the domain never emits this)
            m.recognized_levels = [lv for lv in m.recognized_levels if lv != level]
            m.state = (State.RECOGNIZED_TENANT if Level.TENANT in m.recognized_levels
                       else State.REVOKED).value
            reason = e.meta.reason
            rec_open = open_now.pop((m.model_id, level), None)
            if rec_open is not None:
                rec_open.revoked_at, rec_open.revoked_position = e.at, e.position
                rec_open.revoke_reason = reason
            else:
                changes.closed.append((e.at, e.position, reason, m.model_id, level))
            changes.quota[(m.tenant_id, m.year)][_LEVEL_COUNTER[level]] -= 1
            changes.fields[(m.tenant_id, m.year, m.field or "")][_LEVEL_COUNTER[level]] -= 1
        elif topic == MAINTAINED:
            into = d.year
            m.list_years = [*m.list_years, into]
            changes.list_years.append((m.model_id, str(into), m.tenant_id, m.field, e.at,
                                       str(e.position)))
            changes.quota[(m.tenant_id, into)][MAINTAINED_N] += 1
        elif topic == AMENDED:
            for key, value in d.changes.items():
                if key == "name":
                    m.name = value
                    m.renamed = True
                elif key == "field":
                    m.field = value
                else:
                    changes.forms.setdefault(m.model_id, {})[key] = value
        elif topic == EVALUATED:
            m.state = State.EVALUATED.value
            m.evaluation_total = d.total
            m.passed = bool(d.passed)
        elif topic == ERASED:
            m.person_erased = True
    return changes
