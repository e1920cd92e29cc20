"""Property: no sequence of commands, legal or not, reaches an illegal state."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from danvan.domain.base import DomainError
from danvan.domain.commands import (
    AcceptModel,
    AmendModel,
    DiscontinueModel,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    ModelCommand,
    NominateModel,
    ProposeModel,
    ReceiveCopy,
    RecognizeModel,
    RegistrationForm,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SelfAssessModel,
    SubmitModel,
    rule_of,
)
from danvan.domain.model import Model, State
from tests.unit.builders import SCORES_FAIL, SCORES_PASS, ctx, draft

COMMANDS: dict[str, Callable[[Model], tuple[ModelCommand, str]]] = {
    "amend": lambda m: (AmendModel(form=RegistrationForm(goals="Mục tiêu mới")), "unit_user"),
    "amend_bad": lambda m: (AmendModel(name=""), "unit_user"),
    "submit": lambda m: (SubmitModel(), "unit_user"),
    "return": lambda m: (ReturnModel("Bổ sung"), "reviewer"),
    "return_no_reason": lambda m: (ReturnModel(""), "reviewer"),
    "reject": lambda m: (RejectModel("Không đạt"), "reviewer"),
    "accept": lambda m: (AcceptModel(), "reviewer"),
    "copy": lambda m: (ReceiveCopy(), "reviewer"),
    "progress": lambda m: (ReportProgress("2026-H1", 5, 9), "unit_user"),
    "inspect": lambda m: (InspectModel("Tốt"), "reviewer"),
    "self_assess": lambda m: (SelfAssessModel("Đạt"), "unit_user"),
    "evaluate_pass": lambda m: (EvaluateModel(SCORES_PASS), "reviewer"),
    "evaluate_fail": lambda m: (EvaluateModel(SCORES_FAIL), "reviewer"),
    "evaluate_bad": lambda m: (EvaluateModel({"effectiveness": Decimal(300)}), "reviewer"),
    "propose": lambda m: (ProposeModel(), "reviewer"),
    "recognize_tenant": lambda m: (RecognizeModel(Level.TENANT, "1", date(2026, 5, 1)),
                                   "approver"),
    "nominate": lambda m: (NominateModel(), "approver"),
    "recognize_province": lambda m: (RecognizeModel(Level.PROVINCE, "2", date(2026, 5, 2)),
                                     "province_admin"),
    "revoke_tenant": lambda m: (RevokeRecognition(Level.TENANT, "Sai"), "approver"),
    "revoke_province": lambda m: (RevokeRecognition(Level.PROVINCE, "Sai"), "province_admin"),
    "discontinue": lambda m: (DiscontinueModel("Dừng"), "reviewer"),
    "maintain": lambda m: (MaintainModel(max(m.list_years or (m.year,)) + 1), "reviewer"),
}
"""Commands a model may be sent in any order, legal or not, and who sends each."""


def send(model: Model, name: str) -> ModelCommand:
    command, role = COMMANDS[name](model)
    model.handle(command, ctx(role))
    return command


def check_invariants(model: Model) -> None:
    assert model.state in State
    if model.state == State.RECOGNIZED_PROVINCE:
        assert set(model.recognitions) == {"tenant", "province"}
    if model.state in (State.RECOGNIZED_TENANT, State.NOMINATED):
        assert "tenant" in model.recognitions
    if model.state == State.PROPOSED:
        assert model.passed
    if model.state == State.REVOKED:
        assert model.recognitions == {}
    if "province" in model.recognitions:
        assert "tenant" in model.recognitions
    if model.accepted:
        assert model.submitted_ever and model.list_years[0] == model.year
    if model.state in (State.DRAFT, State.SUBMITTED, State.RETURNED, State.REJECTED):
        assert not model.accepted and model.recognitions == {}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(COMMANDS)), max_size=30))
def test_no_sequence_of_commands_reaches_an_illegal_state(names: list[str]) -> None:
    model = draft()
    stored: list[Any] = []
    for name in names:
        before_state, before_version = model.state, model.version
        try:
            command = send(model, name)
        except DomainError:
            assert model.version == before_version and model.state == before_state
            assert model.collect_events() == []
        else:
            new = model.collect_events()
            assert len(new) <= 1
            assert model.version == before_version + len(new)
            stored.extend(new)
            if new:
                assert before_state in rule_of(command).allowed_from, name
        check_invariants(model)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(COMMANDS)), max_size=25))
def test_replaying_any_accepted_history_gives_the_same_model(names: list[str]) -> None:
    from tests.unit.builders import register

    model = register()
    for name in names:
        with contextlib.suppress(DomainError):
            send(model, name)
    replayed: Model | None = None
    for event in model.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.__dict__ == model.__dict__
