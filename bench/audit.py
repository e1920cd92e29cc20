"""``danvan bench audit``: the inspector's side at speed, each figure beside a baseline read or
computed in the same run.

    danvan bench audit [--scale small|province|national] [--province 15] [--sample 50000]
                       [--seconds 10] [--json]

The data set is ``danvan bench graphql``'s (kept between runs, read models caught up). The
tenants of ``--province`` with the most events are taken until ``--sample`` events are in hand,
and each of them is:

- streamed over GraphQL: the ``auditTrail`` subscription (``graphql-transport-ws``, read 1,000
  events at a time, messages of at most 512 KiB) to its end, one client decoding each message
  with msgspec; and the ``auditTrail`` query paged through to its end at the largest page the
  API allows (100), one client (``bench.load_client``'s, which costs the shared cores little)
  — both against ``danvan serve`` (two workers, answers not cached), beside the raw ``select``
  of the same columns from the audit read model, fetched whole; and where the stream's CPU went, per
  1,000 events (PostgreSQL's backends, ``danvan serve``, the client: ``bench/cpu.py``), with the
  most events a second the machine's cores could stream at that cost, the client on them too
  and elsewhere (an upper bound: every core busy);
- exported: ``infra.audit_verify.export_tenant`` (what ``danvan audit export`` and the export
  job write), into a writer that discards — beside the raw ``select`` of the event rows it
  reads;
- verified: ``infra.audit_verify.verify_tenant`` (what ``verifyAuditChain`` runs) — beside the
  raw hash rate: ``audit_chain.event_hash`` over the same rows already in memory, the work no
  verification can skip.

``stateAsOf`` is asked of one model with ``--model-events`` events (a model of the data set is
topped up with progress reports through the domain to reach that many; the data set keeps
them), at the moment of its last event, p50 and p95 — beside the raw ``select`` of its events
from the store. Targets (issue 15): the streamed trail and the export >= 100,000 events/s and
>= 0.5 of the raw select; the paged trail >= 0.5 of the raw select (100,000 events/s would be
1,000 requests a second from one client: API.md's page cap makes it a stream's target);
verification >= 100,000 events/s; ``stateAsOf`` p95 < 5 ms.

The full rebuild (``danvan rebuild`` of every read model, blue/green, in a child process) runs
over as many generated events as the data set (at least 200k, at most 1M), in a database of
its own (``danvan_bench_audit_<N>``, kept), beside the raw ``select`` of the same log; its rate is
extrapolated to the 10 M-event national log (target: under 6 minutes). The national figure
itself is ``danvan bench projections --events 10000000``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, TypeVar, cast

import msgspec
import psycopg

from bench.cpu import database_backends, each_process_cpu, spent_since
from bench.load_client import Blocking
from bench.registry import Figure
from bench.serving import Served

DESCRIPTION = ("The audit side: trail over GraphQL, export, chain verification and stateAsOf "
               "against raw selects and the raw hash rate")
EVENTS = {"small": 20_000, "province": 200_000, "national": 10_000_000}
RATE_TARGET = 100_000.0
STATE_AS_OF_P95_MS = 5.0
TRAIL_PAGE = """{ pageInfo { hasNextPage endCursor }
  edges { node { position tenantId aggregateId type version at actor { id role }
    correlationId causationId reason payload hash prevHash } } }"""
"""A page of the trail with every field API.md gives its nodes."""
TRAIL = ("query Trail($t: ID!, $after: String) { auditTrail(tenantId: $t, first: 100, "
         f"after: $after) {TRAIL_PAGE} }}")
TRAIL_STREAM = f"subscription Trail($t: ID!) {{ auditTrail(tenantId: $t) {TRAIL_PAGE} }}"
STATE_AS_OF = """query State($id: ID!, $at: DateTime!) { model(id: $id) {
  stateAsOf(at: $at) { version state lastEventAt } } }"""
EVENT_ROWS = ("SELECT notification_id, originator_id, originator_version, topic, state, "
              "prev_hash, hash FROM public.danvan_events WHERE tenant_id = %s "
              "ORDER BY notification_id")
TRAIL_ROWS = ("SELECT position, tenant_id, aggregate_id, type, version, at, actor_id, "
              "actor_role, correlation_id, causation_id, reason, payload, hash, prev_hash "
              "FROM danvan_read.audit_log WHERE tenant_id = %s ORDER BY position")
LOG_ROWS = ("SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM public.danvan_events ORDER BY notification_id")
NATIONAL_EVENTS = 10_000_000
T = TypeVar("T")
REBUILD_MINUTES = 6.0
REBUILD_BATCH = 20_000
REBUILD_EVENTS = (200_000, 1_000_000)
"""The rebuild's log, whatever the data set's size, within these bounds: over 20k events its
fixed costs (schemas, indexes, the switch) made the rate anything from 6k to 39k/s, run to
run; a 10M log is ``danvan bench projections --events 10000000``'s to build."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=None,
                        help="events in the data set (default by --scale: 20k, 200k, 10M)")
    parser.add_argument("--province", default="15", help="province code (default 15)")
    parser.add_argument("--sample", type=int, default=50_000,
                        help="events of the province's largest tenants to stream (default 50k)")
    parser.add_argument("--model-events", type=int, default=50,
                        help="events of the model asked for its stateAsOf (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of the stateAsOf phase")
    parser.add_argument("--fresh", action="store_true", help="rebuild the data set")


