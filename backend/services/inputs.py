"""Checks on request bodies that belong to no aggregate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from danvan.domain.validation import Errors


def only(body: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuses (422) any member not in ``allowed``, naming each."""
    errors = Errors()
    errors.no_unknown(body, allowed)
    errors.raise_if_any()
