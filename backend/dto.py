"""Request bodies of the command API as msgspec structs: typed, bounded, unknown members
refused, and each turned into the domain's command (``command()``).

The structs give the OpenAPI document its schemas and refuse what no command could record
before a service runs, naming the field: wrong JSON types, strings longer than
``domain/limits.py`` allows or holding control characters, integers and decimals out of their
bounds, values outside an enum, ids that are not UUIDs, dates that are not dates. Every bound
here is a constant of the domain (``limits``, ``targets``, ``progress``, ``users``), so the
edge, the domain and the document say the same numbers; the domain still checks everything
(blank texts, the catalogue, dates against each other), the edge only makes sure nothing
unbounded reaches it.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from danvan.domain.base import InvalidInput
from danvan.domain.commands import (
    AddUnit,
    AmendModel,
    ApproveList,
    CloseUnit,
    CompletePlanTask,
    CompleteUnitTask,
    DeactivateUser,
    DiscontinueModel,
    ErasePersonalData,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    PersonDetails,
    RecognizeModel,
    RecognizeModels,
    RegisterModel,
    RegistrationForm,
    RejectModel,
    ReportProgress,
    RequestOperation,
    ReturnModel,
    RevokeRecognition,
    SchedulePlanTask,
    SelfAssessModel,
    SetEvaluationRules,
    SetPeriodTargets,
    SetProvinceTargets,
    SetTenantTargets,
)
from danvan.domain.evaluation import COLLECTIVE_CRITERIA, PERSON_CRITERIA, WEIGHT_TOTAL
from danvan.domain.limits import (
    AREA_M2,
    FORBIDDEN_CHARACTERS_RULE,
    MAX_AGE,
    MAX_CODE,
    MAX_DECISION_MODELS,
    MAX_NAME,
    MAX_PARTICIPANTS,
    MAX_PASSWORD,
    MAX_PHONE,
    MAX_PROVINCE_CODE,
    MAX_TASK_UNITS,
    MAX_TENANT_CODE,
    MAX_TEXT,
    MAX_USERNAME,
    MAX_WORKDAYS,
    MIN_PASSWORD,
    MONEY_VND,
    SCORE,
    TEXT_PATTERN,
    DecimalBound,
    decimal_problem,
)
from danvan.domain.operations import OperationKind
from danvan.domain.policies import Role
from danvan.domain.progress import PERIOD, PERIOD_RULE
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.reports import (
    ReportFormat,
    ReportKind,
    ReportPeriod,
    ReportRequest,
)
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR, MAX_TARGET, YearTargets
from danvan.domain.tenants import TenantKind
from danvan.domain.units import UnitKind
from danvan.domain.users import USERNAME, USERNAME_RULE
from danvan.projections.catalog import all_projections

FILLED_TEXT_PATTERN = TEXT_PATTERN.replace("^", r"^(?=\s*\S)", 1)
"""A text that is not blank (the domain refuses a required text that strips to nothing)."""
FILLED_TEXT_RULE = "must not be blank; " + FORBIDDEN_CHARACTERS_RULE

FORMAT_RULES: dict[str, str] = {
    TEXT_PATTERN: FORBIDDEN_CHARACTERS_RULE,
    FILLED_TEXT_PATTERN: FILLED_TEXT_RULE,
    USERNAME.pattern: USERNAME_RULE,
    PERIOD.pattern: PERIOD_RULE,
}
"""The rule each pattern below stands for, in the domain's words: the message a client reads
when a string does not match (``errors.py`` puts it in place of the decoder's regex)."""

Text = Annotated[str, Meta(max_length=MAX_TEXT, pattern=TEXT_PATTERN)]
FilledText = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT, pattern=FILLED_TEXT_PATTERN)]
Name = Annotated[str, Meta(max_length=MAX_NAME, pattern=TEXT_PATTERN)]
FilledName = Annotated[str, Meta(min_length=1, max_length=MAX_NAME, pattern=FILLED_TEXT_PATTERN)]
FilledCode = Annotated[str, Meta(min_length=1, max_length=MAX_CODE, pattern=FILLED_TEXT_PATTERN)]
TenantCode = Annotated[str, Meta(min_length=1, max_length=MAX_TENANT_CODE,
                                 pattern=FILLED_TEXT_PATTERN)]
