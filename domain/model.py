"""A "Dân vận khéo" model (mô hình) or individual exemplar (điển hình) and its lifecycle.

Every public method validates, then emits exactly one event; the events' ``apply`` only
assign. Which role may call which method is decided in ``policies``; what state allows it
is decided here (``ALLOWED_FROM``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from danvan.domain.base import (
    Context,
    IllegalTransition,
    InvalidInput,
    TenantAggregate,
    derive_id,
)
from danvan.domain.clock import vietnam_date
from danvan.domain.evaluation import EvaluationRules, parse_scores, weighted_total
from danvan.domain.limits import MAX_CODE
from danvan.domain.progress import parse_progress
from danvan.domain.registration_form import (
    AMENDABLE,
    FORM_MEMBERS,
    ModelKind,
    check_dates,
    missing_members,
    parse_form,
    parse_name_and_field,
)
from danvan.domain.targets import check_year
from danvan.domain.units import Unit
from danvan.domain.validation import Errors


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    SELF_ASSESSED = "self_assessed"
    EVALUATED = "evaluated"
    PROPOSED = "proposed"
    RECOGNIZED_TENANT = "recognized_tenant"
    NOMINATED = "nominated"
    RECOGNIZED_PROVINCE = "recognized_province"
    COPY_RECEIVED = "copy_received"
    DISCONTINUED = "discontinued"
    REVOKED = "revoked"


class Level(StrEnum):
    TENANT = "tenant"
    PROVINCE = "province"


IMPLEMENTING = frozenset({State.ACCEPTED, State.SELF_ASSESSED, State.EVALUATED, State.PROPOSED,
                          State.RECOGNIZED_TENANT, State.NOMINATED, State.RECOGNIZED_PROVINCE})
ACTIVE = IMPLEMENTING | {State.COPY_RECEIVED}

ALLOWED_FROM: dict[str, frozenset[State]] = {
    "amend": frozenset({State.DRAFT, State.RETURNED}),
    "submit": frozenset({State.DRAFT, State.RETURNED}),
    "return": frozenset({State.SUBMITTED}),
    "reject": frozenset({State.SUBMITTED}),
    "accept": frozenset({State.SUBMITTED}),
    "receive_copy": frozenset({State.DRAFT}),
    "progress": IMPLEMENTING,
    "inspection": IMPLEMENTING,
    "self_assessment": frozenset({State.ACCEPTED, State.SELF_ASSESSED, State.EVALUATED}),
    "evaluation": frozenset({State.SELF_ASSESSED, State.EVALUATED}),
    "proposal": frozenset({State.EVALUATED}),
    "recognition_tenant": frozenset({State.PROPOSED}),
    "nomination": frozenset({State.RECOGNIZED_TENANT}),
    "recognition_province": frozenset({State.NOMINATED}),
    "revocation_tenant": frozenset({State.RECOGNIZED_TENANT, State.NOMINATED}),
    "revocation_province": frozenset({State.RECOGNIZED_PROVINCE}),
    "discontinuation": ACTIVE,
    "maintenance": ACTIVE - {State.COPY_RECEIVED},
}

ERASED = "erased"


class UnitNotUsable(IllegalTransition):
    code = "unit_not_usable"


class Decision(NamedTuple):
    """A recognition's decision: its number and date (ISO)."""

    decision_number: str
    decision_date: str


class Lifecycle(NamedTuple):
    """Where a model stands: what its events have made of it, and nothing else.

    ``evolve`` is the one definition of how each event moves it; the aggregate keeps one
    (``Model.lifecycle``) and the read models' fold keeps one per row, so the two cannot
    drift. Immutable (a NamedTuple: ``_replace`` costs about a microsecond, which the
    projector pays per model event); ``form`` holds only the members the holder knows (the
    fold loads rows without their form, so there it holds what the batch changed)."""

    state: State
    year: int
    name: str
    field: str | None
    form: Mapping[str, str]
    submitted_ever: bool = False
    """Ever submitted, or its copy received (what counts as a registration)."""
    accepted: bool = False
    passed: bool = False
    total_score: str | None = None
    recognitions: Mapping[str, Decision] = MappingProxyType({})
    list_years: tuple[int, ...] = ()
    person_erased: bool = False


