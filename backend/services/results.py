"""What a successful command answers: the aggregate's id, new version and state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CommandResult:
    id: str
    version: int
    state: str | None = None
    created: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    command: str = "command"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "version": self.version}
        if self.state is not None:
            body["state"] = self.state
        body.update(self.extra)
        return body


@dataclass(frozen=True)
class DecisionResult:
    """What a decision covering several aggregates answers: the decision, and each one's
    id, new version and state."""

    decision: dict[str, Any]
    results: list[CommandResult]
    command: str = "decision"
    created: bool = False

    def body(self) -> dict[str, Any]:
        return {**self.decision, "models": [r.body() for r in self.results]}
