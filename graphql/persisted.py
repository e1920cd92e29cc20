"""Persisted queries: the operations kept in ``operations/*.graphql`` (API.md's and the
province's standard reports), asked for by name or by the SHA-256 of their text.

    POST /graphql {"id": "ProvinceConsolidation", "variables": {...}}
    POST /graphql {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}},
                   "variables": {...}}

A client that sends the hash and the text (Apollo's automatic persisted queries) is served the
text; only the stored operations can be asked for without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

OPERATIONS_DIR = Path(__file__).with_name("operations")


class UnknownPersistedQuery(LookupError):
    """No stored operation has that name or hash."""


@dataclass(frozen=True)
class PersistedQuery:
    id: str
    sha256: str
    text: str


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def persisted_queries(folder: Path = OPERATIONS_DIR) -> Mapping[str, PersistedQuery]:
    """Every stored operation by id (the file's name) and by hash."""
    found: dict[str, PersistedQuery] = {}
    for path in sorted(folder.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        query = PersistedQuery(path.stem, sha256_of(text), text)
        found[query.id] = query
        found[query.sha256] = query
    return found


def requested_id(body: Mapping[str, Any]) -> str | None:
    """The id or hash a request names, if any (``id``, ``documentId`` or Apollo's
    ``extensions.persistedQuery.sha256Hash``)."""
    for member in ("id", "documentId"):
        value = body.get(member)
        if isinstance(value, str) and value:
            return value
    extensions = body.get("extensions")
    if isinstance(extensions, dict):
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, dict):
            value = persisted.get("sha256Hash")
            if isinstance(value, str) and value:
                return value
    return None


def query_text(body: Mapping[str, Any]) -> str | None:
    """The text to run: the request's own, else the stored operation it names."""
    text = body.get("query")
    if isinstance(text, str) and text:
        return text
    wanted = requested_id(body)
    if wanted is None:
        return None
    found = persisted_queries().get(wanted)
    if found is None:
        raise UnknownPersistedQuery(wanted)
    return found.text
