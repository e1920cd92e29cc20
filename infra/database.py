"""Connection parameters and plain psycopg connections for the two database roles.

``DATABASE_URL`` names the *owner*: the role that owns the schema and runs migrations.
The application connects to the same host and database as ``settings.app_db_role``,
which may only read and append events (see ``infra/sql/010_event_store_guard.sql``).
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from danvan.infra.settings import Settings, SettingsError

Role = Literal["owner", "app"]

# Keys of a libpq conninfo that the eventsourcing datastore takes as named arguments;
# every other key (sslmode, options, application_name, ...) travels in ``extra``.
_CORE_KEYS = frozenset({"dbname", "host", "port", "user", "password"})


@dataclass(frozen=True)
class ConnParams:
    """One libpq connection target; ``extra`` holds the other conninfo keywords."""

    dbname: str
    host: str
    port: str
    user: str
    password: str = field(default="", repr=False)
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str) -> ConnParams:
        """Parse a URL or key=value conninfo; ``?host=/socket/dir`` gives a Unix socket."""
        raw: dict[str, Any] = conninfo_to_dict(url)
        user = str(raw.pop("user", "") or getpass.getuser())
        return cls(
            dbname=str(raw.pop("dbname", "") or user),
            host=str(raw.pop("host", "") or "localhost"),
            port=str(raw.pop("port", "") or "5432"),
            user=user,
            password=str(raw.pop("password", "") or ""),
            extra={k: str(v) for k, v in raw.items() if v is not None},
        )

    def as_role(self, user: str, password: str) -> ConnParams:
        return replace(self, user=user, password=password)

    def with_dbname(self, dbname: str) -> ConnParams:
        return replace(self, dbname=dbname)

    def conninfo(self) -> str:
        """A libpq conninfo string (the password included when there is one)."""
        params: dict[str, str] = {
            "dbname": self.dbname, "host": self.host, "port": self.port, "user": self.user,
            **self.extra,
        }
        if self.password:
            params["password"] = self.password
        return make_conninfo(**params)

    def url(self, *, password: bool = False) -> str:
        """A ``postgresql://`` URL; the password only when asked (not for logs)."""
        userinfo = quote(self.user, safe="")
        if password and self.password:
            userinfo += ":" + quote(self.password, safe="")
        query = dict(self.extra)
        if self.host.startswith("/"):  # Unix socket folder: host and port go in the query
            netloc = f"{userinfo}@"
            query = {"host": self.host, "port": self.port, **query}
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            netloc = f"{userinfo}@{host}:{self.port}"
        suffix = f"?{urlencode(query)}" if query else ""
        return f"postgresql://{netloc}/{quote(self.dbname, safe='')}{suffix}"


def require_database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise SettingsError(
            "DATABASE_URL is not set: start the embedded PostgreSQL first and pass its URL "
            "(Settings.database_url) to the event store and migrations"
        )
    return settings.database_url


def owner_params(settings: Settings) -> ConnParams:
    """The schema owner, exactly as ``DATABASE_URL`` says."""
    return ConnParams.from_url(require_database_url(settings))


def app_params(settings: Settings) -> ConnParams:
    """The application's role: same server and database, ``app_db_role``/``app_db_password``."""
    return owner_params(settings).as_role(settings.app_db_role, settings.app_db_password)


def replica_params(settings: Settings) -> ConnParams:
    """The application's role on the read replica (``DANVAN_READ_REPLICA_URL``): a physical
    copy of the primary, so the same role and password."""
    if not settings.read_replica_url:
        raise ValueError("no read replica is configured (DANVAN_READ_REPLICA_URL)")
    return ConnParams.from_url(settings.read_replica_url).as_role(
        settings.app_db_role, settings.app_db_password)


def role_params(settings: Settings, role: Role) -> ConnParams:
    return owner_params(settings) if role == "owner" else app_params(settings)


def connect(params: ConnParams, *, autocommit: bool = True,
            connect_timeout: int | None = None) -> psycopg.Connection[TupleRow]:
    """A plain psycopg connection (tuple rows). The caller closes it (use ``with``)."""
    kwargs: dict[str, Any] = {}
    if connect_timeout is not None:
        kwargs["connect_timeout"] = connect_timeout
    return psycopg.connect(params.conninfo(), autocommit=autocommit, **kwargs)


def connect_owner(settings: Settings, *, autocommit: bool = True) -> psycopg.Connection[TupleRow]:
    return connect(owner_params(settings), autocommit=autocommit,
                   connect_timeout=settings.db_connect_timeout_seconds)


def connect_app(settings: Settings, *, autocommit: bool = True) -> psycopg.Connection[TupleRow]:
    return connect(app_params(settings), autocommit=autocommit,
                   connect_timeout=settings.db_connect_timeout_seconds)


def eventsourcing_env(settings: Settings, role: Role = "app", *,
                      create_table: bool = False) -> dict[str, str]:
    """The ``eventsourcing`` environment for one role (never reads ``os.environ``).

    The application runs with ``CREATE_TABLE=false``: tables are made once by
    ``danvan migrate`` (several processes creating them at once crash).
    """
    params = role_params(settings, role)
    pool_size = settings.db_pool_size if role == "app" else 1
    max_overflow = settings.db_max_overflow if role == "app" else 0
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": params.dbname,
        "POSTGRES_HOST": params.host,
        "POSTGRES_PORT": params.port,
        "POSTGRES_USER": params.user,
        "POSTGRES_PASSWORD": params.password,
        "POSTGRES_LOCK_TIMEOUT": str(max(1, settings.db_lock_timeout_seconds)),
        "POSTGRES_CONNECT_TIMEOUT": str(max(1, settings.db_connect_timeout_seconds)),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(max_overflow),
        # Bounded queue for a connection: beyond it callers fail fast instead of piling up.
        "POSTGRES_MAX_WAITING": str(4 * (pool_size + max_overflow)),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "5",
        "CREATE_TABLE": "true" if create_table else "false",
    }
