"""A "Dân vận khéo" model (mô hình) or individual exemplar (điển hình) and its lifecycle.

``Model.handle(command, ctx)`` decides one command (``domain.commands``): it validates, then
emits exactly one event, or refuses emitting nothing. What state allows each command, and
which policy action it needs, is the command's row in ``commands.MODEL_ACTIONS``. Every event
moves the model through ``evolve``, the one pure definition of its lifecycle, which the read
models' fold uses too.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
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
from danvan.domain.commands import (
    IMPORTABLE_STATES,
    AcceptModel,
    AmendModel,
    DiscontinueModel,
    ErasePersonalData,
    EvaluateModel,
    ImportModel,
    InspectModel,
    Level,
    MaintainModel,
    ModelCommand,
    NominateModel,
    ProposeModel,
    ReceiveCopy,
    RecognizeModel,
    RegisterModel,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SelfAssessModel,
    State,
    SubmitModel,
    rule_of,
)
from danvan.domain.evaluation import EvaluationRules, check_scores, weighted_total
from danvan.domain.limits import (
    AREA_M2,
    MAX_CODE,
    MAX_NAME,
    MONEY_VND,
    decimal_problem,
    parse_decimal,
    repaired_decimal,
)
from danvan.domain.progress import check_progress
from danvan.domain.registration_form import (
    ModelKind,
    check_dates,
    check_form,
    check_person,
    missing_members,
)
from danvan.domain.targets import check_year
from danvan.domain.units import Unit
from danvan.domain.validation import Errors

ERASED = "erased"


class UnitNotUsable(IllegalTransition):
    code = "unit_not_usable"


def check_decision(decision_number: str, decision_date: date, ctx: Context) -> str:
    """A recognition decision's number (as recorded) and date, whatever model it covers:
    the date is not in the future."""
    errors = Errors()
    number = errors.text("decision_number", decision_number, max_length=MAX_CODE)
    if decision_date > vietnam_date(ctx.at):
        errors.add("decision_date", "must not be in the future")
    errors.raise_if_any()
    assert number
    return number


class Decision(NamedTuple):
    """A recognition's decision: its number and date (ISO)."""

    decision_number: str
    decision_date: str


class Lifecycle(NamedTuple):
    """Where a model stands: what its events have made of it, and nothing else.

    ``evolve`` is the one definition of how each event moves it; the aggregate keeps one
    (``Model.lifecycle``) and the read models' fold keeps one per row, so the two cannot
    drift. Immutable (a NamedTuple; a step makes a new one with ``replaced``, which the
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

    def replaced(self, **changes: Any) -> Lifecycle:
        """This lifecycle with ``changes``: ``_replace`` in about two thirds of its
        instructions (it hands every field to ``dict.pop``)."""
        values = list(self)
        for name, value in changes.items():
            values[_POSITIONS[name]] = value
        return Lifecycle._make(values)


_POSITIONS = {name: i for i, name in enumerate(Lifecycle._fields)}


def begin(year: int, name: str, field: str | None, form: Mapping[str, str]) -> Lifecycle:
    """A registered model's lifecycle: a draft."""
    return Lifecycle(State.DRAFT, year, name, field, dict(form))


def _registered(_: Lifecycle | None, e: Any) -> Lifecycle:
    return begin(e.year, e.name, e.field, e.form or {})


def _amended(lc: Lifecycle, e: Any) -> Lifecycle:
    changes = dict(e.changes)
    name = changes.pop("name", lc.name)
    field = changes.pop("field", lc.field)
    return lc.replaced(name=name, field=field, form={**lc.form, **changes})


def _to(state: State) -> Callable[[Lifecycle, Any], Lifecycle]:
    return lambda lc, _e: lc.replaced(state=state)


def _recognized(lc: Lifecycle, e: Any) -> Lifecycle:
    state = State.RECOGNIZED_PROVINCE if e.level == Level.PROVINCE else State.RECOGNIZED_TENANT
    recognitions = {**lc.recognitions, e.level: Decision(e.decision_number, e.decision_date)}
    return lc.replaced(state=state, recognitions=recognitions)


def _revoked(lc: Lifecycle, e: Any) -> Lifecycle:
    if e.level not in lc.recognitions:
        return lc  # nothing to revoke (the domain never emits this)
    recognitions = {k: v for k, v in lc.recognitions.items() if k != e.level}
    state = State.RECOGNIZED_TENANT if Level.TENANT in recognitions else State.REVOKED
    return lc.replaced(state=state, recognitions=recognitions)


