"""The hostile corpus in every argument of the GraphQL schema: walked from ``Query`` through
the fields whose required arguments the seeded world can fill (a province code, a tenant or
model id, a year, a moment), so a new argument anywhere on those paths is covered without
editing this file. Each value goes in as a variable, spliced byte for byte into the JSON.

Per query: never a 5xx, always a GraphQL answer, never an ``INTERNAL`` error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import graphql as gql
import httpx

from danvan.graphql.errors import INTERNAL
from tests.e2e.world import YEN_BAI
from tests.reliability.findings import shown
from tests.reliability.fuzzing import Tally
from tests.reliability.hostile import CORPUS, SENTINEL, Hostile
from tests.reliability.seeded import Seeded

MAX_DEPTH = 3
PER_SITE = 8
"""Values per argument in the short run (a rotation across arguments covers them all)."""


@dataclass(frozen=True)
class Step:
    field: str
    args: tuple[tuple[str, str, str], ...]
    """(argument, its type, the variable holding its real value)."""


@dataclass(frozen=True)
class Site:
    """An argument, and the fields that lead to the field that takes it."""

    steps: tuple[Step, ...]
    field: str
    argument: str
    type: str
    selection: str

    @property
    def label(self) -> str:
        return ".".join([*(s.field for s in self.steps), self.field]) + f"({self.argument})"


def real_values(seeded: Seeded) -> dict[tuple[str, str], object]:
    """Values for required arguments, by (field, argument); ``*`` matches any field."""
    pools = seeded.pools[YEN_BAI]
    return {("province", "code"): "15", ("tenant", "id"): pools.tenant_id,
            ("model", "id"): seeded.models_by_state["rung-8"],
            ("*", "tenantId"): pools.tenant_id, ("*", "year"): 2026,
            ("*", "at"): datetime.now(UTC).isoformat(), ("*", "code"): "15"}


def _value(values: dict[tuple[str, str], object], field: str, argument: str) -> object:
    return values.get((field, argument), values.get(("*", argument)))


def _required(arg: gql.GraphQLArgument) -> bool:
    """Non-null without a default (a schema built from SDL keeps defaults on the AST)."""
    has_default = arg.default_value is not gql.Undefined or (
        arg.ast_node is not None and arg.ast_node.default_value is not None)
    return gql.is_non_null_type(arg.type) and not has_default


def _selection(type_: gql.GraphQLOutputType) -> str:
    named = gql.get_named_type(type_)
    if not isinstance(named, gql.GraphQLObjectType):
        return ""
    leaves = [name for name, field in named.fields.items()
              if not field.args and isinstance(gql.get_named_type(field.type),
                                               gql.GraphQLScalarType | gql.GraphQLEnumType)]
    return "{ __typename " + " ".join(leaves[:6]) + " }"


def sites(schema: gql.GraphQLSchema, values: dict[tuple[str, str], object]) -> list[Site]:
    found: list[Site] = []

    def walk(type_: gql.GraphQLObjectType, steps: tuple[Step, ...], seen: frozenset[str]
             ) -> None:
        for name, field in type_.fields.items():
            for argument, arg in field.args.items():
                found.append(Site(steps, name, argument, str(arg.type), _selection(field.type)))
            named = gql.get_named_type(field.type)
            if len(steps) + 1 >= MAX_DEPTH or not isinstance(named, gql.GraphQLObjectType) \
                    or named.name in seen:
                continue
            filled = []
            for argument, arg in field.args.items():
                if _required(arg):
                    if _value(values, name, argument) is None:
                        break
                    filled.append((argument, str(arg.type), f"p{len(steps)}_{argument}"))
            else:
                walk(named, (*steps, Step(name, tuple(filled))), seen | {named.name})

    assert schema.query_type is not None
    walk(schema.query_type, (), frozenset({schema.query_type.name}))
    return found


def query_for(site: Site, field_args: dict[str, gql.GraphQLArgument],
              values: dict[tuple[str, str], object]) -> tuple[str, dict[str, object]]:
    """The query text and its variables (the hostile one is the sentinel)."""
    declared = ["$h: " + site.type]
    variables: dict[str, object] = {"h": SENTINEL}
    text = ""
    own = [f"{site.argument}: $h"]
    for argument, arg in field_args.items():
        if argument != site.argument and _required(arg):
            name = f"own_{argument}"
            declared.append(f"${name}: {arg.type}")
            variables[name] = _value(values, site.field, argument)
            own.append(f"{argument}: ${name}")
    inner = f"{site.field}({', '.join(own)}) {site.selection}"
    for step in reversed(site.steps):
        call = ", ".join(f"{a}: ${v}" for a, _, v in step.args)
        for argument, type_, variable in step.args:
            declared.append(f"${variable}: {type_}")
            variables[variable] = _value(values, step.field, argument)
        inner = f"{step.field}{f'({call})' if call else ''} {{ {inner} }}"
    text = f"query Hostile({', '.join(declared)}) {{ {inner} }}"
    return text, variables


def _field_args(schema: gql.GraphQLSchema, site: Site) -> dict[str, gql.GraphQLArgument]:
    type_: gql.GraphQLNamedType | None = schema.query_type
    for step in site.steps:
        assert isinstance(type_, gql.GraphQLObjectType)
        type_ = gql.get_named_type(type_.fields[step.field].type)
    assert isinstance(type_, gql.GraphQLObjectType)
    return dict(type_.fields[site.field].args)


def plan(found: list[Site], everywhere: bool) -> Iterator[tuple[Site, Hostile]]:
    for i, site in enumerate(found):
        chosen = CORPUS if everywhere else [CORPUS[(i * PER_SITE + k) % len(CORPUS)]
                                            for k in range(PER_SITE)]
        for hostile in chosen:
            yield site, hostile


def hostile_graphql(seeded: Seeded, sdl: str, everywhere: bool) -> tuple[Tally, int]:
    """The tally, and how many arguments were reached."""
    schema = gql.build_schema(sdl)
    values = real_values(seeded)
    found = sites(schema, values)
    tally = Tally()
    client = seeded.env.client
    headers = {**seeded.headers("province_admin"), "content-type": "application/json"}
    for site, hostile in plan(found, everywhere):
        text, variables = query_for(site, _field_args(schema, site), values)
        raw = json.dumps({"query": text, "variables": variables}, ensure_ascii=False).encode()
        body = raw.replace(json.dumps(SENTINEL).encode(), hostile.fragment)
        request = f"{site.label} = {hostile.label}: {shown(body)}"
        before = seeded.events()
        try:
            response = client.post("/graphql", content=body, headers=headers)
        except httpx.HTTPError as exc:
            tally.requests += 1
            tally.findings.add("no answer", site.label, caller="province_admin", status=0,
                               detail=repr(exc), request=request)
            continue
        tally.requests += 1
        status = response.status_code
        tally.statuses[status] += 1
        if seeded.events() != before:
            tally.findings.add("appended by a query", site.label, caller="province_admin",
                               status=status, detail="", request=request)
        if status >= 500:
            tally.server_errors += 1
            tally.findings.add(f"{status} on {hostile.label}", site.label,
                               caller="province_admin", status=status,
                               detail=response.text[:300], request=request)
            continue
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not ({"data", "errors"} & answer.keys()):
            tally.findings.add("not a GraphQL answer", site.label, caller="province_admin",
                               status=status, detail=response.text[:300], request=request)
            continue
        errors = answer.get("errors") or []
        if errors:
            tally.refused += 1
        for error in errors:
            if (error.get("extensions") or {}).get("code") == INTERNAL:
                # an error with a path failed in a resolver; one without, before execution
                # (the variables' coercion), and the two have different causes
                stage = "in a resolver" if error.get("path") else "before execution"
                tally.findings.add(f"INTERNAL {stage}", f"{site.label} = {hostile.label}",
                                   caller="province_admin", status=status,
                                   detail=json.dumps(error, ensure_ascii=False)[:300],
                                   request=request)
    return tally, len(found)
