"""Small checks that collect every offending member of a command before it is refused.

Commands arrive typed (``domain.commands``): what is checked here is what only the domain
knows, the bounds of ``domain.limits`` and ranges. ``member`` is the input's name as the
caller sent it (``"scores.planning"``); the HTTP layer reports it as a problem's ``field``.
"""

from __future__ import annotations

from decimal import Decimal

from danvan.domain.base import InvalidInput, nfc
from danvan.domain.limits import MAX_TEXT, DecimalBound, decimal_problem, text_problem


class Errors:
    """Accumulates ``member -> message`` and raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, member: str, message: str) -> None:
        self.errors.setdefault(member, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def text(self, member: str, value: str | None, *, required: bool = True,
             max_length: int = MAX_TEXT) -> str | None:
        """The text as stored (NFC, trimmed), or None with the reason recorded."""
        if value is None:
            if required:
                self.add(member, "required")
            return None
        if len(value) > 4 * max_length:  # not worth normalising
            self.add(member, f"must be at most {max_length} characters")
            return None
        cleaned = nfc(value).strip()
        if required and not cleaned:
            self.add(member, "must not be empty")
            return None
        problem = text_problem(cleaned, max_length)
        if problem is not None:
            self.add(member, problem)
            return None
        return cleaned

    def integer(self, member: str, value: int, *, minimum: int = 0,
                maximum: int = 10**12) -> int | None:
        if not minimum <= value <= maximum:
            self.add(member, f"must be between {minimum} and {maximum}")
            return None
        return value

    def decimal(self, member: str, value: Decimal, bound: DecimalBound) -> Decimal | None:
        problem = decimal_problem(value, bound)
        if problem is not None:
            self.add(member, problem)
            return None
        return value
