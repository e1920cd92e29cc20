"""``/cong-khai``: the public registry as a page (no sign-in), the same query parameters and
the same reading as ``GET /api/v1/public/recognized-models``."""

from __future__ import annotations

from litestar import Controller, get
from litestar.concurrency import sync_to_thread
from litestar.response import Template

from danvan.backend.controllers.public import limit_public, registry_page
from danvan.backend.pages.labels import FIELDS
from danvan.backend.pages.views import HttpRequest, page
from danvan.backend.services.public_registry import RegistryQuery
from danvan.domain.base import InvalidInput


def _text(request: HttpRequest, name: str, limit: int) -> str | None:
    value = (request.query_params.get(name) or "").strip()
    return value[:limit] or None


def _number(request: HttpRequest, name: str) -> int | None:
    value = (request.query_params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 6:
        raise InvalidInput({name: "a whole number"})
    return int(value)


class PublicRegistryPage(Controller):
    path = "/cong-khai"
    include_in_schema = False

    @get("/", name="public_registry_page")
    async def registry(self, request: HttpRequest) -> Template:
        await limit_public(request)
        catalogue = request.app.state["catalogue"]
        provinces = catalogue.provinces()
        try:
            query = RegistryQuery(province=_text(request, "province", 8),
                                  year=_number(request, "year"),
                                  field=_text(request, "field", 32),
                                  tenant=_text(request, "tenant", 64),
                                  page=_number(request, "page") or 1)
            found = await sync_to_thread(registry_page, request, query)
        except InvalidInput as refused:
            return page(request, "public.html", status=422, found=None, provinces=provinces,
                        fields=FIELDS, query=RegistryQuery(),
                        error="; ".join(f"{k}: {v}" for k, v in refused.errors.items()))
        return page(request, "public.html", found=found, provinces=provinces, fields=FIELDS,
                    query=found.query, error=None)
