"""The GraphQL enums. Those of the domain are the domain's own classes, so rows from the read
models (which hold the domain's strings) serialise as they are."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from danvan.domain.model import Level as RecognitionLevel
from danvan.domain.model import State as ModelState
from danvan.domain.policies import Role
from danvan.domain.registration_form import Field as ModelField
from danvan.domain.registration_form import ModelKind
from danvan.domain.tenants import TenantKind
from danvan.domain.units import UnitKind

__all__ = ["JobState", "ModelField", "ModelKind", "ModelState", "OrderDirection",
           "QuotaOrderField", "QuotaStatus", "RecognitionLevel", "Role", "TenantKind", "UnitKind"]

# The domain's own enums, registered under their GraphQL names: one definition of each.
strawberry.enum(ModelField, name="ModelField",
                description="Lĩnh vực: the five fields a model belongs to.")
strawberry.enum(ModelState, name="ModelState", description="A model's place in its lifecycle.")
strawberry.enum(ModelKind, name="ModelKind",
                description="A collective model, or an individual exemplar (a person).")
strawberry.enum(TenantKind, name="TenantKind")
strawberry.enum(UnitKind, name="UnitKind")
strawberry.enum(Role, name="Role", description=(
    "A user's role: held for the whole country (NATIONAL_ANALYST), a province (PROVINCE_*) "
    "or a tenant (the others; UNIT_USER for one unit of it)."))
strawberry.enum(RecognitionLevel, name="RecognitionLevel",
                description="Cấp công nhận: tenant (xã, phường) or province level.")


@strawberry.enum(description="MET: the three count targets met and every unit registered; "
                             "MISSED: the year is over and that is not so; else IN_PROGRESS.")
class QuotaStatus(StrEnum):
    MET = "MET"
    MISSED = "MISSED"
    IN_PROGRESS = "IN_PROGRESS"


@strawberry.enum(description="Where a job stands: waiting for a worker, being done, done, "
                             "or failed (a dead job failed its last retry).")
class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
