"""Following jobs over HTTP and GraphQL: who may read a job (its creator, its scope's
readers, for an export those who read the audit trail: anyone else a 404), a tenant's jobs
newest first, a province's dead jobs for its administrators only, and the jobs' figures in
``/metrics`` and ``/health/ready``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up, codes, data, gql
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok
from tests.integration.jobs_support import job_store

JOBS = """query ($id: ID!, $after: String) { tenant(id: $id) {
  jobs(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind state dead } } } } }"""
DEAD = """query { province(code: "15") { deadJobs(first: 10) { totalCount
  edges { node { id kind state dead } } } } }"""


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def export(client: httpx.Client, world: World, code: str = YEN_BAI) -> str:
    tenant = world.tenants[code].id
    return str(ok(client.post(f"{API}/tenants/{tenant}/audit-exports",
                              headers=world.province, json={}), 202)["job_id"])


def test_a_job_is_read_by_its_creator_and_its_scopes_audit_readers_only(
        client: httpx.Client, world: World) -> None:
    job_id = export(client, world)
    body = ok(client.get(f"{API}/jobs/{job_id}", headers=world.province))
    assert {k: body[k] for k in ("id", "kind", "state", "progress", "result", "errors",
                                 "finished_at")} == {
        "id": job_id, "kind": "audit_export", "state": "queued",
        "progress": {"done": 0, "total": None}, "result": None, "errors": [],
        "finished_at": None}
    assert ok(client.get(f"{API}/jobs/{job_id}", headers=world.as_("inspector", YEN_BAI)))
    for reader in (world.as_("reviewer", YEN_BAI), world.as_("tenant_admin", YEN_BAI),
                   world.as_("inspector", GIA_PHU), world.analyst):
        refused = client.get(f"{API}/jobs/{job_id}", headers=reader)
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "not_found"
    assert client.get(f"{API}/jobs/not-a-uuid", headers=world.province).status_code == 404
    assert client.get(f"{API}/jobs/{job_id}").status_code == 401
    # no file before the job has made it
    assert client.get(f"{API}/jobs/{job_id}/file", headers=world.province).status_code == 404


def test_graphql_lists_a_tenants_jobs_and_the_provinces_dead_ones(
        client: httpx.Client, world: World, settings: Settings) -> None:
    jobs = [export(client, world) for _ in range(3)]
    export(client, world, GIA_PHU)
    catch_up(settings)
    tenant_id = world.tenants[YEN_BAI].id
    first = data(gql(client, world.as_("reviewer", YEN_BAI), JOBS, {"id": tenant_id}))
    page = first["tenant"]["jobs"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    rest = data(gql(client, world.as_("reviewer", YEN_BAI), JOBS,
                    {"id": tenant_id, "after": page["pageInfo"]["endCursor"]}))
    listed = [e["node"] for e in page["edges"] + rest["tenant"]["jobs"]["edges"]]
    assert [n["id"] for n in listed] == list(reversed(jobs))  # newest first
    assert {(n["kind"], n["state"], n["dead"]) for n in listed} == {
        ("audit_export", "QUEUED", False)}
    forged = gql(client, world.as_("reviewer", YEN_BAI), JOBS, {"id": tenant_id,
                                                                  "after": "bm9wZQ"})
    assert codes(forged) == ["BAD_USER_INPUT"]

    store = job_store(settings)
    claimed = store.claim(jobs[0], lease_seconds=60)
    assert claimed is not None
    store.die(claimed, "OperationalError: the database went away")
    dead = data(gql(client, world.province, DEAD))["province"]["deadJobs"]
    assert dead["totalCount"] == 1
    assert dead["edges"][0]["node"] == {"id": jobs[0], "kind": "audit_export",
                                        "state": "FAILED", "dead": True}
    refused = gql(client, world.analyst, DEAD)
    assert codes(refused) == ["FORBIDDEN"] and refused["data"]["province"]["deadJobs"] is None
    body = ok(client.get(f"{API}/jobs/{jobs[0]}", headers=world.province))
    assert body["state"] == "failed"
    assert body["errors"] == [{"row": None, "field": None,
                               "message": "OperationalError: the database went away"}]


def test_metrics_and_readiness_report_the_jobs(client: httpx.Client, world: World,
                                               settings: Settings) -> None:
    jobs = [export(client, world) for _ in range(2)]
    store = job_store(settings)
    claimed = store.claim(jobs[0], lease_seconds=60)
    assert claimed is not None and store.succeed(claimed, {"events": 1})
    store.flush_metrics()  # as the worker's heartbeat thread does every few seconds
    metrics = client.get("/metrics").text
    assert 'danvan_jobs_total{kind="audit_export",outcome="succeeded"} 1.0' in metrics
    assert "danvan_outbox_pending 2.0" in metrics  # no relay runs in this test
    assert 'danvan_job_latency_seconds_count{kind="audit_export"} 1.0' in metrics
    ready = client.get("/health/ready").json()
    assert ready["checks"]["jobs"]["outbox_pending"] == 2