def say(message: str) -> None:
    print(f"bench audit: {message}", file=sys.stderr, flush=True)


class _Discard:
    """A text sink that keeps nothing (the export's writes, less the disk)."""

    def write(self, text: str) -> int:
        return len(text)


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("nan")


def _timed(action: Callable[[], int], *, warm: bool = False) -> tuple[int, float]:
    if warm:
        action()
    started = time.perf_counter()
    count = action()
    return count, time.perf_counter() - started


def largest_tenants(conn: Any, province: str, sample: int) -> list[tuple[str, int]]:
    """The province's tenants with the most events, until ``sample`` events are covered."""
    rows = conn.execute(
        "SELECT a.tenant_id, count(*) FROM danvan_read.audit_index a "
        "JOIN danvan_read.tenants t ON t.tenant_id = a.tenant_id "
        "WHERE t.province_code = %s GROUP BY a.tenant_id ORDER BY 2 DESC", (province,)).fetchall()
    chosen, total = [], 0
    for tenant_id, count in rows:
        if total >= sample:
            break
        chosen.append((str(tenant_id), int(count)))
        total += int(count)
    if not chosen:
        raise RuntimeError(f"province {province} has no events in the data set")
    return chosen


def raw_select(conn: Any, query: str, tenants: list[tuple[str, int]]) -> int:
    """Rows fetched whole, in binary (bytes as bytes: the fastest plain read)."""
    return sum(len(conn.execute(query, (t,), binary=True).fetchall()) for t, _ in tenants)


def ask(client: Blocking, query: str, variables: dict[str, Any]) -> Any:
    """The decoded answer (msgspec, as a client streaming the trail would, not json)."""
    status, content = client.post("/graphql", msgspec.json.encode(
        {"query": query, "variables": variables}))
    if status != 200:
        raise RuntimeError(f"/graphql answered {status}: {content[:300]!r}")
    return msgspec.json.decode(content)


def page_trail(client: Blocking, tenants: list[tuple[str, int]]) -> int:
    count = 0
    for tenant_id, _ in tenants:
        after = None
        while True:
            body = ask(client, TRAIL, {"t": tenant_id, "after": after})
            if body.get("errors"):
                raise RuntimeError(f"auditTrail answered {body['errors']}")
            trail = body["data"]["auditTrail"]
            count += len(trail["edges"])
            if not trail["pageInfo"]["hasNextPage"]:
                break
            after = trail["pageInfo"]["endCursor"]
    return count


