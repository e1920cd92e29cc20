"""The OpenAPI document (``/schema/openapi.json``) is true: a client or fuzzer may rely on it.

For every command route of the role × route matrix, the statuses the server is seen to answer
(the matrix's own success and 403, and here: no token, a body not sent as JSON, a malformed
body, a garbled ``Idempotency-Key``, an unknown id in the path) are documented for its
operation, each error as an ``application/problem+json`` ``ProblemDetails``; an action that
answers 200 is documented as 200, not 201. Request schemas carry the domain's enums, the
formats of dates and ids, and a bound on every string, integer, list and decimal.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from danvan.domain.model import Level
from danvan.domain.policies import Role
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.tenants import TenantKind
from danvan.domain.units import UnitKind
from danvan.infra.database import ConnParams
from tests.e2e.test_role_route_matrix import ALL_ROLES, ROWS, LiveEnv, Row, allowed, live_env
from tests.e2e.world import API, YEN_BAI

PROBLEM_JSON = "application/problem+json"
SCOPE_PARAMS = {"{tenant_id}", "{code}", "{year}", "{start_year}", "{end_year}"}


@pytest.fixture(scope="module")
def env(admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    with live_env(admin_params, template_database, tmp_path_factory.mktemp("openapi")) as built:
        yield built


@pytest.fixture(scope="module")
def document(env: LiveEnv) -> dict[str, Any]:
    response = env.client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed and a one-armed ``oneOf`` (an optional member)
    opened, keeping the constraints written beside it."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif len(schema.get("oneOf", ())) == 1:
            rest = {k: v for k, v in schema.items() if k != "oneOf"}
            schema = {**schema["oneOf"][0], **rest}
        else:
            return schema


def operation(document: dict[str, Any], row: Row) -> dict[str, Any]:
    return document["paths"][API + row.route][row.method.lower()]  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def test_every_error_response_is_a_problem_with_its_members(document: dict[str, Any]) -> None:
    problem = resolve(document, {"$ref": "#/components/schemas/ProblemDetails"})
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    errors = resolve(document, problem["properties"]["errors"])
    item = resolve(document, errors["items"])
    assert set(item["required"]) == {"field", "message"}
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if status[0] in "45" and path.startswith(API):
                assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
                schema = response["content"][PROBLEM_JSON]["schema"]
                assert schema == {"$ref": "#/components/schemas/ProblemDetails"}


def acting(row: Row) -> str:
    return next(role for role in ALL_ROLES if allowed(role, row))


def refused(row: Row) -> str:
    """A role refused the row, or one of another tenant where every role is allowed."""
    return next((role for role in ALL_ROLES if not allowed(role, row)), "foreign")


def with_unknown_ids(route: str, path: str) -> str | None:
    """``path`` with every id it names (but the tenant's) replaced by one naming nothing."""
    template, actual = route.split("/"), path.split("/")
    ids = [i for i, part in enumerate(template) if part.startswith("{")
           and part not in SCOPE_PARAMS]
    if not ids:
        return None
    for i in ids:
        actual[i] = str(uuid.uuid4())
    return "/".join(actual)


def observed(env: LiveEnv, row: Row) -> set[int]:
    """What the server answers this row's call made wrong in one way each."""
    role = acting(row)
    call = row.build(env, YEN_BAI, role, False)
    url = API + call.path
    other = refused(row)
    others = (env.world.as_(other) if other != "foreign"
              else env.foreign["province_admin"])
    answers = {env.client.request(row.method, url).status_code,
               env.send(row.method, call.path, others, call.body).status_code}
    headers = env.world.as_(role)
    if row.method != "GET":
        answers.add(env.client.request(row.method, url, content=b'{"x": 1}', headers={
            **headers, "Content-Type": "text/plain"}).status_code)
        answers.add(env.client.request(row.method, url, content=b"{", headers={
            **headers, "Content-Type": "application/json"}).status_code)
        answers.add(env.send(row.method, call.path, {**headers, "Idempotency-Key": "not a key"},
                             call.body).status_code)
    unknown = with_unknown_ids(row.route, call.path)
    if unknown is not None:
        answers.add(env.send(row.method, unknown, headers, call.body).status_code)
    if "{tenant_id}" in row.route:
        elsewhere = call.path.replace(env.tenant_id(), str(uuid.uuid4()))
        answers.add(env.send(row.method, elsewhere, env.world.as_("province_admin"),
                             call.body).status_code)
    return answers


@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in ROWS])
def test_what_the_server_answers_a_route_is_documented_for_it(
        env: LiveEnv, document: dict[str, Any], row: Row) -> None:
    documented = {int(status) for status in operation(document, row)["responses"]}
    seen = observed(env, row) | {row.status, 403}  # the matrix's own observations
    assert seen - documented == set(), (sorted(seen), sorted(documented))
    assert 500 not in seen


@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in ROWS])
def test_an_action_is_documented_as_200_and_a_create_as_201(document: dict[str, Any],
                                                           row: Row) -> None:
    successes = {s for s in operation(document, row)["responses"] if s.startswith("2")}
    if row.method == "PUT" and row.status == 201:  # targets: created once, then changed
        assert successes == {"200", "201"}
    elif row.route.endswith("/imports"):  # the same file again: the first job, 200
        assert successes == {"200", "202"}
    else:
        assert successes == {str(row.status)}


