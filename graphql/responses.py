"""Whole answers of read-model queries, kept while the read models stand still.

A dashboard polls the same report (the province's consolidation, a tenant's overview) again
and again; its answer depends only on the query, its variables, the caller's grants (every
access decision derives from them) and the read models' stamp. So an answer without errors
is kept under ``(query, operation, variables, grants)`` with the stamp it was computed at,
and served again while the stamp is unchanged and for at most ``ttl`` seconds (status, "at
risk" and overdue flags depend on the clock). Answers that read anything outside the read
models are never kept: a model's history or state at a moment (event store), the person
(the vault: an erasure takes effect before its event is projected), a chain verification.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from danvan.domain.policies import RoleGrant
from danvan.graphql.freshness import Stamp
from danvan.graphql.limits import Plan

OUTSIDE_READ_MODELS = frozenset({"history", "stateAsOf", "person", "verifyAuditChain"})
_sorted = msgspec.json.Encoder(order="sorted").encode


@dataclass(frozen=True)
class _Kept:
    stamp: Stamp
    at: float
    body: bytes


def cacheable(plan: Plan | None) -> bool:
    return plan is not None and not (plan.fields & OUTSIDE_READ_MODELS)


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

    def get(self, key: Hashable | None, stamp: Stamp) -> bytes | None:
        if key is None:
            return None
        kept = self._kept.get(key)
        if kept is None or kept.stamp != stamp or self.clock() - kept.at >= self.ttl:
            return None
        self._kept.move_to_end(key)
        self.hits += 1
        return kept.body

    def put(self, key: Hashable | None, stamp: Stamp, body: bytes) -> None:
        if key is None or len(body) > self.max_body:
            return
        self._kept[key] = _Kept(stamp, self.clock(), body)
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)
