"""The model actions of the command API, by their URL name: who may, what body, which method.

Controllers look an action up here, ask ``policies.may`` for ``action_for(body)``, then call
``perform``. Every action emits exactly one event on the model, or none when it is refused
(or, for ``amend``, when nothing changes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from danvan.domain.base import Context, InvalidInput
from danvan.domain.evaluation import EvaluationRules
from danvan.domain.model import Level, Model
from danvan.domain.policies import Action
from danvan.domain.validation import Errors


@dataclass(frozen=True)
class ModelAction:
    name: str
    members: tuple[str, ...] | None
    """Allowed body members (None: checked by the domain method itself)."""
    policy: Callable[[dict[str, Any]], Action]
    run: Callable[[Model, Context, dict[str, Any], EvaluationRules | None], object]

    def action_for(self, body: dict[str, Any]) -> Action:
        return self.policy(body)

    def perform(self, model: Model, ctx: Context, body: dict[str, Any],
                rules: EvaluationRules | None = None) -> None:
        if self.members is not None:
            errors = Errors()
            errors.no_unknown(body, self.members)
            errors.raise_if_any()
        self.run(model, ctx, body, rules)


def _fixed(action: Action) -> Callable[[dict[str, Any]], Action]:
    return lambda _body: action


def _by_level(tenant: Action, province: Action) -> Callable[[dict[str, Any]], Action]:
    def policy(body: dict[str, Any]) -> Action:
        level = body.get("level")
        if level == Level.PROVINCE:
            return province
        if level == Level.TENANT:
            return tenant
        raise InvalidInput({"level": "must be one of province, tenant"})
    return policy


MODEL_ACTIONS: dict[str, ModelAction] = {a.name: a for a in (
    ModelAction("amend", None, _fixed(Action.MODEL_AMEND),
                lambda m, c, b, _r: m.amend(c, values=b)),
    ModelAction("submit", (), _fixed(Action.MODEL_SUBMIT), lambda m, c, b, _r: m.submit(c)),
    ModelAction("return", ("reason",), _fixed(Action.MODEL_RETURN),
                lambda m, c, b, _r: m.return_for_revision(c, reason=b.get("reason"))),
    ModelAction("reject", ("reason",), _fixed(Action.MODEL_REJECT),
                lambda m, c, b, _r: m.reject(c, reason=b.get("reason"))),
    ModelAction("accept", (), _fixed(Action.MODEL_ACCEPT), lambda m, c, b, _r: m.accept(c)),
    ModelAction("copy-received", (), _fixed(Action.MODEL_COPY_RECEIVED),
                lambda m, c, b, _r: m.receive_copy(c)),
    ModelAction("progress", None, _fixed(Action.MODEL_PROGRESS),
                lambda m, c, b, _r: m.report_progress(c, values=b)),
    ModelAction("inspection", ("findings",), _fixed(Action.MODEL_INSPECTION),
                lambda m, c, b, _r: m.inspect(c, findings=b.get("findings"))),
    ModelAction("self-assessment", ("summary",), _fixed(Action.MODEL_SELF_ASSESSMENT),
                lambda m, c, b, _r: m.self_assess(c, summary=b.get("summary"))),
    ModelAction("evaluation", ("scores",), _fixed(Action.MODEL_EVALUATION),
                lambda m, c, b, r: m.evaluate(c, scores=b.get("scores"), rules=r)),
    ModelAction("proposal", (), _fixed(Action.MODEL_PROPOSAL), lambda m, c, b, _r: m.propose(c)),
    ModelAction("recognition", ("level", "decision_number", "decision_date"),
                _by_level(Action.MODEL_RECOGNITION_TENANT, Action.MODEL_RECOGNITION_PROVINCE),
                lambda m, c, b, _r: m.recognise(c, level=b.get("level"),
                                                decision_number=b.get("decision_number"),
                                                decision_date=b.get("decision_date"))),
    ModelAction("nomination", (), _fixed(Action.MODEL_NOMINATION),
                lambda m, c, b, _r: m.nominate(c)),
    ModelAction("revocation", ("level", "reason"),
                _by_level(Action.MODEL_REVOCATION_TENANT, Action.MODEL_REVOCATION_PROVINCE),
                lambda m, c, b, _r: m.revoke(c, level=b.get("level"), reason=b.get("reason"))),
    ModelAction("discontinuation", ("reason",), _fixed(Action.MODEL_DISCONTINUATION),
                lambda m, c, b, _r: m.discontinue(c, reason=b.get("reason"))),
    ModelAction("maintenance", ("year",), _fixed(Action.MODEL_MAINTENANCE),
                lambda m, c, b, _r: m.maintain(c, year=b.get("year"))),
    ModelAction("personal-data-erasure", ("reason",), _fixed(Action.PERSONAL_DATA_ERASE),
                lambda m, c, b, _r: m.erase_personal_data(c, reason=b.get("reason"))),
)}