class _Actor(msgspec.Struct):
    id: str | None
    role: str | None


class _Node(msgspec.Struct, rename="camel"):
    """An event of the trail as the client keeps it: every field ``TRAIL_STREAM`` asks for."""

    position: int
    tenant_id: str
    aggregate_id: str
    type: str
    version: int
    at: str
    actor: _Actor
    correlation_id: str | None
    causation_id: str | None
    reason: str | None
    payload: dict[str, Any]
    hash: str
    prev_hash: str


class _Edge(msgspec.Struct):
    node: _Node


class _PageInfo(msgspec.Struct, rename="camel"):
    has_next_page: bool
    end_cursor: str | None


class _Trail(msgspec.Struct, rename="camel"):
    page_info: _PageInfo
    edges: list[_Edge]


class _Data(msgspec.Struct, rename="camel"):
    audit_trail: _Trail


class _Payload(msgspec.Struct):
    data: _Data | None = None
    errors: list[Any] | None = None


class _Message(msgspec.Struct):
    """A ``graphql-transport-ws`` message from the server."""

    type: str
    id: str | None = None
    payload: _Payload | list[Any] | None = None


def subscribe_trail(base: str, bearer: str, tenants: list[tuple[str, int]]) -> int:
    """The ``auditTrail`` subscription of each tenant to its end, one socket, one client,
    each message decoded whole into typed structs (``bench.socket_client``: lean, as
    ``bench.load_client`` is for HTTP)."""
    from bench.socket_client import TextSocket

    decode = msgspec.json.Decoder(_Message).decode
    encode = msgspec.json.encode
    count = 0
    with TextSocket.open(base, "/graphql", "graphql-transport-ws") as socket:
        socket.send(encode({"type": "connection_init",
                            "payload": {"Authorization": f"Bearer {bearer}"}}).decode())
        if decode(socket.recv()).type != "connection_ack":
            raise RuntimeError("the socket was not acknowledged")
        for number, (tenant_id, _) in enumerate(tenants):
            socket.send(encode({"id": str(number), "type": "subscribe", "payload": {
                "query": TRAIL_STREAM, "variables": {"t": tenant_id}}}).decode())
            while True:
                message = decode(socket.recv())
                if message.type == "ping":
                    socket.send('{"type":"pong"}')
                    continue
                if message.type != "next":
                    break
                payload = message.payload
                if not isinstance(payload, _Payload) or payload.errors or payload.data is None:
                    raise RuntimeError(f"auditTrail answered {payload}")
                count += len(payload.data.audit_trail.edges)
            if message.type != "complete":
                raise RuntimeError(f"the stream ended with {message}")
    return count


def export_all(conn: Any, tenants: list[tuple[str, int]]) -> int:
    from danvan.infra.audit_verify import export_tenant

    sink = cast(IO[str], _Discard())  # export_tenant only writes to it
    return sum(export_tenant(conn, t, sink) for t, _ in tenants)


def verify_all(conn: Any, tenants: list[tuple[str, int]]) -> int:
    from danvan.infra.audit_verify import verify_tenant

    count = 0
    for tenant_id, _ in tenants:
        verdict = verify_tenant(conn, tenant_id)
        if not verdict.ok:
            raise RuntimeError(f"the chain of {tenant_id} does not verify: {verdict}")
        count += verdict.events_checked
    return count


def hash_rate(conn: Any, tenants: list[tuple[str, int]]) -> tuple[int, float]:
    """Events hashed and seconds: ``event_hash`` over every row, fetched beforehand."""
    from danvan.infra.audit_chain import event_hash

    rows = [r for t, _ in tenants for r in conn.execute(EVENT_ROWS, (t,)).fetchall()]
    started = time.perf_counter()
    for nid, oid, version, topic, state, prev, _ in rows:
        event_hash(bytes(prev), nid, oid, version, topic, bytes(state))
    return len(rows), time.perf_counter() - started


