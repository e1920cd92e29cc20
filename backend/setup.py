"""Everything a database needs before the service uses it: the store's schema and migrations
(``infra``), then an active version of every read model (``projections``).

Composed here because infra must not import projections.
"""

from __future__ import annotations

from danvan.infra.database import connect_owner
from danvan.infra.migrations import migrate
from danvan.infra.settings import Settings
from danvan.projections.schema import ensure_read_models


def prepare_database(settings: Settings, *, reset_app_password: bool = False) -> list[str]:
    """Migrate, then create any missing read model; returns what was applied or created."""
    applied = migrate(settings, reset_app_password=reset_app_password)
    with connect_owner(settings) as conn:
        created = ensure_read_models(conn, settings.app_db_role)
    return applied + [f"read model {name}" for name in created]
