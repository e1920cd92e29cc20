"""The wording of the reports, kept in ``texts/vi.toml`` so that an office can adjust it
without touching the program; each text is a Jinja template over the report's figures."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined

_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@cache
def wording() -> dict[str, Any]:
    text = resources.files("danvan.backend.reports").joinpath("texts/vi.toml").read_text(
        encoding="utf-8")
    return tomllib.loads(text)


def section(*path: str) -> dict[str, Any]:
    found: Any = wording()
    for key in path:
        found = found[key]
    assert isinstance(found, dict)
    return found


def render(template: str, **values: Any) -> str:
    return _ENV.from_string(template).render(**values)


def lines(templates: list[str] | tuple[str, ...], **values: Any) -> tuple[str, ...]:
    return tuple(render(t, **values) for t in templates)


def word(key: str) -> str:
    return str(section("words")[key])


def name_of(table: str, key: str | None) -> str:
    """A field's, kind's or unit kind's Vietnamese name (the key itself if unknown)."""
    if key is None:
        return ""
    return str(section(table).get(key, key))


def number(value: int | Decimal) -> str:
    """Vietnamese grouping: ``1.234.567``; decimals after a comma (``12,5``)."""
    if isinstance(value, Decimal) and value != value.to_integral_value():
        whole, _, fraction = f"{value.normalize():f}".partition(".")
        return f"{number(int(whole))},{fraction}"
    return f"{int(value):,}".replace(",", ".")


def day(value: date) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year}"
