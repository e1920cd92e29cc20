"""Property: no sequence of commands, legal or not, reaches an illegal state."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from danvan.domain.base import DomainError
from danvan.domain.model import ALLOWED_FROM, Model, State
from tests.unit.builders import SCORES_FAIL, SCORES_PASS, ctx, draft

COMMANDS: dict[str, Any] = {
    "amend": lambda m: m.amend(ctx(), values={"goals": "Mục tiêu mới"}),
    "amend_bad": lambda m: m.amend(ctx(), values={"year": 2027}),
    "submit": lambda m: m.submit(ctx()),
    "return": lambda m: m.return_for_revision(ctx("reviewer"), reason="Bổ sung"),
    "return_no_reason": lambda m: m.return_for_revision(ctx("reviewer"), reason=""),
    "reject": lambda m: m.reject(ctx("reviewer"), reason="Không đạt"),
    "accept": lambda m: m.accept(ctx("reviewer")),
    "copy": lambda m: m.receive_copy(ctx("reviewer")),
    "progress": lambda m: m.report_progress(ctx(), values={"period": "2026-H1",
                                                           "participants": 5, "workdays": 9}),
    "inspect": lambda m: m.inspect(ctx("reviewer"), findings="Tốt"),
    "self_assess": lambda m: m.self_assess(ctx(), summary="Đạt"),
    "evaluate_pass": lambda m: m.evaluate(ctx("reviewer"), scores=SCORES_PASS),
    "evaluate_fail": lambda m: m.evaluate(ctx("reviewer"), scores=SCORES_FAIL),
    "evaluate_bad": lambda m: m.evaluate(ctx("reviewer"), scores={"effectiveness": 300}),
    "propose": lambda m: m.propose(ctx("reviewer")),
    "recognise_tenant": lambda m: m.recognise(ctx("approver"), level="tenant",
                                              decision_number="1", decision_date="2026-05-01"),
    "nominate": lambda m: m.nominate(ctx("approver")),
    "recognise_province": lambda m: m.recognise(ctx("province_admin"), level="province",
                                                decision_number="2",
                                                decision_date="2026-05-02"),
    "revoke_tenant": lambda m: m.revoke(ctx("approver"), level="tenant", reason="Sai"),
    "revoke_province": lambda m: m.revoke(ctx("province_admin"), level="province",
                                          reason="Sai"),
    "discontinue": lambda m: m.discontinue(ctx("reviewer"), reason="Dừng"),
    "maintain": lambda m: m.maintain(ctx("reviewer"), year=max(m.list_years or [m.year]) + 1),
}


ACTION_OF = {
    "amend": "amend", "submit": "submit", "return": "return", "reject": "reject",
    "accept": "accept", "copy": "receive_copy", "progress": "progress", "inspect": "inspection",
    "self_assess": "self_assessment", "evaluate_pass": "evaluation",
    "evaluate_fail": "evaluation", "propose": "proposal", "recognise_tenant": "recognition_tenant",
    "nominate": "nomination", "recognise_province": "recognition_province",
    "revoke_tenant": "revocation_tenant", "revoke_province": "revocation_province",
    "discontinue": "discontinuation", "maintain": "maintenance",
}
"""The state-table entry each accepted command must have been allowed by."""


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
            COMMANDS[name](model)
        except DomainError:
            assert model.version == before_version and model.state == before_state
            assert model.collect_events() == []
        else:
            new = model.collect_events()
            assert len(new) <= 1
            assert model.version == before_version + len(new)
            stored.extend(new)
            if new:
                assert before_state in ALLOWED_FROM[ACTION_OF[name]], name
        check_invariants(model)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(COMMANDS)), max_size=25))
def test_replaying_any_accepted_history_gives_the_same_model(names: list[str]) -> None:
    from tests.unit.builders import complete_form, unit

    model = Model.register(ctx(), unit=unit(), values=complete_form())
    for name in names:
        with contextlib.suppress(DomainError):
            COMMANDS[name](model)
    replayed: Model | None = None
    for event in model.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.__dict__ == model.__dict__
