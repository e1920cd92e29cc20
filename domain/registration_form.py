"""What a registration form asks (phiếu đăng ký mô hình), and when it is complete."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from danvan.domain.limits import MAX_AGE, MAX_NAME, MAX_PHONE
from danvan.domain.validation import Errors


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
AMENDABLE = ("name", "field", *FORM_MEMBERS)
PERSON_MEMBERS = ("full_name", "birth_year", "phone", "address")


def parse_form(values: dict[str, Any], errors: Errors) -> dict[str, str]:
    """Checks the form members present; a draft may lack some (``missing_members`` tells)."""
    form: dict[str, str] = {}
    for name in (*REQUIRED_TEXT, *OPTIONAL_TEXT):
        if values.get(name) is not None:
            text = errors.text(name, values[name], required=False)
            if text:
                form[name] = text
    for name in (*REQUIRED_DATES, *OPTIONAL_DATES):
        if values.get(name) is not None:
            day = errors.iso_date(name, values[name])
            if day is not None:
                form[name] = day.isoformat()
    return form


def check_dates(form: dict[str, str], errors: Errors) -> None:
    start, end = form.get("start_date"), form.get("end_date")
    if start and end and date.fromisoformat(end) < date.fromisoformat(start):
        errors.add("end_date", "must not be before start_date")


def missing_members(name: str | None, field: str | None, form: dict[str, str]) -> list[str]:
    missing = [m for m in (*REQUIRED_TEXT, *REQUIRED_DATES) if not form.get(m)]
    if not field:
        missing.insert(0, "field")
    if not name:
        missing.insert(0, "name")
    return missing


def parse_name_and_field(values: dict[str, Any], errors: Errors, *, required: bool
                         ) -> tuple[str | None, str | None]:
    name = errors.text("name", values.get("name"), required=required, max_length=MAX_NAME)
    field = None
    if values.get("field") is not None or required:
        field = errors.choice("field", values.get("field"), [f.value for f in Field])
    return name, field


def check_person(person: Any, errors: Errors, *, this_year: int) -> dict[str, Any] | None:
    """The exemplar's personal details; validated here, encrypted outside the domain."""
    if not isinstance(person, dict):
        errors.add("person", "an individual exemplar needs the person's details")
        return None
    errors.no_unknown(person, PERSON_MEMBERS, "person.")
    full_name = errors.text("person.full_name", person.get("full_name"), max_length=MAX_NAME)
    birth_year = errors.integer("person.birth_year", person.get("birth_year"),
                                minimum=this_year - MAX_AGE, maximum=this_year)
    phone = errors.text("person.phone", person.get("phone"), required=False,
                        max_length=MAX_PHONE)
    if phone and not all(c.isdigit() or c in "+ .-()" for c in phone):
        errors.add("person.phone", "must be a phone number")
    address = errors.text("person.address", person.get("address"), required=False)
    if full_name is None or birth_year is None:
        return None
    return {"full_name": full_name, "birth_year": birth_year, "phone": phone or "",
            "address": address or ""}
