"""Given/when/then specifications of a model's lifecycle, grouped by state."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from danvan.domain.base import IllegalTransition, InvalidInput
from danvan.domain.commands import (
    AcceptModel,
    AddUnit,
    AmendModel,
    CloseUnit,
    DiscontinueModel,
    ErasePersonalData,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    ProposeModel,
    ReceiveCopy,
    RecognizeModel,
    RegisterModel,
    RegistrationForm,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SubmitModel,
)
from danvan.domain.evaluation import EvaluationRules
from danvan.domain.model import Model, State, UnitNotUsable
from danvan.domain.units import Unit, UnitKind
from tests.unit.builders import (
    OTHER_TENANT,
    PERSON,
    SCORES_FAIL,
    SCORES_PASS,
    complete_form,
    ctx,
    draft,
    given,
    register,
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
        model = register(u)
        event = emitted(model, Model.Registered)
        assert model.state == State.DRAFT
        assert model.unit_id == str(u.id)
        assert event.meta["actor_role"] == "unit_user"
        assert event.meta["correlation_id"] == "corr-1"
        assert event.tenant_id == model.tenant_id == "tenant-yen-bai"

    def test_the_same_unit_year_and_name_derive_the_same_id(self) -> None:
        u = unit()
        first = register(u)
        again = register(u, name="  DÂN VẬN KHÉO trong xây dựng   nông thôn mới ")
        assert first.id == again.id

    def test_a_draft_may_lack_form_members(self) -> None:
        u = unit()
        model = Model.register(ctx(), u, RegisterModel(str(u.id), 2026, "Mô hình mới",
                                                       kind=complete_form("x").kind))
        assert model.state == State.DRAFT and model.field is None

    @pytest.mark.parametrize(("overrides", "field"), [
        ({"year": 2019}, "year"),
        ({"name": ""}, "name"),
        ({"name": "x" * 501}, "name"),
        ({"goals": "a\x00b"}, "goals"),
        ({"end_date": "2026-01-01"}, "end_date"),
        ({"kind": "individual"}, "person"),
        ({"person": PERSON}, "person"),
    ])
    def test_bad_input_is_refused_naming_the_field(self, overrides: dict[str, Any],
                                                   field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            register(**overrides)
        assert field in caught.value.errors

    def test_a_unit_of_another_tenant_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            register(unit(tenant=OTHER_TENANT))
        assert "unit_id" in caught.value.errors

    def test_a_closed_unit_cannot_register(self) -> None:
        u = unit()
        u.close(ctx("tenant_admin"), CloseUnit("Sáp nhập"))
        with pytest.raises(UnitNotUsable) as caught:
            register(u)
        assert caught.value.code == "unit_closed"

    def test_an_exemplar_carries_its_sealed_personal_data(self) -> None:
        u = unit()
        model = Model.register(ctx(), u, complete_form(str(u.id), kind="individual",
                                                       person=PERSON),
                               person_key_id="key-1", person_token="sealed")
        assert model.person_token == "sealed" and not model.person_erased


class TestDraft:
    def test_amending_changes_only_what_differs(self) -> None:
        model = draft()
        model.handle(AmendModel(form=RegistrationForm(goals="Bê tông hóa 3 km",
                                                      area="Tổ dân phố 5")), ctx())
        event = emitted(model, Model.Amended)
        assert event.changes == {"goals": "Bê tông hóa 3 km"}

    def test_amending_to_the_same_values_appends_nothing(self) -> None:
        model = draft()
        model.handle(AmendModel(form=RegistrationForm(area="Tổ dân phố 5")), ctx())
        assert model.collect_events() == []

    @pytest.mark.parametrize(("command", "member"), [
        (AmendModel(name=""), "name"),
        (AmendModel(form=RegistrationForm(end_date=date(2026, 1, 1))), "end_date"),
        (AmendModel(form=RegistrationForm(outputs="x" * 20_001)), "outputs"),
    ])
    def test_amending_to_bad_values_is_refused(self, command: AmendModel, member: str) -> None:
        error = refuses(draft(), lambda m: m.handle(command, ctx()), InvalidInput)
        assert member in error.errors

    def test_submitting_a_complete_draft(self) -> None:
        model = draft()
        model.handle(SubmitModel(), ctx())
        emitted(model, Model.Submitted)
        assert model.state == State.SUBMITTED

    def test_submitting_an_incomplete_draft_names_what_is_missing(self) -> None:
        u = unit()
        model = Model.register(ctx(), u, RegisterModel(
            str(u.id), 2026, "Mô hình", complete_form("x").kind,
            form=RegistrationForm(problem="p")))
        model.collect_events()
        error = refuses(model, lambda m: m.handle(SubmitModel(), ctx()), InvalidInput)
        assert {"field", "goals", "start_date", "sustainability"} <= set(error.errors)
        assert "problem" not in error.errors

    @pytest.mark.parametrize("action", [
        lambda m: m.handle(AcceptModel(), ctx("reviewer")),
        lambda m: m.handle(RejectModel("x"), ctx("reviewer")),
        lambda m: m.handle(ReportProgress("2026", 1, 1), ctx()),
        lambda m: m.handle(ProposeModel(), ctx("reviewer")),
        lambda m: m.handle(DiscontinueModel("x"), ctx("reviewer")),
    ])
    def test_later_steps_are_illegal_on_a_draft(self, action: Any) -> None:
        refuses(draft(), action, IllegalTransition, "illegal_transition")


class TestVerticalLine:
    def vertical_draft(self) -> Model:
        model = register(unit("Chi bộ Công an phường", vertical=True, kind="police"),
                         role="reviewer")
        model.collect_events()
        return model

    def test_the_ward_records_the_copy(self) -> None:
        model = self.vertical_draft()
        assert model.vertical_line
        model.handle(ReceiveCopy(), ctx("reviewer"))
        emitted(model, Model.CopyReceived)
        assert model.state == State.COPY_RECEIVED and model.submitted_ever

    def test_a_vertical_line_model_is_not_submitted_to_the_ward(self) -> None:
        refuses(self.vertical_draft(), lambda m: m.handle(SubmitModel(), ctx()),
                IllegalTransition, "vertical_line_unit")

    def test_any_other_unit_cannot_have_a_copy_received(self) -> None:
        refuses(draft(), lambda m: m.handle(ReceiveCopy(), ctx("reviewer")), IllegalTransition,
                "not_vertical_line_unit")


class TestSubmitted:
    def test_returned_with_a_reason_then_amended_and_resubmitted(self) -> None:
        model = given("submitted")
        model.handle(ReturnModel("Bổ sung số liệu"), ctx("reviewer"))
        event = emitted(model, Model.Returned)
        assert event.meta["reason"] == "Bổ sung số liệu"
        model.handle(AmendModel(form=RegistrationForm(outputs="3 km đường")), ctx())
        model.handle(SubmitModel(), ctx())
        assert model.state == State.SUBMITTED

    @pytest.mark.parametrize("reason", ["", "   ", "\x00"])
    def test_return_and_reject_need_a_reason(self, reason: str) -> None:
        refuses(given("submitted"), lambda m: m.handle(ReturnModel(reason), ctx("reviewer")),
                InvalidInput)
        refuses(given("submitted"), lambda m: m.handle(RejectModel(reason), ctx("reviewer")),
                InvalidInput)

    def test_accepted_into_the_years_list(self) -> None:
        model = given("submitted", "accepted")
        assert model.state == State.ACCEPTED and model.accepted and model.list_years == (2026,)

    def test_a_rejected_model_is_final(self) -> None:
        model = given("submitted", "rejected")
        refuses(model, lambda m: m.handle(SubmitModel(), ctx()), IllegalTransition)
        refuses(model, lambda m: m.handle(DiscontinueModel("x"), ctx("reviewer")),
                IllegalTransition)


class TestImplementation:
    def test_progress_is_reported_many_times_without_changing_state(self) -> None:
        model = through("accepted")
        for quarter in ("2026-Q1", "2026-Q2"):
            model.handle(ReportProgress(quarter, 120, 300, Decimal("150000000"),
                                        Decimal("85.5"), "Đổ bê tông"), ctx())
            event = emitted(model, Model.ProgressReported)
        assert event.money_vnd == "150000000" and event.land_m2 == "85.5"
        assert model.state == State.ACCEPTED

    @pytest.mark.parametrize(("command", "field"), [
        (ReportProgress("2026-Q5", 1, 1), "period"),
        (ReportProgress("2025", 1, 1), "period"),
        (ReportProgress("2026", -1, 1), "participants"),
        (ReportProgress("2026", 1, 10**10), "workdays"),
        (ReportProgress("2026", 1, 1, money_vnd=Decimal("1E-999999999")), "money_vnd"),
        (ReportProgress("2026", 1, 1, land_m2=Decimal("0E-20000")), "land_m2"),
        (ReportProgress("2026", 1, 1, money_vnd=Decimal("1e400")), "money_vnd"),
        (ReportProgress("2026", 1, 1, money_vnd=Decimal("NaN")), "money_vnd"),
        (ReportProgress("2026", 1, 1, land_m2=Decimal("0." + "1" * 17_000)), "land_m2"),
        (ReportProgress("2026", 1, 1, note="a\x00b"), "note"),
    ])
    def test_bad_progress_figures_are_refused(self, command: ReportProgress,
                                              field: str) -> None:
        error = refuses(through("accepted"), lambda m: m.handle(command, ctx()), InvalidInput)
        assert field in error.errors

    def test_inspection_records_findings(self) -> None:
        model = through("accepted")
        model.handle(InspectModel("Triển khai đúng tiến độ"), ctx("reviewer"))
        assert emitted(model, Model.Inspected).findings == "Triển khai đúng tiến độ"


class TestEvaluation:
    def test_a_weighted_total_at_or_above_the_pass_mark_passes(self) -> None:
        model = through("self_assessed")
        model.handle(EvaluateModel(SCORES_PASS), ctx("reviewer"))
        event = emitted(model, Model.Evaluated)
        assert event.total == "78.33" and event.passed and model.passed

    def test_a_failing_evaluation_cannot_be_proposed_until_re_evaluated(self) -> None:
        model = given("submitted", "accepted", "self_assessed", "evaluated_failing")
        assert not model.passed
        refuses(model, lambda m: m.handle(ProposeModel(), ctx("reviewer")), IllegalTransition,
                "evaluation_not_passed")
        model.handle(EvaluateModel(SCORES_PASS), ctx("reviewer"))
        model.handle(ProposeModel(), ctx("reviewer"))
        assert model.state == State.PROPOSED

    def test_province_weights_and_pass_mark_decide(self) -> None:
        weights = {k: Decimal(0) for k in SCORES_PASS} | {"participation": Decimal(1)}
        model = through("self_assessed")
        model.handle(EvaluateModel(SCORES_FAIL | {"participation": Decimal(95)},
                                   EvaluationRules(weights, pass_mark=Decimal(90))),
                     ctx("reviewer"))
        assert emitted(model, Model.Evaluated).total == "95.00"

    @pytest.mark.parametrize(("scores", "field"), [
        (SCORES_PASS | {"planning": Decimal(101)}, "scores.planning"),
        (SCORES_PASS | {"planning": Decimal(-1)}, "scores.planning"),
        (SCORES_PASS | {"planning": Decimal("70.001")}, "scores.planning"),
        ({k: v for k, v in SCORES_PASS.items() if k != "creativity"}, "scores.creativity"),
        (SCORES_PASS | {"beauty": Decimal(10)}, "scores.beauty"),
    ])
    def test_scores_outside_0_100_or_unknown_are_refused(self, scores: dict[str, Decimal],
                                                         field: str) -> None:
        error = refuses(through("self_assessed"),
                        lambda m: m.handle(EvaluateModel(scores), ctx("reviewer")), InvalidInput)
        assert field in error.errors

    def test_evaluation_needs_a_self_assessment_first(self) -> None:
        refuses(through("accepted"),
                lambda m: m.handle(EvaluateModel(SCORES_PASS), ctx("reviewer")),
                IllegalTransition)

    def test_an_exemplar_is_judged_on_the_person_criteria(self) -> None:
        u = unit()
        model = Model.register(ctx(), u, complete_form(str(u.id), kind="individual",
                                                       person=PERSON),
                               person_key_id="k", person_token="t")
        given(*["submitted", "accepted", "self_assessed"], model=model)
        model.handle(EvaluateModel({"reputation": Decimal(90), "ethics": Decimal(90),
                                    "responsibility": Decimal(80),
                                    "mobilisation": Decimal(80)}), ctx("reviewer"))
        assert model.passed


class TestRecognition:
    def test_recognized_at_tenant_then_province_level(self) -> None:
        model = through("recognized_province")
        assert model.state == State.RECOGNIZED_PROVINCE
        assert set(model.recognitions) == {"tenant", "province"}
        assert model.recognitions["province"].decision_number == "120/QĐ-TU"

    @pytest.mark.parametrize(("day", "reason"), [(date(2026, 6, 2), "future"),
                                                 (date(2025, 12, 31), "before")])
    def test_the_decision_date_is_checked(self, day: date, reason: str) -> None:
        error = refuses(through("proposed"), lambda m: m.handle(
            RecognizeModel(Level.TENANT, "1", day), ctx("approver")), InvalidInput)
        assert "decision_date" in error.errors

    def test_province_recognition_needs_a_nomination(self) -> None:
        refuses(through("recognized_tenant"), lambda m: m.handle(
            RecognizeModel(Level.PROVINCE, "1", date(2026, 5, 30)), ctx("province_admin")),
            IllegalTransition)

    def test_revoking_the_province_level_keeps_the_tenant_level(self) -> None:
        model = through("recognized_province")
        model.handle(RevokeRecognition(Level.PROVINCE, "Sai phạm"), ctx("province_admin"))
        assert emitted(model, Model.Revoked).meta["reason"] == "Sai phạm"
        assert model.state == State.RECOGNIZED_TENANT and "province" not in model.recognitions

    def test_revoking_the_only_recognition_revokes_the_model(self) -> None:
        model = through("recognized_tenant")
        model.handle(RevokeRecognition(Level.TENANT, "Không duy trì"), ctx("approver"))
        assert model.state == State.REVOKED and model.recognitions == {}

    def test_the_tenant_level_cannot_be_revoked_under_a_province_recognition(self) -> None:
        refuses(through("recognized_province"),
                lambda m: m.handle(RevokeRecognition(Level.TENANT, "x"), ctx("approver")),
                IllegalTransition)


class TestEndOfLife:
    @pytest.mark.parametrize("state", ["accepted", "evaluated", "recognized_tenant",
                                       "recognized_province"])
    def test_any_active_model_can_be_discontinued_with_a_reason(self, state: str) -> None:
        model = through(state)
        refuses(model, lambda m: m.handle(DiscontinueModel(""), ctx("reviewer")), InvalidInput)
        model.handle(DiscontinueModel("Không còn phù hợp"), ctx("reviewer"))
        assert model.state == State.DISCONTINUED
        assert model.recognitions == through(state).recognitions

    def test_maintained_into_the_next_years_list_only(self) -> None:
        model = through("recognized_tenant")
        refuses(model, lambda m: m.handle(MaintainModel(2028), ctx("reviewer")),
                IllegalTransition, "maintenance_year")
        model.handle(MaintainModel(2027), ctx("reviewer"))
        model.handle(MaintainModel(2028), ctx("reviewer"))
        assert model.list_years == (2026, 2027, 2028)

    def test_personal_data_is_erased_once_and_only_for_exemplars(self) -> None:
        refuses(draft(), lambda m: m.handle(ErasePersonalData("Yêu cầu"), ctx("tenant_admin")),
                IllegalTransition, "no_personal_data")
        u = unit()
        model = Model.register(ctx(), u, complete_form(str(u.id), kind="individual",
                                                       person=PERSON),
                               person_key_id="k", person_token="t")
        model.collect_events()
        model.handle(ErasePersonalData("Yêu cầu của cá nhân"), ctx("tenant_admin"))
        emitted(model, Model.PersonalDataErased)
        assert model.person_erased
        refuses(model, lambda m: m.handle(ErasePersonalData("again"), ctx("tenant_admin")),
                IllegalTransition, "personal_data_erased")


def test_replaying_the_events_rebuilds_the_same_model() -> None:
    model = draft()
    events = list(register().collect_events())
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
    u = Unit.add(ctx("tenant_admin"), AddUnit("Hội Phụ nữ", UnitKind.MASS_ORG))
    with pytest.raises(InvalidInput):
        u.close(ctx("tenant_admin"), CloseUnit(""))
    u.close(ctx("tenant_admin"), CloseUnit("Sáp nhập"))
    with pytest.raises(IllegalTransition):
        u.close(ctx("tenant_admin"), CloseUnit("again"))
