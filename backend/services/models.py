"""Registering models and taking them through their lifecycle, one event per action."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from eventsourcing.application import Application

from danvan.backend.services.errors import DecisionRefused, OtherUnit, Unavailable
from danvan.backend.services.repository import find, load, save_new, under_if_match
from danvan.backend.services.results import CommandResult, DecisionResult
from danvan.domain.base import Context, DomainError, InvalidInput
from danvan.domain.clock import vietnam_date
from danvan.domain.commands import (
    MODEL_ACTIONS,
    ErasePersonalData,
    EvaluateModel,
    ImportModel,
    ModelCommand,
    RecognizeModels,
    RegisterModel,
)
from danvan.domain.evaluation import EvaluationRules, ProvinceEvaluationRules
from danvan.domain.model import Model, check_decision
from danvan.domain.registration_form import ModelKind, check_person
from danvan.domain.tenants import Tenant
from danvan.domain.units import Unit
from danvan.domain.validation import Errors
from danvan.infra.personal_data import PersonalDataVault


def _result(model: Model, command: str, created: bool = False) -> CommandResult:
    return CommandResult(str(model.id), model.version, model.state.value, created,
                         command=f"model.{command}")


def _own_unit(model_unit_id: str, unit_scope: str | None) -> None:
    """A unit user acts only for its own unit."""
    if unit_scope is not None and model_unit_id != unit_scope:
        raise OtherUnit("this belongs to another unit")


def register_model(store: Application, vault: PersonalDataVault | None, ctx: Context,
                   command: RegisterModel, unit_scope: str | None) -> CommandResult:
    """A draft; an exemplar's personal details are sealed under a key of the person's own
    before the event records the sealed token."""
    _own_unit(command.unit_id, unit_scope)
    unit = find(store, Unit, command.unit_id, ctx.tenant_id)
    if unit is None:
        raise InvalidInput({"unit_id": "no such unit in this tenant"})
    model = registered_model(vault, ctx, unit, command)
    save_new(store, model, "this unit already registered a model of that name this year")
    return _result(model, "register", created=True)


def registered_model(vault: PersonalDataVault | None, ctx: Context, unit: Unit,
                     command: RegisterModel) -> Model:
    """The new draft (not stored yet). An exemplar's details are sealed under a key of the
    person's own, once the registration is known to be acceptable, and only the sealed token
    goes into the event."""
    Model.check_registration(ctx, unit, command)
    key_id = token = None
    if command.kind == ModelKind.INDIVIDUAL and command.person is not None:
        if vault is None:
            raise Unavailable("personal data vault unavailable")
        errors = Errors()
        details = check_person(command.person, errors, this_year=vietnam_date(ctx.at).year)
        person_id = str(Model.id_for(ctx.tenant_id, str(unit.id), command.year,
                                     command.name))
        key = vault.create_key(ctx.tenant_id, person_id)
        key_id, token = str(key), vault.seal(key, details)
    return Model.register(ctx, unit, command, person_key_id=key_id, person_token=token)


def imported_model(ctx: Context, unit: Unit, command: ImportModel) -> Model:
    """A model of an earlier year as an import brings it in (not stored yet): one
    ``Model.Imported`` event naming the importer (``ctx.actor``) and the file's hash."""
    return Model.import_history(ctx, unit, command)


def model_in_scope(store: Application, tenant_id: str, model_id: str,
                   unit_scope: str | None) -> Model:
    """The model named in the path: unknown in this tenant is ``NotFound``, another unit's
    is ``OtherUnit``."""
    model = load(store, Model, model_id, tenant_id)
    _own_unit(model.unit_id, unit_scope)
    return model


def act_on_model(store: Application, ctx: Context, model: Model, command: ModelCommand,
                 expected_version: int | None) -> CommandResult:
    """One lifecycle action (``commands.MODEL_ACTIONS``): at most one event on the model.
    An evaluation applies the province's rules for the model's year, where it set some."""
    if isinstance(command, EvaluateModel) and command.rules is None:
        command = replace(command, rules=rules_in_force(store, model))
    under_if_match(model, expected_version, lambda: model.handle(command, ctx))
    if model.pending_events:
        store.save(model)
    return _result(model, MODEL_ACTIONS[type(command)].route.replace("-", "_"))


