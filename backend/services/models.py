"""Registering models and taking them through their lifecycle, one event per action."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.application import Application

from danvan.backend.errors import Problem, invalid
from danvan.backend.services.inputs import only
from danvan.backend.services.repository import decide, find, load, save_new
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Context
from danvan.domain.clock import vietnam_date
from danvan.domain.commands import MODEL_ACTIONS
from danvan.domain.evaluation import EvaluationRules
from danvan.domain.model import Model
from danvan.domain.registration_form import ModelKind, check_person
from danvan.domain.units import Unit
from danvan.domain.validation import Errors
from danvan.infra.personal_data import PersonalDataVault


def _result(model: Model, command: str, created: bool = False) -> CommandResult:
    return CommandResult(str(model.id), model.version, model.state.value, created,
                         command=f"model.{command}")


def _own_unit(model_unit_id: str, unit_scope: str | None) -> None:
    """A unit user acts only for its own unit."""
    if unit_scope is not None and model_unit_id != unit_scope:
        raise Problem(403, "other_unit", fallback="this belongs to another unit")


def register_model(store: Application, vault: PersonalDataVault | None, ctx: Context,
                   body: dict[str, Any], unit_scope: str | None) -> CommandResult:
    values = dict(body)
    unit_id = values.pop("unit_id", None)
    person = values.pop("person", None)
    if not isinstance(unit_id, str):
        raise invalid("unit_id", "required")
    _own_unit(unit_id, unit_scope)
    unit = find(store, Unit, unit_id, ctx.tenant_id)
    if unit is None:
        raise invalid("unit_id", "no such unit in this tenant")
    key_id = token = None
    if person is not None and values.get("kind") == ModelKind.INDIVIDUAL:
        errors = Errors()
        details = check_person(person, errors, this_year=vietnam_date(ctx.at).year)
        errors.raise_if_any()
        Model.check_registration(ctx, unit=unit, values=values, with_person=True)
        if vault is None:
            raise Problem(503, "store_unavailable", fallback="personal data vault unavailable")
        assert details is not None
        person_id = str(Model.id_for(ctx.tenant_id, str(unit.id), values["year"],
                                     values["name"]))
        key = vault.create_key(ctx.tenant_id, person_id)
        key_id, token = str(key), vault.seal(key, details)
    elif person is not None:
        raise invalid("person", "only an individual exemplar carries personal details")
    model = Model.register(ctx, unit=unit, values=values, person_key_id=key_id,
                           person_token=token)
    save_new(store, model, "this unit already registered a model of that name this year")
    return _result(model, "register", created=True)


def model_in_scope(store: Application, tenant_id: str, model_id: str,
                   unit_scope: str | None) -> Model:
    """The model named in the path: unknown in this tenant is 404, another unit's is 403."""
    model = load(store, Model, model_id, tenant_id)
    _own_unit(model.unit_id, unit_scope)
    return model


def act_on_model(store: Application, ctx: Context, model: Model, action: str,
                 body: dict[str, Any], expected_version: int | None,
                 rules: EvaluationRules | None = None) -> CommandResult:
    spec = MODEL_ACTIONS[action]
    decide(model, expected_version, lambda: spec.perform(model, ctx, body, rules))
    if model.pending_events:
        store.save(model)
    return _result(model, action.replace("-", "_"))


def erase_personal_data(store: Application, vault: PersonalDataVault | None, ctx: Context,
                        model: Model, body: dict[str, Any],
                        expected_version: int | None) -> CommandResult:
    """Destroys the person's key first, then records the erasure: a crash between the two
    leaves the data unreadable and a retry records the event (the key erasure is a no-op)."""
    only(body, {"reason"})
    reason = decide(model, expected_version,
                    lambda: model.check_personal_data_erasure(reason=body.get("reason")))
    if vault is None:
        raise Problem(503, "store_unavailable", fallback="personal data vault unavailable")
    if model.person_key_id:
        vault.erase(uuid.UUID(model.person_key_id), reason=reason, at=ctx.at)
    model.erase_personal_data(ctx, reason=reason)
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
