"""Turning a service's ``CommandResult`` into the HTTP answer the contract promises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

from danvan.backend.http.preconditions import etag
from danvan.backend.observability.metrics import track_command
from danvan.backend.services.results import CommandResult, DecisionResult

CREATED_WHEN_NEW = {201: ResponseSpec(
    data_container=dict[str, Any], generate_examples=False,
    description="Created: the first PUT for this scope and year (later ones answer 200).")}
"""The extra success of a ``PUT`` that creates what it sets the first time."""


def command_response(result: CommandResult | DecisionResult) -> Response[dict[str, Any]]:
    """201 for a create, 200 otherwise, with the aggregate's id, new version and state (each
    aggregate's, for a decision covering several)."""
    headers = etag(result.version) if isinstance(result, CommandResult) else {}
    return Response(result.body(), status_code=201 if result.created else 200, headers=headers)


def run_command(command_type: str, call: Callable[[], CommandResult | DecisionResult]
                ) -> Response[dict[str, Any]]:
    """Runs a service call, counting it by type and outcome."""
    with track_command(command_type):
        return command_response(call())
