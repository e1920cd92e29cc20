"""What a suite found, grouped so that a thousand requests with one cause read as one line,
each group with the smallest request that shows it (the reproduction to start from).

    found = Findings()
    found.add("5xx", "POST /api/v1/tenants", caller="reviewer", status=500,
              detail="...", request="POST /api/v1/tenants {...}")
    assert not found, found.report()
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

BODY_SHOWN = 400
"""Characters of a request body kept in a reproduction."""


def shown(body: Any) -> str:
    """A request body as a reproduction shows it: JSON, cut short, bytes as Python shows them."""
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        text = repr(bytes(body))
    elif isinstance(body, str):
        text = body
    else:
        try:
            text = json.dumps(body, ensure_ascii=True)
        except (TypeError, ValueError):
            text = repr(body)
    return text if len(text) <= BODY_SHOWN else text[:BODY_SHOWN] + f"… ({len(text):,} chars)"


@dataclass
class Finding:
    kind: str
    where: str
    caller: str
    status: int
    detail: str
    request: str
    times: int = 1


class Findings:
    """Findings by (kind, where): a count, and the shortest request of each."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Finding] = {}

    def add(self, kind: str, where: str, *, caller: str, status: int, detail: str,
            request: str) -> None:
        key = (kind, where)
        seen = self._by_key.get(key)
        if seen is None:
            self._by_key[key] = Finding(kind, where, caller, status, detail[:600], request)
            return
        seen.times += 1
        if len(request) < len(seen.request):
            seen.caller, seen.status, seen.detail, seen.request = (
                caller, status, detail[:600], request)

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def count(self, kind_prefix: str) -> int:
        return sum(f.times for f in self._by_key.values() if f.kind.startswith(kind_prefix))

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self._by_key.values()]

    def report(self) -> str:
        """One paragraph per kind: how often, where, and the smallest reproduction."""
        kinds: dict[str, list[Finding]] = defaultdict(list)
        for finding in self._by_key.values():
            kinds[finding.kind].append(finding)
        parts = []
        for kind, found in sorted(kinds.items()):
            smallest = min(found, key=lambda f: len(f.request))
            places = sorted(f.where for f in found)
            listed = "; ".join(places[:8]) + (f"; … {len(places) - 8} more"
                                              if len(places) > 8 else "")
            parts.append(f"{kind}: {sum(f.times for f in found)} times in {len(found)} "
                         f"places ({listed})\n    e.g. as {smallest.caller}: "
                         f"{smallest.request} -> {smallest.status} {smallest.detail}")
        return "\n".join(parts)
