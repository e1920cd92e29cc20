"""Pure parts of the projections: quota status rules, batch slicing, cursors, the fold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from danvan.domain.clock import period_fraction_elapsed
from danvan.domain.model import Model
from danvan.domain.units import Unit
from danvan.projections.events import Batch, Envelope, decode_row, topic_of
from danvan.projections.models.fold import (
    NEW,
    REC_PROVINCE,
    REC_TENANT,
    fold,
    models_to_load,
)
from danvan.projections.models.quota_status import (
    IN_PROGRESS,
    MET,
    MISSED,
    judge,
    judge_year,
)
from danvan.projections.paging import UUID, BadCursor, check_first, decode_cursor, encode_cursor

JUNE = datetime(2026, 6, 1, tzinfo=UTC)


def envelope(position: int, cls: type, aggregate: str, version: int, **fields: Any) -> Envelope:
    """An event as it comes out of the store: JSON state, decoded like the runner does."""
    data = {"timestamp": {"_type_": "datetime_iso", "_data_": f"2026-06-01T09:00:{position:02d}"
                                                             "+00:00"},
            "tenant_id": "t1", "meta": {"actor_id": "u1", "reason": fields.pop("reason", None)},
            **fields}
    return decode_row((position, aggregate, version, topic_of(cls), json.dumps(data).encode()))


class TestQuotaStatus:
    def test_met_needs_every_count_target_and_every_unit(self) -> None:
        assert judge([(10, 10), (2, 2), (1, 1)], 0, 0.5) == (MET, False)
        assert judge([(10, 10), (2, 2), (1, 1)], 1, 0.5)[0] == IN_PROGRESS

    def test_a_target_of_zero_is_always_met(self) -> None:
        assert judge([(0, 0), (0, 0), (0, 0)], 0, 0.9) == (MET, False)

    def test_missed_once_the_year_is_over(self) -> None:
        assert judge([(3, 10)], 0, 1.0) == (MISSED, False)

    def test_at_risk_when_a_count_lags_the_share_of_the_year(self) -> None:
        assert judge([(4, 10), (2, 2)], 0, 0.5) == (IN_PROGRESS, True)
        assert judge([(6, 10), (2, 2)], 0, 0.5) == (IN_PROGRESS, False)

    def test_the_year_ends_at_midnight_in_vietnam(self) -> None:
        last_hour = datetime(2026, 12, 31, 16, 59, tzinfo=UTC)
        assert judge_year([(0, 1)], 0, 2026, last_hour)[0] == IN_PROGRESS
        assert judge_year([(0, 1)], 0, 2026, datetime(2026, 12, 31, 17, tzinfo=UTC))[0] == MISSED

    def test_a_period_elapses_over_all_its_years(self) -> None:
        assert period_fraction_elapsed(2026, 2030, JUNE) == pytest.approx(0.083, abs=0.01)
        assert period_fraction_elapsed(2026, 2030, datetime(2031, 1, 1, tzinfo=UTC)) == 1.0


class TestBatch:
    def test_since_keeps_only_what_a_projection_has_not_applied(self) -> None:
        events = [envelope(p, Unit.Added, "u", 1, name="x", kind="other",
                           reports_to_vertical_line=False) for p in (3, 5, 9)]
        batch = Batch(2, 9, events)
        assert [e.position for e in batch.since(0).events] == [3, 5, 9]
        assert [e.position for e in batch.since(4).events] == [5, 9]
        assert batch.since(5).after == 5 and len(batch.since(5)) == 1
        assert len(batch.since(9)) == 0


class TestCursors:
    def test_round_trip_and_refusals(self) -> None:
        cursor = encode_cursor("quota", ["02647", "abc"])
        assert decode_cursor("quota", cursor, (str, str)) == ["02647", "abc"]
        with pytest.raises(BadCursor):
            decode_cursor("model", cursor, (str, str))
        with pytest.raises(BadCursor):
            decode_cursor("quota", "!!!", (str, str))
        with pytest.raises(BadCursor):  # the right list, a key of the wrong shape
            decode_cursor("quota", cursor, (str, UUID))
        with pytest.raises(BadCursor):
            decode_cursor("audit", encode_cursor("audit", [2**63]), (int,))
        with pytest.raises(BadCursor):
            check_first(101)


class TestFold:
    def registered(self, position: int, model: str) -> Envelope:
        return envelope(position, Model.Registered, model, 1, unit_id=str(uuid4()), year=2026,
                        kind="collective", name="Mô hình", field="economy", form={},
                        vertical_line=False, person_key_id=None, person_token=None)

    def test_counts_follow_acceptance_recognition_and_revocation(self) -> None:
        m = "m1"
        events = [self.registered(1, m),
                  envelope(2, Model.Submitted, m, 2), envelope(3, Model.Accepted, m, 3),
                  envelope(4, Model.Recognized, m, 4, level="tenant", decision_number="1",
                           decision_date="2026-05-01"),
                  envelope(5, Model.Nominated, m, 5),
                  envelope(6, Model.Recognized, m, 6, level="province", decision_number="2",
                           decision_date="2026-05-02"),
                  envelope(7, Model.Revoked, m, 7, level="province", reason="Sai")]
        assert models_to_load(events) == set()
        changes = fold({}, events)
        quota = changes.quota[("t1", 2026)]
        assert (quota[NEW], quota[REC_TENANT], quota[REC_PROVINCE]) == (1, 1, 0)
        assert changes.rows[m].lifecycle.state == "recognized_tenant"
        province = next(r for r in changes.recognitions if r.level == "province")
        assert province.revoked_at is not None and province.revoke_reason == "Sai"
        assert changes.units[("t1", 2026, changes.rows[m].unit_id)] == 1

    def test_an_event_for_an_unknown_model_is_refused(self) -> None:
        with pytest.raises(LookupError):
            fold({}, [envelope(1, Model.Accepted, "m9", 3)])

    def test_models_touched_but_registered_earlier_are_loaded(self) -> None:
        events = [self.registered(1, "a"), envelope(2, Model.Submitted, "a", 2),
                  envelope(3, Model.Accepted, "b", 4)]
        assert models_to_load(events) == {"b"}
