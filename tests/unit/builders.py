"""Builders for pure domain tests: a clock, actors and a complete registration form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from danvan.domain.base import Actor, Context
from danvan.domain.commands import (
    AcceptModel,
    AddUnit,
    DiscontinueModel,
    EvaluateModel,
    Level,
    NominateModel,
    PersonDetails,
    ProposeModel,
    RecognizeModel,
    RegisterModel,
    RegistrationForm,
    RejectModel,
    ReturnModel,
    SelfAssessModel,
    SubmitModel,
)
from danvan.domain.model import Model
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.units import Unit, UnitKind

TENANT = "tenant-yen-bai"
OTHER_TENANT = "tenant-lao-cai"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def ctx(role: str = "unit_user", tenant: str = TENANT, at: datetime = NOW) -> Context:
    return Context(tenant_id=tenant, actor=Actor(user_id=f"user-{role}", role=role), at=at,
                   correlation_id="corr-1", causation_id="cause-1", request_id="req-1")


FORM: dict[str, Any] = {
    "field": "economy", "kind": "collective",
    "problem": "Đường liên thôn xuống cấp", "goals": "Bê tông hóa 2 km đường",
    "content": "Vận động Nhân dân hiến đất, góp công", "area": "Tổ dân phố 5",
    "implementers": "Chi bộ tổ dân phố 5", "resources": "Nhân dân đóng góp",
    "start_date": "2026-03-01", "end_date": "2026-12-31",
    "outputs": "2 km đường bê tông", "sustainability": "Tổ tự quản duy trì",
}
"""A registration form's members but its year and name."""


def form(**overrides: Any) -> RegistrationForm:
    """``FORM``'s members as the domain takes them (dates as dates), with ``overrides``."""
    members = {k: v for k, v in {**FORM, **overrides}.items() if k not in ("field", "kind")}
    return RegistrationForm(**{k: date.fromisoformat(v) if k.endswith("_date") and v else v
                               for k, v in members.items()})


PERSON = PersonDetails("Lò Thị Mai", 1972, "0915 222 333", "Tổ 5")


def complete_form(unit_id: str, **overrides: Any) -> RegisterModel:
    """A complete registration of ``unit_id``'s; ``overrides`` by member name (``person``
    for an exemplar's details)."""
    values: dict[str, Any] = {"year": 2026, "name": "Dân vận khéo trong xây dựng nông thôn mới",
                              "field": FORM["field"], "kind": FORM["kind"], "person": None,
                              **overrides}
    members = RegistrationForm.__dataclass_fields__
    form_members = {k: values.pop(k) for k in list(values) if k in members}
    return RegisterModel(unit_id=unit_id, year=values["year"], name=values["name"],
                         kind=ModelKind(values["kind"]),
                         field=Field(values["field"]) if values["field"] else None,
                         form=form(**form_members), person=values["person"])


def unit(name: str = "Chi bộ tổ dân phố 5", *, vertical: bool = False,
         tenant: str = TENANT, kind: str = "party_cell") -> Unit:
    u = Unit.add(ctx("tenant_admin", tenant=tenant), AddUnit(name, UnitKind(kind), vertical))
    u.collect_events()
    return u


def register(u: Unit | None = None, role: str = "unit_user", **overrides: Any) -> Model:
    """A registration of ``u`` (a new unit by default), its event not collected."""
    u = u or unit()
    return Model.register(ctx(role), u, complete_form(str(u.id), **overrides))


def draft(**overrides: Any) -> Model:
    model = register(**overrides)
    model.collect_events()
    return model


SCORES_PASS = {k: Decimal(v) for k, v in {
    "effectiveness": 80, "creativity": 75, "participation": 90, "replicability": 70,
    "political_tie": 85, "planning": 70}.items()}
SCORES_FAIL = dict.fromkeys(SCORES_PASS, Decimal(50))

STEPS: dict[str, Any] = {
    "submitted": lambda m: m.handle(SubmitModel(), ctx()),
    "returned": lambda m: m.handle(ReturnModel("Thiếu số liệu"), ctx("reviewer")),
    "rejected": lambda m: m.handle(RejectModel("Trùng mô hình"), ctx("reviewer")),
    "accepted": lambda m: m.handle(AcceptModel(), ctx("reviewer")),
    "self_assessed": lambda m: m.handle(SelfAssessModel("Đạt mục tiêu"), ctx()),
    "evaluated": lambda m: m.handle(EvaluateModel(SCORES_PASS), ctx("reviewer")),
    "evaluated_failing": lambda m: m.handle(EvaluateModel(SCORES_FAIL), ctx("reviewer")),
    "proposed": lambda m: m.handle(ProposeModel(), ctx("reviewer")),
    "recognized_tenant": lambda m: m.handle(RecognizeModel(
        Level.TENANT, "15/QĐ-ĐU", date(2026, 5, 20)), ctx("approver")),
    "nominated": lambda m: m.handle(NominateModel(), ctx("approver")),
    "recognized_province": lambda m: m.handle(RecognizeModel(
        Level.PROVINCE, "120/QĐ-TU", date(2026, 5, 30)), ctx("province_admin")),
    "discontinued": lambda m: m.handle(DiscontinueModel("Không còn hiệu quả"), ctx("reviewer")),
}

PATH = ["submitted", "accepted", "self_assessed", "evaluated", "proposed", "recognized_tenant",
        "nominated", "recognized_province"]


def given(*steps: str, model: Model | None = None) -> Model:
    """A model taken through ``steps``, its events already collected (stored)."""
    m = model or draft()
    for step in steps:
        STEPS[step](m)
    m.collect_events()
    return m


def through(state: str) -> Model:
    return given(*PATH[: PATH.index(state) + 1])
