"""The query analysis behind the limits: depth, aliases, page sizes (literal, variable,
default) and cost, with fragments; validation and analysis cached per document."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from danvan.graphql.limits import (
    ANALYSES,
    DEFAULT_PAGE,
    DEVELOPMENT_RULES,
    MAX_COST,
    check,
    plan,
)
from danvan.graphql.schema import build_schema

SCHEMA = build_schema(production=False)._schema


def analyse(query: str, variables: dict[str, Any] | None = None) -> list[str]:
    return [e.message for e in check(SCHEMA, parse(query), None, variables, DEVELOPMENT_RULES)]


def test_the_api_md_query_costs_its_pages() -> None:
    found = plan(SCHEMA, parse("""query($code: ID!, $year: Int!) { province(code: $code) {
        summary(year: $year) { byField { field } }
        quotas(year: $year, first: 100) { edges { node { tenant { id } } } } } }"""), None)
    assert found.depth == 6 and found.aliases == 0
    assert found.errors({}) == []
    assert sum(1 for _ in found.terms) == 2  # byField (5) and quotas (100)


def test_page_sizes_come_from_literals_variables_and_defaults() -> None:
    query = """query($n: Int = 30) { province(code: "15") { quotas(year: 2026, first: $n) {
        edges { node { tenant { models { totalCount } } } } } } }"""
    document = parse(query)
    found = plan(SCHEMA, document, None)
    pages = [t.page for t in found.terms if t.page is not None]
    assert pages == [("n", 30), DEFAULT_PAGE]
    assert analyse(query) == []
    assert analyse(query, {"n": 100}) == []  # 100 + 100 × 50
    assert analyse(query, {"n": 101})[0].startswith("first must be between 0 and 100, got 101")
    assert "query cost" in analyse(query.replace("models {", "models(first: 100) {"),
                                   {"n": 100})[0]


def test_fragments_count_like_the_fields_they_hold() -> None:
    query = """query { provinces { ...P } }
      fragment P on Province { quotas(year: 2026, first: 100) { edges { node { ...Q } } } }
      fragment Q on TenantQuota { tenant { models(first: 100) { totalCount } } }"""
    message = analyse(query)[0]
    assert f"exceeds the budget of {MAX_COST}" in message
    assert str(34 + 34 * 100 + 34 * 100 * 100) in message


def test_depth_and_aliases_are_counted_through_fragments() -> None:
    deep = "query { provinces { ...A } } fragment A on Province { quotas(year: 1) { edges {" \
           " node { tenant { quota(year: 1) { tenant { quota(year: 1) { tenant { quota(year: 1)" \
           " { year } } } } } } } } } }"
    assert "depth 11 exceeds the limit of 10" in analyse(deep)[0]
    aliased = "query { " + " ".join(f"a{i}: provinces {{ code }}" for i in range(21)) + " }"
    assert analyse(aliased) == ["21 aliases exceed the limit of 20"]


def test_invalid_queries_get_graphql_cores_own_errors_first() -> None:
    assert "Cannot query field 'nope'" in analyse("{ nope }")[0]


def test_validation_and_analysis_are_cached_per_query_text() -> None:
    text = '{ province(code: "15") { code } }'
    before = ANALYSES.hits
    for _ in range(3):
        assert check(SCHEMA, parse(text), None, {}, DEVELOPMENT_RULES, text=text) == []
    assert ANALYSES.hits == before + 2


@pytest.mark.parametrize("value", ["x", None, True])
def test_a_page_size_that_is_not_an_int_is_left_to_the_type_checks(value: object) -> None:
    query = 'query($n: Int!) { province(code: "15") { quotas(year: 1, first: $n) { totalCount } } }'
    assert all("cost" not in m for m in analyse(query, {"n": value}))


def test_whole_jobs_count_in_the_cost_aliased_or_nested() -> None:
    verify = 'verifyAuditChain(tenantId: "t") { ok }'
    assert analyse("{ a: " + verify + " b: " + verify + " }") == []
    refused = analyse("{ a: " + verify + " b: " + verify + " c: " + verify + " }")
    assert "query cost 12000 exceeds the budget" in refused[0] and "verifyAuditChain" in refused[0]
    trail = 'auditTrail(tenantId: "t", first: 100) { totalCount }'
    assert analyse("{ " + " ".join(f"t{i}: {trail}" for i in range(9)) + " }") == []
    assert "query cost 11000" in analyse(
        "{ " + " ".join(f"t{i}: {trail}" for i in range(10)) + " }")[0]
    states = """{ tenant(id: "t") { models(first: 100) { edges { node {
        %s } } } } }"""
    at = 'stateAsOf(at: "2026-01-01T00:00:00+07:00") { version }'
    assert analyse(states % at) == []  # 100 + 100 × 20
    assert "query cost" in analyse(states % " ".join(f"s{i}: {at}" for i in range(5)))[0]
