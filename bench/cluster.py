"""The PostgreSQL server every bench makes its own databases on: ``$DANVAN_BENCH_DATABASE_URL``,
else ``$DATABASE_URL``'s server, else the local one (127.0.0.1:5432, user postgres)."""

from __future__ import annotations

import os

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return (os.environ.get("DANVAN_BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
            or DEFAULT_ADMIN_URL)
