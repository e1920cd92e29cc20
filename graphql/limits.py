"""Limits on what a query may ask, checked before anything runs.

- the body: containers nested at most ``MAX_NESTING`` deep, a query of at most
  ``MAX_QUERY_CHARS`` characters (``body.read_body`` refuses the rest with HTTP 400);
- tokens: at most ``MAX_TOKENS`` in the document (the parser stops there);
- depth: fields nested at most ``MAX_DEPTH`` deep (fragments expanded, introspection aside);
- aliases: at most ``MAX_ALIASES`` aliased fields per operation;
- page size: every ``first`` between 0 and ``MAX_PAGE`` (literal or variable);
- cost: the sum, over every list in the query, of the product of the page sizes (or, for
  plain lists, ``LIST_ESTIMATES``) along its path, plus, for each field that does a whole
  job of its own (``FIELD_COSTS``), its cost times the page sizes above it; at most
  ``MAX_COST``.
  ``provinces { quotas(first: 100) { edges { node { tenant { models(first: 100) ... }}}}}``
  costs 34 + 34·100 + 34·100·100 and is refused; so are three ``verifyAuditChain``, aliased
  or not (each recomputes a whole tenant's chain).

Validation (graphql-core's rules plus, in production, no introspection) and the analysis above
are cached per query text (``AnalysisCache``); the rules are built once, at import, so the key
stays the same from one request to the next (FIELD-NOTES: per-request limiter extensions
defeat the validation cache). Only the page sizes are read per request, from the variables.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    specified_rules,
    validate,
)
from graphql.type.definition import GraphQLInterfaceType, is_list_type, is_non_null_type
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from danvan.graphql.errors import BadInput, limit_exceeded
from danvan.projections.paging import MAX_PAGE

MAX_NESTING = 16
"""Objects and lists in a request body (variables hold at most an input object or two)."""
MAX_QUERY_CHARS = 100_000
"""A query of ``MAX_TOKENS`` tokens is far shorter; the rest would be comments or padding."""
MAX_TOKENS = 2000
MAX_DEPTH = 10
MAX_ALIASES = 20
DEFAULT_PAGE = 50
MAX_COST = 10_000
LIST_ESTIMATES: Mapping[str, int] = {
    "provinces": 34, "byField": 5, "units": 30, "history": 50, "recognitions": 50,
    "planTasks": 20, "problems": 10, "unitCompliance": 30, "yearLists": 10, "decisions": 3,
    "items": 10, "roles": 3,
    "edges": 1,  # a connection's page: counted at the connection field already
}
DEFAULT_LIST_ESTIMATE = 10
FIELD_COSTS: Mapping[str, int] = {
    "verifyAuditChain": 4_000,
    "auditTrail": 1_000,
    "stateAsOf": 20,
}
"""What a call costs besides the rows it lists, in rows read. ``verifyAuditChain`` reads and
hashes every event of a tenant (some 3,000 after five years; ``danvan bench audit``): two fit
in a query, not three. ``auditTrail`` counts the tenant's matching events (by index) before
its page: nine pages of 100 fit. ``stateAsOf`` loads and folds one model's events (``history``
is a list: ``LIST_ESTIMATES``)."""

DEVELOPMENT_RULES: tuple[type[ASTValidationRule], ...] = tuple(specified_rules)
PRODUCTION_RULES: tuple[type[ASTValidationRule], ...] = (
    *specified_rules, NoSchemaIntrospectionCustomRule)


def check_page(first: int) -> int:
    """The resolvers' own check (the limits already refused it before execution)."""
    if not 0 <= first <= MAX_PAGE:
        raise BadInput(f"first must be between 0 and {MAX_PAGE}, got {first}")
    return first


Factor = int | tuple[str, int]
"""A page size: a literal, or a variable's name with the size to use when it is not given."""


@dataclass(frozen=True)
class Term:
    path: str
    factors: tuple[Factor, ...]
    page: Factor | None
    """This field's own ``first`` (None for a plain list), checked against ``MAX_PAGE``."""


@dataclass(frozen=True)
class Plan:
    """What a query asks for, without the variables' values."""

    depth: int
    aliases: int
    terms: tuple[Term, ...]
    fields: frozenset[str] = frozenset()
    """Every field name the operation selects (the response cache looks at them)."""

    def errors(self, variables: Mapping[str, Any]) -> list[GraphQLError]:
        if self.depth > MAX_DEPTH:
            return [limit_exceeded(f"query depth {self.depth} exceeds the limit of {MAX_DEPTH}",
                                   limit="depth", value=self.depth, max=MAX_DEPTH)]
        if self.aliases > MAX_ALIASES:
            return [limit_exceeded(f"{self.aliases} aliases exceed the limit of {MAX_ALIASES}",
                                   limit="aliases", value=self.aliases, max=MAX_ALIASES)]
        cost = 0
        for term in self.terms:
            if term.page is not None:
                size = _value(term.page, variables)
                if not 0 <= size <= MAX_PAGE:
                    return [limit_exceeded(
                        f"first must be between 0 and {MAX_PAGE}, got {size} at {term.path}",
                        limit="first", value=size, max=MAX_PAGE, path=term.path)]
            product = 1
            for factor in term.factors:
                product *= max(_value(factor, variables), 0)
            cost += product
        if cost > MAX_COST:
            return [limit_exceeded(
                f"query cost {cost} exceeds the budget of {MAX_COST} (the product of page "
                "sizes along each list, summed, and for each call of "
                + ", ".join(f"{name} {weight}" for name, weight in FIELD_COSTS.items())
                + "); ask for smaller pages or fewer of those",
                limit="cost", value=cost, max=MAX_COST)]
        return []


