"""Hostile input: the corpus of ``tests/reliability/hostile.py`` (NUL, invalid UTF-8, lone
surrogates, NFD and NFC Vietnamese, 10k- and 100k-character strings, ``1E-999999999``,
``0E-20000``, a 17,000-digit fraction, ``1e400``, deep nesting, SQL and script fragments)
in every member of every command route, every path parameter, and every GraphQL argument.

Never a 5xx or an ``INTERNAL`` GraphQL error; a refusal is a problem+json and appends
nothing; whatever was accepted is stored NFC, read back through GraphQL as sent (NFC), and
applied by the projector, whose read models reach the log's head. Counts go to
``.data/reliability/hostile-*.json``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest

from danvan.graphql.schema import build_schema
from danvan.infra.database import ConnParams
from tests.e2e.world import GIA_PHU, ok
from tests.reliability import scale
from tests.reliability.hostile_graphql import hostile_graphql
from tests.reliability.hostile_rest import hostile_rest, readback, stored_payloads, strings
from tests.reliability.seeded import Seeded, seeded_world
from tests.reliability.summary import record

pytestmark = pytest.mark.timeout(300 if scale.current() is scale.SHORT else 3600)


@pytest.fixture(scope="module")
def seeded(admin_params: ConnParams, template_database: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with seeded_world(admin_params, template_database,
                      tmp_path_factory.mktemp("hostile")) as world:
        yield world


def test_hostile_values_in_every_member_are_refused_cleanly_or_stored_readable(
        seeded: Seeded) -> None:
    run = hostile_rest(seeded, scale.current().hostile_everywhere)
    tally = run.tally
    try:
        seeded.catch_up()
    except Exception as exc:
        tally.findings.add("projector failed", "catch-up", caller="projector", status=0,
                           detail=f"{type(exc).__name__}: {exc}", request="danvan projector")
    for name, lag in seeded.behind().items():
        tally.findings.add("read model short of the head", name, caller="projector",
                           status=0, detail=f"{lag} events behind", request="catch-up")
    checked = readback(seeded, run.accepted, tally.findings)
    record("hostile-rest", {"inputs": tally.requests, "5xx": tally.server_errors,
                            "refused": tally.refused,
                            "accepted": tally.requests - tally.refused, **checked,
                            "findings": len(tally.findings)},
           findings=tally.findings.as_dicts())
    assert tally.requests > 0
    assert not tally.findings, (
        f"{tally.requests} hostile inputs, {tally.server_errors} 5xx, statuses "
        f"{dict(tally.statuses)}, accepted {run.accepted_labels}\n{tally.findings.report()}")


def test_hostile_values_in_every_graphql_argument_never_fail_inside(seeded: Seeded) -> None:
    tally, arguments = hostile_graphql(seeded, str(build_schema(production=False)),
                                       scale.current().hostile_everywhere)
    record("hostile-graphql", {"inputs": tally.requests, "arguments": arguments,
                               "5xx": tally.server_errors,
                               "INTERNAL": tally.findings.count("INTERNAL"),
                               "findings": len(tally.findings)},
           findings=tally.findings.as_dicts())
    assert arguments > 20
    assert not tally.findings, (
        f"{tally.requests} hostile inputs in {arguments} arguments, {tally.server_errors} "
        f"5xx, statuses {dict(tally.statuses)}\n{tally.findings.report()}")


SEARCH = """query Search($t: ID!, $q: String) {
  tenant(id: $t) { models(search: $q, first: 10) { edges { node { id name } } } }
}"""


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


PHRASE = "Dân vận khéo: Bản Hồ giữ rừng đầu nguồn, đổi mới nếp sống"
"""Not in the corpus, and registered in the tenant the corpus leaves alone (Gia Phú), so the
search finds this model and no other."""


def test_a_name_sent_in_nfd_is_stored_nfc_and_found_by_search_in_either_form(
        seeded: Seeded) -> None:
    env = seeded.env
    model = env.world.register(GIA_PHU, name=unicodedata.normalize("NFD", PHRASE))
    seeded.catch_up()
    stored = [s for payload in stored_payloads(seeded, model["id"]) for s in strings(payload)]
    assert PHRASE in stored
    assert unicodedata.normalize("NFD", PHRASE) not in stored
    words = "Bản Hồ giữ rừng"
    for query in (words, unicodedata.normalize("NFD", words), _unaccented(words),
                  words.upper()):
        body = ok(env.client.post("/graphql", headers=env.world.as_("tenant_admin", GIA_PHU),
                                  json={"query": SEARCH, "variables": {
                                      "t": seeded.pools[GIA_PHU].tenant_id, "q": query}}))
        assert "errors" not in body, (query, body)
        found = {edge["node"]["id"]: edge["node"]["name"]
                 for edge in body["data"]["tenant"]["models"]["edges"]}
        assert found == {model["id"]: PHRASE}, (query, found)
