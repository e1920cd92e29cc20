"""The GraphQL enums. Values are the domain's own strings (``tests/unit`` checks they match
``danvan.domain``), so rows from the read models serialise as they are."""

from __future__ import annotations

from enum import StrEnum

import strawberry


@strawberry.enum(description="Lĩnh vực: the five fields a model belongs to.")
class ModelField(StrEnum):
    PARTY_BUILDING = "party_building"
    ECONOMY = "economy"
    CULTURE_SOCIETY = "culture_society"
    DEFENSE_SECURITY = "defense_security"
    DIGITAL_TRANSFORMATION = "digital_transformation"


@strawberry.enum(description="A model's place in its lifecycle.")
class ModelState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    SELF_ASSESSED = "self_assessed"
    EVALUATED = "evaluated"
    PROPOSED = "proposed"
    RECOGNIZED_TENANT = "recognized_tenant"
    NOMINATED = "nominated"
    RECOGNIZED_PROVINCE = "recognized_province"
    COPY_RECEIVED = "copy_received"
    DISCONTINUED = "discontinued"
    REVOKED = "revoked"


@strawberry.enum(description="A collective model, or an individual exemplar (a person).")
class ModelKind(StrEnum):
    COLLECTIVE = "collective"
    INDIVIDUAL = "individual"


@strawberry.enum
class TenantKind(StrEnum):
    COMMUNE = "commune"
    WARD = "ward"
    SPECIAL_ZONE = "special_zone"
    AGENCY = "agency"


@strawberry.enum
class UnitKind(StrEnum):
    PARTY_CELL = "party_cell"
    PARTY_COMMITTEE = "party_committee"
    FRONT = "front"
    MASS_ORG = "mass_org"
    GOV_OFFICE = "gov_office"
    SCHOOL = "school"
    POLICE = "police"
    MILITARY = "military"
    OTHER = "other"


@strawberry.enum(description="Cấp công nhận: tenant (xã, phường) or province level.")
class RecognitionLevel(StrEnum):
    TENANT = "tenant"
    PROVINCE = "province"


@strawberry.enum(description="MET: the three count targets met and every unit registered; "
                             "MISSED: the year is over and that is not so; else IN_PROGRESS.")
class QuotaStatus(StrEnum):
    MET = "MET"
    MISSED = "MISSED"
    IN_PROGRESS = "IN_PROGRESS"


@strawberry.enum(description="What a page of quotas is ordered by (ties: official code).")
class QuotaOrderField(StrEnum):
    CODE = "code"
    NAME = "name"
    KIND = "kind"
    STATUS = "status"
    AT_RISK = "at_risk"
    NEW_MODELS = "new_models"
    NEW_MODELS_RATIO = "new_models_ratio"
    RECOGNIZED_TENANT_LEVEL = "recognized_tenant_level"
    RECOGNIZED_PROVINCE_LEVEL = "recognized_province_level"
    UNITS_WITHOUT_REGISTRATION = "units_without_registration"


@strawberry.enum
class OrderDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"
