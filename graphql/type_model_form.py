"""The registration form's members (what real forms ask), as registered or amended."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry


@strawberry.type(name="ModelForm")
class ModelFormType:
    problem: str | None = None
    goals: str | None = None
    content: str | None = None
    area: str | None = None
    target_group: str | None = None
    implementers: str | None = None
    resources: str | None = None
    measures: str | None = None
    milestones: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    evaluation_date: str | None = None
    outputs: str | None = None
    sustainability: str | None = None


FORM_KEYS = frozenset(ModelFormType.__annotations__)


def form_of(members: Mapping[str, Any]) -> ModelFormType:
    return ModelFormType(**{k: (None if v is None else str(v))
                            for k, v in members.items() if k in FORM_KEYS})
