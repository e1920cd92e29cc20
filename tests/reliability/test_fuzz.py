"""Fuzz: schemathesis against ``/schema/openapi.json`` and ``/graphql`` of the live app, as
every role (and a foreign province admin, and nobody), with the seeded world's real ids.

Nothing it sends may be answered with a 5xx, answered outside the OpenAPI document (status,
content type, body schema), answered by GraphQL with an ``INTERNAL`` error, or, when
refused, leave an event in the store. ``make test`` sends a few cases per operation and
caller; ``make reliability`` many (``tests/reliability/scale.py``). The counts go to
``.data/reliability/fuzz-*.json``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from danvan.graphql.schema import build_schema
from danvan.infra.database import ConnParams
from tests.reliability import scale
from tests.reliability.fuzzing import fuzz_graphql, fuzz_openapi
from tests.reliability.seeded import Seeded, seeded_world
from tests.reliability.summary import record

pytestmark = pytest.mark.timeout(300 if scale.current() is scale.SHORT else 3600)


@pytest.fixture(scope="module")
def seeded(admin_params: ConnParams, template_database: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with seeded_world(admin_params, template_database,
                      tmp_path_factory.mktemp("fuzz")) as world:
        yield world


def test_the_openapi_operations_answer_every_caller_within_their_documented_contract(
        seeded: Seeded) -> None:
    chosen = scale.current()
    tally = fuzz_openapi(seeded, chosen.fuzz_examples, derandomize=chosen is scale.SHORT)
    record("fuzz-openapi", tally.counts(), findings=tally.findings.as_dicts())
    assert tally.requests > 0
    assert not tally.findings, (f"{tally.requests} requests, {tally.server_errors} 5xx, "
                                f"statuses {dict(tally.statuses)}\n{tally.findings.report()}")


def test_generated_graphql_queries_never_fail_inside_or_append(seeded: Seeded) -> None:
    chosen = scale.current()
    sdl = str(build_schema(production=False))
    tally = fuzz_graphql(seeded, sdl, chosen.graphql_examples,
                         derandomize=chosen is scale.SHORT)
    record("fuzz-graphql", tally.counts(), findings=tally.findings.as_dicts())
    assert tally.requests > 0
    assert not tally.findings, (f"{tally.requests} queries, {tally.server_errors} 5xx, "
                                f"statuses {dict(tally.statuses)}\n{tally.findings.report()}")
