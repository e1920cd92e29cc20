"""The hostile corpus through the command API: every member of every route's request body
(walked from the OpenAPI document the server publishes), the whole body, and every path
parameter, each on a call that succeeds with its good values (the role matrix's builders
make the state each call needs, and make it again after a value was accepted).

Per request: never a 5xx; a refusal is a problem+json and appends nothing. Accepted texts
are collected for ``readback``: after the projector caught up, each must be stored NFC and
read back through GraphQL (the aggregate's audit trail) as ``NFC(text)``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from psycopg import sql

from danvan.infra.event_store import EVENTS_TABLE
from tests.e2e.test_role_route_matrix import ROWS, Call, Row, allowed
from tests.e2e.world import API, YEN_BAI
from tests.reliability.findings import Findings, shown
from tests.reliability.fuzzing import OPENAPI_PATH, Tally
from tests.reliability.hostile import (
    CORPUS,
    WHOLE_BODY,
    Hostile,
    Path,
    label,
    members,
    pairs,
    spliced,
)
from tests.reliability.seeded import Seeded

ROLE_PREFERENCE = ("unit_user", "reviewer", "approver", "tenant_admin", "inspector",
                   "province_admin", "province_analyst")
"""Who sends each route's hostile calls: the first of these the policy allows."""
NOT_SHOWN = frozenset({"password", "new_password", "current_password", "person"})
"""Members whose accepted text GraphQL never shows (a hash; personal data is sealed)."""
WHOLE_BODIES_PER_ROUTE = 3
PROBLEM = "application/problem+json"


@dataclass
class Accepted:
    where: str
    member: str
    hostile: Hostile
    tenant_id: str
    aggregate_id: str


@dataclass
class HostileRun:
    tally: Tally = field(default_factory=Tally)
    accepted: list[Accepted] = field(default_factory=list)
    accepted_labels: dict[str, int] = field(default_factory=dict)


class RouteCalls:
    """A good call of one route, made again once a request consumed it (a 2xx)."""

    def __init__(self, seeded: Seeded, row: Row, role: str) -> None:
        self.seeded, self.row, self.role = seeded, row, role
        self._call: Call | None = None

    def current(self) -> Call:
        if self._call is None:
            self._call = self.row.build(self.seeded.env, YEN_BAI, self.role, True)
        return self._call

    def consumed(self) -> None:
        self._call = None


def request_schemas(client: httpx.Client) -> tuple[dict[tuple[str, str], Any], dict[str, Any]]:
    """Each operation's JSON request schema, by (METHOD, path under /api/v1); components."""
    document = client.get(OPENAPI_PATH).json()
    schemas: dict[tuple[str, str], Any] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            schemas[(method.upper(), path.removeprefix(API))] = schema
    return schemas, document.get("components", {}).get("schemas", {})


def hostile_rest(seeded: Seeded, everywhere: bool) -> HostileRun:
    run = HostileRun()
    client = seeded.env.client
    schemas, components = request_schemas(client)
    for index, row in enumerate(ROWS):
        if row.multipart:  # a file, not JSON: tests/e2e/test_imports_http.py, and the fuzz
            continue
        role = next(r for r in ROLE_PREFERENCE if allowed(r, row))
        calls = RouteCalls(seeded, row, role)
        good = calls.current().body
        schema = schemas.get((row.method, row.route))
        paths = members(schema, components, good) if schema else []
        for path, hostile in _plan(index, paths, everywhere):
            _send(seeded, run, calls, path, hostile)
        for name, hostile in _path_plan(index, row, everywhere):
            _send_path(seeded, run, calls, name, hostile)
    return run


def _plan(index: int, paths: list[Path], everywhere: bool) -> Iterator[tuple[Path, Hostile]]:
    if paths:
        yield from pairs(paths, CORPUS, everywhere)
    bodies = WHOLE_BODY if everywhere else [
        WHOLE_BODY[(index * WHOLE_BODIES_PER_ROUTE + k) % len(WHOLE_BODY)]
        for k in range(WHOLE_BODIES_PER_ROUTE)]
    for hostile in bodies:
        yield (), hostile


