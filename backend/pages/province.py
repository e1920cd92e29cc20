"""``/tinh/{code}``: the province dashboard, read through the read API (``province(code)``:
``summary``, ``quotas`` and the recognition queue ``models(state: NOMINATED)``), for the
province's own roles.

Query parameters (all optional): ``nam`` (year, default the current one), ``thoi-diem`` (a
moment in Vietnam time, ``YYYY-MM-DDTHH:MM``: the figures as they stood then), ``sap-xep``
(a ``QuotaOrderField``) and ``chieu`` (``ASC`` or ``DESC``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, get
from litestar.response import Template

from danvan.backend.auth.guards import allow
from danvan.backend.pages.labels import FIELDS, VIETNAM, number
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, page, read, user_of
from danvan.domain.base import InvalidInput
from danvan.domain.clock import vietnam_date
from danvan.domain.policies import Action
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR

ORDER_FIELDS = ("CODE", "NAME", "KIND", "STATUS", "AT_RISK", "NEW_MODELS", "NEW_MODELS_RATIO",
                "RECOGNIZED_TENANT_LEVEL", "RECOGNIZED_PROVINCE_LEVEL",
                "UNITS_WITHOUT_REGISTRATION")
PAGE = 100

QUOTA_ROW = """
fragment QuotaRow on TenantQuota {
  tenant { id code name kind } newModels newModelsTarget
  recognizedTenantLevel recognizedTenantLevelTarget recognizedProvinceLevel
  recognizedProvinceLevelTarget unitsWithoutRegistration status atRisk
}"""

DASHBOARD = """
query Dashboard($code: ID!, $year: Int!, $asOf: DateTime, $order: QuotaOrder,
                $after: String) {
  province(code: $code) {
    code name
    summary(year: $year, asOf: $asOf) {
      tenantCount newModels recognizedTenantLevel recognizedProvinceLevel maintainedModels
      tenantsMet tenantsAtRisk
      byField { field newModels recognizedTenantLevel recognizedProvinceLevel
                progress { participants workdays moneyVnd landM2 reports } }
      progress { participants workdays moneyVnd landM2 reports }
    }
    quotas(year: $year, asOf: $asOf, orderBy: $order, first: 100, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { ...QuotaRow } }
    }
  }
}""" + QUOTA_ROW


RECOGNITION_QUEUE = """
query RecognitionQueue($code: ID!) {
  province(code: $code) {
    models(state: NOMINATED, first: 100) {
      totalCount
      edges { node { id name year field kind updatedAt evaluationTotal
                     unit { name } tenant { id code name } } }
    }
  }
}"""
"""Models the tenants nominated for the province's recognition (``province.models(state:
NOMINATED)``), as they stand now: the first 100, by name."""

SUMMARY = """
query Summary($code: ID!, $year: Int!) {
  province(code: $code) {
    summary(year: $year) {
      tenantCount newModels recognizedTenantLevel recognizedProvinceLevel maintainedModels
      tenantsMet tenantsAtRisk
      byField { field newModels recognizedTenantLevel recognizedProvinceLevel }
    }
  }
}"""
TOTALS = ("tenantCount", "newModels", "recognizedTenantLevel", "recognizedProvinceLevel",
          "maintainedModels", "tenantsMet", "tenantsAtRisk")


def year_of(request: HttpRequest) -> int:
    text = (request.query_params.get("nam") or "").strip()
    if not text:
        return vietnam_date(datetime.now(UTC)).year
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise InvalidInput({"nam": f"a year between {FIRST_YEAR} and {LAST_YEAR}"})
    return int(text)


def as_of_of(request: HttpRequest) -> datetime | None:
    """``thoi-diem`` as the browser's ``datetime-local`` sends it, in Vietnam time."""
    text = (request.query_params.get("thoi-diem") or "").strip()[:32]
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as bad:
        raise InvalidInput({"thoi-diem": "a moment, YYYY-MM-DDTHH:MM"}) from bad
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def order_of(request: HttpRequest) -> dict[str, str]:
    field = (request.query_params.get("sap-xep") or "CODE").upper()
    direction = (request.query_params.get("chieu") or "ASC").upper()
    return {"field": field if field in ORDER_FIELDS else "CODE",
            "direction": direction if direction in ("ASC", "DESC") else "ASC"}


async def dashboard(request: HttpRequest, code: str, year: int, as_of: datetime | None,
                    order: dict[str, str]) -> dict[str, Any] | None:
    """The province's figures and every tenant's quota row (all pages)."""
    variables: dict[str, Any] = {"code": code, "year": year, "order": order,
                                 "asOf": as_of.isoformat() if as_of else None}
    province: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        found = (await read(request, DASHBOARD, {**variables, "after": after}))["province"]
        if found is None:
            return None
        province = province or found
        quotas = found["quotas"] or {"edges": [], "pageInfo": {"hasNextPage": False}}
        rows.extend(edge["node"] for edge in quotas["edges"])
        if not quotas["pageInfo"]["hasNextPage"]:
            break
        after = quotas["pageInfo"]["endCursor"]
    assert province is not None
    return {**province, "rows": rows}


def charts(summary: dict[str, Any] | None) -> str:
    """The charts' data (one per field), for ``static/bang-dieu-khien.js``."""
    by_field = (summary or {}).get("byField") or []
    return json.dumps([{"field": f["field"], "label": FIELDS.get(f["field"], f["field"]),
                        "values": [f["newModels"], f["recognizedTenantLevel"],
                                   f["recognizedProvinceLevel"]]} for f in by_field],
                      ensure_ascii=False).replace("<", "\\u003c")


class ProvinceDashboard(Controller):
    path = "/tinh/{code:str}"
    include_in_schema = False
    guards = [signed_in, allow(Action.TENANT_READ)]  # noqa: RUF012

    @get("/", name="province_dashboard")
    async def dashboard_page(self, request: HttpRequest) -> Template:
        code = str(request.path_params["code"])
        year, as_of, order = year_of(request), as_of_of(request), order_of(request)
        province = await dashboard(request, code, year, as_of, order)
        if province is None:
            return page(request, "error.html", status=404, code=404,
                        message="Không có tỉnh này.")
        queue = (await read(request, RECOGNITION_QUEUE, {"code": code}))["province"]
        user = user_of(request)
        return page(request, "province.html", province=province, year=year, as_of=as_of,
                    queue=(queue or {}).get("models") or {"totalCount": 0, "edges": []},
                    may_audit=bool(user and user.grants_for(Action.AUDIT_READ,
                                                            province_code=code)),
                    as_of_text=as_of.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
                    if as_of else "", order=order, charts=charts(province["summary"]),
                    fields=FIELDS)

    @get("/bieu-do", name="province_charts")
    async def charts_data(self, request: HttpRequest) -> dict[str, Any]:
        """The charts' data and the totals, for the live dashboard to redraw."""
        code = str(request.path_params["code"])
        found = await read(request, SUMMARY, {"code": code, "year": year_of(request)})
        summary = (found["province"] or {}).get("summary") or {}
        return {"charts": json.loads(charts(summary)),
                "totals": {k: number(summary.get(k)) for k in TOTALS}}
