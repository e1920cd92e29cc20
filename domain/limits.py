"""What a value must be to enter an event: the one home of every bound on input.

A stored event can never be edited, and every projection, report and page must be able to
read it back, so what the read models cannot hold must never be recorded. PostgreSQL's
``numeric`` holds at most 16,383 digits after the point and ``jsonb`` refuses ``\\u0000``; a
decimal such as ``1E-999999999`` is finite and small, passes a range check, and then fails
every projection for good (FIELD-NOTES, "Pitfalls found by probing"). So decimals are bounded
by magnitude *and* scale, and texts by length and characters, here; ``validation.Errors``
applies these checks to every command, and the HTTP layer documents the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MAX_TEXT = 20_000
"""Characters in a free text (a form member, a note, a reason)."""
MAX_NAME = 500
"""Characters in a name or title."""
MAX_CODE = 100
"""Characters in a decision number or another short code."""
MAX_TENANT_CODE = 20
"""Characters in a tenant's code (five digits for a commune or ward; an agency's own code)."""
MAX_PROVINCE_CODE = 3
"""Characters in a province's official code."""
MAX_USERNAME = 64
"""Characters in a username."""
MAX_PHONE = 20
"""Characters in a phone number."""
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
"""Characters in a new password (more is a hashing cost, not a secret)."""
MAX_PARTICIPANTS = 10**8
"""People taking part in one progress report."""
MAX_WORKDAYS = 10**9
"""Workdays given in one progress report."""
MAX_AGE = 120
MAX_DECISION_MODELS = 1_000
"""Models one decision may cover (a province's year of recognitions is a few hundred)."""
MAX_TASK_UNITS = 1_000
"""Units one plan task may be assigned to (a commune has a few dozen)."""
"""Years a person's birth year may lie before the year of the registration."""


@dataclass(frozen=True)
class DecimalBound:
    """A decimal between ``minimum`` and ``maximum`` with at most ``scale`` places."""

    maximum: Decimal
    scale: int
    minimum: Decimal = Decimal(0)

    @property
    def max_digits(self) -> int:
        """Digits before the point, plus the places after it."""
        return len(str(int(self.maximum))) + self.scale

    @property
    def pattern(self) -> str:
        """A decimal string within the bound's digits and scale (its range is checked apart):
        what the command API accepts and documents for a decimal sent as a string."""
        sign = "-?" if self.minimum < 0 else ""
        whole = len(str(int(self.maximum)))
        return rf"^{sign}\d{{1,{whole}}}(\.\d{{1,{self.scale}}})?$"


MONEY_VND = DecimalBound(maximum=Decimal(10) ** 15, scale=2)
"""Money mobilised, in đồng: up to a million billion (a province's whole budget is far less)."""
AREA_M2 = DecimalBound(maximum=Decimal(10) ** 10, scale=2)
"""Land donated, in square metres (10^10 m² is ten thousand km²)."""
SCORE = DecimalBound(maximum=Decimal(100), scale=2)
"""One criterion's score, 0-100."""

_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff"
"""C0 controls but tab, newline and carriage return; DEL; lone surrogates (which UTF-8 cannot
encode). NUL among them: ``jsonb`` refuses it. Written as escapes, so that the pattern below
can travel in a JSON document (an OpenAPI schema) as it is."""
_FORBIDDEN_CHARACTERS = re.compile(f"[{_FORBIDDEN}]")
TEXT_PATTERN = f"^[^{_FORBIDDEN}]*$"
"""A text without the forbidden characters, as a regular expression (for schemas)."""
FORBIDDEN_CHARACTERS_RULE = "must not contain control characters or lone surrogates"


def decimal_problem(value: Decimal, bound: DecimalBound) -> str | None:
    """Why ``value`` may not be recorded under ``bound``, or None when it may."""
    if not value.is_finite():
        return "must be a finite number"
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > bound.scale:
        return f"must have at most {bound.scale} decimal places"
    if not bound.minimum <= value <= bound.maximum:
        return f"must be between {bound.minimum} and {bound.maximum}"
    return None


def parse_decimal(raw: object) -> Decimal | None:
    """A number or decimal string as a ``Decimal`` (None when it is neither). Decimal strings
    longer than any bound allows are not parsed at all."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None
    if isinstance(raw, str) and len(raw) > 64:
        return None
    try:
        return raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None


def repaired_decimal(raw: object, bound: DecimalBound) -> Decimal:
    """The nearest value ``bound`` allows, for upcasters of events stored before the bound:
    rounded to its scale (half even) and clamped to its range; not a number reads as 0."""
    if isinstance(raw, str) and len(raw) > 64:
        try:
            value = Decimal(raw.strip())
        except (InvalidOperation, ValueError):
            return Decimal(0)
    else:
        parsed = parse_decimal(raw)
        if parsed is None:
            return Decimal(0)
        value = parsed
    if value.is_nan():
        return Decimal(0)
    if value.is_infinite():
        return bound.maximum if value > 0 else bound.minimum
    if value > bound.maximum:
        return bound.maximum
    if value < bound.minimum:
        return bound.minimum
    return value.quantize(Decimal(1).scaleb(-bound.scale), rounding=ROUND_HALF_EVEN)


def text_problem(text: str, max_length: int) -> str | None:
    """Why ``text`` (already NFC) may not be recorded, or None when it may."""
    if len(text) > max_length:
        return f"must be at most {max_length} characters"
    if _FORBIDDEN_CHARACTERS.search(text):
        return FORBIDDEN_CHARACTERS_RULE
    return None
