"""Hostile queries are refused before anything runs, each with a clear error; production
serves neither introspection nor GraphiQL."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from litestar import Litestar

from danvan.backend.app import create_app
from danvan.backend.wiring import Services
from danvan.graphql.limits import MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_PAGE, MAX_TOKENS
from danvan.infra.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import MadeUser, login
from tests.e2e.graphql_support import catch_up, codes, gql

PRODUCTION_SECRET = "a-production-secret-of-forty-characters!"


@pytest.fixture
def analyst(client: httpx.Client, make_user: Callable[..., MadeUser]) -> dict[str, str]:
    return login(client, make_user("analyst.laocai", role="province_analyst"))


def refusal(body: dict[str, object]) -> str:
    errors = body["errors"]
    assert isinstance(errors, list) and len(errors) == 1, errors
    assert body.get("data") is None
    return str(errors[0]["message"])


def test_a_page_over_100_is_refused(client: httpx.Client, analyst: dict[str, str]) -> None:
    literal = gql(client, analyst, '{ province(code: "15") { quotas(year: 2026, first: 101) '
                                   "{ totalCount } } }")
    assert f"first must be between 0 and {MAX_PAGE}, got 101" in refusal(literal)
    assert codes(literal) == ["LIMIT_EXCEEDED"]
    variable = gql(client, analyst, 'query($n: Int!) { province(code: "15") { '
                                    "quotas(year: 2026, first: $n) { totalCount } } }", {"n": 5000})
    assert "got 5000 at province.quotas" in refusal(variable)
    negative = gql(client, analyst, '{ province(code: "15") { quotas(year: 2026, first: -1) '
                                    "{ totalCount } } }")
    assert "got -1" in refusal(negative)


def test_too_deep_a_query_is_refused(client: httpx.Client, analyst: dict[str, str]) -> None:
    nested = "tenant { quota(year: 2026) { " * 6 + "year" + " } }" * 6
    query = ('{ province(code: "15") { quotas(year: 2026, first: 1) { edges { node { '
             + nested + " } } } } }")
    message = refusal(gql(client, analyst, query))
    assert f"exceeds the limit of {MAX_DEPTH}" in message and "depth" in message


def test_too_many_aliases_are_refused(client: httpx.Client, analyst: dict[str, str]) -> None:
    fields = " ".join(f'p{i}: province(code: "15") {{ code }}' for i in range(MAX_ALIASES + 1))
    body = gql(client, analyst, "{ " + fields + " }")
    assert f"{MAX_ALIASES + 1} aliases exceed the limit of {MAX_ALIASES}" in refusal(body)


def test_too_many_tokens_are_refused(client: httpx.Client, analyst: dict[str, str]) -> None:
    query = "{ provinces { " + " ".join(["code"] * MAX_TOKENS) + " } }"
    body = gql(client, analyst, query)
    assert f"more than {MAX_TOKENS} tokens" in refusal(body)


def test_a_query_costing_more_than_the_budget_is_refused(
        client: httpx.Client, analyst: dict[str, str], settings: Settings) -> None:
    catch_up(settings)
    query = """{ provinces { quotas(year: 2026, first: 100) { edges { node {
      tenant { models(first: 100) { edges { node { id } } } } } } } } }"""
    message = refusal(gql(client, analyst, query))
    assert f"exceeds the budget of {MAX_COST}" in message
    assert str(34 + 34 * 100 + 34 * 100 * 100) in message
    fine = gql(client, analyst, """{ provinces { quotas(year: 2026, first: 100) {
      edges { node { tenant { models(first: 1) { totalCount } } } } } } }""")
    assert "errors" not in fine


def test_batches_and_mutations_are_not_accepted(client: httpx.Client,
                                                analyst: dict[str, str]) -> None:
    batch = client.post("/graphql", headers=analyst,
                        json=[{"query": "{ provinces { code } }"}] * 2)
    assert batch.status_code == 400
    assert client.post("/graphql", headers=analyst, content=b"{not json").status_code == 400
    mutation = client.post("/graphql", headers=analyst, json={"query": "mutation { x }"})
    assert mutation.status_code == 400 and "only queries" in mutation.text


@pytest.fixture
def production_api(database_url: str, tmp_path: object, services: Services,
                   serve: Callable[[Litestar], str]) -> str:
    settings = make_settings(database_url, tmp_path, env="production",  # type: ignore[arg-type]
                             secret_key=PRODUCTION_SECRET)
    services.settings = settings
    return serve(create_app(settings, services=services))


def test_production_serves_neither_introspection_nor_graphiql(
        production_api: str, make_user: Callable[..., MadeUser], settings: Settings) -> None:
    from danvan.backend.auth.tokens import issue_token
    from danvan.domain.policies import RoleGrant

    token = issue_token(user_id="u", username="u", secret=PRODUCTION_SECRET,
                        lifetime_seconds=60, grants=[RoleGrant("province_analyst", "15")])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=production_api, timeout=30) as http:
        body = gql(http, headers, "{ __schema { queryType { name } } }")
        assert body["data"] is None
        assert "introspection has been disabled" in body["errors"][0]["message"]
        assert "errors" not in gql(http, headers, "{ provinces { code } }")
        page = http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code in (401, 404, 405) and "graphiql" not in page.text.lower()


def test_development_serves_graphiql_and_introspection(client: httpx.Client,
                                                       analyst: dict[str, str]) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    body = gql(client, analyst, "{ __schema { queryType { name } } }")
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}
