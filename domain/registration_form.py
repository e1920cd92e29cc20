"""What a registration form asks (phiếu đăng ký mô hình), and when it is complete."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from danvan.domain.limits import MAX_AGE, MAX_NAME, MAX_PHONE
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import PersonDetails, RegistrationForm


class Field(StrEnum):
    PARTY_BUILDING = "party_building"
    ECONOMY = "economy"
    CULTURE_SOCIETY = "culture_society"
    DEFENSE_SECURITY = "defense_security"
    DIGITAL_TRANSFORMATION = "digital_transformation"


class ModelKind(StrEnum):
    COLLECTIVE = "collective"
    INDIVIDUAL = "individual"


REQUIRED_TEXT = ("problem", "goals", "content", "area", "implementers", "resources", "outputs",
                 "sustainability")
OPTIONAL_TEXT = ("target_group", "measures", "milestones")
REQUIRED_DATES = ("start_date", "end_date")
OPTIONAL_DATES = ("evaluation_date",)
FORM_MEMBERS = (*REQUIRED_TEXT, *OPTIONAL_TEXT, *REQUIRED_DATES, *OPTIONAL_DATES)


def check_form(form: RegistrationForm, errors: Errors) -> dict[str, str]:
    """The members given, checked and as stored (texts NFC, dates ISO); a draft may lack
    some (``missing_members`` tells)."""
    checked: dict[str, str] = {}
    for name, value in form.given().items():
        if isinstance(value, date):
            checked[name] = value.isoformat()
        else:
            text = errors.text(name, value, required=False)
            if text:
                checked[name] = text
    return checked


def check_dates(form: Mapping[str, str], errors: Errors) -> None:
    start, end = form.get("start_date"), form.get("end_date")
    if start and end and date.fromisoformat(end) < date.fromisoformat(start):
        errors.add("end_date", "must not be before start_date")


def missing_members(name: str | None, field: str | None, form: Mapping[str, str]) -> list[str]:
    missing = [m for m in (*REQUIRED_TEXT, *REQUIRED_DATES) if not form.get(m)]
    if not field:
        missing.insert(0, "field")
    if not name:
        missing.insert(0, "name")
    return missing


def check_person(person: PersonDetails, errors: Errors, *, this_year: int) -> dict[str, Any]:
    """The exemplar's personal details as they are sealed (validated here, encrypted outside
    the domain)."""
    full_name = errors.text("person.full_name", person.full_name, max_length=MAX_NAME)
    birth_year = errors.integer("person.birth_year", person.birth_year,
                                minimum=this_year - MAX_AGE, maximum=this_year)
    phone = errors.text("person.phone", person.phone, required=False, max_length=MAX_PHONE)
    if phone and not all(c.isdigit() or c in "+ .-()" for c in phone):
        errors.add("person.phone", "must be a phone number")
    address = errors.text("person.address", person.address, required=False)
    return {"full_name": full_name, "birth_year": birth_year, "phone": phone or "",
            "address": address or ""}
