"""The read models' rows serve the GraphQL types as they are: every type of the schema either
names the row class it is served from (and each field it declares without a resolver is a field
of that class, nullable wherever the row's is), or is built by its resolvers."""

from __future__ import annotations

import strawberry
from graphql import GraphQLObjectType
from strawberry.types.base import get_object_definition

from danvan.graphql.query import Query
from danvan.graphql.rows import mismatches, row_class, served_from
from danvan.graphql.schema import build_schema
from danvan.graphql.subscription import Subscription
from danvan.graphql.type_actor import ActorType
from danvan.graphql.type_chain_verification import AuditChainVerificationType
from danvan.graphql.type_connection import Connection, Edge, PageInfo
from danvan.graphql.type_model_event import ModelEventType
from danvan.graphql.type_model_form import ModelFormType
from danvan.graphql.type_model_snapshot import ModelSnapshotType
from danvan.graphql.type_person import PersonType
from danvan.graphql.type_recognition_decision import RecognitionDecisionType
from danvan.graphql.type_unit import UnitType
from danvan.projections.directory.rows import UnitRow
from danvan.projections.reading import row

BUILT_BY_RESOLVERS = {ActorType, AuditChainVerificationType, ModelEventType, ModelFormType,
                      ModelSnapshotType, PersonType, RecognitionDecisionType, Connection, Edge,
                      PageInfo, Query, Subscription}
"""Types whose values the resolvers construct (from the event store, the vault, a verdict, a
page: ``Connection[T]`` and ``Edge[T]`` stand for their specialisations) and the roots."""


def schema_types() -> dict[str, type]:
    """Every object type of the schema, by name, as the Python class it was declared with."""
    found = {}
    for name, graphql_type in build_schema(production=False)._schema.type_map.items():
        if isinstance(graphql_type, GraphQLObjectType) and not name.startswith("__"):
            found[name] = graphql_type.extensions["strawberry-definition"].origin
    return found


def test_every_type_follows_its_row_class_or_is_built_by_resolvers() -> None:
    types = schema_types()
    assert "Tenant" in types and "Model" in types
    undeclared = [name for name, cls in types.items()
                  if row_class(cls) is None and not issubclass(cls, tuple(BUILT_BY_RESOLVERS))]
    assert not undeclared, f"name the row class of {undeclared} (@served_from) or list them"
    drift = {name: found for name, cls in types.items()
             if row_class(cls) is not None and (found := mismatches(cls))}
    assert not drift, drift


def test_a_field_the_row_lacks_or_may_hold_null_is_named() -> None:
    @row
    class Narrow:
        id: str
        name: str | None

    @served_from(Narrow)
    @strawberry.type(name="Wide")
    class Wide:
        id: strawberry.ID
        name: str
        kind: str

    assert mismatches(Wide) == ["name: may be null in Narrow, not in the type",
                                "kind: not a field of Narrow"]
    assert row_class(UnitType) is UnitRow and mismatches(UnitType) == []
    assert get_object_definition(UnitType, strict=True).name == "Unit"
