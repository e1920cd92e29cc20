"""A model of an earlier year brought in by an import (``Model.Imported``): what it may be,
what it counts for in its own year (and, through maintenance only, in later ones), and that
the aggregate and the read models' fold make the same thing of it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from danvan.domain.base import InvalidInput
from danvan.domain.commands import ImportModel, MaintainModel, State
from danvan.domain.model import Model
from danvan.domain.registration_form import Field, ModelKind
from danvan.projections.events import decode_row, topic_of
from danvan.projections.models.fold import MAINTAINED_N, NEW, REC_PROVINCE, REC_TENANT, fold
from tests.unit.builders import ctx, unit

HASH = "ab" * 32


def imported(state: State = State.RECOGNIZED_TENANT, **overrides: Any) -> Model:
    u = unit()
    values: dict[str, Any] = {
        "unit_id": str(u.id), "year": 2025, "name": "Dân vận khéo hiến đất làm đường",
        "kind": ModelKind.COLLECTIVE, "field": Field.ECONOMY, "state": state,
        "decision_number": "125-QĐ/ĐU", "decision_date": date(2025, 10, 20),
        "file_hash": HASH, **overrides}
    return Model.import_history(ctx("tenant_admin"), u, ImportModel(**values))


def test_an_imported_model_has_its_state_decision_importer_and_file() -> None:
    model = imported()
    assert model.state == State.RECOGNIZED_TENANT
    assert model.recognitions["tenant"] == ("125-QĐ/ĐU", "2025-10-20")
    assert model.list_years == (2025,) and model.accepted and model.submitted_ever
    [event] = model.collect_events()
    assert isinstance(event, Model.Imported)
    assert (event.importer, event.file_hash) == ("user-tenant_admin", HASH)
    rebuilt = event.mutate(None)
    assert isinstance(rebuilt, Model) and rebuilt.lifecycle == model.lifecycle
    assert rebuilt.id == Model.id_for(model.tenant_id, model.unit_id, 2025, model.name)


def test_it_counts_in_a_later_year_only_once_maintained_into_it() -> None:
    model = imported(State.ACCEPTED, decision_number=None, decision_date=None)
    model.collect_events()
    model.handle(MaintainModel(2026), ctx("reviewer"))
    assert model.list_years == (2025, 2026)


@pytest.mark.parametrize(("overrides", "members"), [
    ({"year": 2026, "decision_date": date(2026, 3, 1)}, {"year"}),  # this year registers
    ({"state": State.DRAFT}, {"state"}),
    ({"state": State.RECOGNIZED_PROVINCE, "decision_number": None, "decision_date": None},
     {"decision_number", "decision_date"}),
    ({"decision_date": date(2024, 12, 31)}, {"decision_date"}),
    ({"name": "  "}, {"name"}),
])
def test_what_cannot_be_imported(overrides: dict[str, Any], members: set[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        imported(**overrides)
    assert set(refused.value.errors) == members


def envelope(position: int, event: Any) -> Any:
    state = {k: v for k, v in vars(event).items()
             if k not in ("originator_id", "originator_version", "timestamp",
                          "originator_topic")}
    state["timestamp"] = {"_type_": "datetime_iso", "_data_": event.timestamp.isoformat()}
    state["originator_topic"] = topic_of(Model)
    return decode_row((position, str(event.originator_id), event.originator_version,
                       topic_of(type(event)), json.dumps(state).encode()))


def test_the_fold_counts_it_in_its_own_year_and_a_maintenance_in_the_next() -> None:
    model = imported(State.RECOGNIZED_PROVINCE, decision_number="2150-QĐ/TU")
    model.handle(MaintainModel(2026), ctx("reviewer"))
    imported_event, maintained = model.collect_events()
    changes = fold({}, [envelope(1, imported_event), envelope(2, maintained)])
    row = changes.rows[str(model.id)]
    assert row.lifecycle._replace(form={}) == model.lifecycle._replace(form={})
    own = changes.quota[(model.tenant_id, 2025)]
    assert (own[NEW], own[REC_TENANT], own[REC_PROVINCE], own[MAINTAINED_N]) == (1, 0, 1, 0)
    later = changes.quota[(model.tenant_id, 2026)]
    assert (later[NEW], later[REC_PROVINCE], later[MAINTAINED_N]) == (0, 0, 1)
    [recognition] = changes.recognitions
    assert (recognition.level, recognition.decision_number, recognition.decision_date) == (
        "province", "2150-QĐ/TU", "2025-10-20")
