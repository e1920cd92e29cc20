"""Request bodies of the command API as msgspec structs: typed, unknown members refused, and
each turned into the domain's command (``command()``).

The structs give the OpenAPI document its schemas and refuse wrong JSON types (naming the
member) before a service runs; the domain's commands (``domain.commands``) take the typed
values from here, and the domain checks what only it knows (bounds, states, relations).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeVar

from msgspec import UNSET, Struct, UnsetType

from danvan.domain.commands import (
    AddUnit,
    AmendModel,
    ApproveList,
    CloseUnit,
    CompletePlanTask,
    DiscontinueModel,
    ErasePersonalData,
    EvaluateModel,
    InspectModel,
    MaintainModel,
    PersonDetails,
    RecogniseModel,
    RegisterModel,
    RegistrationForm,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SchedulePlanTask,
    SelfAssessModel,
    SetPeriodTargets,
    SetProvinceTargets,
    SetTenantTargets,
)
from danvan.domain.commands import Level as Level
from danvan.domain.policies import Role
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.targets import YearTargets
from danvan.domain.tenants import TenantKind
from danvan.domain.units import UnitKind


class Body(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


T = TypeVar("T")


def given(value: T | UnsetType) -> T | None:
    """A member's value, None when the client left it out."""
    return None if isinstance(value, UnsetType) else value


class TenantCreate(Body):
    """``{code}`` from the catalogue, or ``{kind: "agency", province_code, code, name}``."""

    code: str
    kind: TenantKind | UnsetType = UNSET
    province_code: str | UnsetType = UNSET
    name: str | UnsetType = UNSET


class UnitCreate(Body):
    name: str
    kind: UnitKind
    reports_to_vertical_line: bool = False

    def command(self) -> AddUnit:
        return AddUnit(self.name, self.kind, self.reports_to_vertical_line)


class Reason(Body):
    reason: str


class UserCreate(Body):
    username: str
    password: str
    full_name: str
    roles: list[Role]
    unit_id: str | UnsetType = UNSET


class RolesChange(Body):
    roles: list[Role]
    unit_id: str | UnsetType = UNSET


class YearTargetsBody(Body):
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    per_unit_minimum: int

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
        given = {kind: getattr(self, kind.value) for kind in TenantKind}
        return SetProvinceTargets(province_code, year, {
            kind: body.targets() for kind, body in given.items()
            if isinstance(body, YearTargetsBody)})


class PeriodTargetsBody(Body):
    recognized_tenant_level: int
    recognized_province_level: int
    maintained_models: int

    def command(self, start_year: int, end_year: int) -> SetPeriodTargets:
        return SetPeriodTargets(start_year, end_year, self.recognized_tenant_level,
                                self.recognized_province_level, self.maintained_models)


class ListApproval(Body):
    decision_number: str

    def command(self, year: int) -> ApproveList:
        return ApproveList(year, self.decision_number)


class PlanTaskCreate(Body):
    year: int
    title: str
    due_date: date

    def command(self) -> SchedulePlanTask:
        return SchedulePlanTask(self.year, self.title, self.due_date)


class PlanTaskCompletion(Body):
    note: str = ""

    def command(self) -> CompletePlanTask:
        return CompletePlanTask(self.note)


class Person(Body):
    full_name: str
    birth_year: int
    phone: str | UnsetType = UNSET
    address: str | UnsetType = UNSET

    def details(self) -> PersonDetails:
        return PersonDetails(self.full_name, self.birth_year,
                             self.phone if isinstance(self.phone, str) else "",
                             self.address if isinstance(self.address, str) else "")


class FormMembers(Body):
    problem: str | UnsetType = UNSET
    goals: str | UnsetType = UNSET
    measures: str | UnsetType = UNSET
    content: str | UnsetType = UNSET
    area: str | UnsetType = UNSET
    target_group: str | UnsetType = UNSET
    implementers: str | UnsetType = UNSET
    resources: str | UnsetType = UNSET
    milestones: str | UnsetType = UNSET
    start_date: date | UnsetType = UNSET
    end_date: date | UnsetType = UNSET
    evaluation_date: date | UnsetType = UNSET
    outputs: str | UnsetType = UNSET
    sustainability: str | UnsetType = UNSET

    def form(self) -> RegistrationForm:
        return RegistrationForm(**{name: given(getattr(self, name))
                                   for name in FormMembers.__struct_fields__})


class ModelCreate(FormMembers, kw_only=True):
    unit_id: str
    year: int
    name: str
    kind: ModelKind
    field: Field | UnsetType = UNSET
    person: Person | UnsetType = UNSET

    def command(self) -> RegisterModel:
        return RegisterModel(
            unit_id=self.unit_id, year=self.year, name=self.name, kind=self.kind,
            field=self.field if isinstance(self.field, Field) else None, form=self.form(),
            person=self.person.details() if isinstance(self.person, Person) else None)


class ModelAmend(FormMembers, kw_only=True):
    name: str | UnsetType = UNSET
    field: Field | UnsetType = UNSET

    def command(self) -> AmendModel:
        return AmendModel(name=self.name if isinstance(self.name, str) else None,
                          field=self.field if isinstance(self.field, Field) else None,
                          form=self.form())


class Empty(Body):
    pass


class Progress(Body):
    period: str
    participants: int
    workdays: int
    money_vnd: Decimal = Decimal(0)
    """VND, as a JSON number or a decimal string."""
    land_m2: Decimal = Decimal(0)
    """m², as a JSON number or a decimal string."""
    note: str = ""

    def command(self) -> ReportProgress:
        return ReportProgress(self.period, self.participants, self.workdays, self.money_vnd,
                              self.land_m2, self.note)


class Inspection(Body):
    findings: str

    def command(self) -> InspectModel:
        return InspectModel(self.findings)


class SelfAssessment(Body):
    summary: str

    def command(self) -> SelfAssessModel:
        return SelfAssessModel(self.summary)


class Evaluation(Body):
    scores: dict[str, Decimal]

    def command(self) -> EvaluateModel:
        return EvaluateModel(dict(self.scores))


class Recognition(Body):
    level: Level
    decision_number: str
    decision_date: date

    def command(self) -> RecogniseModel:
        return RecogniseModel(self.level, self.decision_number, self.decision_date)


class Revocation(Body):
    level: Level
    reason: str

    def command(self) -> RevokeRecognition:
        return RevokeRecognition(self.level, self.reason)


class Maintenance(Body):
    year: int

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
