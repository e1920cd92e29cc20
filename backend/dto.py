"""Request bodies of the command API as msgspec structs: typed, unknown members refused.

Services take plain dicts (``as_body``) so that the domain, which checks values, stays free of
transport types; the structs give the OpenAPI document its schemas and refuse wrong JSON types
(naming the field) before a service runs.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

Number = int | float | str


class Body(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


def as_body(data: Body | None) -> dict[str, Any]:
    """The body as plain JSON values, members the client left out omitted."""
    if data is None:
        return {}
    body = msgspec.to_builtins(data)
    assert isinstance(body, dict)
    return body


class TenantCreate(Body):
    code: str
    kind: str | UnsetType = UNSET
    province_code: str | UnsetType = UNSET
    name: str | UnsetType = UNSET


class UnitCreate(Body):
    name: str
    kind: str
    reports_to_vertical_line: bool = False


class Reason(Body):
    reason: str


class UserCreate(Body):
    username: str
    password: str
    full_name: str
    roles: list[str]
    unit_id: str | UnsetType = UNSET


class RolesChange(Body):
    roles: list[str]
    unit_id: str | UnsetType = UNSET


class YearTargetsBody(Body):
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    per_unit_minimum: int


class ProvinceTargetsBody(Body):
    commune: YearTargetsBody | UnsetType = UNSET
    ward: YearTargetsBody | UnsetType = UNSET
    special_zone: YearTargetsBody | UnsetType = UNSET
    agency: YearTargetsBody | UnsetType = UNSET


class PeriodTargetsBody(Body):
    recognized_tenant_level: int
    recognized_province_level: int
    maintained_models: int


class ListApproval(Body):
    decision_number: str


class PlanTaskCreate(Body):
    year: int
    title: str
    due_date: str


class PlanTaskCompletion(Body):
    note: str = ""


class Person(Body):
    full_name: str
    birth_year: int
    phone: str | UnsetType = UNSET
    address: str | UnsetType = UNSET


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
    start_date: str | UnsetType = UNSET
    end_date: str | UnsetType = UNSET
    evaluation_date: str | UnsetType = UNSET
    outputs: str | UnsetType = UNSET
    sustainability: str | UnsetType = UNSET


class ModelCreate(FormMembers, kw_only=True):
    unit_id: str
    year: int
    name: str
    kind: str
    field: str | UnsetType = UNSET
    person: Person | UnsetType = UNSET


class ModelAmend(FormMembers, kw_only=True):
    name: str | UnsetType = UNSET
    field: str | UnsetType = UNSET


class Empty(Body):
    pass


class Progress(Body):
    period: str
    participants: int
    workdays: int
    money_vnd: Number = 0
    land_m2: Number = 0
    note: str = ""


class Inspection(Body):
    findings: str


class SelfAssessment(Body):
    summary: str


class Evaluation(Body):
    scores: dict[str, Number]


class Recognition(Body):
    level: str
    decision_number: str
    decision_date: str


class Revocation(Body):
    level: str
    reason: str


class Maintenance(Body):
    year: int


MODEL_ACTION_BODIES: dict[str, type[Body]] = {
    "amend": ModelAmend, "submit": Empty, "return": Reason, "reject": Reason, "accept": Empty,
    "copy-received": Empty, "progress": Progress, "inspection": Inspection,
    "self-assessment": SelfAssessment, "evaluation": Evaluation, "proposal": Empty,
    "recognition": Recognition, "nomination": Empty, "revocation": Revocation,
    "discontinuation": Reason, "maintenance": Maintenance,
}
