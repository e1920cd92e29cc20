"""Schemathesis against the live app, as every caller, with real ids in the paths.

``fuzz_openapi`` loads ``/schema/openapi.json`` from the server, and for each operation and
each caller draws cases (schemathesis's positive and negative generation, the path's ids
taken from the seeded world most of the time) and sends them one at a time. Each response
goes through schemathesis's checks (no server error; status, content type and body as the
document says) and one of ours: a refused request (any status but 2xx) appends no event to
the store, measured by counting the events before and after it. ``fuzz_graphql`` does the
same for every root field of the GraphQL schema (ids drawn from the world): no 5xx, a JSON
envelope, no ``INTERNAL`` error, no event appended.

Findings are collected rather than raised, so one run reports every kind of failure with
its smallest request, and the counts (requests, 5xx) go to the summary.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from danvan.graphql.errors import INTERNAL
from tests.reliability.findings import Findings, shown
from tests.reliability.seeded import CALLERS, Seeded

OPENAPI_PATH = "/schema/openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
PATH_CHOICES = 6
"""Sets of real path ids prepared per operation (plus one left to the generator)."""
TIMEOUT = 60


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    refused: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: Findings = field(default_factory=Findings)

    def counts(self) -> dict[str, int]:
        return {"requests": self.requests, "5xx": self.server_errors,
                "refused": self.refused, "findings": len(self.findings)}


Send = Callable[[Seeded, Tally, requests.Session, Any, str, dict[str, str]], None]


def _sender(send: Send, seeded: Seeded, tally: Tally, session: requests.Session,
            caller: str) -> Callable[[Any], None]:
    headers = seeded.headers(caller)

    def one(case: Any) -> None:
        send(seeded, tally, session, case, caller, headers)

    return one


def _examples(strategy: Any, examples: int, derandomize: bool,
              one: Callable[[Any], None]) -> Callable[[], None]:
    """``one(case)`` for ``examples`` cases drawn from ``strategy`` (hypothesis runs it;
    nothing raises inside, so every example is sent and none is shrunk)."""
    return settings(max_examples=examples, deadline=None, database=None,
                    derandomize=derandomize, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck), print_blob=False)(
        given(case=strategy)(one))


def _cases(operation: Any, choices: list[dict[str, Any]]) -> Any:
    """Positive and negative cases of ``operation``, its path ids drawn from ``choices``."""
    return st.one_of(*(st.sampled_from(choices).flatmap(
        lambda ids, mode=mode: operation.as_strategy(generation_mode=mode,
                                                     path_parameters=ids or None))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))


def fuzz_openapi(seeded: Seeded, examples: int, *, derandomize: bool = True,
                 seed: int = 9) -> Tally:
    tally = Tally()
    base = seeded.base_url
    schema = schemathesis.openapi.from_url(base + OPENAPI_PATH, timeout=TIMEOUT)
    rng = random.Random(seed)
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        names = re.findall(r"{(\w+)}", operation.path)
        choices: list[dict[str, Any]] = [seeded.path_values(rng, names)
                                         for _ in range(PATH_CHOICES)]
        if names:
            choices.append({})  # let the generator make up the ids too
        strategy = _cases(operation, choices)
        for caller in CALLERS:
            _examples(strategy, examples, derandomize,
                      _sender(_send_openapi, seeded, tally, session, caller))()
    session.close()
    return tally


def _send_openapi(seeded: Seeded, tally: Tally, session: requests.Session, case: Any,
                  caller: str, headers: dict[str, str]) -> None:
    where = case.operation.label
    if any(name.lower() == "authorization" for name in (case.headers or {})):
        caller = f"{caller} (its token replaced by a generated Authorization header)"
    before = seeded.events()
    try:
        response = case.call(base_url=seeded.base_url, session=session, headers=headers,
                             timeout=TIMEOUT)
    except requests.RequestException as exc:
        tally.requests += 1
        tally.findings.add("no answer", where, caller=caller, status=0, detail=repr(exc),
                           request=_request(case))
        return
    appended = seeded.events() - before
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    request = _request(case)
    if response.status_code >= 500:
        tally.server_errors += 1
    if not 200 <= response.status_code < 300:
        tally.refused += 1
        if appended:
            tally.findings.add("appended on refusal", where, caller=caller,
                               status=response.status_code,
                               detail=f"{appended} events appended", request=request)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            _add_failure(tally, failure, where, caller, response, request)
    except Failure as failure:
        _add_failure(tally, failure, where, caller, response, request)


def _add_failure(tally: Tally, failure: Failure, where: str, caller: str,
                 response: requests.Response, request: str) -> None:
    kind = failure.title
    if response.status_code >= 500:
        kind = "5xx"
    elif "status code" in kind.lower():
        kind = f"{kind} {response.status_code}"
    tally.findings.add(kind, where, caller=caller, status=response.status_code,
                       detail=response.text[:300], request=request)


def _request(case: Any) -> str:
    body = getattr(case, "body", None)
    body_text = "" if body is None or type(body).__name__ == "NotSet" else " " + shown(body)
    query = f"?{case.query}" if getattr(case, "query", None) else ""
    return f"{case.method.upper()} {case.formatted_path}{query}{body_text}"


# --- GraphQL -------------------------------------------------------------------------------

def fuzz_graphql(seeded: Seeded, schema_text: str, examples: int, *,
                 derandomize: bool = True) -> Tally:
    """Generated queries for each root field, as each caller; ids from the world."""
    from schemathesis.graphql import nodes
    from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS

    tally = Tally()
    ids = [*seeded.all_ids(), "15", "01"]
    previous = CUSTOM_SCALARS.get("ID")
    schemathesis.graphql.scalar("ID", st.one_of(
        st.sampled_from(ids), st.sampled_from(ids), st.text(max_size=40)).map(nodes.String))
    try:
        schema = schemathesis.graphql.from_file(schema_text)
        session = requests.Session()
        for result in schema.get_all_operations():
            operation = result.ok()
            strategy = operation.as_strategy()
            for caller in CALLERS:
                _examples(strategy, examples, derandomize,
                          _sender(_send_graphql, seeded, tally, session, caller))()
        session.close()
    finally:
        if previous is None:
            CUSTOM_SCALARS.pop("ID", None)
        else:
            CUSTOM_SCALARS["ID"] = previous
    return tally


def _send_graphql(seeded: Seeded, tally: Tally, session: requests.Session, case: Any,
                  caller: str, headers: dict[str, str]) -> None:
    where = case.operation.label
    query = case.body.get("query", "") if isinstance(case.body, dict) else str(case.body)
    request = f"POST /graphql {shown({'query': query})}"
    before = seeded.events()
    try:
        response = session.post(seeded.base_url + "/graphql", json={"query": query},
                                headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        tally.requests += 1
        tally.findings.add("no answer", where, caller=caller, status=0, detail=repr(exc),
                           request=request)
        return
    appended = seeded.events() - before
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    status = response.status_code
    if status >= 500:
        tally.server_errors += 1
        tally.findings.add("5xx", where, caller=caller, status=status,
                           detail=response.text[:300], request=request)
    if appended:
        tally.findings.add("appended by a query", where, caller=caller, status=status,
                           detail=f"{appended} events", request=request)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        if status != 401 and status < 500:
            tally.findings.add("not a GraphQL answer", where, caller=caller, status=status,
                               detail=response.text[:300], request=request)
        return
    errors = body.get("errors") or []
    if errors:
        tally.refused += 1
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if code == INTERNAL:
            tally.findings.add("INTERNAL error", where, caller=caller, status=status,
                               detail=json.dumps(error, ensure_ascii=False)[:300],
                               request=request)