def begin(year: int, name: str, field: str | None, form: Mapping[str, str]) -> Lifecycle:
    """A registered model's lifecycle: a draft."""
    return Lifecycle(State.DRAFT, year, name, field, dict(form))


def _registered(_: Lifecycle | None, e: Any) -> Lifecycle:
    return begin(e.year, e.name, e.field, e.form or {})


def _amended(lc: Lifecycle, e: Any) -> Lifecycle:
    changes = dict(e.changes)
    name = changes.pop("name", lc.name)
    field = changes.pop("field", lc.field)
    return lc._replace(name=name, field=field, form={**lc.form, **changes})


def _to(state: State) -> Callable[[Lifecycle, Any], Lifecycle]:
    return lambda lc, _e: lc._replace(state=state)


def _recognised(lc: Lifecycle, e: Any) -> Lifecycle:
    state = State.RECOGNIZED_PROVINCE if e.level == Level.PROVINCE else State.RECOGNIZED_TENANT
    recognitions = {**lc.recognitions, e.level: Decision(e.decision_number, e.decision_date)}
    return lc._replace(state=state, recognitions=recognitions)


def _revoked(lc: Lifecycle, e: Any) -> Lifecycle:
    if e.level not in lc.recognitions:
        return lc  # nothing to revoke (the domain never emits this)
    recognitions = {k: v for k, v in lc.recognitions.items() if k != e.level}
    state = State.RECOGNIZED_TENANT if Level.TENANT in recognitions else State.REVOKED
    return lc._replace(state=state, recognitions=recognitions)


def _unchanged(lc: Lifecycle, _e: Any) -> Lifecycle:
    return lc


STEPS: dict[str, Callable[[Any, Any], Lifecycle]] = {
    "Registered": _registered,
    "Amended": _amended,
    "Submitted": lambda lc, _e: lc._replace(state=State.SUBMITTED, submitted_ever=True),
    "Returned": _to(State.RETURNED),
    "Rejected": _to(State.REJECTED),
    "Accepted": lambda lc, _e: lc._replace(state=State.ACCEPTED, accepted=True,
                                           list_years=(lc.year,)),
    "CopyReceived": lambda lc, _e: lc._replace(state=State.COPY_RECEIVED, submitted_ever=True),
    "ProgressReported": _unchanged,
    "Inspected": _unchanged,
    "SelfAssessed": lambda lc, _e: lc._replace(state=State.SELF_ASSESSED, passed=False),
    "Evaluated": lambda lc, e: lc._replace(state=State.EVALUATED, total_score=e.total,
                                           passed=bool(e.passed)),
    "Proposed": _to(State.PROPOSED),
    "Recognised": _recognised,
    "Nominated": _to(State.NOMINATED),
    "Revoked": _revoked,
    "Discontinued": _to(State.DISCONTINUED),
    "Maintained": lambda lc, e: lc._replace(list_years=(*lc.list_years, e.year)),
    "PersonalDataErased": lambda lc, _e: lc._replace(person_erased=True),
}
"""How each of the model's events (by class name) moves its ``Lifecycle``."""


def evolve(lifecycle: Lifecycle | None, event_name: str, event: Any) -> Lifecycle:
    """The lifecycle after ``event`` (an event object or a decoded event with the same
    fields), named by its class name (``"Accepted"``). Pure."""
    return STEPS[event_name](lifecycle, event)


