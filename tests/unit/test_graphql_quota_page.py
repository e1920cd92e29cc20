"""A province's quota rows: filtered, ordered and paged by keyset; the summary is their sum."""

from __future__ import annotations

import pytest

from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.quota_page import quota_page
from danvan.projections.models.rows import FieldBreakdown, Progress, ProvinceFigures, TenantQuota
from danvan.projections.paging import BadCursor


def row(code: str, kind: str, new: int, status: str, risk: bool) -> TenantQuota:
    return TenantQuota(TenantRef(f"id-{code}", code, f"Tên {code}", kind, "15"), 2026, new, 10,
                       1, 2, 0, 1, 1, 0, 0, 0, new, status, risk)


ROWS = [row("00003", "ward", 12, "MET", False), row("00001", "commune", 4, "IN_PROGRESS", True),
        row("00002", "commune", 9, "IN_PROGRESS", False), row("00004", "agency", 4, "MET", False)]


def codes(page: object) -> list[str]:
    return [q.tenant.code for q in page.items]  # type: ignore[attr-defined]


def test_rows_are_ordered_by_code_and_filtered() -> None:
    ordered = sorted(ROWS, key=lambda q: q.tenant.code)
    assert codes(quota_page(ordered)) == ["00001", "00002", "00003", "00004"]
    assert codes(quota_page(ROWS, kind="commune")) == ["00001", "00002"]
    assert codes(quota_page(ROWS, status="MET")) == ["00003", "00004"]
    assert codes(quota_page(ROWS, at_risk=True)) == ["00001"]
    assert quota_page(ROWS, kind="commune", at_risk=False).total_count == 1


@pytest.mark.parametrize(("order", "descending", "expected"), [
    ("new_models", True, ["00003", "00002", "00004", "00001"]),
    ("new_models", False, ["00001", "00004", "00002", "00003"]),
    ("new_models_ratio", False, ["00001", "00004", "00002", "00003"]),
    ("name", True, ["00004", "00003", "00002", "00001"])])
def test_any_order_pages_by_keyset_without_gaps_or_repeats(order: str, descending: bool,
                                                           expected: list[str]) -> None:
    walked, after = [], None
    while True:
        page = quota_page(ROWS, order=order, descending=descending, first=1, after=after)
        assert page.total_count == 4
        walked += codes(page)
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert walked == expected


def test_foreign_cursors_orders_and_statuses_are_refused() -> None:
    page = quota_page(ROWS, order="name", first=1)
    with pytest.raises(BadCursor):
        quota_page(ROWS, order="code", after=page.end_cursor)
    with pytest.raises(ValueError, match="order must be one of"):
        quota_page(ROWS, order="password")
    with pytest.raises(ValueError, match="status must be one of"):
        quota_page(ROWS, status="DONE")
    with pytest.raises(BadCursor):
        quota_page(ROWS, first=101)


def test_the_summary_adds_up_the_rows() -> None:
    fields = [FieldBreakdown("economy", 1, 0, 0, Progress(3, 4))]
    summary = ProvinceFigures("15", 2026, ROWS, fields).summary()
    assert summary.tenant_count == 4 and summary.new_models == 29
    assert summary.tenants_met == 2 and summary.tenants_at_risk == 1
    assert summary.progress.participants == 3
