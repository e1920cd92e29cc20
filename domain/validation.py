"""Small checks that collect every offending field before a command is refused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from danvan.domain.base import InvalidInput, nfc
from danvan.domain.limits import (
    MAX_TEXT,
    DecimalBound,
    decimal_problem,
    parse_decimal,
    text_problem,
)


class Errors:
    """Accumulates ``field -> message`` and raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def text(self, field: str, value: Any, *, required: bool = True,
             max_length: int = MAX_TEXT) -> str | None:
        if value is None:
            if required:
                self.add(field, "required")
            return None
        if not isinstance(value, str):
            self.add(field, "must be a string")
            return None
        if len(value) > 4 * max_length:  # not worth normalising
            self.add(field, f"must be at most {max_length} characters")
            return None
        cleaned = nfc(value).strip()
        if required and not cleaned:
            self.add(field, "must not be empty")
            return None
        problem = text_problem(cleaned, max_length)
        if problem is not None:
            self.add(field, problem)
            return None
        return cleaned

    def integer(self, field: str, value: Any, *, minimum: int = 0,
                maximum: int = 10**12) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, "must be an integer")
            return None
        if not minimum <= value <= maximum:
            self.add(field, f"must be between {minimum} and {maximum}")
            return None
        return value

    def decimal(self, field: str, value: Any, bound: DecimalBound) -> Decimal | None:
        number = parse_decimal(value)
        if number is None:
            self.add(field, "must be a number or a decimal string")
            return None
        problem = decimal_problem(number, bound)
        if problem is not None:
            self.add(field, problem)
            return None
        return number

    def choice(self, field: str, value: Any, allowed: Iterable[str]) -> str | None:
        options = sorted(allowed)
        if not isinstance(value, str) or value not in options:
            self.add(field, "must be one of " + ", ".join(options))
            return None
        return value

    def iso_date(self, field: str, value: Any, *, required: bool = True) -> date | None:
        if value is None:
            if required:
                self.add(field, "required")
            return None
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            self.add(field, "must be a date YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.add(field, "must be a date YYYY-MM-DD")
            return None

    def boolean(self, field: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.add(field, "must be true or false")
            return None
        return value

    def no_unknown(self, values: Mapping[str, Any], known: Iterable[str], prefix: str = "") -> None:
        allowed = set(known)
        for key in values:
            if key not in allowed:
                self.add(f"{prefix}{key}", "unknown field")