def test_public_routes_need_no_token_and_the_others_a_bearer_token(
        document: dict[str, Any]) -> None:
    assert document["security"] == [{"BearerToken": []}]
    for method, path, op in operations(document):
        public = "401" not in op["responses"] or op.get("operationId") == "auth_token"
        assert op.get("security") == ([{}] if public else None), (method, path)


def test_the_own_password_change_and_the_one_time_password_refusal_are_documented(
        document: dict[str, Any]) -> None:
    """``POST /auth/password`` answers a wrong current password (422) and too many tries
    (429), and is the one route a one-time password's token may call: every other
    authenticated operation documents the 403 ``password_change_required``."""
    own = document["paths"][f"{API}/auth/password"]["post"]["responses"]
    assert {"200", "401", "422", "429", "503"} <= set(own)
    assert "403" not in own
    for method, path, op in operations(document):
        needs_token = op.get("security") is None  # the document's default: a bearer token
        if path.startswith(API) and needs_token and path != f"{API}/auth/password":
            assert "403" in op["responses"], (method, path)
            assert "password_change_required" in op["responses"]["403"]["description"]


def test_readiness_documents_200_and_503(document: dict[str, Any]) -> None:
    assert set(document["paths"]["/health/ready"]["get"]["responses"]) == {"200", "503"}


def request_schema(document: dict[str, Any], row: Row) -> dict[str, Any]:
    content = operation(document, row)["requestBody"]["content"]
    body = content["multipart/form-data" if row.multipart else "application/json"]["schema"]
    return resolve(document, body)


def walk(document: dict[str, Any], schema: dict[str, Any], path: str = ""
         ) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every member schema under ``schema``, by dotted path (``[]`` for list items)."""
    schema = resolve(document, schema)
    yield path, schema
    for name, member in schema.get("properties", {}).items():
        yield from walk(document, member, f"{path}.{name}" if path else name)
    if "items" in schema:
        yield from walk(document, schema["items"], f"{path}[]")


def is_decimal(schema: dict[str, Any]) -> bool:
    arms = schema.get("oneOf", ())
    return {arm.get("type") for arm in arms} == {"number", "string"}


BODY_ROWS = [row for row in ROWS if row.method != "GET"]


@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in BODY_ROWS])
def test_every_member_of_a_request_schema_is_bounded(document: dict[str, Any],
                                                    row: Row) -> None:
    unbounded = []
    for path, schema in walk(document, request_schema(document, row)):
        kind = schema.get("type")
        if kind == "string" and "enum" not in schema and "format" not in schema:
            bounded = "maxLength" in schema and "pattern" in schema
        elif kind == "integer":
            bounded = "minimum" in schema and "maximum" in schema
        elif kind == "array":
            bounded = "maxItems" in schema
        elif is_decimal(schema):
            number, string = sorted(schema["oneOf"], key=lambda arm: arm["type"])
            bounded = ({"minimum", "maximum", "multipleOf"} <= number.keys()
                       and {"pattern", "maxLength"} <= string.keys())
        else:
            bounded = kind in ("object", "boolean") or "enum" in schema or "format" in schema
        if not bounded:
            unbounded.append((path, schema))
    assert unbounded == []


def member(document: dict[str, Any], operation_id: str, path: str) -> dict[str, Any]:
    for _method, _path, op in operations(document):
        if op.get("operationId") == operation_id:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            return dict(walk(document, schema))[path]
    raise AssertionError(f"no operation {operation_id}")


@pytest.mark.parametrize(("operation_id", "path", "values"), [
    ("registerModel", "field", Field), ("registerModel", "kind", ModelKind),
    ("modelAmend", "field", Field), ("onboardTenant", "kind", TenantKind),
    ("addUnit", "kind", UnitKind), ("modelRecognition", "level", Level),
    ("modelRevocation", "level", Level), ("createTenantUser", "roles[]", Role),
    ("changeUserRoles", "roles[]", Role), ("createProvinceUser", "roles[]", Role),
])
def test_enumerated_members_carry_the_domains_values(document: dict[str, Any],
                                                     operation_id: str, path: str,
                                                     values: Any) -> None:
    assert set(member(document, operation_id, path)["enum"]) == {v.value for v in values}


@pytest.mark.parametrize(("operation_id", "path", "form"), [
    ("registerModel", "start_date", "date"), ("registerModel", "end_date", "date"),
    ("registerModel", "evaluation_date", "date"), ("modelAmend", "start_date", "date"),
    ("schedulePlanTask", "due_date", "date"), ("modelRecognition", "decision_date", "date"),
    ("registerModel", "unit_id", "uuid"), ("createTenantUser", "unit_id", "uuid"),
    ("changeUserRoles", "unit_id", "uuid"),
])
def test_dates_and_ids_carry_their_format(document: dict[str, Any], operation_id: str,
                                          path: str, form: str) -> None:
    assert member(document, operation_id, path)["format"] == form