@dataclass(frozen=True)
class CpuSpent:
    """CPU seconds a phase cost on this machine, by side."""

    database: float
    """PostgreSQL's client backends of the bench's database (the server's connections)."""
    server: float
    """``danvan serve`` and its workers."""
    client: float
    """This process."""

    @property
    def total(self) -> float:
        return self.database + self.server + self.client


def cpu_spent(phase: Callable[[], T], server: Served, watcher: Any) -> tuple[T, CpuSpent]:
    """``phase()`` and the CPU it cost: a backend that started meanwhile counts from zero,
    one that ended meanwhile not at all."""
    backends = database_backends(watcher)
    before = each_process_cpu(backends)
    server_before, client_before = server.cpu_seconds(), time.process_time()
    result = phase()
    client, served_ = time.process_time() - client_before, server.cpu_seconds() - server_before
    database = spent_since(before, backends | database_backends(watcher))
    return result, CpuSpent(database, served_, client)


def stream_cpu_figures(name: str, spent: CpuSpent, events: int) -> list[Figure]:
    """Where the stream's CPU went, per 1,000 events, and the most events a second this
    machine's cores could stream at that cost: the client here too, and elsewhere (an
    inspector's own machine, as in use). An upper bound: it takes every core busy."""
    cores = os.cpu_count() or 1
    per_thousand = {side: seconds * 1e6 / max(events, 1) for side, seconds in (
        ("PostgreSQL's backends", spent.database), ("danvan serve", spent.server),
        ("the client", spent.client))}
    total = sum(per_thousand.values())
    return [
        *(Figure.against(f"{name}: CPU per 1,000 events, {side}", ms, "ms",
                         "all three sides", total) for side, ms in per_thousand.items()),
        Figure.against(f"{name}: upper bound on {cores} cores, the client elsewhere",
                       _rate(events, (spent.database + spent.server) / cores), "events/s",
                       "the same with the client on these cores too",
                       _rate(events, spent.total / cores)),
    ]


# --- stateAsOf -------------------------------------------------------------------------------

def model_with_events(settings: Any, wanted: int, province: str) -> tuple[str, datetime]:
    """A model of ``province`` (the one the bench's reader administers) with ``wanted``
    events (topped up with progress reports) and its last moment."""
    from danvan.backend.services.models import act_on_model
    from danvan.domain.base import Actor, Context
    from danvan.domain.commands import IMPLEMENTING, ReportProgress
    from danvan.domain.model import Model
    from danvan.infra.database import connect_owner
    from danvan.infra.event_store import open_event_store

    with connect_owner(settings) as conn:
        row = conn.execute(
            "SELECT model_id, tenant_id FROM danvan_read.models WHERE state = ANY(%s) "
            "AND tenant_id IN (SELECT tenant_id FROM danvan_read.tenants "
            "WHERE province_code = %s) ORDER BY version DESC, model_id LIMIT 1",
            ([state.value for state in IMPLEMENTING], province)).fetchone()
    if row is None:
        raise RuntimeError("the data set has no model in implementation")
    model_id, tenant_id = str(row[0]), str(row[1])
    store = open_event_store(settings, "owner")
    try:
        model: Model = store.repository.get(row[0])
        assert isinstance(model, Model)
        topped = 0
        while model.version < wanted:
            ctx = Context(tenant_id=tenant_id, actor=Actor("bench-audit", "reviewer"),
                          at=datetime.now(UTC), correlation_id=f"bench-audit-{model.version}")
            act_on_model(store, ctx, model, ReportProgress(
                period=str(model.year), participants=10, workdays=2), None)
            topped += 1
        if topped:
            say(f"model {model_id}: {topped} progress reports added")
        return model_id, model.modified_on
    finally:
        store.close()


