"""Prometheus metrics, defined once per process (the default registry refuses duplicates).

With several worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder) so that
``GET /metrics`` aggregates every worker (prometheus-client's multiprocess mode).

The projections' gauges (``danvan_projection_lag_events``, ``_lag_seconds``,
``_quarantined_events``, ``_halted``, each by ``projection``; for a projection kept in tenant
shards, its slowest shard's, and ``danvan_projection_shard_lag_events``, ``_lag_seconds``,
``_runner`` by ``projection`` and ``shard``) are read from the database at scrape time,
through the same probe as ``/health/ready`` (a handful of indexed queries), so they are right
whichever process runs the projector and need no worker to agree.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from danvan.domain.base import DomainError, IllegalTransition, InvalidInput, NotPermitted

log = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "danvan_http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

COMMANDS = Counter(
    "danvan_commands_total",
    "Commands handled, by command type and outcome.",
    ["type", "outcome"],
)

OUTCOMES = ("ok", "invalid", "forbidden", "conflict", "rejected", "error")


def record_command(command_type: str, outcome: str = "ok") -> None:
    """Count one command: outcome is one of ``OUTCOMES``."""
    COMMANDS.labels(type=command_type, outcome=outcome).inc()


def outcome_of(exc: BaseException) -> str:
    from eventsourcing.persistence import IntegrityError

    if isinstance(exc, InvalidInput):
        return "invalid"
    if isinstance(exc, NotPermitted):
        return "forbidden"
    if isinstance(exc, IllegalTransition | IntegrityError):
        return "conflict"
    if isinstance(exc, DomainError):
        return "rejected"
    return "error"


@contextmanager
def track_command(command_type: str) -> Iterator[None]:
    """``with track_command("model.submit"): ...`` counts ok, or the failure's outcome."""
    try:
        yield
    except BaseException as exc:
        record_command(command_type, outcome_of(exc))
        raise
    record_command(command_type, "ok")


class ProjectionGauges(Collector):
    """The projections' lag, quarantined events and halts from one ``lag_report``."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            "lag_events": GaugeMetricFamily(
                "danvan_projection_lag_events",
                "Events in the log the projection has not read yet.", labels=["projection"]),
            "lag_seconds": GaugeMetricFamily(
                "danvan_projection_lag_seconds",
                "How stale the projection's read models may be, in seconds.",
                labels=["projection"]),
            "quarantined": GaugeMetricFamily(
                "danvan_projection_quarantined_events",
                "Events the projection's active version could not apply and skipped "
                "(see danvan projector status; a rebuild replays them).",
                labels=["projection"]),
            "halted": GaugeMetricFamily(
                "danvan_projection_halted",
                "1 when a runner stopped before an event no decoder knows.",
                labels=["projection"]),
        }
        # A projection kept in tenant shards: the gauges above are its slowest shard's; these
        # are each shard's own.
        shard_families = {
            "lag_events": GaugeMetricFamily(
                "danvan_projection_shard_lag_events",
                "Events in the log the tenant shard has not read yet.",
                labels=["projection", "shard"]),
            "lag_seconds": GaugeMetricFamily(
                "danvan_projection_shard_lag_seconds",
                "How stale the tenant shard's read models may be, in seconds.",
                labels=["projection", "shard"]),
            "runner_alive": GaugeMetricFamily(
                "danvan_projection_shard_runner",
                "1 when a runner holds the tenant shard's lock.",
                labels=["projection", "shard"]),
        }
        for p in self.report.get("projections", []):
            values = {"lag_events": p["lag_events"], "lag_seconds": p["lag_seconds"],
                      "quarantined": p["quarantined"],
                      "halted": 0 if p["halt_reason"] is None else 1}
            for key, family in families.items():
                family.add_metric([p["name"]], float(values[key]))
            for shard in p.get("shards", ()):
                for key, family in shard_families.items():
                    family.add_metric([p["name"], shard["shard"]], float(shard[key]))
        yield from families.values()
        yield from shard_families.values()


def projection_metrics(probe: Callable[[], dict[str, Any]]) -> bytes:
    """The projection gauges in the exposition format; nothing if the probe fails (the
    gauges then go absent, which an alert on ``absent()`` catches)."""
    try:
        report = probe()
    except Exception as exc:
        log.warning("projection gauges unavailable: %s", exc)
        return b""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProjectionGauges(report))
    return generate_latest(registry)


class JobMetrics(Collector):
    """The jobs' figures, read from PostgreSQL at each scrape (``infra/jobs.py``): right
    whichever processes or machines run the workers, as the projections' lag is.

    ``danvan_jobs_total{kind,outcome}`` (succeeded, failed, retried, dead),
    ``danvan_outbox_pending`` (jobs recorded but not yet handed to the broker) and
    ``danvan_job_latency_seconds{kind}`` (from the request's transaction to the job's start).
    """

    def __init__(self, jobs: Any, pending: Callable[[], int]) -> None:
        self.jobs = jobs
        self.pending = pending

    def collect(self) -> Iterator[Any]:
        from danvan.infra.jobs import LATENCY_BUCKETS

        total = CounterMetricFamily("danvan_jobs", "Jobs finished, by kind and outcome.",
                                    labels=["kind", "outcome"])
        for kind, outcome, n in self.jobs.counts():
            total.add_metric([kind, outcome], n)
        yield total
        yield GaugeMetricFamily("danvan_outbox_pending",
                                "Jobs recorded but not yet handed to the broker.",
                                value=self.pending())
        latency = HistogramMetricFamily(
            "danvan_job_latency_seconds",
            "Seconds from the transaction that recorded a job to its first start.",
            labels=["kind"])
        for kind, buckets, count, seconds in self.jobs.latency():
            cumulative, running = [], 0
            for bound, n in zip((*map(str, LATENCY_BUCKETS), "+Inf"), buckets, strict=True):
                running += n
                cumulative.append((bound, running))
            latency.add_metric([kind], cumulative, seconds)
            assert running == count
        yield latency


def render_metrics(projection_lag: Callable[[], dict[str, Any]] | None = None,
                   extra: Collector | None = None) -> tuple[bytes, str]:
    """The process's metrics (every worker's, with ``PROMETHEUS_MULTIPROC_DIR``), then the
    projection gauges read through ``projection_lag`` and ``extra``'s (the jobs'), read at
    each scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if projection_lag is not None:
        body += projection_metrics(projection_lag)
    if extra is not None:
        own = CollectorRegistry(auto_describe=False)
        own.register(extra)
        body += generate_latest(own)
    return body, CONTENT_TYPE_LATEST
