"""What the read API needs from the process, handed in by the app's wiring (``backend/app.py``):
the application role's pool, the event store (history and time travel only), the personal
data vault, the audit chain verifier and the catalogue's province names.

The graphql package imports neither ``backend`` nor ``infra``: these arrive as plain objects
that fit the protocols below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from danvan.graphql.db import Pool
from danvan.graphql.figures import FiguresCache
from danvan.graphql.freshness import PRODUCTION_MAX_AGE, Freshness
from danvan.graphql.responses import ResponseCache

if TYPE_CHECKING:
    from danvan.graphql.replica import Replica


class PersonVault(Protocol):
    """``infra.personal_data.PersonalDataVault``: the person's details, or a marker (not a
    dict) once the person's key was erased."""

    def open(self, key_id: Any, token: str) -> Any: ...


class ChainVerdict(Protocol):
    """``infra.audit_chain.TenantVerification``."""

    @property
    def ok(self) -> bool: ...
    @property
    def events_checked(self) -> int: ...
    @property
    def first_broken_position(self) -> int | None: ...
    @property
    def last_position(self) -> int | None: ...
    @property
    def head_position(self) -> int | None: ...
    @property
    def seals_checked(self) -> int: ...
    @property
    def seals_unverified(self) -> int: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def problems(self) -> tuple[str, ...]: ...


@dataclass
class ReadSources:
    pool: Pool
    store: Any | None = None
    """The event store (``infra.event_store.EventStore``: ``store.streams(ids)``, decoded
    with ``store.mapper``), for a model's history and its state at a moment only."""
    events_on_pool: bool = False
    """``pool`` reaches the store's own database (the primary's, not a replica's), so a
    model's events may be read in the transaction that read its row
    (``store.send_streams``): one connection and one round trip less."""
    vault: PersonVault | None = None
    verify_chain: Callable[[str], ChainVerdict] | None = None
    """Recompute one tenant's hash chain (blocking; runs on a worker thread)."""
    province_name: Callable[[str], str | None] = lambda code: None
    province_codes: Callable[[], Sequence[str]] = lambda: ()
    """Every province's code (the catalogue's): what a national role reads."""
    freshness: Freshness = field(default_factory=Freshness)
    figures: FiguresCache | None = None
    """Default: a cache on ``freshness``."""
    responses: ResponseCache = field(default_factory=ResponseCache)
    replica: Replica | None = None
    """A streaming replica to read from while it is close enough (``graphql/replica.py``)."""
    live: Any | None = None
    """The process's ``live.QuotaFeed`` (subscriptions), where the app serves them."""

    def __post_init__(self) -> None:
        if self.figures is None:
            self.figures = FiguresCache(freshness=self.freshness)

    @property
    def province_figures(self) -> FiguresCache:
        assert self.figures is not None
        return self.figures


def caches_from_env(environ: Mapping[str, str], *, production: bool) -> dict[str, Any]:
    """``ReadSources`` caches as configured: ``DANVAN_GRAPHQL_STAMP_MAX_AGE`` (seconds; 0.1
    in production, else 0: a read always sees what the projector applied before it),
    ``DANVAN_GRAPHQL_FIGURES_CACHE`` and ``DANVAN_GRAPHQL_RESPONSE_CACHE`` (on | off)."""
    default = PRODUCTION_MAX_AGE if production else 0.0
    freshness = Freshness(max_age=float(environ.get("DANVAN_GRAPHQL_STAMP_MAX_AGE") or default))

    def on(name: str) -> bool:
        return environ.get(name, "on").strip().lower() not in ("off", "0", "false", "no")

    return {"freshness": freshness,
            "figures": FiguresCache(freshness=freshness,
                                    enabled=on("DANVAN_GRAPHQL_FIGURES_CACHE")),
            "responses": ResponseCache(enabled=on("DANVAN_GRAPHQL_RESPONSE_CACHE"))}
