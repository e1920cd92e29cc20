"""The audit projection's rows: what the trail shows of an event is the stored state's own
fields (each value's JSON text as stored, envelope and secrets dropped) and its metadata, spelled
for COPY so that any text survives the trip (quotes, tabs, newlines, backslashes)."""

from __future__ import annotations

import json
from typing import Any

from danvan.domain.units import Unit
from danvan.projections.audit.projection import COLUMNS, copy_lines
from danvan.projections.base import copy_values
from danvan.projections.events import decode_row, topic_of

META = {"actor_id": "u1", "actor_role": "tenant_admin", "correlation_id": "c-1",
        "causation_id": None, "request_id": "r-1", "reason": None}


def stored(meta: dict[str, Any], **fields: Any) -> bytes:
    return json.dumps({"timestamp": {"_type_": "datetime_iso",
                                     "_data_": "2026-06-01T09:00:00+00:00"},
                       "originator_topic": "danvan.domain.units:Unit", "tenant_id": "t1",
                       "meta": meta, **fields}, ensure_ascii=False,
                      separators=(",", ":")).encode()


def rows(*states: bytes) -> list[dict[str, str | None]]:
    events = [decode_row((n, f"00000000-0000-0000-0000-00000000000{n}", 1,
                          topic_of(Unit.Added), state)) for n, state in enumerate(states, 1)]
    return [dict(zip(COLUMNS, copy_values(line), strict=True)) for line in copy_lines(events)]


def test_the_payload_is_the_stored_fields_text_without_envelope_or_secrets() -> None:
    state = stored(META, name="Chi bộ thôn 3", kind="other", reports_to_vertical_line=False,
                   budget=1.50, password_hash="$argon2id$secret")
    [row] = rows(state)
    assert row["payload"] == ('{"name":"Chi bộ thôn 3","kind":"other",'
                              '"reports_to_vertical_line":false,"budget":1.5}')
    assert json.loads(row["payload"] or "") == {
        k: v for k, v in json.loads(state).items()
        if k not in ("timestamp", "originator_topic", "tenant_id", "meta", "password_hash")}
    assert (row["actor_id"], row["actor_role"], row["correlation_id"], row["causation_id"],
            row["request_id"], row["reason"]) == ("u1", "tenant_admin", "c-1", None, "r-1", None)
    assert (row["position"], row["tenant_id"], row["type"]) == ("1", "t1", "Unit.Added")


def test_any_text_survives_the_copy_spelling() -> None:
    hostile = 'tab\there "quoted" back\\slash\nnew line\r ok'
    state = stored({**META, "reason": hostile}, name=hostile, kind="other",
                   reports_to_vertical_line=True)
    plain = stored(META, name="Tổ dân phố 5", kind="other", reports_to_vertical_line=True)
    escaped, fast = rows(state, plain)
    assert escaped["reason"] == hostile
    assert json.loads(escaped["payload"] or "")["name"] == hostile
    assert fast["payload"] == (
        '{"name":"Tổ dân phố 5","kind":"other","reports_to_vertical_line":true}')


def test_metadata_that_is_not_text_is_shown_as_its_json() -> None:
    [row] = rows(stored({"actor_id": "u1", "actor_role": 7, "causation_id": {"by": "x"}},
                        name="A", kind="other", reports_to_vertical_line=False))
    assert (row["actor_role"], row["causation_id"], row["request_id"]) == (
        "7", '{"by":"x"}', None)
