"""Prometheus metrics, defined once per process (the default registry refuses duplicates).

With several worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder) so that
``GET /metrics`` aggregates every worker (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from danvan.domain.base import DomainError, IllegalTransition, InvalidInput, NotPermitted

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


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
