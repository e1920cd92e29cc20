"""A tiny aggregate for the event store and audit chain tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from danvan.domain.base import Actor, Context, TenantAggregate, derive_id

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def ctx(tenant_id: str = "province:15", user: str = "u1") -> Context:
    return Context(tenant_id=tenant_id, actor=Actor(user, "unit_user"), at=AT,
                   correlation_id=str(uuid.uuid4()))


class Note(TenantAggregate):
    text: str
    on: date
    amount: Decimal

    class Written(TenantAggregate.Created):
        key: str
        text: str

    class Edited(TenantAggregate.Event):
        text: str

        def apply(self, aggregate: Any) -> None:
            aggregate.text = self.text

    class Dated(TenantAggregate.Event):
        on: date
        amount: Decimal

        def apply(self, aggregate: Any) -> None:
            aggregate.on = self.on
            aggregate.amount = self.amount

    @staticmethod
    def id_for(tenant_id: str, key: str) -> uuid.UUID:
        return derive_id("test-note", tenant_id, key)

    @classmethod
    def write(cls, context: Context, key: str, text: str = "hello") -> Note:
        return cls._create(cls.Written, id=cls.id_for(context.tenant_id, key),
                           tenant_id=context.tenant_id, meta=context.meta(),
                           timestamp=context.at, key=key, text=text)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], key: str, text: str) -> None:
        self.tenant_id = tenant_id
        self.key = key
        self.text = text

    def edit(self, context: Context, text: str) -> None:
        self._emit(self.Edited, context, text=text)

    def date(self, context: Context, on: date, amount: Decimal) -> None:
        self._emit(self.Dated, context, reason="because", on=on, amount=amount)