def _imported(_: Lifecycle | None, e: Any) -> Lifecycle:
    """A model of an earlier year as an import brings it in: registered, accepted into its
    year's list, and recognised by the decision the import names when its state says so."""
    state = State(e.state)
    recognitions: dict[str, Decision] = {}
    if state in (State.RECOGNIZED_TENANT, State.RECOGNIZED_PROVINCE):
        level = Level.PROVINCE if state == State.RECOGNIZED_PROVINCE else Level.TENANT
        recognitions[level.value] = Decision(e.decision_number, e.decision_date)
    return Lifecycle(state, e.year, e.name, e.field, {}, submitted_ever=True, accepted=True,
                     passed=bool(recognitions), recognitions=recognitions,
                     list_years=(e.year,))


def _unchanged(lc: Lifecycle, _e: Any) -> Lifecycle:
    return lc


STEPS: dict[str, Callable[[Any, Any], Lifecycle]] = {
    "Registered": _registered,
    "Imported": _imported,
    "Amended": _amended,
    "Submitted": lambda lc, _e: lc.replaced(state=State.SUBMITTED, submitted_ever=True),
    "Returned": _to(State.RETURNED),
    "Rejected": _to(State.REJECTED),
    "Accepted": lambda lc, _e: lc.replaced(state=State.ACCEPTED, accepted=True,
                                           list_years=(lc.year,)),
    "CopyReceived": lambda lc, _e: lc.replaced(state=State.COPY_RECEIVED, submitted_ever=True),
    "ProgressReported": _unchanged,
    "Inspected": _unchanged,
    "SelfAssessed": lambda lc, _e: lc.replaced(state=State.SELF_ASSESSED, passed=False),
    "Evaluated": lambda lc, e: lc.replaced(state=State.EVALUATED, total_score=e.total,
                                           passed=bool(e.passed)),
    "Proposed": _to(State.PROPOSED),
    "Recognized": _recognized,
    "Nominated": _to(State.NOMINATED),
    "Revoked": _revoked,
    "Discontinued": _to(State.DISCONTINUED),
    "Maintained": lambda lc, e: lc.replaced(list_years=(*lc.list_years, e.year)),
    "PersonalDataErased": lambda lc, _e: lc.replaced(person_erased=True),
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

    class Imported(TenantAggregate.Created):
        """A model of an earlier year brought in by an import (``import_history``), with
        the state it reached; ``importer`` and ``file_hash`` name who imported which file."""

        unit_id: str
        year: int
        kind: str
        name: str
        field: str
        vertical_line: bool
        state: str
        decision_number: str | None
        decision_date: str | None
        importer: str
        file_hash: str

        def apply(self, model: Model) -> None:
            model.lifecycle = evolve(None, "Imported", self)

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

    class Recognized(Event):
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
    def check_registration(cls, ctx: Context, unit: Unit, command: RegisterModel) -> None:
        """Every refusal ``register`` would make, before any side effect (sealing personal
        data) is spent on it."""
        errors = Errors()
        this_year = vietnam_date(ctx.at).year
        year = check_year(errors, command.year)
        if year is not None and not this_year - 1 <= year <= this_year + 1:
            errors.add("year", f"must be between {this_year - 1} and {this_year + 1}")
        errors.text("name", command.name, max_length=MAX_NAME)
        check_dates(check_form(command.form, errors), errors)
        if command.kind == ModelKind.INDIVIDUAL:
            if command.person is None:
                errors.add("person", "an individual exemplar needs the person's details")
            else:
                check_person(command.person, errors, this_year=this_year)
        elif command.person is not None:
            errors.add("person", "only an individual exemplar carries personal details")
        if unit.tenant_id != ctx.tenant_id or str(unit.id) != command.unit_id:
            errors.add("unit_id", "no such unit in this tenant")
        errors.raise_if_any()
        if unit.closed:
            raise UnitNotUsable("the unit is closed and cannot register models",
                                member="unit_id", code="unit_closed")

    @classmethod
    def register(cls, ctx: Context, unit: Unit, command: RegisterModel, *,
                 person_key_id: str | None = None, person_token: str | None = None) -> Model:
        """Registers a draft. An exemplar's details arrive already sealed
        (``person_key_id``, ``person_token``): the event never holds them in clear."""
        cls.check_registration(ctx, unit, command)
        errors = Errors()
        name = errors.text("name", command.name, max_length=MAX_NAME)
        form = check_form(command.form, errors)
        assert name
        return cls._create(cls.Registered,
                           id=cls.id_for(ctx.tenant_id, str(unit.id), command.year, name),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           unit_id=str(unit.id), year=command.year, kind=command.kind.value,
                           name=name, field=command.field.value if command.field else None,
                           form=form, vertical_line=unit.reports_to_vertical_line,
                           person_key_id=person_key_id, person_token=person_token)

    @classmethod
    def import_history(cls, ctx: Context, unit: Unit, command: ImportModel) -> Model:
        """A model of an earlier year with the state it reached (``IMPORTABLE_STATES``); a
        recognised one names its decision. ``ctx.actor`` is the importer."""
        errors = Errors()
        this_year = vietnam_date(ctx.at).year
        year = check_year(errors, command.year)
        if year is not None and year >= this_year:
            errors.add("year", f"must be between 2000 and {this_year - 1}")
        name = errors.text("name", command.name, max_length=MAX_NAME)
        if command.state not in IMPORTABLE_STATES:
            errors.add("state", "must be one of " + ", ".join(IMPORTABLE_STATES))
        recognised = command.state in (State.RECOGNIZED_TENANT, State.RECOGNIZED_PROVINCE)
        number = None
        if command.decision_number is not None or recognised:
            number = errors.text("decision_number", command.decision_number,
                                 max_length=MAX_CODE)
        if command.decision_date is None:
            if recognised:
                errors.add("decision_date", "required")
        else:
            if command.decision_date > vietnam_date(ctx.at):
                errors.add("decision_date", "must not be in the future")
            elif year is not None and command.decision_date < date(year, 1, 1):
                errors.add("decision_date", "must not be before the registration's year")
        if unit.tenant_id != ctx.tenant_id or str(unit.id) != command.unit_id:
            errors.add("unit_id", "no such unit in this tenant")
        errors.raise_if_any()
        assert name is not None and year is not None
        return cls._create(cls.Imported, id=cls.id_for(ctx.tenant_id, str(unit.id), year, name),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           unit_id=str(unit.id), year=year, kind=command.kind.value,
                           name=name, field=command.field.value,
                           vertical_line=unit.reports_to_vertical_line,
                           state=command.state.value, decision_number=number,
                           decision_date=(command.decision_date.isoformat()
                                          if command.decision_date else None),
                           importer=ctx.actor.user_id, file_hash=command.file_hash)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], unit_id: str, year: int,
                 kind: str, name: str, field: str | None, form: dict[str, str] | None = None,
                 vertical_line: bool, person_key_id: str | None = None,
                 person_token: str | None = None) -> None:
        self.tenant_id = tenant_id
        self.unit_id = unit_id
        self.year = year
        self.kind = kind
        self.vertical_line = vertical_line
        self.person_key_id = person_key_id
        self.person_token = person_token
        self.lifecycle = begin(year, name, field, form or {})

    # --- the actions: ``handle(command, ctx)`` --------------------------------------------

    @functools.singledispatchmethod
    def handle(self, command: ModelCommand, ctx: Context) -> None:
        """Decide ``command``: emit its one event, or refuse (``DomainError``) emitting
        nothing. Each action is the method registered for its command type below."""
        raise TypeError(f"no action for {type(command).__name__}")

    def _require(self, command: ModelCommand) -> None:
        rule = rule_of(command)
        if self.state not in rule.allowed_from:
            raise IllegalTransition(
                f"'{rule.words.en}' is not allowed when the model is {self.state.value}",
                code="illegal_transition",
                params={"action": rule.words, "state": self.state.value})

    def _require_complete(self) -> None:
        missing = missing_members(self.name, self.field, self.form)
        if missing:
            raise InvalidInput({m: "required before submission" for m in missing})

    @staticmethod
    def _text(name: str, value: str) -> str:
        errors = Errors()
        text = errors.text(name, value)
        errors.raise_if_any()
        assert text
        return text

    # --- the unit's actions -------------------------------------------------------------

    @handle.register
    def amend(self, command: AmendModel, ctx: Context) -> None:
        """Changes draft members; emits nothing when nothing changes."""
        errors = Errors()
        name = None
        if command.name is not None:
            name = errors.text("name", command.name, max_length=MAX_NAME)
        form = check_form(command.form, errors)
        check_dates({**self.form, **form}, errors)
        errors.raise_if_any()
        self._require(command)
        changes: dict[str, str] = dict(form)
        if name:
            changes["name"] = name
        if command.field is not None:
            changes["field"] = command.field.value
        current = {"name": self.name, "field": self.field, **self.form}
        changes = {k: v for k, v in changes.items() if current.get(k) != v}
        if changes:
            self._emit(self.Amended, ctx, changes=changes)

    @handle.register
    def submit(self, command: SubmitModel, ctx: Context) -> None:
        self._require(command)
        if self.vertical_line:
            raise IllegalTransition(
                "a vertical-line unit registers in its own chain of command; "
                "the ward only records the copy", code="vertical_line_unit")
        self._require_complete()
        self._emit(self.Submitted, ctx)

    @handle.register
    def report_progress(self, command: ReportProgress, ctx: Context) -> None:
        figures = check_progress(command, model_year=self.year)
        self._require(command)
        self._emit(self.ProgressReported, ctx, **figures)

    @handle.register
    def self_assess(self, command: SelfAssessModel, ctx: Context) -> None:
        summary = self._text("summary", command.summary)
        self._require(command)
        self._emit(self.SelfAssessed, ctx, summary=summary)

    # --- the reviewer's actions ---------------------------------------------------------

    @handle.register
    def return_for_revision(self, command: ReturnModel, ctx: Context) -> None:
        reason = self._text("reason", command.reason)
        self._require(command)
        self._emit(self.Returned, ctx, reason=reason)

    @handle.register
    def reject(self, command: RejectModel, ctx: Context) -> None:
        reason = self._text("reason", command.reason)
        self._require(command)
        self._emit(self.Rejected, ctx, reason=reason)

    @handle.register
    def accept(self, command: AcceptModel, ctx: Context) -> None:
        self._require(command)
        self._emit(self.Accepted, ctx)

    @handle.register
    def receive_copy(self, command: ReceiveCopy, ctx: Context) -> None:
        self._require(command)
        if not self.vertical_line:
            raise IllegalTransition("only a vertical-line unit's registration is received "
                                    "as a copy", code="not_vertical_line_unit")
        self._require_complete()
        self._emit(self.CopyReceived, ctx)

    @handle.register
    def inspect(self, command: InspectModel, ctx: Context) -> None:
        findings = self._text("findings", command.findings)
        self._require(command)
        self._emit(self.Inspected, ctx, findings=findings)

    @handle.register
    def evaluate(self, command: EvaluateModel, ctx: Context) -> None:
        """The evaluation against the command's rules (the province's for the year; equal
        weights and 70 by default), recorded with the rules it used."""
        rules = command.rules or EvaluationRules.default_for(self.kind)
        rules.check(self.kind)
        scores = check_scores(self.kind, command.scores)
        self._require(command)
        total = weighted_total(scores, rules)
        self._emit(self.Evaluated, ctx, scores={k: str(v) for k, v in scores.items()},
                   weights={k: str(v) for k, v in rules.weights.items()},
                   pass_mark=str(rules.pass_mark), total=str(total),
                   passed=total >= rules.pass_mark)

    @handle.register
    def propose(self, command: ProposeModel, ctx: Context) -> None:
        self._require(command)
        if not self.passed:
            raise IllegalTransition("the evaluation did not reach the pass mark",
                                    code="evaluation_not_passed")
        self._emit(self.Proposed, ctx)

    @handle.register
    def discontinue(self, command: DiscontinueModel, ctx: Context) -> None:
        reason = self._text("reason", command.reason)
        self._require(command)
        self._emit(self.Discontinued, ctx, reason=reason)

    @handle.register
    def maintain(self, command: MaintainModel, ctx: Context) -> None:
        errors = Errors()
        year = check_year(errors, command.year)
        errors.raise_if_any()
        self._require(command)
        assert year is not None
        expected = max(self.list_years or (self.year,)) + 1
        if year != expected:
            raise IllegalTransition(f"a model is maintained into the next year's list "
                                    f"({expected})", member="year", code="maintenance_year")
        self._emit(self.Maintained, ctx, year=year)

    # --- the standing committee's and the province's actions ----------------------------

    @handle.register
    def recognize(self, command: RecognizeModel, ctx: Context) -> None:
        number = check_decision(command.decision_number, command.decision_date, ctx)
        if command.decision_date < date(self.year, 1, 1):
            raise InvalidInput({"decision_date": "must not be before the registration's year"})
        self._require(command)
        self._emit(self.Recognized, ctx, level=command.level.value, decision_number=number,
                   decision_date=command.decision_date.isoformat())

    @handle.register
    def nominate(self, command: NominateModel, ctx: Context) -> None:
        self._require(command)
        self._emit(self.Nominated, ctx)

    @handle.register
    def revoke(self, command: RevokeRecognition, ctx: Context) -> None:
        reason = self._text("reason", command.reason)
        self._require(command)
        self._emit(self.Revoked, ctx, reason=reason, level=command.level.value)

    # --- personal data ------------------------------------------------------------------

    def check_personal_data_erasure(self, command: ErasePersonalData) -> str:
        """Every refusal of the erasure, before the person's key is destroyed."""
        reason = self._text("reason", command.reason)
        if self.kind != ModelKind.INDIVIDUAL:
            raise IllegalTransition("only an individual exemplar carries personal data",
                                    code="no_personal_data")
        if self.person_erased:
            raise IllegalTransition("the personal data is already erased",
                                    code="personal_data_erased")
        return reason

    @handle.register
    def erase_personal_data(self, command: ErasePersonalData, ctx: Context) -> None:
        reason = self.check_personal_data_erasure(command)
        self._emit(self.PersonalDataErased, ctx, reason=reason)

    @property
    def total(self) -> Decimal | None:
        total = self.lifecycle.total_score
        return Decimal(total) if total is not None else None
