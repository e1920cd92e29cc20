"""What the services refuse, in their own words. ``backend/errors.py`` maps each to its
problem (status, code, message); the command line, the demo and jobs show them as they are.

Refusals of the domain itself (``DomainError``: bad input, an illegal transition) pass
through the services unchanged.
"""

from __future__ import annotations

from danvan.domain.base import DomainError


class ServiceError(Exception):
    """A refusal outside the domain's rules: scope, existence, preconditions."""

    code = "service_error"

    def __init__(self, message: str | None = None, **params: object) -> None:
        super().__init__(message or self.code)
        self.message = message
        """What exactly is refused, when the code alone does not say it."""
        self.params = params


class NotFound(ServiceError):
    """The id names nothing of that kind in the caller's scope."""

    code = "not_found"


class Forbidden(ServiceError):
    """The caller may not do this there (beyond what the route's guard could see)."""

    code = "forbidden"


class OtherUnit(Forbidden):
    """A unit user acting for another unit."""

    code = "other_unit"


class AlreadyExists(ServiceError):
    """A create whose natural key is taken: the store refused the duplicate."""

    code = "already_exists"


class StaleVersion(ServiceError):
    """The caller's ``If-Match`` names another version than the aggregate's."""

    code = "precondition_failed"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(expected=expected, current=current)


class Unavailable(ServiceError):
    """A dependency the command needs is not there (the personal-data vault)."""

    code = "store_unavailable"


class DecisionRefused(ServiceError):
    """A decision covering several models refused as a whole: ``refusals`` says, for each
    model that may not take it, the domain's reason (the others took nothing either)."""

    code = "decision_refused"

    def __init__(self, refusals: list[tuple[str, DomainError]]) -> None:
        super().__init__(f"{len(refusals)} of the decision's models may not take it",
                         refused=len(refusals))
        self.refusals = refusals