class Model(TenantAggregate):
    unit_id: str
    year: int
    kind: str
    vertical_line: bool
    person_key_id: str | None
    person_token: str | None
    lifecycle: Lifecycle

    @staticmethod
    def id_for(tenant_id: str, unit_id: str, year: int, name: str) -> uuid.UUID:
        return derive_id("model", tenant_id, unit_id, year, name)

    # --- what the lifecycle says -------------------------------------------------------

    @property
    def state(self) -> State:
        return self.lifecycle.state

    @property
    def name(self) -> str:
        return self.lifecycle.name

    @property
    def field(self) -> str | None:
        return self.lifecycle.field

    @property
    def form(self) -> Mapping[str, str]:
        return self.lifecycle.form

    @property
    def passed(self) -> bool:
        return self.lifecycle.passed

    @property
    def submitted_ever(self) -> bool:
        return self.lifecycle.submitted_ever

    @property
    def total_score(self) -> str | None:
        return self.lifecycle.total_score

    @property
    def accepted(self) -> bool:
        return self.lifecycle.accepted

    @property
    def recognitions(self) -> Mapping[str, Decision]:
        return self.lifecycle.recognitions

    @property
    def list_years(self) -> tuple[int, ...]:
        return self.lifecycle.list_years

    @property
    def person_erased(self) -> bool:
        return self.lifecycle.person_erased

    # --- events -------------------------------------------------------------------------

    class Event(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.lifecycle = evolve(model.lifecycle, type(self).__name__, self)

    class Registered(TenantAggregate.Created):
        unit_id: str
        year: int
        kind: str
        name: str
        field: str | None
        form: dict[str, str]
        vertical_line: bool
        person_key_id: str | None
        person_token: str | None

    class Amended(Event):
        changes: dict[str, str]

    class Submitted(Event):
        pass

    class Returned(Event):
        pass

    class Rejected(Event):
        pass

    class Accepted(Event):
        pass

    class CopyReceived(Event):
        pass

    class ProgressReported(Event):
        period: str
        participants: int
        workdays: int
        money_vnd: str
        land_m2: str
        note: str

    class Inspected(Event):
        findings: str

    class SelfAssessed(Event):
        summary: str

    class Evaluated(Event):
        scores: dict[str, str]
        weights: dict[str, str]
        pass_mark: str
        total: str
        passed: bool

    class Proposed(Event):
        pass

    class Recognised(Event):
        level: str
        decision_number: str
        decision_date: str

    class Nominated(Event):
        pass

    class Revoked(Event):
        level: str

    class Discontinued(Event):
        pass

    class Maintained(Event):
        year: int

    class PersonalDataErased(Event):
        pass

    # --- creation -----------------------------------------------------------------------

    @classmethod
    def check_registration(cls, ctx: Context, *, unit: Unit, values: dict[str, Any],
                           with_person: bool) -> None:
        """Every refusal ``register`` would make, before any side effect (sealing personal
        data) is spent on it."""
        errors = Errors()
        errors.no_unknown(values, ("year", "name", "field", "kind", *FORM_MEMBERS))
        this_year = vietnam_date(ctx.at).year
        year = check_year(errors, values.get("year"))
        if year is not None and not this_year - 1 <= year <= this_year + 1:
            errors.add("year", f"must be between {this_year - 1} and {this_year + 1}")
        kind = errors.choice("kind", values.get("kind"), [k.value for k in ModelKind])
        name, _field = parse_name_and_field(values, errors, required=False)
        if not name and "name" not in errors.errors:
            errors.add("name", "required")
        check_dates(parse_form(values, errors), errors)
        if kind == ModelKind.INDIVIDUAL and not with_person:
            errors.add("person", "an individual exemplar needs the person's details")
        if kind == ModelKind.COLLECTIVE and with_person:
            errors.add("person", "only an individual exemplar carries personal details")
        if unit.tenant_id != ctx.tenant_id:
            errors.add("unit_id", "no such unit in this tenant")
        errors.raise_if_any()
        if unit.closed:
            raise UnitNotUsable("the unit is closed and cannot register models",
                                field="unit_id", code="unit_closed")

    @classmethod
    def register(cls, ctx: Context, *, unit: Unit, values: dict[str, Any],
                 person_key_id: str | None = None, person_token: str | None = None) -> Model:
        """Registers a draft. ``values`` is the request body less ``unit_id`` and ``person``
        (the person's details arrive already sealed as ``person_token``)."""
        cls.check_registration(ctx, unit=unit, values=values,
                               with_person=bool(person_key_id and person_token))
        errors = Errors()
        name, field = parse_name_and_field(values, errors, required=False)
        year = values["year"]
        assert name
        return cls._create(cls.Registered, id=cls.id_for(ctx.tenant_id, str(unit.id), year, name),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           unit_id=str(unit.id), year=year, kind=values["kind"], name=name,
                           field=field, form=parse_form(values, errors),
                           vertical_line=unit.reports_to_vertical_line,
                           person_key_id=person_key_id, person_token=person_token)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], unit_id: str, year: int,
                 kind: str, name: str, field: str | None, form: dict[str, str],
                 vertical_line: bool, person_key_id: str | None,
                 person_token: str | None) -> None:
        self.tenant_id = tenant_id
        self.unit_id = unit_id
        self.year = year
        self.kind = kind
        self.vertical_line = vertical_line
        self.person_key_id = person_key_id
        self.person_token = person_token
        self.lifecycle = begin(year, name, field, form)

    # --- guards -------------------------------------------------------------------------

    def _require(self, action: str) -> None:
        if self.state not in ALLOWED_FROM[action]:
            raise IllegalTransition(
                f"'{action}' is not allowed when the model is {self.state.value}",
                code="illegal_transition", params={"action": action, "state": self.state.value})

    def _reason(self, reason: Any) -> str:
        errors = Errors()
        text = errors.text("reason", reason)
        errors.raise_if_any()
        assert text
        return text

    def _require_complete(self) -> None:
        missing = missing_members(self.name, self.field, self.form)
        if missing:
            raise InvalidInput({m: "required before submission" for m in missing})

    # --- the unit's actions -------------------------------------------------------------

    def amend(self, ctx: Context, *, values: dict[str, Any]) -> bool:
        """Changes draft members; answers False (and emits nothing) when nothing changes."""
        errors = Errors()
        for fixed in ("unit_id", "year", "kind"):
            if fixed in values:
                errors.add(fixed, "cannot be changed after registration")
        errors.no_unknown({k: v for k, v in values.items()
                           if k not in ("unit_id", "year", "kind")}, AMENDABLE)
        name, field = parse_name_and_field(values, errors, required=False)
        if name == "":
            errors.add("name", "must not be empty")
        form = parse_form(values, errors)
        check_dates({**self.form, **form}, errors)
        errors.raise_if_any()
        self._require("amend")
        changes = dict(form)
        if name:
            changes["name"] = name
        if field is not None:
            changes["field"] = field
        current = {"name": self.name, "field": self.field, **self.form}
        changes = {k: v for k, v in changes.items() if current.get(k) != v}
        if not changes:
            return False
        self._emit(self.Amended, ctx, changes=changes)
        return True

    def submit(self, ctx: Context) -> None:
        self._require("submit")
        if self.vertical_line:
            raise IllegalTransition(
                "a vertical-line unit registers in its own chain of command; "
                "the ward only records the copy", code="vertical_line_unit")
        self._require_complete()
        self._emit(self.Submitted, ctx)

    def report_progress(self, ctx: Context, *, values: dict[str, Any]) -> None:
        figures = parse_progress(values, model_year=self.year)
        self._require("progress")
        self._emit(self.ProgressReported, ctx, **figures.as_event_fields())

    def self_assess(self, ctx: Context, *, summary: Any) -> None:
        errors = Errors()
        text = errors.text("summary", summary)
        errors.raise_if_any()
        self._require("self_assessment")
        self._emit(self.SelfAssessed, ctx, summary=text)

    # --- the reviewer's actions ---------------------------------------------------------

    def return_for_revision(self, ctx: Context, *, reason: Any) -> None:
        text = self._reason(reason)
        self._require("return")
        self._emit(self.Returned, ctx, reason=text)

    def reject(self, ctx: Context, *, reason: Any) -> None:
        text = self._reason(reason)
        self._require("reject")
        self._emit(self.Rejected, ctx, reason=text)

    def accept(self, ctx: Context) -> None:
        self._require("accept")
        self._emit(self.Accepted, ctx)

    def receive_copy(self, ctx: Context) -> None:
        self._require("receive_copy")
        if not self.vertical_line:
            raise IllegalTransition("only a vertical-line unit's registration is received "
                                    "as a copy", code="not_vertical_line_unit")
        self._require_complete()
        self._emit(self.CopyReceived, ctx)

    def inspect(self, ctx: Context, *, findings: Any) -> None:
        errors = Errors()
        text = errors.text("findings", findings)
        errors.raise_if_any()
        self._require("inspection")
        self._emit(self.Inspected, ctx, findings=text)

    def evaluate(self, ctx: Context, *, scores: Any, rules: EvaluationRules | None = None) -> None:
        rules = rules or EvaluationRules.default_for(self.kind)
        rules.check(self.kind)
        parsed = parse_scores(self.kind, scores)
        self._require("evaluation")
        total = weighted_total(parsed, rules)
        self._emit(self.Evaluated, ctx, scores={k: str(v) for k, v in parsed.items()},
                   weights={k: str(v) for k, v in rules.weights.items()},
                   pass_mark=str(rules.pass_mark), total=str(total),
                   passed=total >= rules.pass_mark)

    def propose(self, ctx: Context) -> None:
        self._require("proposal")
        if not self.passed:
            raise IllegalTransition("the evaluation did not reach the pass mark",
                                    code="evaluation_not_passed")
        self._emit(self.Proposed, ctx)

    def discontinue(self, ctx: Context, *, reason: Any) -> None:
        text = self._reason(reason)
        self._require("discontinuation")
        self._emit(self.Discontinued, ctx, reason=text)

    def maintain(self, ctx: Context, *, year: Any) -> None:
        errors = Errors()
        year_ = check_year(errors, year)
        errors.raise_if_any()
        self._require("maintenance")
        assert year_ is not None
        expected = max(self.list_years or [self.year]) + 1
        if year_ != expected:
            raise IllegalTransition(f"a model is maintained into the next year's list "
                                    f"({expected})", field="year", code="maintenance_year")
        self._emit(self.Maintained, ctx, year=year_)

    # --- the standing committee's and the province's actions ----------------------------

    def recognise(self, ctx: Context, *, level: Any, decision_number: Any,
                  decision_date: Any) -> None:
        errors = Errors()
        level_ = errors.choice("level", level, [lv.value for lv in Level])
        number = errors.text("decision_number", decision_number, max_length=MAX_CODE)
        day = errors.iso_date("decision_date", decision_date)
        if day is not None:
            if day > vietnam_date(ctx.at):
                errors.add("decision_date", "must not be in the future")
            elif day < date(self.year, 1, 1):
                errors.add("decision_date", "must not be before the registration's year")
        errors.raise_if_any()
        assert level_ and number and day
        self._require(f"recognition_{level_}")
        self._emit(self.Recognised, ctx, level=level_, decision_number=number,
                   decision_date=day.isoformat())

    def nominate(self, ctx: Context) -> None:
        self._require("nomination")
        self._emit(self.Nominated, ctx)

    def revoke(self, ctx: Context, *, level: Any, reason: Any) -> None:
        errors = Errors()
        level_ = errors.choice("level", level, [lv.value for lv in Level])
        reason_ = errors.text("reason", reason)
        errors.raise_if_any()
        assert level_
        self._require(f"revocation_{level_}")
        self._emit(self.Revoked, ctx, reason=reason_, level=level_)

    # --- personal data ------------------------------------------------------------------

    def check_personal_data_erasure(self, *, reason: Any) -> str:
        """Every refusal of ``erase_personal_data``, before the key is destroyed."""
        text = self._reason(reason)
        if self.kind != ModelKind.INDIVIDUAL:
            raise IllegalTransition("only an individual exemplar carries personal data",
                                    code="no_personal_data")
        if self.person_erased:
            raise IllegalTransition("the personal data is already erased",
                                    code="personal_data_erased")
        return text

    def erase_personal_data(self, ctx: Context, *, reason: Any) -> None:
        text = self.check_personal_data_erasure(reason=reason)
        self._emit(self.PersonalDataErased, ctx, reason=text)

    @property
    def total(self) -> Decimal | None:
        total = self.lifecycle.total_score
        return Decimal(total) if total is not None else None
