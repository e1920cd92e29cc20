"""Whole answers of read-model queries, kept while the read models they read stand still.

A dashboard polls the same report (the province's consolidation, a tenant's overview) again
and again; its answer depends only on the query, its variables, the caller's grants (every
access decision derives from them) and the read models' rows of the provinces those grants
reach (row-level security shows nothing else). So an answer without errors is kept under
``(query, operation, variables, grants)`` with the mark it was computed at (``scope_mark``:
the active versions and those provinces' counts of changed batches; a national caller's is
the whole stamp), and served again while the mark is unchanged, so a write in another
province leaves it valid, and for at most ``ttl`` seconds (status, "at risk" and overdue
flags depend on the clock). A tenant's answers are kept per province, not per tenant: a
write in another tenant of the province recomputes them (a tenant-sized read).

Answers that read anything outside the read models are never kept: a model's history or
state at a moment (event store), the person (the vault: an erasure takes effect before its
event is projected), a chain verification.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from danvan.domain.policies import NATIONAL_ROLES, RoleGrant
from danvan.graphql.limits import Plan

OUTSIDE_READ_MODELS = frozenset({"history", "stateAsOf", "person", "verifyAuditChain"})
_sorted = msgspec.json.Encoder(order="sorted").encode


@dataclass(frozen=True)
class _Kept:
    mark: Hashable
    at: float
    body: bytes


def cacheable(plan: Plan | None) -> bool:
    return plan is not None and not (plan.fields & OUTSIDE_READ_MODELS)


def scope_provinces(grants: Sequence[RoleGrant]) -> tuple[str, ...] | None:
    """The provinces whose rows ``grants`` may read (None: every province)."""
    if any(g.role in NATIONAL_ROLES for g in grants):
        return None
    return tuple(sorted({g.province_code for g in grants}))


class ResponseCache:
    def __init__(self, *, ttl: float = 60.0, max_entries: int = 4096,
                 max_body: int = 512_000, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_body = max_body
        self.enabled = enabled
        self.clock = clock
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self.hits = 0

    def key(self, text: str, operation_name: str | None, variables: Mapping[str, Any] | None,
            grants: Sequence[RoleGrant]) -> Hashable | None:
        if not self.enabled:
            return None
        try:
            encoded = _sorted(variables or {})
        except (TypeError, msgspec.EncodeError):
            return None
        return (text, operation_name, encoded, tuple(sorted(
            (g.role, g.province_code, g.tenant_id or "", g.unit_id or "") for g in grants)))

    def get(self, key: Hashable | None, mark: Hashable) -> bytes | None:
        if key is None:
            return None
        kept = self._kept.get(key)
        if kept is None or kept.mark != mark or self.clock() - kept.at >= self.ttl:
            return None
        self._kept.move_to_end(key)
        self.hits += 1
        return kept.body

    def put(self, key: Hashable | None, mark: Hashable, body: bytes) -> None:
        if key is None or len(body) > self.max_body:
            return
        self._kept[key] = _Kept(mark, self.clock(), body)
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)