ProvinceCode = Annotated[str, Meta(min_length=1, max_length=MAX_PROVINCE_CODE,
                                   pattern=FILLED_TEXT_PATTERN)]
Username = Annotated[str, Meta(max_length=MAX_USERNAME, pattern=USERNAME.pattern)]
Password = Annotated[str, Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD,
                               pattern=TEXT_PATTERN)]
"""A new password: the one rule (``domain.users.check_password``) at the edge."""
GivenPassword = Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD, pattern=TEXT_PATTERN)]
"""A password typed to prove who one is: checked against the hash, not against the rule."""
Phone = Annotated[str, Meta(max_length=MAX_PHONE, pattern=TEXT_PATTERN)]
Period = Annotated[str, Meta(max_length=len("2026-Q1"), pattern=PERIOD.pattern)]
Year = Annotated[int, Meta(ge=FIRST_YEAR, le=LAST_YEAR)]
BirthYear = Annotated[int, Meta(ge=FIRST_YEAR - MAX_AGE, le=LAST_YEAR)]
Target = Annotated[int, Meta(ge=0, le=MAX_TARGET)]
Participants = Annotated[int, Meta(ge=0, le=MAX_PARTICIPANTS)]
Workdays = Annotated[int, Meta(ge=0, le=MAX_WORKDAYS)]
Roles = Annotated[list[Role], Meta(min_length=1, max_length=len(Role))]
ModelIds = Annotated[list[uuid.UUID], Meta(min_length=1, max_length=MAX_DECISION_MODELS)]
TaskUnitIds = Annotated[list[uuid.UUID], Meta(max_length=MAX_TASK_UNITS)]
ProjectionName = StrEnum("ProjectionName",  # type: ignore[misc]
                         {p.name.upper(): p.name for p in all_projections()})
"""The read models' names (``projections.catalog``): a rebuild names only those."""
ProjectionNames = Annotated[list[ProjectionName], Meta(max_length=len(ProjectionName))]


_FORMS: dict[DecimalBound, re.Pattern[str]] = {}


def _form(bound: DecimalBound) -> re.Pattern[str]:
    form = _FORMS.get(bound)
    if form is None:
        form = _FORMS[bound] = re.compile(bound.pattern)
    return form


class BoundedDecimal(Decimal):
    """A decimal sent as a JSON number or a decimal string, bounded by ``bound``: magnitude,
    places and, for a string, its form (``DecimalBound.pattern``). Decoded by
    ``decode_bounded_decimal`` (``backend/http/body.py`` converts bodies with it); JSON
    numbers reach it as exact decimals, never as floats."""

    bound: ClassVar[DecimalBound]


class Money(BoundedDecimal):
    bound = MONEY_VND


class Area(BoundedDecimal):
    bound = AREA_M2


class Score(BoundedDecimal):
    bound = SCORE


NOT_A_DECIMAL = "must be a number or a decimal string"


def is_bounded_decimal(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, BoundedDecimal)


def decode_custom(type_: type, value: Any) -> Any:
    """The ``dec_hook`` of body conversion: the DTOs' only custom types are bounded decimals."""
    if is_bounded_decimal(type_):
        return decode_bounded_decimal(type_, value)
    raise NotImplementedError(f"no decoder for {type_!r}")


