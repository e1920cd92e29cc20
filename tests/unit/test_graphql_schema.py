"""The read API's contract: the committed SDL, the stored operations, the enums' values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import build_schema as parse_sdl
from graphql import parse, validate

from danvan.domain.registration_form import FORM_MEMBERS
from danvan.graphql import enums
from danvan.graphql.persisted import persisted_queries
from danvan.graphql.schema import SDL_PATH, schema_sdl
from danvan.graphql.type_model_form import FORM_KEYS
from danvan.projections.models.quota_status import STATUSES

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_sdl_is_the_schema_of_the_code() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == schema_sdl(), (
        "graphql/schema.graphql differs from the code: run `danvan graphql export-schema` "
        "and review the change (clients rely on it)")


def test_the_api_md_consolidation_query_is_stored_verbatim_and_every_operation_validates(
        ) -> None:
    schema = parse_sdl(SDL_PATH.read_text(encoding="utf-8"))
    stored = {q.id: q for q in persisted_queries().values()}
    assert "ProvinceConsolidation" in stored and len(stored) >= 8
    for name, query in stored.items():
        assert validate(schema, parse(query.text)) == [], name
    text = stored["ProvinceConsolidation"].text
    for member in ("tenantCount newModels recognizedTenantLevel recognizedProvinceLevel",
                   "tenantsMet tenantsAtRisk", "unitsWithoutRegistration status atRisk",
                   "quotas(year: $year, asOf: $asOf, status: null, first: 100, after: null)"):
        assert member in text


def test_quota_statuses_and_form_members_match_the_read_side() -> None:
    assert tuple(s.value for s in enums.QuotaStatus) == STATUSES
    assert frozenset(FORM_MEMBERS) == FORM_KEYS


def test_the_graphql_folder_never_shadows_graphql_core() -> None:
    assert not (REPO / "graphql" / "__init__.py").exists()
    result = subprocess.run([sys.executable, "-c", "import strawberry, danvan.graphql, graphql; "
                             "print(graphql.__file__)"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout
