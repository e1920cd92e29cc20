"""Builders for pure domain tests: a clock, actors and a complete registration form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from danvan.domain.base import Actor, Context
from danvan.domain.model import Model
from danvan.domain.units import Unit

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


def complete_form(**overrides: Any) -> dict[str, Any]:
    return {"year": 2026, "name": "Dân vận khéo trong xây dựng nông thôn mới", **FORM,
            **overrides}


def unit(name: str = "Chi bộ tổ dân phố 5", *, vertical: bool = False,
         tenant: str = TENANT, kind: str = "party_cell") -> Unit:
    u = Unit.add(ctx("tenant_admin", tenant=tenant), name=name, kind=kind,
                 reports_to_vertical_line=vertical)
    u.collect_events()
    return u


def draft(**overrides: Any) -> Model:
    model = Model.register(ctx(), unit=unit(), values=complete_form(**overrides))
    model.collect_events()
    return model


SCORES_PASS = {"effectiveness": 80, "creativity": 75, "participation": 90,
               "replicability": 70, "political_tie": 85, "planning": 70}
SCORES_FAIL = dict.fromkeys(SCORES_PASS, 50)

STEPS: dict[str, Any] = {
    "submitted": lambda m: m.submit(ctx()),
    "returned": lambda m: m.return_for_revision(ctx("reviewer"), reason="Thiếu số liệu"),
    "rejected": lambda m: m.reject(ctx("reviewer"), reason="Trùng mô hình"),
    "accepted": lambda m: m.accept(ctx("reviewer")),
    "self_assessed": lambda m: m.self_assess(ctx(), summary="Đạt mục tiêu"),
    "evaluated": lambda m: m.evaluate(ctx("reviewer"), scores=SCORES_PASS),
    "evaluated_failing": lambda m: m.evaluate(ctx("reviewer"), scores=SCORES_FAIL),
    "proposed": lambda m: m.propose(ctx("reviewer")),
    "recognized_tenant": lambda m: m.recognise(ctx("approver"), level="tenant",
                                               decision_number="15/QĐ-ĐU",
                                               decision_date="2026-05-20"),
    "nominated": lambda m: m.nominate(ctx("approver")),
    "recognized_province": lambda m: m.recognise(ctx("province_admin"), level="province",
                                                 decision_number="120/QĐ-TU",
                                                 decision_date="2026-05-30"),
    "discontinued": lambda m: m.discontinue(ctx("reviewer"), reason="Không còn hiệu quả"),
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
