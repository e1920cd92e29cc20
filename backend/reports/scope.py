"""Whom a report is about and who issues it: the scope (a tenant, or a whole province) and
the letterhead of its administrative form (DOCUMENTS.md), Party or state, with the defaults
of ``texts/vi.toml`` and what the request fills in (issuer, number, signer, addressees)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from danvan.backend.reports import wording as w
from danvan.backend.reports.content import Letterhead
from danvan.domain.reports import ReportRequest
from danvan.domain.tenants import TenantKind
from danvan.projections.directory.rows import TenantRef

_STATE_ISSUERS = re.compile(r"^(UBND|ỦY BAN|UỶ BAN|SỞ |BỘ |CỤC |CHI CỤC )", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """What a report is about: one tenant, or a whole province (``tenant`` None)."""

    province_code: str
    province_name: str
    """``Tỉnh Lào Cai``."""
    tenant: TenantRef | None = None

    @property
    def province_short(self) -> str:
        return self.province_name.split(" ", 1)[1] if " " in self.province_name \
            else self.province_name

    @property
    def words(self) -> str:
        """How a sentence names it: ``phường Yên Bái``, ``tỉnh Lào Cai``."""
        name = self.tenant.name if self.tenant else self.province_name
        return name[:1].lower() + name[1:] if self.tenant is None or self.local else name

    @property
    def local(self) -> bool:
        return self.tenant is not None and self.tenant.kind != TenantKind.AGENCY

    @property
    def place(self) -> str:
        if self.local and self.tenant is not None:
            prefix = w.name_of("tenant_kinds", self.tenant.kind)
            name = self.tenant.name
            return name[len(prefix) + 1:] if name.lower().startswith(prefix + " ") else name
        return self.province_short

    @property
    def display(self) -> str:
        return self.tenant.name if self.tenant else self.province_name


def _symbol(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[:1].isalpha()).upper()


def letterhead(scope: Scope, request: ReportRequest, kind_type: str, today: date) -> Letterhead:
    values = {"province": scope.province_name, "province_short": scope.province_short,
              "scope": scope.display, "type": kind_type,
              "issuer_symbol": _symbol(scope.display)}
    party_form = w.section("forms", "party")
    state_form = w.section("forms", "state")
    party = scope.tenant is None or scope.local
    if request.issuer:
        party = not _STATE_ISSUERS.match(request.issuer)
    if party:
        which = "tenant" if scope.tenant is not None else "province"
        superior = w.render(party_form[f"{which}_superior"], **values)
        issuer = request.issuer or w.render(party_form[f"{which}_issuer"], **values)
        number = w.render(party_form[f"{which}_number"], **values)
        mandate, office = party_form[f"{which}_mandate"], party_form[f"{which}_office"]
        addressees = tuple(party_form[f"{which}_addressees"])
    else:
        superior = w.render(state_form["superior"], **values)
        issuer = request.issuer or scope.display
        number = w.render(state_form["number"], **values)
        mandate, office = state_form["mandate"], state_form["office"]
        addressees = tuple(state_form["addressees"])
    if request.number:
        number = request.number if request.number.startswith("Số") else (
            f"Số {request.number}" if party else f"Số: {request.number}")
    return Letterhead(party=party, superior=superior.upper(), issuer=issuer.upper(),
                      number=number, place=scope.place, issued_on=today, mandate=mandate,
                      office=office, signer=request.signer or "",
                      addressees=request.addressees or addressees)
