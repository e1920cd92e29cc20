"""A "Dân vận khéo" model (mô hình) or individual exemplar (điển hình) and its lifecycle.

Every public method validates, then emits exactly one event; the events' ``apply`` only
assign. Which role may call which method is decided in ``policies``; what state allows it
is decided here (``ALLOWED_FROM``).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from danvan.domain.base import (
    Context,
    IllegalTransition,
    InvalidInput,
    TenantAggregate,
    derive_id,
)
from danvan.domain.clock import vietnam_date
from danvan.domain.evaluation import EvaluationRules, parse_scores, weighted_total
from danvan.domain.limits import (
    AREA_M2,
    MAX_CODE,
    MONEY_VND,
    decimal_problem,
    parse_decimal,
    repaired_decimal,
)
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


class Model(TenantAggregate):
    unit_id: str
    year: int
    kind: str
    name: str | None
    field: str | None
    form: dict[str, str]
    state: State
    vertical_line: bool
    person_key_id: str | None
    person_token: str | None
    person_erased: bool
    submitted_ever: bool
    accepted: bool
    passed: bool
    total_score: str | None
    recognitions: dict[str, dict[str, str]]
    list_years: list[int]

    @staticmethod
    def id_for(tenant_id: str, unit_id: str, year: int, name: str) -> uuid.UUID:
        return derive_id("model", tenant_id, unit_id, year, name)

    # --- events -------------------------------------------------------------------------

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

    class Amended(TenantAggregate.Event):
        changes: dict[str, str]

        def apply(self, model: Model) -> None:
            for key, value in self.changes.items():
                if key == "name":
                    model.name = value
                elif key == "field":
                    model.field = value
                else:
                    model.form[key] = value

    class Submitted(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.SUBMITTED
            model.submitted_ever = True

    class Returned(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.RETURNED

    class Rejected(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.REJECTED

    class Accepted(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.ACCEPTED
            model.accepted = True
            model.list_years = [model.year]

    class CopyReceived(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.COPY_RECEIVED
            model.submitted_ever = True

    class ProgressReported(TenantAggregate.Event):
        period: str
        participants: int
        workdays: int
        money_vnd: str
        land_m2: str
        note: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 was recorded before money and land had bounds (``limits``): a value
            outside them (``1E-999999999`` is finite and tiny, yet no ``numeric`` column can
            hold it) reads as the nearest value they allow. Values within them are kept as
            recorded, so every other report reads exactly as before."""
            for name, bound in (("money_vnd", MONEY_VND), ("land_m2", AREA_M2)):
                raw = state.get(name)
                value = parse_decimal(raw)
                if value is None or decimal_problem(value, bound) is not None:
                    state[name] = str(repaired_decimal(raw, bound))

        def apply(self, model: Model) -> None:
            pass

    class Inspected(TenantAggregate.Event):
        findings: str

        def apply(self, model: Model) -> None:
            pass

    class SelfAssessed(TenantAggregate.Event):
        summary: str

        def apply(self, model: Model) -> None:
            model.state = State.SELF_ASSESSED
            model.passed = False

    class Evaluated(TenantAggregate.Event):
        scores: dict[str, str]
        weights: dict[str, str]
        pass_mark: str
        total: str
        passed: bool

        def apply(self, model: Model) -> None:
            model.state = State.EVALUATED
            model.total_score = self.total
            model.passed = self.passed

    class Proposed(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.PROPOSED

    class Recognised(TenantAggregate.Event):
        level: str
        decision_number: str
        decision_date: str

        def apply(self, model: Model) -> None:
            model.recognitions[self.level] = {"decision_number": self.decision_number,
                                              "decision_date": self.decision_date}
            model.state = (State.RECOGNIZED_PROVINCE if self.level == Level.PROVINCE
                           else State.RECOGNIZED_TENANT)

    class Nominated(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.NOMINATED

    class Revoked(TenantAggregate.Event):
        level: str

        def apply(self, model: Model) -> None:
            model.recognitions.pop(self.level, None)
            model.state = (State.RECOGNIZED_TENANT if Level.TENANT in model.recognitions
                           else State.REVOKED)

    class Discontinued(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.state = State.DISCONTINUED

    class Maintained(TenantAggregate.Event):
        year: int

        def apply(self, model: Model) -> None:
            model.list_years = [*model.list_years, self.year]

    class PersonalDataErased(TenantAggregate.Event):
        def apply(self, model: Model) -> None:
            model.person_erased = True

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
        self.name = name
        self.field = field
        self.form = dict(form)
        self.vertical_line = vertical_line
        self.person_key_id = person_key_id
        self.person_token = person_token
        self.person_erased = False
        self.state = State.DRAFT
        self.submitted_ever = False
        self.accepted = False
        self.passed = False
        self.total_score = None
        self.recognitions = {}
        self.list_years = []

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
        return Decimal(self.total_score) if self.total_score is not None else None