def latencies(call: Callable[[], object], seconds: float) -> dict[str, float]:
    samples: list[float] = []
    call()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or len(samples) < 20:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1]}


# --- the full rebuild ------------------------------------------------------------------------

def rebuild_figures(events: int) -> tuple[float, float, int]:
    """A full rebuild of every read model (``danvan rebuild``, in a child process as ``danvan
    bench projections`` runs it) over ``events`` generated events in a database of this bench's
    own (``danvan_bench_audit_<N>``: the graphql bench's data set is shared, read only), and
    the raw ``select`` of the same log's rows. Returns (rebuild events/s, raw rows/s, events)."""
    from bench.cluster import admin_url
    from bench.projections import bench_database, run_child

    url, _ = bench_database(admin_url(), events, reuse=True, progress=say,
                            name=f"danvan_bench_audit_{events}")
    with psycopg.connect(url) as conn, conn.cursor(name="bench_audit_log") as cursor:
        cursor.itersize = 10_000
        started = time.perf_counter()
        cursor.execute(LOG_ROWS)
        read = sum(1 for _ in cursor)
        raw_s = time.perf_counter() - started
    rebuilt = run_child("rebuild", url, REBUILD_BATCH)
    return rebuilt["events"] / rebuilt["seconds"], _rate(read, raw_s), int(rebuilt["events"])


# --- the figures -----------------------------------------------------------------------------

