"""One typed settings object, read from the environment once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
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


def _month_day(env: dict[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    raw = (env.get(name) or "").strip()
    if raw == "":
        return default
    try:
        month, day = (int(part) for part in raw.split("-"))
        date(2000, month, day)  # a leap year: 02-29 is a date
    except ValueError as exc:
        raise SettingsError(f"{name} must be a month and day as MM-DD, got {raw!r}") from exc
    return month, day


def _list(env: dict[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (env.get(name) or "").split(",") if part.strip())


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
    # Background jobs (backend/jobs): see the README's environment table.
    job_namespace: str = "danvan"
    """Prefix of the job queues' keys in Redis."""
    job_lease_seconds: int = 60
    """A running job whose worker has not signalled for this long is presumed dead and sent
    again (also dramatiq's heartbeat timeout for a crashed worker's unacknowledged messages)."""
    job_max_retries: int = 5
    job_min_backoff_seconds: int = 5
    job_max_backoff_seconds: int = 300
    job_poll_ms: int = 100
    """The longest an idle worker waits between looks at its queues (dramatiq's default is
    1,000 ms, which would be a job's latency after a quiet minute)."""
    job_retention_days: int = 30
    registration_deadline: tuple[int, int] = (3, 31)
    """(month, day) after which units still without a registration are reminded."""
    reminder_smtp_url: str | None = None
    reminder_mail_from: str = "danvan@localhost"
    reminder_mail_to: tuple[str, ...] = ()
    reminder_webhook_url: str | None = None
    reminder_webhook_secret: str | None = None
    read_replica_url: str | None = None
    """A streaming replica of ``database_url`` that GraphQL reads from (as the app role)."""
    replica_max_lag_seconds: int = 5
    """A replica further behind than this is not read from (the primary answers)."""

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
            job_namespace=env.get("DANVAN_JOB_NAMESPACE") or "danvan",
            job_lease_seconds=_int(env, "DANVAN_JOB_LEASE", 60),
            job_max_retries=_int(env, "DANVAN_JOB_MAX_RETRIES", 5),
            job_min_backoff_seconds=_int(env, "DANVAN_JOB_MIN_BACKOFF", 5),
            job_max_backoff_seconds=_int(env, "DANVAN_JOB_MAX_BACKOFF", 300),
            job_poll_ms=_int(env, "DANVAN_JOB_POLL_MS", 100),
            job_retention_days=_int(env, "DANVAN_JOB_RETENTION_DAYS", 30),
            registration_deadline=_month_day(env, "DANVAN_REGISTRATION_DEADLINE", (3, 31)),
            reminder_smtp_url=env.get("DANVAN_REMINDER_SMTP_URL") or None,
            reminder_mail_from=env.get("DANVAN_REMINDER_MAIL_FROM") or "danvan@localhost",
            reminder_mail_to=_list(env, "DANVAN_REMINDER_MAIL_TO"),
            reminder_webhook_url=env.get("DANVAN_REMINDER_WEBHOOK_URL") or None,
            reminder_webhook_secret=env.get("DANVAN_REMINDER_WEBHOOK_SECRET") or None,
            read_replica_url=env.get("DANVAN_READ_REPLICA_URL") or None,
            replica_max_lag_seconds=_int(env, "DANVAN_REPLICA_MAX_LAG", 5),
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
        if self.job_lease_seconds <= 0:
            raise SettingsError("DANVAN_JOB_LEASE must be positive")
        if self.job_max_retries < 0:
            raise SettingsError("DANVAN_JOB_MAX_RETRIES must not be negative")
        if not 0 < self.job_min_backoff_seconds <= self.job_max_backoff_seconds:
            raise SettingsError("DANVAN_JOB_MIN_BACKOFF must be positive and at most "
                                "DANVAN_JOB_MAX_BACKOFF")
        if self.job_max_backoff_seconds >= 10 * self.job_lease_seconds:
            raise SettingsError("DANVAN_JOB_MAX_BACKOFF must be below ten times DANVAN_JOB_LEASE "
                                "(a queued job unstarted for that long is sent again)")
        if not 10 <= self.job_poll_ms <= 10_000:
            raise SettingsError("DANVAN_JOB_POLL_MS must be between 10 and 10000")
        if self.job_retention_days <= 0:
            raise SettingsError("DANVAN_JOB_RETENTION_DAYS must be positive")
        if self.reminder_smtp_url and not self.reminder_mail_to:
            raise SettingsError("DANVAN_REMINDER_SMTP_URL needs DANVAN_REMINDER_MAIL_TO")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
