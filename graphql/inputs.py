"""Input types, and the checks every resolver applies to its arguments: one rule for each kind
of argument, so that what reaches a query is what the read models can answer.

    year(year)                        # 2000..2100, the domain's own rule (targets.check_year)
    optional_moment(as_of, "asOf")    # carries its offset, falls in those years
    uuid_id(aggregate_id, "aggregateId")
    identifier(tenant_id, "tenantId") # an id or code: short, no control characters
    text(search, "search", MAX_NAME)  # bounded, no control characters or lone surrogates

A failed check is a ``BAD_USER_INPUT`` error of the field that was asked, naming the argument
(``extensions.argument``); the rest of the answer stands. Texts follow ``domain.limits`` (NUL
reaches neither ``jsonb`` nor a SQL cast). The HTTP handler already refused a body whose
variables hold control characters; these checks also cover the query's own literals.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from danvan.domain.clock import VIETNAM
from danvan.domain.limits import MAX_CODE, MAX_TEXT, text_problem
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR, check_year
from danvan.domain.validation import Errors
from danvan.graphql.enums import OrderDirection, QuotaOrderField
from danvan.graphql.errors import BadInput
from danvan.projections.paging import BadCursor


@strawberry.input(description="How to order a page of quotas.")
class QuotaOrder:
    field: QuotaOrderField = QuotaOrderField.CODE
    direction: OrderDirection = OrderDirection.ASC


def _refuse(name: str, problem: str) -> BadInput:
    return BadInput(f"{name} {problem}", argument=name)


def year(value: int, name: str = "year") -> int:
    errors = Errors()
    checked = check_year(errors, value, name)
    if checked is None:
        raise _refuse(name, errors.errors[name])
    return checked


def optional_year(value: int | None, name: str = "year") -> int | None:
    return None if value is None else year(value, name)


def moment(value: datetime, name: str) -> datetime:
    """A time on the timeline (a bare time has none) within the years the data can cover;
    ``0001-01-01T00:00:00+14:00`` is not even a time Vietnam's clock can show."""
    if value.utcoffset() is None:
        raise _refuse(name, "must carry a UTC offset, e.g. 2026-06-30T23:59:59+07:00")
    try:
        local_year = value.astimezone(VIETNAM).year
    except OverflowError:
        local_year = value.year  # year 1 or 9999, out of range either way
    if check_year(Errors(), local_year, name) is None:
        raise _refuse(name, f"must fall within the years {FIRST_YEAR} to {LAST_YEAR} "
                            "(Vietnam time)")
    return value


def optional_moment(value: datetime | None, name: str) -> datetime | None:
    return None if value is None else moment(value, name)


def text(value: str | None, name: str, max_length: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    problem = text_problem(value, max_length)
    if problem is not None:
        raise _refuse(name, problem)
    return value


def identifier(value: str, name: str) -> str:
    """An id or a code (a tenant's id, a province's code, an actor's id)."""
    checked = text(str(value), name, MAX_CODE)
    assert checked is not None
    return checked


def uuid_id(value: str, name: str) -> str:
    """An id that is a UUID (models, units, aggregates): anything else names nothing, and a
    SQL cast of it would fail."""
    try:
        return str(uuid.UUID(identifier(value, name)))  # the form PostgreSQL reads
    except ValueError:
        raise _refuse(name, "must be a UUID") from None


def optional_uuid_id(value: str | None, name: str) -> str | None:
    return None if value is None else uuid_id(value, name)


def cursor(value: str | None, name: str = "after") -> str | None:
    """An ``endCursor`` handed out earlier (opaque; its length follows the row's key)."""
    return text(value, name)


def bad_cursor(refused: BadCursor, name: str = "after") -> BadInput:
    """The error for a cursor the read model refused (malformed, or another list's)."""
    return _refuse(name, f"is not a cursor of this list ({refused})")
