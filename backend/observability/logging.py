"""structlog configured for one JSON object per line on stdout, stdlib logging routed to it.

``request_id`` and ``correlation_id`` are bound per request (context variables) by
``RequestObservability`` and so appear on every line logged while handling it, including in
``sync_to_thread`` handlers (Litestar copies the context into the worker thread).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import structlog

_configured = False
_encoder = msgspec.json.Encoder(enc_hook=str)


def _to_json(event: Any, **_: Any) -> bytes:
    """msgspec encodes a log line in about a third of the stdlib's time."""
    return _encoder.encode(event)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    global _configured
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer())
    fast_renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_to_json) if json else renderer)
    factory: Any = (structlog.BytesLoggerFactory(sys.stdout.buffer)
                    if json and hasattr(sys.stdout, "buffer")
                    else structlog.PrintLoggerFactory(sys.stdout))
    if not isinstance(factory, structlog.BytesLoggerFactory):
        fast_renderer = renderer
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, fast_renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    if _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True
