"""Starting long operations as jobs (a rebuild, an audit export): the ``Operation.Requested``
event and its job commit together, so the job exists exactly when the request was accepted."""

from __future__ import annotations

import uuid

from eventsourcing.application import Application

from danvan.domain.base import Context, InvalidInput
from danvan.domain.commands import RequestOperation
from danvan.domain.operations import Operation, OperationKind
from danvan.infra.outbox import JobRequest
from danvan.projections.catalog import by_names


def new_operation_id() -> str:
    return str(uuid.uuid4())


def start_operation(store: Application, ctx: Context, command: RequestOperation) -> str:
    """Record the request and its job; answers the job's id (the operation's)."""
    if command.kind == OperationKind.REBUILD:
        try:
            by_names(list(command.projections))
        except KeyError as exc:
            raise InvalidInput({"projections": str(exc.args[0])}) from exc
    operation = Operation.request(ctx, command)
    store.save(operation, jobs=[JobRequest(command.kind.value, id=operation.id,
                                           tenant_id=ctx.tenant_id,
                                           created_by=ctx.actor.user_id,
                                           params=operation.params)])
    return str(operation.id)