def recognize_models(store: Application, ctx: Context, decision: RecognizeModels, *,
                     province_code: str | None = None) -> DecisionResult:
    """One decision recognising every listed model, all or none (one event per model, saved
    in one transaction). The models are the tenant's (``ctx.tenant_id``), or any tenant's of
    ``province_code`` for a province-level decision."""
    number = check_decision(decision.decision_number, decision.decision_date, ctx)
    models = _models_in_scope(store, ctx.tenant_id, decision.model_ids, province_code)
    command = decision.for_each()
    refusals: list[tuple[str, DomainError]] = []
    for model in models:
        try:
            model.handle(command, ctx)
        except DomainError as refused:
            refusals.append((str(model.id), refused))
    if refusals:
        raise DecisionRefused(refusals)
    store.save(*models)
    return DecisionResult(
        {"level": decision.level.value, "decision_number": number,
         "decision_date": decision.decision_date.isoformat()},
        [_result(model, "recognition") for model in models],
        command=f"model.recognition_decision.{decision.level.value}")


def _models_in_scope(store: Application, tenant_id: str, model_ids: tuple[str, ...],
                     province_code: str | None) -> list[Model]:
    """The listed models (each once); any that is not a model of the scope makes the whole
    list a bad ``model_ids``."""
    if not model_ids:
        raise InvalidInput({"model_ids": "required"})
    found: list[Model] = []
    unknown: list[str] = []
    provinces: dict[str, str | None] = {}
    for model_id in dict.fromkeys(model_ids):
        model = find(store, Model, model_id, None if province_code else tenant_id)
        if model is not None and province_code is not None:
            if model.tenant_id not in provinces:
                tenant = find(store, Tenant, model.tenant_id)
                provinces[model.tenant_id] = tenant.province_code if tenant else None
            if provinces[model.tenant_id] != province_code:
                model = None
        if model is None:
            unknown.append(model_id)
        else:
            found.append(model)
    if unknown:
        raise InvalidInput({"model_ids": "no such model here: " + ", ".join(unknown)})
    return found


def rules_in_force(store: Application, model: Model) -> EvaluationRules | None:
    """The province's evaluation rules for the model's year, for its kind; None: the
    defaults (equal weights, 70)."""
    tenant = find(store, Tenant, model.tenant_id)
    if tenant is None:
        return None
    rules = find(store, ProvinceEvaluationRules,
                 ProvinceEvaluationRules.id_for(tenant.province_code, model.year))
    return rules.for_kind(model.kind) if rules is not None else None


def erase_personal_data(store: Application, vault: PersonalDataVault | None, ctx: Context,
                        model: Model, command: ErasePersonalData,
                        expected_version: int | None) -> CommandResult:
    """Destroys the person's key first, then records the erasure: a crash between the two
    leaves the data unreadable and a retry records the event (the key erasure is a no-op)."""
    reason = under_if_match(model, expected_version,
                            lambda: model.check_personal_data_erasure(command))
    if vault is None:
        raise Unavailable("personal data vault unavailable")
    if model.person_key_id:
        vault.erase(uuid.UUID(model.person_key_id), reason=reason, at=ctx.at)
    model.handle(command, ctx)
    store.save(model)
    return _result(model, "personal_data_erasure")


def read_person(vault: PersonalDataVault, model: Model) -> dict[str, Any] | str | None:
    """The exemplar's details, ``"erased"`` once erased, None for a collective model."""
    if model.kind != ModelKind.INDIVIDUAL or not model.person_key_id or not model.person_token:
        return None
    if model.person_erased:
        return "erased"
    opened = vault.open(model.person_key_id, model.person_token)
    return opened if isinstance(opened, dict) else "erased"
