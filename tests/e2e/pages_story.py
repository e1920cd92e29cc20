"""What the page tests share: a model taken over HTTP to recognition at the tenant's level,
and an exemplar whose personal details must never show in public."""

from __future__ import annotations

from typing import Any

from tests.e2e.graphql_support import SCORES_PASS
from tests.e2e.world import YEN_BAI, World, ok

EXEMPLAR = {"full_name": "Lò Thị Mai", "birth_year": 1972, "phone": "0915 222 333",
            "address": "Tổ 5, phường Yên Bái"}
PERSON_SCORES = {"reputation": 85, "ethics": 90, "responsibility": 80, "mobilisation": 85}
PERSONAL = ("Lò Thị Mai", "0915 222 333", "1972", "Tổ 5, phường Yên Bái")


def recognized(world: World, name: str, *, code: str = YEN_BAI,
               decision: str = "12-QĐ/ĐU", **form: Any) -> str:
    """A model of the unit user's unit, recognised at the tenant's level; its id."""
    model = world.register(code, name=name, **form)["id"]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("submit", "unit_user", {}), ("accept", "reviewer", {}),
        ("self-assessment", "unit_user", {"summary": "Đạt mục tiêu"}),
        ("evaluation", "reviewer", {"scores": PERSON_SCORES if form.get("kind") ==
                                    "individual" else SCORES_PASS}), ("proposal", "reviewer", {}),
        ("recognition", "approver", {"level": "tenant", "decision_number": decision,
                                     "decision_date": "2026-06-15"})]
    for action, role, body in steps:
        ok(world.act(model, action, role, body, code=code))
    return model
