"""What the domain is asked to do: one frozen command class each, and the one table of the
model's actions.

Commands carry typed values (enums, dates, decimals, ints, texts): whoever builds one (the
HTTP layer from its request bodies, the command line, the demo, imports) has already parsed
the wire format; the aggregates check what only the domain knows (bounds, states, the
relations between values) and never look at JSON types. Time, the actor and the tenant arrive
beside the command, on the ``Context``.

``MODEL_ACTIONS`` is keyed by command type: for each model action, its route name, the
states it may start from, the policy action it needs (by level for recognition and
revocation) and its words in both languages. A new model action is its command here (and its
row), the aggregate's method and event, its policy row, and one route handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from danvan.domain.evaluation import EvaluationRules
from danvan.domain.operations import OperationKind
from danvan.domain.policies import Action, RoleGrant
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.reminders import ReminderItem, ReminderSubject
from danvan.domain.reports import ReportRequest
from danvan.domain.targets import YearTargets
from danvan.domain.tenants import TenantKind
from danvan.domain.units import UnitKind


class State(StrEnum):
    """Where a model stands in its lifecycle (the REST ``state``; GraphQL's in upper case)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    SELF_ASSESSED = "self_assessed"
    EVALUATED = "evaluated"
    PROPOSED = "proposed"
    RECOGNIZED_TENANT = "recognized_tenant"
    NOMINATED = "nominated"
    RECOGNIZED_PROVINCE = "recognized_province"
    COPY_RECEIVED = "copy_received"
    DISCONTINUED = "discontinued"
    REVOKED = "revoked"


class Level(StrEnum):
    """The level of a recognition: the tenant's (cấp xã) or the province's (cấp tỉnh)."""

    TENANT = "tenant"
    PROVINCE = "province"


IMPLEMENTING = frozenset({State.ACCEPTED, State.SELF_ASSESSED, State.EVALUATED, State.PROPOSED,
                          State.RECOGNIZED_TENANT, State.NOMINATED, State.RECOGNIZED_PROVINCE})
ACTIVE = IMPLEMENTING | {State.COPY_RECEIVED}


# --- the model's commands ----------------------------------------------------------------

@dataclass(frozen=True)
class RegistrationForm:
    """The registration form's members (phiếu đăng ký); None: not given."""

    problem: str | None = None
    goals: str | None = None
    measures: str | None = None
    content: str | None = None
    area: str | None = None
    target_group: str | None = None
    implementers: str | None = None
    resources: str | None = None
    milestones: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    evaluation_date: date | None = None
    outputs: str | None = None
    sustainability: str | None = None

    def given(self) -> dict[str, str | date]:
        """The members given, by name."""
        return {name: value for name, value in vars(self).items() if value is not None}


NO_FORM = RegistrationForm()


@dataclass(frozen=True)
class PersonDetails:
    """An exemplar's personal details: sealed under a key of the person's own."""

    full_name: str
    birth_year: int
    phone: str = ""
    address: str = ""


@dataclass(frozen=True)
class RegisterModel:
    unit_id: str
    year: int
    name: str
    kind: ModelKind
    field: Field | None = None
    """The lĩnh vực; a draft may leave it for later."""
    form: RegistrationForm = NO_FORM
    person: PersonDetails | None = None


class ModelCommand:
    """A command acting on one registered model."""


@dataclass(frozen=True)
class AmendModel(ModelCommand):
    name: str | None = None
    field: Field | None = None
    form: RegistrationForm = NO_FORM


@dataclass(frozen=True)
class SubmitModel(ModelCommand):
    pass


@dataclass(frozen=True)
class ReturnModel(ModelCommand):
    reason: str


@dataclass(frozen=True)
class RejectModel(ModelCommand):
    reason: str


@dataclass(frozen=True)
class AcceptModel(ModelCommand):
    pass


@dataclass(frozen=True)
class ReceiveCopy(ModelCommand):
    pass


@dataclass(frozen=True)
class ReportProgress(ModelCommand):
    period: str
    """``YYYY``, ``YYYY-H1|H2`` or ``YYYY-Q1..Q4``."""
    participants: int
    workdays: int
    money_vnd: Decimal = Decimal(0)
    land_m2: Decimal = Decimal(0)
    note: str = ""


@dataclass(frozen=True)
class InspectModel(ModelCommand):
    findings: str


@dataclass(frozen=True)
class SelfAssessModel(ModelCommand):
    summary: str


@dataclass(frozen=True)
class EvaluateModel(ModelCommand):
    scores: Mapping[str, Decimal]
    """Each criterion's score, 0-100 (``evaluation.criteria_for`` the model's kind)."""
    rules: EvaluationRules | None = None
    """The rules in force (the province's for the year), found by the service; None: the
    defaults (equal weights, pass mark 70)."""


@dataclass(frozen=True)
class ProposeModel(ModelCommand):
    pass


@dataclass(frozen=True)
class RecognizeModel(ModelCommand):
    level: Level
    decision_number: str
    decision_date: date


@dataclass(frozen=True)
class RecognizeModels:
    """One decision (quyết định) recognising every listed model at one level, all or none:
    one ``RecognizeModel`` for each."""

    level: Level
    decision_number: str
    decision_date: date
    model_ids: tuple[str, ...]

    def for_each(self) -> RecognizeModel:
        return RecognizeModel(self.level, self.decision_number, self.decision_date)


IMPORTABLE_STATES = (State.ACCEPTED, State.RECOGNIZED_TENANT, State.RECOGNIZED_PROVINCE)
"""The states a model of an earlier year may be imported in (``ImportModel``)."""


@dataclass(frozen=True)
class ImportModel:
    """A model of an earlier year, brought in by an import with the state it reached (and,
    once recognised, its decision); it counts in later years only through maintenance."""

    unit_id: str
    year: int
    name: str
    kind: ModelKind
    field: Field
    state: State
    decision_number: str | None = None
    decision_date: date | None = None
    file_hash: str = ""
    """The SHA-256 of the imported file (hex), recorded on the event."""


@dataclass(frozen=True)
class NominateModel(ModelCommand):
    pass


@dataclass(frozen=True)
class RevokeRecognition(ModelCommand):
    level: Level
    reason: str


@dataclass(frozen=True)
class DiscontinueModel(ModelCommand):
    reason: str


@dataclass(frozen=True)
class MaintainModel(ModelCommand):
    year: int


@dataclass(frozen=True)
class ErasePersonalData(ModelCommand):
    reason: str


@dataclass(frozen=True)
class Words:
    """An action as officials say it, in both languages."""

    vi: str
    en: str


@dataclass(frozen=True)
class Rule:
    """Where an action may start, what it needs, how it is said."""

    allowed_from: frozenset[State]
    policy: Action
    words: Words


@dataclass(frozen=True)
class ModelAction:
    """One row of the table: a model action's route name and its rule (one per level for
    recognition and revocation)."""

    route: str
    """Its name in the URL: ``POST …/models/{id}/<route>``."""
    rule: Rule | Mapping[Level, Rule]

    def rules(self) -> tuple[Rule, ...]:
        return (self.rule,) if isinstance(self.rule, Rule) else tuple(self.rule.values())


def rule_of(command: ModelCommand) -> Rule:
    """The rule ``command`` is judged by (its level's, where the level matters)."""
    rule = MODEL_ACTIONS[type(command)].rule
    if isinstance(rule, Rule):
        return rule
    level = getattr(command, "level", None)
    assert isinstance(level, Level), f"{type(command).__name__} carries no level"
    return rule[level]


_SUBMITTABLE = frozenset({State.DRAFT, State.RETURNED})
_SUBMITTED = frozenset({State.SUBMITTED})

MODEL_ACTIONS: Mapping[type[ModelCommand], ModelAction] = {
    AmendModel: ModelAction("amend", Rule(
        _SUBMITTABLE, Action.MODEL_AMEND, Words("chỉnh sửa", "amend"))),
    SubmitModel: ModelAction("submit", Rule(
        _SUBMITTABLE, Action.MODEL_SUBMIT, Words("nộp", "submit"))),
    ReturnModel: ModelAction("return", Rule(
        _SUBMITTED, Action.MODEL_RETURN, Words("trả lại", "return for revision"))),
    RejectModel: ModelAction("reject", Rule(
        _SUBMITTED, Action.MODEL_REJECT, Words("không chấp nhận", "reject"))),
    AcceptModel: ModelAction("accept", Rule(
        _SUBMITTED, Action.MODEL_ACCEPT, Words("chấp nhận", "accept"))),
    ReceiveCopy: ModelAction("copy-received", Rule(
        frozenset({State.DRAFT}), Action.MODEL_COPY_RECEIVED,
        Words("ghi nhận bản sao", "record the copy"))),
    ReportProgress: ModelAction("progress", Rule(
        IMPLEMENTING, Action.MODEL_PROGRESS, Words("báo cáo tiến độ", "report progress"))),
    InspectModel: ModelAction("inspection", Rule(
        IMPLEMENTING, Action.MODEL_INSPECTION, Words("kiểm tra, giám sát", "inspect"))),
    SelfAssessModel: ModelAction("self-assessment", Rule(
        frozenset({State.ACCEPTED, State.SELF_ASSESSED, State.EVALUATED}),
        Action.MODEL_SELF_ASSESSMENT, Words("tự đánh giá", "self-assess"))),
    EvaluateModel: ModelAction("evaluation", Rule(
        frozenset({State.SELF_ASSESSED, State.EVALUATED}), Action.MODEL_EVALUATION,
        Words("đánh giá", "evaluate"))),
    ProposeModel: ModelAction("proposal", Rule(
        frozenset({State.EVALUATED}), Action.MODEL_PROPOSAL,
        Words("đề nghị công nhận", "propose for recognition"))),
    RecognizeModel: ModelAction("recognition", {
        Level.TENANT: Rule(frozenset({State.PROPOSED}), Action.MODEL_RECOGNITION_TENANT,
                           Words("công nhận cấp xã", "recognize at tenant level")),
        Level.PROVINCE: Rule(frozenset({State.NOMINATED}), Action.MODEL_RECOGNITION_PROVINCE,
                             Words("công nhận cấp tỉnh", "recognize at province level"))}),
    NominateModel: ModelAction("nomination", Rule(
        frozenset({State.RECOGNIZED_TENANT}), Action.MODEL_NOMINATION,
        Words("đề xuất lên tỉnh", "nominate to the province"))),
    RevokeRecognition: ModelAction("revocation", {
        Level.TENANT: Rule(frozenset({State.RECOGNIZED_TENANT, State.NOMINATED}),
                           Action.MODEL_REVOCATION_TENANT,
                           Words("thu hồi công nhận cấp xã",
                                 "revoke the tenant-level recognition")),
        Level.PROVINCE: Rule(frozenset({State.RECOGNIZED_PROVINCE}),
                             Action.MODEL_REVOCATION_PROVINCE,
                             Words("thu hồi công nhận cấp tỉnh",
                                   "revoke the province-level recognition"))}),
    DiscontinueModel: ModelAction("discontinuation", Rule(
        ACTIVE, Action.MODEL_DISCONTINUATION, Words("dừng mô hình", "discontinue"))),
    MaintainModel: ModelAction("maintenance", Rule(
        ACTIVE - {State.COPY_RECEIVED}, Action.MODEL_MAINTENANCE,
        Words("duy trì sang năm sau", "maintain into next year's list"))),
    ErasePersonalData: ModelAction("personal-data-erasure", Rule(
        frozenset(State), Action.PERSONAL_DATA_ERASE,
        Words("xóa dữ liệu cá nhân", "erase personal data"))),
}
"""The model's actions, keyed by command type."""


# --- tenancy, targets, lists and plans ---------------------------------------------------

@dataclass(frozen=True)
class OnboardTenant:
    code: str
    name: str
    kind: TenantKind
    province_code: str


@dataclass(frozen=True)
class AddUnit:
    name: str
    kind: UnitKind
    reports_to_vertical_line: bool = False


@dataclass(frozen=True)
class CloseUnit:
    reason: str


@dataclass(frozen=True)
class RegisterUser:
    username: str
    password_hash: str
    """Hashed outside the domain (argon2id): the domain never sees a password."""
    full_name: str
    grants: tuple[RoleGrant, ...]
    must_change_password: bool = False
    """A one-time password (chosen by someone else): until its holder changes it, every route
    but the password change refuses them."""


@dataclass(frozen=True)
class ChangeGrants:
    grants: tuple[RoleGrant, ...]


@dataclass(frozen=True)
class ChangePassword:
    """A user's own new password (its hash), the current one having been checked outside the
    domain: clears a one-time password."""

    password_hash: str


@dataclass(frozen=True)
class ResetPassword:
    """An admin sets a user's password (its hash)."""

    password_hash: str


@dataclass(frozen=True)
class DeactivateUser:
    reason: str


@dataclass(frozen=True)
class SetTenantTargets:
    year: int
    targets: YearTargets


@dataclass(frozen=True)
class SetProvinceTargets:
    province_code: str
    year: int
    defaults: Mapping[TenantKind, YearTargets]
    """A kind left out keeps the built-in defaults."""


@dataclass(frozen=True)
class SetPeriodTargets:
    start_year: int
    end_year: int
    recognized_tenant_level: int
    recognized_province_level: int
    maintained_models: int


@dataclass(frozen=True)
class SetEvaluationRules:
    province_code: str
    year: int
    weights: Mapping[str, int]
    """Per collective criterion (``evaluation.COLLECTIVE_CRITERIA``), adding up to 100."""
    person_weights: Mapping[str, int]
    """Per exemplar criterion (``evaluation.PERSON_CRITERIA``), adding up to 100."""
    pass_mark: Decimal


@dataclass(frozen=True)
class ApproveList:
    year: int
    decision_number: str


@dataclass(frozen=True)
class SchedulePlanTask:
    year: int
    title: str
    due_date: date
    unit_ids: tuple[str, ...] = ()
    """Units of the tenant each doing the task on their own (e.g. each issues its plan);
    empty: the tenant does it once."""


@dataclass(frozen=True)
class CompletePlanTask:
    """The tenant's own task done (a task assigned to units is done unit by unit)."""

    note: str = ""


@dataclass(frozen=True)
class CompleteUnitTask:
    """One assigned unit's part of a plan task done."""

    unit_id: str
    note: str = ""


@dataclass(frozen=True)
class RequestOperation:
    """Start a long operation as a job (``operation_id`` is the job's id, chosen by the
    caller): a rebuild of read models (``projections``: which, none for all) or the export of
    a tenant's audit chain, or an official report (``report``: what it reports)."""

    operation_id: str
    kind: OperationKind
    projections: tuple[str, ...] = ()
    stale_only: bool = False
    report: ReportRequest | None = None


@dataclass(frozen=True)
class SendReminder:
    """Remind a tenant, on ``day`` (Vietnam date), of what is due about ``subject``."""

    subject: ReminderSubject
    day: date
    items: tuple[ReminderItem, ...]
