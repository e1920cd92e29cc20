"""Evaluation against the criteria: six for a collective model, four for a person."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from danvan.domain.limits import SCORE
from danvan.domain.registration_form import ModelKind
from danvan.domain.validation import Errors

COLLECTIVE_CRITERIA = ("effectiveness", "creativity", "participation", "replicability",
                       "political_tie", "planning")
PERSON_CRITERIA = ("reputation", "ethics", "responsibility", "mobilisation")
DEFAULT_PASS_MARK = Decimal(70)


def criteria_for(kind: str) -> tuple[str, ...]:
    return PERSON_CRITERIA if kind == ModelKind.INDIVIDUAL else COLLECTIVE_CRITERIA


@dataclass(frozen=True)
class EvaluationRules:
    """Weights per criterion and the pass mark; equal weights and 70 unless the province sets."""

    weights: dict[str, Decimal]
    pass_mark: Decimal = DEFAULT_PASS_MARK

    @classmethod
    def default_for(cls, kind: str) -> EvaluationRules:
        return cls({c: Decimal(1) for c in criteria_for(kind)})

    def check(self, kind: str) -> None:
        errors = Errors()
        expected = criteria_for(kind)
        if set(self.weights) != set(expected):
            errors.add("weights", "must weigh exactly: " + ", ".join(expected))
        elif any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            errors.add("weights", "must be non-negative and not all zero")
        if not Decimal(0) <= self.pass_mark <= Decimal(100):
            errors.add("pass_mark", "must be between 0 and 100")
        errors.raise_if_any()


def check_scores(kind: str, scores: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """A score 0-100 for exactly the criteria of ``kind``."""
    errors = Errors()
    expected = criteria_for(kind)
    for name in scores:
        if name not in expected:
            errors.add(f"scores.{name}", "unknown field")
    checked: dict[str, Decimal] = {}
    for name in expected:
        if name not in scores:
            errors.add(f"scores.{name}", "required")
            continue
        value = errors.decimal(f"scores.{name}", scores[name], SCORE)
        if value is not None:
            checked[name] = value
    errors.raise_if_any()
    return checked


def weighted_total(scores: dict[str, Decimal], rules: EvaluationRules) -> Decimal:
    weight_sum = sum(rules.weights.values(), Decimal(0))
    total = sum((scores[c] * w for c, w in rules.weights.items()), Decimal(0)) / weight_sum
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
