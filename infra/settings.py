"""One typed settings object, read from the environment once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"


class SettingsError(RuntimeError):
    """The environment describes a configuration the service must not start with."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET_KEY
    token_lifetime_seconds: int = 900
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_lock_timeout_seconds: int = 5
    db_connect_timeout_seconds: int = 5
    db_group_commit: bool = True
    """Concurrent saves of a process share one transaction (``infra/group_commit.py``)."""
    app_db_role: str = "danvan_app"
    app_db_password: str = "danvan_app"
    seal_key_path: Path | None = None
    seal_every_events: int = 1000
    log_level: str = "INFO"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("DANVAN_ENV", "development")
        if mode not in ("development", "production", "test"):
            raise SettingsError(f"DANVAN_ENV must be development, production or test, got {mode!r}")
        data_dir = Path(env.get("DANVAN_DATA_DIR") or ".data")
        seal_key = env.get("DANVAN_SEAL_KEY_FILE")
        settings = cls(
            env=mode,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("DANVAN_SECRET_KEY") or DEFAULT_SECRET_KEY,
            token_lifetime_seconds=_int(env, "DANVAN_TOKEN_LIFETIME", 900),
            data_dir=data_dir,
            db_pool_size=_int(env, "DANVAN_DB_POOL_SIZE", 10),
            db_max_overflow=_int(env, "DANVAN_DB_MAX_OVERFLOW", 10),
            db_lock_timeout_seconds=_int(env, "DANVAN_DB_LOCK_TIMEOUT", 5),
            db_connect_timeout_seconds=_int(env, "DANVAN_DB_CONNECT_TIMEOUT", 5),
            db_group_commit=_flag(env, "DANVAN_DB_GROUP_COMMIT", True),
            app_db_role=env.get("DANVAN_APP_DB_ROLE") or "danvan_app",
            app_db_password=env.get("DANVAN_APP_DB_PASSWORD") or "danvan_app",
            seal_key_path=Path(seal_key) if seal_key else None,
            seal_every_events=_int(env, "DANVAN_SEAL_EVERY", 1000),
            log_level=(env.get("DANVAN_LOG_LEVEL") or "INFO").upper(),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.is_production and self.secret_key == DEFAULT_SECRET_KEY:
            raise SettingsError("DANVAN_SECRET_KEY must be set in production")
        if self.is_production and len(self.secret_key) < 32:
            raise SettingsError("DANVAN_SECRET_KEY must be at least 32 characters in production")
        if self.token_lifetime_seconds <= 0:
            raise SettingsError("DANVAN_TOKEN_LIFETIME must be positive")
        if self.db_pool_size <= 0:
            raise SettingsError("DANVAN_DB_POOL_SIZE must be positive")
        if self.db_lock_timeout_seconds <= 0:
            raise SettingsError("DANVAN_DB_LOCK_TIMEOUT must be positive (0 would wait forever)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
