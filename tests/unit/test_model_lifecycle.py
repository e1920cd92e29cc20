"""Given/when/then specifications of a model's lifecycle, grouped by state."""

from __future__ import annotations

from typing import Any

import pytest

from danvan.domain.base import IllegalTransition, InvalidInput
from danvan.domain.evaluation import EvaluationRules
from danvan.domain.model import Model, State, UnitNotUsable
from danvan.domain.units import Unit
from tests.unit.builders import (
    OTHER_TENANT,
    SCORES_FAIL,
    SCORES_PASS,
    complete_form,
    ctx,
    draft,
    given,
    through,
    unit,
)


def refuses(model: Model, action: Any, error: type[Exception], code: str | None = None) -> Any:
    """Then: the command is refused and nothing is appended."""
    version = model.version
    with pytest.raises(error) as caught:
        action(model)
    assert model.version == version
    assert model.collect_events() == []
    if code is not None:
        assert caught.value.code == code  # type: ignore[attr-defined]
    return caught.value


def emitted(model: Model, event_type: type) -> Any:
    events = model.collect_events()
    assert [type(e) for e in events] == [event_type]
    return events[0]


class TestRegistering:
    def test_a_registration_becomes_a_draft_of_the_unit(self) -> None:
        u = unit()
        model = Model.register(ctx(), unit=u, values=complete_form())
        event = emitted(model, Model.Registered)
        assert model.state == State.DRAFT
        assert model.unit_id == str(u.id)
        assert event.meta["actor_role"] == "unit_user"
        assert event.meta["correlation_id"] == "corr-1"
        assert event.tenant_id == model.tenant_id == "tenant-yen-bai"

    def test_the_same_unit_year_and_name_derive_the_same_id(self) -> None:
        u = unit()
        first = Model.register(ctx(), unit=u, values=complete_form())
        again = Model.register(ctx(), unit=u, values=complete_form(
            name="  DÂN VẬN KHÉO trong xây dựng   nông thôn mới "))
        assert first.id == again.id

    def test_a_draft_may_lack_form_members(self) -> None:
        model = Model.register(ctx(), unit=unit(), values={
            "year": 2026, "name": "Mô hình mới", "kind": "collective"})
        assert model.state == State.DRAFT and model.field is None

    @pytest.mark.parametrize(("values", "field"), [
        (complete_form(colour="red"), "colour"),
        (complete_form(kind="team"), "kind"),
        (complete_form(field="sports"), "field"),
        (complete_form(year=2019), "year"),
        (complete_form(name=""), "name"),
        (complete_form(start_date="2026-13-01"), "start_date"),
        (complete_form(end_date="2026-01-01"), "end_date"),
        (complete_form(kind="individual"), "person"),
    ])
    def test_bad_input_is_refused_naming_the_field(self, values: dict[str, Any],
                                                   field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            Model.register(ctx(), unit=unit(), values=values)
        assert field in caught.value.errors

    def test_a_unit_of_another_tenant_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            Model.register(ctx(), unit=unit(tenant=OTHER_TENANT), values=complete_form())
        assert "unit_id" in caught.value.errors

    def test_a_closed_unit_cannot_register(self) -> None:
        u = unit()
        u.close(ctx("tenant_admin"), reason="Sáp nhập")
        with pytest.raises(UnitNotUsable) as caught:
            Model.register(ctx(), unit=u, values=complete_form())
        assert caught.value.code == "unit_closed"

    def test_an_exemplar_carries_its_sealed_personal_data(self) -> None:
        model = Model.register(ctx(), unit=unit(), values=complete_form(kind="individual"),
                               person_key_id="key-1", person_token="sealed")
        assert model.person_token == "sealed" and not model.person_erased


class TestDraft:
    def test_amending_changes_only_what_differs(self) -> None:
        model = draft()
        assert model.amend(ctx(), values={"goals": "Bê tông hóa 3 km", "area": "Tổ dân phố 5"})
        event = emitted(model, Model.Amended)
        assert event.changes == {"goals": "Bê tông hóa 3 km"}

    def test_amending_to_the_same_values_appends_nothing(self) -> None:
        model = draft()
        assert model.amend(ctx(), values={"area": "Tổ dân phố 5"}) is False
        assert model.collect_events() == []

    @pytest.mark.parametrize("member", ["unit_id", "year", "kind", "colour"])
    def test_amending_fixed_or_unknown_members_is_refused(self, member: str) -> None:
        error = refuses(draft(), lambda m: m.amend(ctx(), values={member: "x"}), InvalidInput)
        assert member in error.errors

    def test_submitting_a_complete_draft(self) -> None:
        model = draft()
        model.submit(ctx())
        emitted(model, Model.Submitted)
        assert model.state == State.SUBMITTED

    def test_submitting_an_incomplete_draft_names_what_is_missing(self) -> None:
        model = Model.register(ctx(), unit=unit(), values={
            "year": 2026, "name": "Mô hình", "kind": "collective", "problem": "p"})
        model.collect_events()
        error = refuses(model, lambda m: m.submit(ctx()), InvalidInput)
        assert {"field", "goals", "start_date", "sustainability"} <= set(error.errors)
        assert "problem" not in error.errors

    @pytest.mark.parametrize("action", [
        lambda m: m.accept(ctx("reviewer")),
        lambda m: m.reject(ctx("reviewer"), reason="x"),
        lambda m: m.report_progress(ctx(), values={"period": "2026", "participants": 1,
                                                   "workdays": 1}),
        lambda m: m.propose(ctx("reviewer")),
        lambda m: m.discontinue(ctx("reviewer"), reason="x"),
    ])
    def test_later_steps_are_illegal_on_a_draft(self, action: Any) -> None:
        refuses(draft(), action, IllegalTransition, "illegal_transition")


class TestVerticalLine:
    def vertical_draft(self) -> Model:
        model = Model.register(ctx("reviewer"), unit=unit("Chi bộ Công an phường", vertical=True,
                                                          kind="police"),
                               values=complete_form())
        model.collect_events()
        return model

    def test_the_ward_records_the_copy(self) -> None:
        model = self.vertical_draft()
        assert model.vertical_line
        model.receive_copy(ctx("reviewer"))
        emitted(model, Model.CopyReceived)
        assert model.state == State.COPY_RECEIVED and model.submitted_ever

    def test_a_vertical_line_model_is_not_submitted_to_the_ward(self) -> None:
        refuses(self.vertical_draft(), lambda m: m.submit(ctx()), IllegalTransition,
                "vertical_line_unit")

    def test_any_other_unit_cannot_have_a_copy_received(self) -> None:
        refuses(draft(), lambda m: m.receive_copy(ctx("reviewer")), IllegalTransition,
                "not_vertical_line_unit")


class TestSubmitted:
    def test_returned_with_a_reason_then_amended_and_resubmitted(self) -> None:
        model = given("submitted")
        model.return_for_revision(ctx("reviewer"), reason="Bổ sung số liệu")
        event = emitted(model, Model.Returned)
        assert event.meta["reason"] == "Bổ sung số liệu"
        model.amend(ctx(), values={"outputs": "3 km đường"})
        model.submit(ctx())
        assert model.state == State.SUBMITTED

    @pytest.mark.parametrize("reason", [None, "", "   "])
    def test_return_and_reject_need_a_reason(self, reason: Any) -> None:
        refuses(given("submitted"), lambda m: m.return_for_revision(ctx("reviewer"),
                                                                    reason=reason), InvalidInput)
        refuses(given("submitted"), lambda m: m.reject(ctx("reviewer"), reason=reason),
                InvalidInput)

    def test_accepted_into_the_years_list(self) -> None:
        model = given("submitted", "accepted")
        assert model.state == State.ACCEPTED and model.accepted and model.list_years == (2026,)

    def test_a_rejected_model_is_final(self) -> None:
        model = given("submitted", "rejected")
        refuses(model, lambda m: m.submit(ctx()), IllegalTransition)
        refuses(model, lambda m: m.discontinue(ctx("reviewer"), reason="x"), IllegalTransition)


class TestImplementation:
    def test_progress_is_reported_many_times_without_changing_state(self) -> None:
        model = through("accepted")
        for quarter in ("2026-Q1", "2026-Q2"):
            model.report_progress(ctx(), values={"period": quarter, "participants": 120,
                                                 "workdays": 300, "money_vnd": "150000000",
                                                 "land_m2": 85.5, "note": "Đổ bê tông"})
            event = emitted(model, Model.ProgressReported)
        assert event.money_vnd == "150000000" and event.land_m2 == "85.5"
        assert model.state == State.ACCEPTED

    @pytest.mark.parametrize(("values", "field"), [
        ({"period": "2026-Q5", "participants": 1, "workdays": 1}, "period"),
        ({"period": "2025", "participants": 1, "workdays": 1}, "period"),
        ({"period": "2026", "participants": -1, "workdays": 1}, "participants"),
        ({"period": "2026", "participants": 1.5, "workdays": 1}, "participants"),
        ({"period": "2026", "participants": 1, "workdays": 1, "money_vnd": "abc"}, "money_vnd"),
        ({"period": "2026", "participants": 1, "workdays": 1, "extra": 1}, "extra"),
    ])
    def test_bad_progress_figures_are_refused(self, values: dict[str, Any], field: str) -> None:
        error = refuses(through("accepted"), lambda m: m.report_progress(ctx(), values=values),
                        InvalidInput)
        assert field in error.errors

    def test_inspection_records_findings(self) -> None:
        model = through("accepted")
        model.inspect(ctx("reviewer"), findings="Triển khai đúng tiến độ")
        assert emitted(model, Model.Inspected).findings == "Triển khai đúng tiến độ"


class TestEvaluation:
    def test_a_weighted_total_at_or_above_the_pass_mark_passes(self) -> None:
        model = through("self_assessed")
        model.evaluate(ctx("reviewer"), scores=SCORES_PASS)
        event = emitted(model, Model.Evaluated)
        assert event.total == "78.33" and event.passed and model.passed

    def test_a_failing_evaluation_cannot_be_proposed_until_re_evaluated(self) -> None:
        model = given("submitted", "accepted", "self_assessed", "evaluated_failing")
        assert not model.passed
        refuses(model, lambda m: m.propose(ctx("reviewer")), IllegalTransition,
                "evaluation_not_passed")
        model.evaluate(ctx("reviewer"), scores=SCORES_PASS)
        model.propose(ctx("reviewer"))
        assert model.state == State.PROPOSED

    def test_province_weights_and_pass_mark_decide(self) -> None:
        from decimal import Decimal

        weights = {k: Decimal(0) for k in SCORES_PASS} | {"participation": Decimal(1)}
        model = through("self_assessed")
        model.evaluate(ctx("reviewer"), scores=SCORES_FAIL | {"participation": 95},
                       rules=EvaluationRules(weights, pass_mark=Decimal(90)))
        assert emitted(model, Model.Evaluated).total == "95.00"

    @pytest.mark.parametrize(("scores", "field"), [
        (SCORES_PASS | {"planning": 101}, "scores.planning"),
        (SCORES_PASS | {"planning": -1}, "scores.planning"),
        ({k: v for k, v in SCORES_PASS.items() if k != "creativity"}, "scores.creativity"),
        (SCORES_PASS | {"beauty": 10}, "scores.beauty"),
    ])
    def test_scores_outside_0_100_or_unknown_are_refused(self, scores: dict[str, Any],
                                                         field: str) -> None:
        error = refuses(through("self_assessed"),
                        lambda m: m.evaluate(ctx("reviewer"), scores=scores), InvalidInput)
        assert field in error.errors

    def test_evaluation_needs_a_self_assessment_first(self) -> None:
        refuses(through("accepted"), lambda m: m.evaluate(ctx("reviewer"), scores=SCORES_PASS),
                IllegalTransition)

    def test_an_exemplar_is_judged_on_the_person_criteria(self) -> None:
        model = Model.register(ctx(), unit=unit(), values=complete_form(kind="individual"),
                               person_key_id="k", person_token="t")
        given(*["submitted", "accepted", "self_assessed"], model=model)
        model.evaluate(ctx("reviewer"), scores={"reputation": 90, "ethics": 90,
                                                "responsibility": 80, "mobilisation": 80})
        assert model.passed


class TestRecognition:
    def test_recognised_at_tenant_then_province_level(self) -> None:
        model = through("recognized_province")
        assert model.state == State.RECOGNIZED_PROVINCE
        assert set(model.recognitions) == {"tenant", "province"}
        assert model.recognitions["province"].decision_number == "120/QĐ-TU"

    @pytest.mark.parametrize(("date", "reason"), [("2026-06-02", "future"),
                                                  ("2025-12-31", "before")])
    def test_the_decision_date_is_checked(self, date: str, reason: str) -> None:
        error = refuses(through("proposed"), lambda m: m.recognise(
            ctx("approver"), level="tenant", decision_number="1", decision_date=date),
            InvalidInput)
        assert "decision_date" in error.errors

    def test_province_recognition_needs_a_nomination(self) -> None:
        refuses(through("recognized_tenant"), lambda m: m.recognise(
            ctx("province_admin"), level="province", decision_number="1",
            decision_date="2026-05-30"), IllegalTransition)

    def test_revoking_the_province_level_keeps_the_tenant_level(self) -> None:
        model = through("recognized_province")
        model.revoke(ctx("province_admin"), level="province", reason="Sai phạm")
        assert emitted(model, Model.Revoked).meta["reason"] == "Sai phạm"
        assert model.state == State.RECOGNIZED_TENANT and "province" not in model.recognitions

    def test_revoking_the_only_recognition_revokes_the_model(self) -> None:
        model = through("recognized_tenant")
        model.revoke(ctx("approver"), level="tenant", reason="Không duy trì")
        assert model.state == State.REVOKED and model.recognitions == {}

    def test_the_tenant_level_cannot_be_revoked_under_a_province_recognition(self) -> None:
        refuses(through("recognized_province"),
                lambda m: m.revoke(ctx("approver"), level="tenant", reason="x"),
                IllegalTransition)


class TestEndOfLife:
    @pytest.mark.parametrize("state", ["accepted", "evaluated", "recognized_tenant",
                                       "recognized_province"])
    def test_any_active_model_can_be_discontinued_with_a_reason(self, state: str) -> None:
        model = through(state)
        refuses(model, lambda m: m.discontinue(ctx("reviewer"), reason=""), InvalidInput)
        model.discontinue(ctx("reviewer"), reason="Không còn phù hợp")
        assert model.state == State.DISCONTINUED
        assert model.recognitions == through(state).recognitions

    def test_maintained_into_the_next_years_list_only(self) -> None:
        model = through("recognized_tenant")
        refuses(model, lambda m: m.maintain(ctx("reviewer"), year=2028), IllegalTransition,
                "maintenance_year")
        model.maintain(ctx("reviewer"), year=2027)
        model.maintain(ctx("reviewer"), year=2028)
        assert model.list_years == (2026, 2027, 2028)

    def test_personal_data_is_erased_once_and_only_for_exemplars(self) -> None:
        refuses(draft(), lambda m: m.erase_personal_data(ctx("tenant_admin"), reason="Yêu cầu"),
                IllegalTransition, "no_personal_data")
        model = Model.register(ctx(), unit=unit(), values=complete_form(kind="individual"),
                               person_key_id="k", person_token="t")
        model.collect_events()
        model.erase_personal_data(ctx("tenant_admin"), reason="Yêu cầu của cá nhân")
        emitted(model, Model.PersonalDataErased)
        assert model.person_erased
        refuses(model, lambda m: m.erase_personal_data(ctx("tenant_admin"), reason="again"),
                IllegalTransition, "personal_data_erased")


def test_replaying_the_events_rebuilds_the_same_model() -> None:
    model = draft()
    events = list(Model.register(ctx(), unit=unit(), values=complete_form()).collect_events())
    for step in ("submitted", "accepted", "self_assessed", "evaluated", "proposed"):
        from tests.unit.builders import STEPS

        STEPS[step](model)
        events.extend(model.collect_events())
    replayed: Model | None = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == model.__dict__


def test_units_close_once_with_a_reason() -> None:
    u = Unit.add(ctx("tenant_admin"), name="Hội Phụ nữ", kind="mass_org")
    with pytest.raises(InvalidInput):
        u.close(ctx("tenant_admin"), reason="")
    u.close(ctx("tenant_admin"), reason="Sáp nhập")
    with pytest.raises(IllegalTransition):
        u.close(ctx("tenant_admin"), reason="again")
