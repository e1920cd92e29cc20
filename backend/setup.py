"""Everything a database needs before the service uses it: the store's schema and migrations
(``infra``), the users' credentials generations when their table is new (``backend/auth``),
then an active version of every read model (``projections``).

Composed here because infra must not import projections or the domain's event topics.
"""

from __future__ import annotations

from danvan.backend.auth.credentials import rebuild_generations
from danvan.infra.database import connect_owner
from danvan.infra.migrations import migrate
from danvan.infra.settings import Settings
from danvan.projections.schema import ensure_read_models

CREDENTIALS_MIGRATION = "060_credentials.sql"


def prepare_database(settings: Settings, *, reset_app_password: bool = False) -> list[str]:
    """Migrate, then create any missing read model; returns what was applied or created."""
    applied = migrate(settings, reset_app_password=reset_app_password)
    with connect_owner(settings) as conn:
        if CREDENTIALS_MIGRATION in applied:  # a store older than the table: fill it in
            rebuild_generations(conn)
        created = ensure_read_models(conn, settings.app_db_role)
    return applied + [f"read model {name}" for name in created]