PATH_VALUES = tuple(h for h in CORPUS if h.is_text and len(h.fragment) < 4096)
"""Texts that fit in a URL (clients refuse longer ones before a server could)."""


def _path_plan(index: int, row: Row, everywhere: bool) -> Iterator[tuple[str, Hostile]]:
    names = [part[1:-1] for part in row.route.split("/") if part.startswith("{")]
    if not names:
        return
    if everywhere:
        for name in names:
            for hostile in PATH_VALUES:
                yield name, hostile
        return
    for k in range(3):
        yield names[(index + k) % len(names)], PATH_VALUES[(index * 3 + k) % len(PATH_VALUES)]


def _headers(seeded: Seeded, role: str) -> dict[str, str]:
    return {**seeded.env.world.as_(role, YEN_BAI), "content-type": "application/json"}


def _send(seeded: Seeded, run: HostileRun, calls: RouteCalls, path: Path,
          hostile: Hostile) -> None:
    call = calls.current()
    body = spliced(call.body, path, hostile)
    where = f"{calls.row.method} {calls.row.route}"
    member = label(path)
    response = _request(seeded, run, calls, call.path, body, where, member, hostile)
    if response is None or not 200 <= response.status_code < 300 or not calls.row.appends:
        return  # refused, or a read (which ignores a body and records nothing)
    calls.consumed()
    run.accepted_labels[hostile.label] = run.accepted_labels.get(hostile.label, 0) + 1
    answer = response.json() if response.content else {}
    top = str(path[0]) if path else ""
    if hostile.text and hostile.text.strip() and top not in NOT_SHOWN \
            and isinstance(answer, dict) and "id" in answer:
        aggregate = str(answer["id"])
        run.accepted.append(Accepted(where, member, hostile,
                                     _tenant_of(call.path) or aggregate, aggregate))


def _send_path(seeded: Seeded, run: HostileRun, calls: RouteCalls, name: str,
               hostile: Hostile) -> None:
    call = calls.current()
    route_parts = calls.row.route.split("/")
    actual = call.path.split("/")
    position = route_parts.index("{" + name + "}")
    actual[position] = quote(_path_bytes(hostile), safe="")
    body = json.dumps(call.body, ensure_ascii=False).encode() if call.body is not None else b""
    where = f"{calls.row.method} {calls.row.route}"
    response = _request(seeded, run, calls, "/".join(actual), body, where,
                        f"path {name}", hostile)
    if response is not None and 200 <= response.status_code < 300:
        calls.consumed()


def _path_bytes(hostile: Hostile) -> bytes:
    inner = hostile.fragment[1:-1]
    try:
        return str(json.loads(hostile.fragment)).encode("utf-8", "surrogatepass")
    except ValueError:
        return inner


def _request(seeded: Seeded, run: HostileRun, calls: RouteCalls, path: str, body: bytes,
             where: str, member: str, hostile: Hostile) -> httpx.Response | None:
    tally = run.tally
    shown_request = f"{calls.row.method} {path} [{member} = {hostile.label}] {shown(body)}"
    before = seeded.events()
    try:
        response = seeded.env.client.request(calls.row.method, API + path, content=body,
                                             headers=_headers(seeded, calls.role))
    except httpx.HTTPError as exc:
        tally.requests += 1
        tally.findings.add("no answer", where, caller=calls.role, status=0,
                           detail=repr(exc), request=shown_request)
        return None
    appended = seeded.events() - before
    tally.requests += 1
    status = response.status_code
    tally.statuses[status] += 1
    if status >= 500:
        tally.server_errors += 1
        tally.findings.add(f"{status} on {hostile.label}", where, caller=calls.role,
                           status=status, detail=response.text[:300], request=shown_request)
    if not 200 <= status < 300:
        tally.refused += 1
        if appended:
            tally.findings.add("appended on refusal", where, caller=calls.role,
                               status=status, detail=f"{appended} events",
                               request=shown_request)
        if status < 500 and not response.headers.get("content-type", "").startswith(PROBLEM):
            tally.findings.add("refusal not problem+json", where, caller=calls.role,
                               status=status, detail=response.text[:200],
                               request=shown_request)
    return response