def run(args: argparse.Namespace) -> list[Figure]:
    from bench.graphql import SECRET as BENCH_SECRET
    from bench.graphql import _catch_up, ensure_data, served
    from danvan.backend.auth.tokens import issue_token
    from danvan.domain.policies import RoleGrant
    from danvan.graphql.resolve_audit import MESSAGE_BUDGET, STREAM_BATCH
    from danvan.infra.database import connect_owner
    from danvan.infra.settings import Settings

    url, stored, _ = ensure_data(args.events or EVENTS[args.scale], fresh=args.fresh)
    settings = Settings(env="test", database_url=url)
    model_id, last_at = model_with_events(settings, args.model_events, args.province)
    _catch_up(settings)
    with connect_owner(settings, autocommit=False) as conn:
        tenants = largest_tenants(conn, args.province, args.sample)
        conn.rollback()
        say(f"{stored:,} events; {len(tenants)} tenants of province {args.province}, "
            f"{sum(c for _, c in tenants):,} events")
        # Each raw select once untimed first: the rows then come from shared buffers, as
        # they do for the GraphQL stream and the export, which read them after it.
        raw_trail, raw_trail_s = _timed(lambda: raw_select(conn, TRAIL_ROWS, tenants),
                                        warm=True)
        raw_events, raw_events_s = _timed(lambda: raw_select(conn, EVENT_ROWS, tenants),
                                          warm=True)
        conn.rollback()
        exported, export_s = _timed(lambda: export_all(conn, tenants))
        conn.rollback()
        verified, verify_s = _timed(lambda: verify_all(conn, tenants))
        conn.rollback()
        hashed, hash_s = hash_rate(conn, tenants)
        conn.rollback()
        raw_model = latencies(lambda: conn.execute(
            "SELECT * FROM public.danvan_events WHERE originator_id = %s "
            "ORDER BY originator_version", (model_id,)).fetchall(), args.seconds)
        conn.rollback()
    bearer = issue_token(user_id="bench-inspector", username="bench.inspector",
                         secret=BENCH_SECRET, lifetime_seconds=3600,
                         grants=[RoleGrant(role="province_admin", province_code=args.province)])
    with served(url, workers=2, server="granian", response_cache=False) as server, \
            Blocking(server.url, {"Authorization": f"Bearer {bearer}"}) as client, \
            psycopg.connect(url, autocommit=True) as watcher:
        base = server.url
        subscribe_trail(base, bearer, tenants[:1])  # the worker's first socket, warmed
        (subscribed, subscribe_s), stream_cpu = cpu_spent(
            lambda: _timed(lambda: subscribe_trail(base, bearer, tenants)), server, watcher)
        paged, paged_s = _timed(lambda: page_trail(client, tenants))
        variables = {"id": model_id, "at": last_at.isoformat()}

        def state_as_of() -> object:
            body = ask(client, STATE_AS_OF, variables)
            if not (body.get("data") or {}).get("model"):
                raise RuntimeError(f"stateAsOf of {model_id} failed: {body}")
            snapshot = body["data"]["model"]["stateAsOf"]
            assert snapshot["version"] >= args.model_events, snapshot
            return snapshot

        graphql_state = latencies(state_as_of, args.seconds)
    say("full rebuild...")
    low, high = REBUILD_EVENTS
    rebuild_rate, raw_log_rate, rebuilt = rebuild_figures(
        min(max(args.events or EVENTS[args.scale], low), high))

    def rate(name: str, count: int, seconds: float, baseline: str, base_count: int,
             base_seconds: float, ratio_floor: float | None,
             at_least: float | None = RATE_TARGET) -> Figure:
        target = ", ".join([*([f">= {at_least:,.0f}/s"] if at_least else []),
                            *([f">= {ratio_floor:g}x {baseline}"] if ratio_floor else [])])
        return Figure.against(name, _rate(count, seconds), "events/s", baseline,
                              _rate(base_count, base_seconds), target,
                              lambda v, r: (at_least is None or v >= at_least)
                              and (ratio_floor is None or r >= ratio_floor))

    national_minutes = NATIONAL_EVENTS / rebuild_rate / 60
    return [
        rate(f"audit trail streamed over GraphQL (auditTrail subscription, read {STREAM_BATCH:,} "
             f"at a time, messages of at most {MESSAGE_BUDGET // 1024} KiB, every node field, "
             "1 client)", subscribed, subscribe_s,
             "raw select of the audit read model", raw_trail, raw_trail_s, 0.5),
        *stream_cpu_figures("audit trail streamed", stream_cpu, subscribed),
        rate("audit trail paged over GraphQL (auditTrail query, pages of 100, every node field, "
             "1 client)", paged, paged_s,
             "raw select of the audit read model", raw_trail, raw_trail_s, 0.5, at_least=None),
        rate("audit export (JSON Lines, export_tenant)", exported, export_s,
             "raw select of the event rows", raw_events, raw_events_s, 0.5),
        rate("audit chain verification (verify_tenant)", verified, verify_s,
             "raw hash rate of the same rows (event_hash in memory)", hashed, hash_s, None),
        Figure.against(f"stateAsOf p50 ({args.model_events} events)", graphql_state["p50"],
                       "ms", "raw select of the model's events p50", raw_model["p50"]),
        Figure.against(f"stateAsOf p95 ({args.model_events} events)", graphql_state["p95"],
                       "ms", "raw select of the model's events p95", raw_model["p95"],
                       f"< {STATE_AS_OF_P95_MS:g} ms",
                       lambda v, r: v < STATE_AS_OF_P95_MS),
        Figure.against(f"full rebuild of every read model ({rebuilt:,} events)", rebuild_rate,
                       "events/s", "raw select of the same log's rows (server-side cursor)",
                       raw_log_rate,
                       f">= {NATIONAL_EVENTS / (REBUILD_MINUTES * 60):,.0f}/s "
                       f"(10M events in < {REBUILD_MINUTES:g} min)",
                       lambda v, r: v >= NATIONAL_EVENTS / (REBUILD_MINUTES * 60)),
        Figure(f"full rebuild of {NATIONAL_EVENTS:,} events, extrapolated at this rate",
               national_minutes, "min", target=f"< {REBUILD_MINUTES:g} min",
               met=national_minutes < REBUILD_MINUTES),
    ]
