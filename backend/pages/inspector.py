"""``/thanh-tra/{tenant_id}``: the inspector's desk: the tenant's audit trail with filters
(actor, aggregate, type, dates), a model's history and its state at a moment, and the hash
chain check with its result. Read through the read API (``auditTrail``, ``model``,
``verifyAuditChain``), for whoever may read the tenant's trail (its inspectors, the
province's admins).

Query parameters: ``nguoi`` (actor id), ``doi-tuong`` (aggregate id), ``loai`` (event type),
``tu`` and ``den`` (dates, Vietnam), ``sau`` (the page's cursor), ``mo-hinh`` (a model's id:
its history) and ``luc`` (a moment: the model's state then).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from litestar import Controller, get, post
from litestar.response import Template

from danvan.backend.auth.guards import allow
from danvan.backend.pages.labels import VIETNAM
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, page, read
from danvan.domain.base import InvalidInput
from danvan.domain.policies import Action

PAGE = 50

TRAIL = """
query Trail($tenant: ID!, $from: DateTime, $to: DateTime, $actor: ID, $aggregate: ID,
            $type: String, $after: String) {
  tenant(id: $tenant) { id code name }
  auditTrail(tenantId: $tenant, from: $from, to: $to, actor: $actor, aggregateId: $aggregate,
             type: $type, first: 50, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { position aggregateId aggregateType type version at
                   actor { id role } reason hash prevHash } }
  }
}"""

MODEL = """
query ModelHistory($id: ID!, $at: DateTime!, $asOf: Boolean!) {
  model(id: $id) {
    id name state year tenantId
    history { version at type actor { id role } reason }
    stateAsOf(at: $at) @include(if: $asOf) { at version state name lastEventAt }
  }
}"""

VERIFY = """
query Verify($tenant: ID!) {
  verifyAuditChain(tenantId: $tenant) {
    ok eventsChecked firstBrokenPosition lastPosition headPosition sealsChecked
    sealsUnverified problems warnings
  }
}"""


def _text(request: HttpRequest, name: str, limit: int = 100) -> str | None:
    return (request.query_params.get(name) or "").strip()[:limit] or None


def _day(request: HttpRequest, name: str) -> date | None:
    text = _text(request, name, 10)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as bad:
        raise InvalidInput({name: "a date, YYYY-MM-DD"}) from bad


def _moment(request: HttpRequest, name: str) -> datetime | None:
    text = _text(request, name, 32)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as bad:
        raise InvalidInput({name: "a moment, YYYY-MM-DDTHH:MM"}) from bad
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def filters(request: HttpRequest) -> dict[str, Any]:
    start, end = _day(request, "tu"), _day(request, "den")
    return {
        "actor": _text(request, "nguoi"), "aggregate": _text(request, "doi-tuong"),
        "type": _text(request, "loai"), "after": _text(request, "sau", 400),
        "from": datetime.combine(start, time(), VIETNAM).isoformat() if start else None,
        "to": (datetime.combine(end + timedelta(days=1), time(), VIETNAM).isoformat()
               if end else None),
    }


async def desk(request: HttpRequest, tenant_id: str,
               verdict: dict[str, Any] | None = None) -> Template:
    given = filters(request)
    found = await read(request, TRAIL, {"tenant": tenant_id, **given})
    history = None
    model_id, at = _text(request, "mo-hinh"), _moment(request, "luc")
    if model_id:
        history = (await read(request, MODEL, {
            "id": model_id, "at": (at or datetime.now(VIETNAM)).isoformat(),
            "asOf": at is not None}))["model"]
    shown = {k: request.query_params.get(k, "") for k in
             ("nguoi", "doi-tuong", "loai", "tu", "den", "mo-hinh", "luc")}
    return page(request, "inspector.html", tenant=found["tenant"] or {"id": tenant_id},
                trail=found["auditTrail"], shown=shown, history=history, verdict=verdict)


class InspectorDesk(Controller):
    path = "/thanh-tra/{tenant_id:str}"
    include_in_schema = False
    guards = [signed_in, allow(Action.AUDIT_READ)]  # noqa: RUF012

    @get("/", name="inspector_desk")
    async def desk_page(self, request: HttpRequest) -> Template:
        return await desk(request, str(request.path_params["tenant_id"]))

    @post("/kiem-tra", status_code=200)
    async def verify(self, request: HttpRequest) -> Template:
        """Recompute the tenant's hash chain (a read, but a heavy one: a form, not a link)."""
        tenant_id = str(request.path_params["tenant_id"])
        verdict = (await read(request, VERIFY, {"tenant": tenant_id}))["verifyAuditChain"]
        return await desk(request, tenant_id, verdict)
