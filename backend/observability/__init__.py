"""Logs (structlog, JSON), request and correlation ids, Prometheus metrics."""

from danvan.backend.observability.logging import configure_logging
from danvan.backend.observability.metrics import COMMANDS, record_command, track_command
from danvan.backend.observability.middleware import RequestObservability

__all__ = ["COMMANDS", "RequestObservability", "configure_logging", "record_command",
           "track_command"]
