"""Evaluation against the criteria: six for a collective model, four for a person, and the
province's rules for a year (weights and pass mark) that evaluations made then apply."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, TenantAggregate, derive_id
from danvan.domain.limits import SCORE
from danvan.domain.policies import province_scope
from danvan.domain.registration_form import ModelKind
from danvan.domain.targets import check_year
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import SetEvaluationRules

COLLECTIVE_CRITERIA = ("effectiveness", "creativity", "participation", "replicability",
                       "political_tie", "planning")
PERSON_CRITERIA = ("reputation", "ethics", "responsibility", "mobilisation")
DEFAULT_PASS_MARK = Decimal(70)
WEIGHT_TOTAL = 100
"""A province's weights are whole numbers adding up to this (per cent)."""


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


class ProvinceEvaluationRules(TenantAggregate):
    """The province's rules for evaluations made in one year: a weight per criterion for
    collective models and for exemplars, and the pass mark (Ban Tuyên giáo và Dân vận)."""

    province_code: str
    year: int
    weights: dict[str, int]
    person_weights: dict[str, int]
    pass_mark: str

    @staticmethod
    def id_for(province_code: str, year: int) -> uuid.UUID:
        return derive_id("evaluation-rules", province_code, year)

    class Set(TenantAggregate.Created):
        province_code: str
        year: int
        weights: dict[str, int]
        person_weights: dict[str, int]
        pass_mark: str

    class Changed(TenantAggregate.Event):
        weights: dict[str, int]
        person_weights: dict[str, int]
        pass_mark: str

        def apply(self, rules: ProvinceEvaluationRules) -> None:
            rules.weights = dict(self.weights)
            rules.person_weights = dict(self.person_weights)
            rules.pass_mark = self.pass_mark

    @staticmethod
    def check(command: SetEvaluationRules) -> dict[str, Any]:
        """The rules as the events record them; each set of weights whole, non-negative,
        for exactly its criteria, adding up to ``WEIGHT_TOTAL``."""
        errors = Errors()
        check_year(errors, command.year)
        for member, weights, criteria in (("weights", command.weights, COLLECTIVE_CRITERIA),
                                          ("person_weights", command.person_weights,
                                           PERSON_CRITERIA)):
            for name in weights:
                if name not in criteria:
                    errors.add(f"{member}.{name}", "unknown field")
            for name in criteria:
                if name not in weights:
                    errors.add(f"{member}.{name}", "required")
                else:
                    errors.integer(f"{member}.{name}", weights[name], maximum=WEIGHT_TOTAL)
            if set(weights) == set(criteria) and sum(weights.values()) != WEIGHT_TOTAL:
                errors.add(member, f"must add up to {WEIGHT_TOTAL}")
        errors.decimal("pass_mark", command.pass_mark, SCORE)
        errors.raise_if_any()
        return {"weights": dict(command.weights), "person_weights": dict(command.person_weights),
                "pass_mark": str(command.pass_mark)}

    @classmethod
    def set_first(cls, ctx: Context, command: SetEvaluationRules) -> ProvinceEvaluationRules:
        rules = cls.check(command)
        return cls._create(cls.Set, id=cls.id_for(command.province_code, command.year),
                           tenant_id=province_scope(command.province_code), meta=ctx.meta(),
                           timestamp=ctx.at, province_code=command.province_code,
                           year=command.year, **rules)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], province_code: str, year: int,
                 weights: dict[str, int], person_weights: dict[str, int],
                 pass_mark: str) -> None:
        self.tenant_id = tenant_id
        self.province_code = province_code
        self.year = year
        self.weights = dict(weights)
        self.person_weights = dict(person_weights)
        self.pass_mark = pass_mark

    def change(self, ctx: Context, command: SetEvaluationRules) -> bool:
        """New rules from now on; False (no event) when nothing changes."""
        rules = self.check(command)
        if rules == {"weights": self.weights, "person_weights": self.person_weights,
                     "pass_mark": self.pass_mark}:
            return False
        self._emit(self.Changed, ctx, **rules)
        return True

    def for_kind(self, kind: str) -> EvaluationRules:
        """What an evaluation of a model of ``kind`` applies."""
        weights = self.person_weights if kind == ModelKind.INDIVIDUAL else self.weights
        return EvaluationRules({c: Decimal(w) for c, w in weights.items()},
                               Decimal(self.pass_mark))
