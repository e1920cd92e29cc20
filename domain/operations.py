"""Long operations started through the API (a rebuild of read models, the export of a
tenant's audit chain): one ``Operation.Requested`` event each, in the audit trail, whose
transaction also records the job that does it (``infra/outbox.py``). The operation's id is
the job's."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, InvalidInput, TenantAggregate
from danvan.domain.policies import province_of_scope

if TYPE_CHECKING:
    from danvan.domain.commands import RequestOperation


class OperationKind(StrEnum):
    REBUILD = "rebuild"
    """Rebuild read models (blue/green); asked for a province, acts on the deployment."""
    AUDIT_EXPORT = "audit_export"
    """Write one tenant's hash chain as JSON Lines, for inspectors."""
    REPORT = "report"
    """Write an official report (``domain/reports.py``) of a tenant or a province."""


class Operation(TenantAggregate):
    kind: str
    params: dict[str, Any]

    class Requested(TenantAggregate.Created):
        kind: str
        params: dict[str, Any]

    @classmethod
    def request(cls, ctx: Context, command: RequestOperation) -> Operation:
        province_scope = province_of_scope(ctx.tenant_id) is not None
        if command.kind == OperationKind.REBUILD and not province_scope:
            raise InvalidInput({"kind": "a rebuild is asked for a province"})
        if command.kind == OperationKind.AUDIT_EXPORT and province_scope:
            raise InvalidInput({"kind": "an audit export is asked for a tenant"})
        params: dict[str, Any] = {}
        if command.kind == OperationKind.REBUILD:
            params = {"projections": list(command.projections),
                      "stale_only": command.stale_only}
        if command.kind == OperationKind.REPORT:
            if command.report is None:
                raise InvalidInput({"kind": "a report names what it reports"})
            params = command.report.checked().params()
        return cls._create(cls.Requested, id=uuid.UUID(command.operation_id),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           kind=command.kind.value, params=params)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], kind: str,
                 params: dict[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.kind = kind
        self.params = params