def decode_bounded_decimal(type_: type[BoundedDecimal], value: Any) -> BoundedDecimal:
    """``value`` as ``type_``, or a ``ValueError`` in the domain's words (the decoder names
    the field)."""
    bound = type_.bound
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise TypeError(NOT_A_DECIMAL)
    if isinstance(value, str) and not _form(bound).match(value):
        # say what is wrong with a decimal written otherwise (1E-999999999), when it is short
        # enough to read; then refuse it anyway: the document promises the plain form
        problem = None
        if len(value) <= 64:
            try:
                problem = decimal_problem(Decimal(value), bound)
            except (InvalidOperation, ValueError):
                problem = None
        raise ValueError(problem or NOT_A_DECIMAL)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    problem = decimal_problem(number, bound)
    if problem is not None:
        raise ValueError(problem)
    return type_(number)



class Body(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


T = TypeVar("T")


def given(value: T | UnsetType) -> T | None:
    """A member's value, None when the client left it out."""
    return None if isinstance(value, UnsetType) else value


def given_id(value: uuid.UUID | UnsetType) -> str | None:
    return None if isinstance(value, UnsetType) else str(value)


class TenantCreate(Body):
    code: TenantCode
    kind: TenantKind | UnsetType = UNSET
    province_code: ProvinceCode | UnsetType = UNSET
    name: FilledName | UnsetType = UNSET


class UnitCreate(Body):
    name: FilledName
    kind: UnitKind
    reports_to_vertical_line: bool = False

    def command(self) -> AddUnit:
        return AddUnit(self.name, self.kind, self.reports_to_vertical_line)


class Reason(Body):
    reason: FilledText


class UserCreate(Body):
    username: Username
    password: Password
    full_name: FilledName
    roles: Roles
    unit_id: uuid.UUID | UnsetType = UNSET
    must_change_password: bool = False
    """A one-time password: the user must change it before anything else."""


class RolesChange(Body):
    roles: Roles
    unit_id: uuid.UUID | UnsetType = UNSET


class PasswordChange(Body):
    """``POST /auth/password``: one's own password."""

    current_password: GivenPassword
    new_password: Password


class PasswordReset(Body):
    """``POST /tenants/{tenant_id}/users/{user_id}/password-reset``: an admin's."""

    new_password: Password


class YearTargetsBody(Body):
    new_models: Target
    recognized_tenant_level: Target
    recognized_province_level: Target
    per_unit_minimum: Target

    def targets(self) -> YearTargets:
        return YearTargets(self.new_models, self.recognized_tenant_level,
                           self.recognized_province_level, self.per_unit_minimum)

    def command(self, year: int) -> SetTenantTargets:
        return SetTenantTargets(year, self.targets())


class ProvinceTargetsBody(Body):
    commune: YearTargetsBody | UnsetType = UNSET
    ward: YearTargetsBody | UnsetType = UNSET
    special_zone: YearTargetsBody | UnsetType = UNSET
    agency: YearTargetsBody | UnsetType = UNSET

    def command(self, province_code: str, year: int) -> SetProvinceTargets:
        sent = {kind: getattr(self, kind.value) for kind in TenantKind}
        return SetProvinceTargets(province_code, year, {
            kind: body.targets() for kind, body in sent.items()
            if isinstance(body, YearTargetsBody)})


class PeriodTargetsBody(Body):
    recognized_tenant_level: Target
    recognized_province_level: Target
    maintained_models: Target

    def command(self, start_year: int, end_year: int) -> SetPeriodTargets:
        return SetPeriodTargets(start_year, end_year, self.recognized_tenant_level,
                                self.recognized_province_level, self.maintained_models)


class ListApproval(Body):
    decision_number: FilledCode

    def command(self, year: int) -> ApproveList:
        return ApproveList(year, self.decision_number)


class PlanTaskCreate(Body):
    year: Year
    title: FilledName
    due_date: date
    unit_ids: TaskUnitIds | UnsetType = UNSET
    """Units of the tenant each doing the task on their own (overdue each on its own)."""

    def command(self) -> SchedulePlanTask:
        return SchedulePlanTask(self.year, self.title, self.due_date,
                                tuple(str(u) for u in given(self.unit_ids) or ()))


class PlanTaskCompletion(Body):
    note: Text = ""

    def command(self) -> CompletePlanTask:
        return CompletePlanTask(self.note)

    def unit_command(self, unit_id: str) -> CompleteUnitTask:
        return CompleteUnitTask(unit_id, self.note)


class Person(Body):
    full_name: FilledName
    birth_year: BirthYear
    phone: Phone | UnsetType = UNSET
    address: Text | UnsetType = UNSET

    def details(self) -> PersonDetails:
        return PersonDetails(self.full_name, self.birth_year, given(self.phone) or "",
                             given(self.address) or "")


class FormMembers(Body):
    problem: Text | UnsetType = UNSET
    goals: Text | UnsetType = UNSET
    measures: Text | UnsetType = UNSET
    content: Text | UnsetType = UNSET
    area: Text | UnsetType = UNSET
    target_group: Text | UnsetType = UNSET
    implementers: Text | UnsetType = UNSET
    resources: Text | UnsetType = UNSET
    milestones: Text | UnsetType = UNSET
    start_date: date | UnsetType = UNSET
    end_date: date | UnsetType = UNSET
    evaluation_date: date | UnsetType = UNSET
    outputs: Text | UnsetType = UNSET
    sustainability: Text | UnsetType = UNSET

    def form(self) -> RegistrationForm:
        return RegistrationForm(**{name: given(getattr(self, name))
                                   for name in FormMembers.__struct_fields__})


class ModelCreate(FormMembers, kw_only=True):
    unit_id: uuid.UUID
    year: Year
    name: FilledName
    kind: ModelKind
    field: Field | UnsetType = UNSET
    person: Person | UnsetType = UNSET

    def command(self) -> RegisterModel:
        person = given(self.person)
        return RegisterModel(str(self.unit_id), self.year, self.name, self.kind,
                             given(self.field), self.form(),
                             person.details() if person is not None else None)


class ModelAmend(FormMembers, kw_only=True):
    name: Name | UnsetType = UNSET
    field: Field | UnsetType = UNSET

    def command(self) -> AmendModel:
        return AmendModel(given(self.name), given(self.field), self.form())


class Empty(Body):
    pass


class Progress(Body):
    period: Period
    participants: Participants
    workdays: Workdays
    money_vnd: Money | UnsetType = UNSET  # 0 when left out
    land_m2: Area | UnsetType = UNSET
    note: Text = ""

    def command(self) -> ReportProgress:
        return ReportProgress(self.period, self.participants, self.workdays,
                              given(self.money_vnd) or Decimal(0),
                              given(self.land_m2) or Decimal(0), self.note)


class Inspection(Body):
    findings: FilledText

    def command(self) -> InspectModel:
        return InspectModel(self.findings)


class SelfAssessment(Body):
    summary: FilledText

    def command(self) -> SelfAssessModel:
        return SelfAssessModel(self.summary)


Scores = msgspec.defstruct(
    "Scores", [(name, Score | UnsetType, UNSET)
               for name in dict.fromkeys((*COLLECTIVE_CRITERIA, *PERSON_CRITERIA))],
    bases=(Body,), module=__name__)
"""One score per criterion: a collective model's six or a person's four (the domain asks for
the ones of the model's kind)."""


Weight = Annotated[int, Meta(ge=0, le=WEIGHT_TOTAL)]
CollectiveWeights = msgspec.defstruct(
    "CollectiveWeights", [(name, Weight) for name in COLLECTIVE_CRITERIA], bases=(Body,),
    module=__name__)
PersonWeights = msgspec.defstruct(
    "PersonWeights", [(name, Weight) for name in PERSON_CRITERIA], bases=(Body,),
    module=__name__)


class EvaluationRulesBody(Body):
    """Whole-number weights adding up to 100 for each kind of model, and the pass mark."""

    weights: CollectiveWeights  # type: ignore[valid-type]
    person_weights: PersonWeights  # type: ignore[valid-type]
    pass_mark: Score

    def command(self, province_code: str, year: int) -> SetEvaluationRules:
        return SetEvaluationRules(province_code, year,
                                  msgspec.structs.asdict(self.weights),
                                  msgspec.structs.asdict(self.person_weights),
                                  Decimal(self.pass_mark))


class Evaluation(Body):
    scores: Scores  # type: ignore[valid-type]

    def command(self) -> EvaluateModel:
        scores = msgspec.structs.asdict(self.scores)
        return EvaluateModel({name: Decimal(value) for name, value in scores.items()
                              if not isinstance(value, UnsetType)})


class Recognition(Body):
    level: Level
    decision_number: FilledCode
    decision_date: date

    def command(self) -> RecognizeModel:
        return RecognizeModel(self.level, self.decision_number, self.decision_date)


class RecognitionDecision(Body):
    """One decision recognising a list of models at one level."""

    level: Level
    decision_number: FilledCode
    decision_date: date
    model_ids: ModelIds

    def command(self, expected: Level) -> RecognizeModels:
        """The decision, at the level its route decides (another level names ``level``)."""
        if self.level != expected:
            raise InvalidInput({"level": f"must be {expected.value} here"})
        return RecognizeModels(self.level, self.decision_number, self.decision_date,
                               tuple(str(m) for m in self.model_ids))


class Revocation(Body):
    level: Level
    reason: FilledText

    def command(self) -> RevokeRecognition:
        return RevokeRecognition(self.level, self.reason)


class Maintenance(Body):
    year: Year

    def command(self) -> MaintainModel:
        return MaintainModel(self.year)


def returning(body: Reason) -> ReturnModel:
    return ReturnModel(body.reason)


def rejecting(body: Reason) -> RejectModel:
    return RejectModel(body.reason)


def discontinuing(body: Reason) -> DiscontinueModel:
    return DiscontinueModel(body.reason)


def erasing(body: Reason) -> ErasePersonalData:
    return ErasePersonalData(body.reason)


def closing(body: Reason) -> CloseUnit:
    return CloseUnit(body.reason)


def deactivating(body: Reason) -> DeactivateUser:
    return DeactivateUser(body.reason)


class RebuildRequest(Body):
    """``POST /provinces/{code}/rebuilds``: which read models (none: all), or only those
    whose tables' shape differs from the code's."""

    projections: ProjectionNames = msgspec.field(default_factory=list)
    stale_only: bool = False

    def command(self, operation_id: str) -> RequestOperation:
        return RequestOperation(operation_id, OperationKind.REBUILD,
                                projections=tuple(p.value for p in self.projections),
                                stale_only=self.stale_only)


Moment = Annotated[datetime, Meta(tz=True)]


class ReportBody(Body):
    """``POST /tenants/{tenant_id}/reports``, ``POST /provinces/{code}/reports``: what to
    report (kind, year, period or ``as_of``), in which format, and what the issuing office
    fills in (issuer, number and symbol, signer; addressees: one per line, at most
    ``MAX_ADDRESSEES``)."""

    kind: ReportKind
    year: Year
    format: ReportFormat
    period: ReportPeriod | UnsetType = UNSET
    as_of: Moment | UnsetType = UNSET
    issuer: Name | UnsetType = UNSET
    number: Name | UnsetType = UNSET
    signer: Name | UnsetType = UNSET
    addressees: Text | UnsetType = UNSET

    def request(self) -> ReportRequest:
        return ReportRequest(self.kind, self.year, self.format, given(self.period),
                             given(self.as_of), given(self.issuer), given(self.number),
                             given(self.signer),
                             tuple(line for line in (given(self.addressees) or "").splitlines()
                                   if line.strip()))


def exporting(operation_id: str) -> RequestOperation:
    return RequestOperation(operation_id, OperationKind.AUDIT_EXPORT)


class CatalogueImport(Body):
    """``POST /provinces/{code}/imports?kind=tenants`` as JSON: every commune and ward of the
    province (``{"all": true}``), or the catalogue codes listed."""

    all: bool = False
    codes: Annotated[list[TenantCode], Meta(max_length=5_000)] = msgspec.field(
        default_factory=list)
