"""Who did something: a user id and the role it acted in."""

from __future__ import annotations

import strawberry


@strawberry.type(name="Actor")
class ActorType:
    id: strawberry.ID | None
    role: str | None
