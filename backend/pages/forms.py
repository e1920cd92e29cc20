"""A page's form, as the REST command's body: decoded into the same msgspec DTO
(``backend/dto.py``) with the same bounds, then handed to the same service; the answer is a
303 back to the page with a message (post, redirect, get).

    return await submit(request, back, "unit.add", "Đã thêm đơn vị.",
                        lambda: tenancy.add_unit(store, ctx, unit_form.command()))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect

from danvan.backend.errors import Problem, msgspec_errors, to_problem
from danvan.backend.observability.metrics import track_command
from danvan.backend.pages.views import (
    POSITION,
    HttpRequest,
    field_messages,
    flash,
    problem_message,
)
from danvan.infra import saved_positions

T = TypeVar("T")
log = logging.getLogger(__name__)


async def form_fields(request: HttpRequest) -> dict[str, Any]:
    """The form's fields but the CSRF token (several values of a name: a list)."""
    form = await request.form()
    fields: dict[str, Any] = {}
    for key in form:
        if key == "_csrf_token":
            continue
        values = form.getall(key)
        fields[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return {k.removesuffix("[]"): v for k, v in fields.items()}


def as_body(fields: dict[str, Any], body: type[T]) -> T:
    """``fields`` as the command's body (strings converted where the DTO wants numbers or
    booleans), or a 422 naming each bad field."""
    try:
        given = {k: v for k, v in fields.items() if v not in ("", [])}
        return msgspec.convert(given, type=body, strict=False)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid_input", errors=msgspec_errors(exc)) from exc


async def submit(request: HttpRequest, back: str, command: str, done: str,
                 call: Callable[[], object], *, form: str | None = None,
                 values: dict[str, Any] | None = None) -> Redirect:
    """Run the service call on a worker thread; back to ``back`` with ``done`` or the
    refusal's message, as the API words it (with ``form``: each field's message shown next
    to that field of the form, and its ``values`` filled in again)."""
    with saved_positions.tracking() as saved:
        try:
            with track_command(command):
                await sync_to_thread(call)
        except Exception as refused:  # every refusal becomes the page's message
            return refused_back(request, back, refused, form=form, values=values)
        flash(request, done)
        if saved.position is not None:  # the next page reads its own write
            request.session[POSITION] = saved.position
    return Redirect(path=back, status_code=303)


def refused_back(request: HttpRequest, back: str, refused: Exception, *,
                 form: str | None = None, values: dict[str, Any] | None = None) -> Redirect:
    """Back to ``back`` with the refusal's message (and, for ``form``, its fields' and what
    was typed in them)."""
    if to_problem(refused).status >= 500:
        log.error("page_command_failed", exc_info=refused)
    flash(request, problem_message(request, refused), error=True, form=form,
          fields=field_messages(request, refused) if form else None, values=values)
    return Redirect(path=back, status_code=303)
