"""Every projection danvan runs, by name."""

from __future__ import annotations

from danvan.projections.audit.projection import Audit
from danvan.projections.base import Projection
from danvan.projections.directory.projection import Directory
from danvan.projections.models.projection import Models
from danvan.projections.plans.projection import Plans
from danvan.projections.reminders.projection import Reminders
from danvan.projections.targets.projection import Targets
from danvan.projections.users.projection import Users


def all_projections() -> list[Projection]:
    return [Directory(), Targets(), Models(), Plans(), Reminders(), Users(), Audit()]


def projection_names() -> list[str]:
    return [p.name for p in all_projections()]


def by_names(names: list[str] | None) -> list[Projection]:
    """The named projections (all when ``names`` is empty); an unknown name is a KeyError."""
    known = {p.name: p for p in all_projections()}
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown projection(s) {', '.join(unknown)}; "
                       f"known: {', '.join(known)}")
    return [known[n] for n in names]