def _tenant_of(path: str) -> str:
    """The tenant (or province scope) a command path acts in; empty for ``/tenants`` itself
    (the new tenant is then the aggregate)."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "tenants":
        return parts[2]
    if len(parts) > 2 and parts[1] == "provinces":
        return f"province:{parts[2]}"
    return ""


# --- after the run: the projector and the read back ----------------------------------------

def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def stored_payloads(seeded: Seeded, aggregate_id: str) -> list[Any]:
    """The aggregate's events as the store holds them (decoded JSON of each row)."""
    rows = seeded.env.conn.execute(sql.SQL(
        "SELECT state FROM {} WHERE originator_id = %s ORDER BY originator_version").format(
        sql.Identifier(EVENTS_TABLE)), (aggregate_id,)).fetchall()
    return [json.loads(bytes(state)) for (state,) in rows]


AUDIT_TRAIL = """query Trail($t: ID!, $a: ID, $after: String) {
  auditTrail(tenantId: $t, aggregateId: $a, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { reason payload } }
  }
}"""


def graphql_trail(seeded: Seeded, tenant_id: str, aggregate_id: str) -> list[Any] | str:
    """The aggregate's audit trail through GraphQL as the province admin, or the errors."""
    nodes: list[Any] = []
    after = None
    while True:
        response = seeded.env.client.post("/graphql", headers=seeded.headers("province_admin"),
                                          json={"query": AUDIT_TRAIL, "variables": {
                                              "t": tenant_id, "a": aggregate_id,
                                              "after": after}})
        body = response.json()
        if body.get("errors") or not (body.get("data") or {}).get("auditTrail"):
            return json.dumps(body.get("errors"), ensure_ascii=False)[:300]
        page = body["data"]["auditTrail"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def readback(seeded: Seeded, accepted: list[Accepted], findings: Findings) -> dict[str, int]:
    """Each accepted text: stored NFC, and found as ``NFC(text)`` in the aggregate's audit
    trail through GraphQL. Returns how many were checked, and how many could not be (a
    province-scoped aggregate has no tenant audit trail)."""
    checked = unreadable = 0
    trails: dict[tuple[str, str], list[Any] | str] = {}
    for item in accepted:
        expected = unicodedata.normalize("NFC", item.hostile.text or "").strip()
        stored = [s for payload in stored_payloads(seeded, item.aggregate_id)
                  for s in strings(payload)]
        for text in stored:
            if not unicodedata.is_normalized("NFC", text):
                findings.add("stored not NFC", item.where, caller="-", status=0,
                             detail=f"{item.member}: {text[:80]!r}",
                             request=f"{item.member} = {item.hostile.label}")
                break
        if item.tenant_id.startswith("province:"):
            unreadable += 1
            continue
        key = (item.tenant_id, item.aggregate_id)
        if key not in trails:
            trails[key] = graphql_trail(seeded, *key)
        trail = trails[key]
        checked += 1
        if isinstance(trail, str):
            findings.add("audit trail unreadable", item.where, caller="province_admin",
                         status=0, detail=trail, request=f"auditTrail of {item.aggregate_id}")
            continue
        shown_texts = list(strings(trail))
        if not any(expected in text for text in shown_texts):
            findings.add("accepted text not read back", item.where, caller="province_admin",
                         status=0, detail=f"{item.member}: NFC text not in the audit trail",
                         request=f"{item.member} = {item.hostile.label}")
    return {"readback checked": checked, "readback not applicable": unreadable}