def _value(factor: Factor, variables: Mapping[str, Any]) -> int:
    if isinstance(factor, int):
        return factor
    name, default = factor
    given = variables.get(name, default)
    if given is None:
        return default
    return given if isinstance(given, int) and not isinstance(given, bool) else 0


class _Planner:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.terms: list[Term] = []
        self.aliases = 0
        self.defaults: dict[str, int] = {}
        self.names: set[str] = set()

    def operation(self, op: OperationDefinitionNode) -> Plan:
        for definition in op.variable_definitions or ():
            if isinstance(definition.default_value, IntValueNode):
                self.defaults[definition.variable.name.value] = int(
                    definition.default_value.value)
        root = self.schema.query_type
        depth = self.selections(op.selection_set, root, (), "", 0) if root else 0
        return Plan(depth, self.aliases, tuple(self.terms), frozenset(self.names))

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType,
                   factors: tuple[Factor, ...], path: str, depth: int) -> int:
        if selection_set is None:
            return depth
        deepest = depth
        for node, owner in self._fields(selection_set, parent):
            name = node.name.value
            self.names.add(name)
            if name.startswith("__"):
                continue  # introspection: refused in production, not counted
            if node.alias is not None:
                self.aliases += 1
            field = owner.fields.get(name) if isinstance(
                owner, GraphQLObjectType | GraphQLInterfaceType) else None
            if field is None:
                continue
            here = f"{path}.{name}" if path else name
            inner = factors
            if "first" in field.args:
                page = self._first(node, field.args["first"].default_value)
                inner = (*factors, page)
                self.terms.append(Term(here, inner, page))
            elif _is_list(field.type) and LIST_ESTIMATES.get(name) != 1:
                estimate = LIST_ESTIMATES.get(name, DEFAULT_LIST_ESTIMATE)
                inner = (*factors, estimate)
                self.terms.append(Term(here, inner, None))
            if name in FIELD_COSTS:
                self.terms.append(Term(here, (*factors, FIELD_COSTS[name]), None))
            deepest = max(deepest, self.selections(
                node.selection_set, get_named_type(field.type), inner, here, depth + 1))
        return deepest

    def _first(self, node: FieldNode, default: Any) -> Factor:
        fallback = default if isinstance(default, int) else DEFAULT_PAGE
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                name = value.name.value
                return (name, self.defaults.get(name, fallback))
        return fallback

    def _fields(self, selection_set: SelectionSetNode, parent: GraphQLNamedType
                ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                owner = (self.schema.get_type(selection.type_condition.name.value)
                         if selection.type_condition else parent)
                yield from self._fields(selection.selection_set, owner or parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    owner = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(fragment.selection_set, owner or parent)


def _is_list(type_: Any) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)


def plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan:
    """The analysis of the operation to run (the document's only one if unnamed)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations
              if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return Plan(0, 0, ())
    plans = [_Planner(schema, document).operation(op) for op in chosen]
    return max(plans, key=lambda p: (p.depth, p.aliases, len(p.terms)))


Rules = tuple[type[ASTValidationRule], ...]
Analysis = tuple[tuple[GraphQLError, ...], Plan]


class AnalysisCache:
    """Validation errors and the plan of each query text seen lately. Keyed by the text, not
    the parsed document: graphql-core's nodes hash by walking the whole tree every time."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._found: OrderedDict[tuple[int, str, str | None, Rules], Analysis] = OrderedDict()
        self.hits = 0

    def analyse(self, schema: GraphQLSchema, document: DocumentNode, text: str | None,
                operation_name: str | None, rules: Rules) -> Analysis:
        if text is None:
            return self._analyse(schema, document, operation_name, rules)
        key = (id(schema), text, operation_name, rules)
        found = self._found.get(key)
        if found is not None:
            self._found.move_to_end(key)
            self.hits += 1
            return found
        found = self._found[key] = self._analyse(schema, document, operation_name, rules)
        while len(self._found) > self.maxsize:
            self._found.popitem(last=False)
        return found

    @staticmethod
    def _analyse(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                 rules: Rules) -> Analysis:
        errors = tuple(validate(schema, document, rules))
        return errors, (Plan(0, 0, ()) if errors else plan(schema, document, operation_name))


ANALYSES = AnalysisCache()


def check(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
          variables: Mapping[str, Any] | None, rules: Rules, *,
          text: str | None = None) -> list[GraphQLError]:
    """Validation errors, else limit errors; empty when the query may run."""
    return checked(schema, document, operation_name, variables, rules, text=text)[0]


def checked(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
            variables: Mapping[str, Any] | None, rules: Rules, *,
            text: str | None = None) -> tuple[list[GraphQLError], Plan]:
    """``check``, and the plan of the operation."""
    errors, found = ANALYSES.analyse(schema, document, text, operation_name, rules)
    if errors:
        return list(errors), found
    return found.errors(variables or {}), found


def limits_extension(production: bool) -> type[SchemaExtension]:
    """The schema extension enforcing all of the above (a class: one instance per request,
    cheap, holding nothing that would change the validation cache's key)."""
    rules = PRODUCTION_RULES if production else DEVELOPMENT_RULES

    class QueryLimits(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
            yield

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            assert context.graphql_document is not None
            errors, found = checked(
                context.schema._schema, context.graphql_document,
                context.operation_name, context.variables, rules, text=context.query)
            context.pre_execution_errors = errors
            if hasattr(context.context, "plan"):
                context.context.plan = found  # what the response cache needs to know
            yield

    return QueryLimits


__all__: Sequence[str] = (
    "DEFAULT_PAGE", "FIELD_COSTS", "MAX_ALIASES", "MAX_COST", "MAX_DEPTH", "MAX_NESTING",
    "MAX_PAGE", "MAX_QUERY_CHARS", "MAX_TOKENS", "Plan", "check", "check_page",
    "limits_extension", "plan")
