"""The database spells each scalar of an encoded node (``graphql/encoded.py``) as graphql-core
answers it: the value psycopg reads, serialised by the schema's scalar and encoded by msgspec,
decodes to the same JSON as the SQL text, in any session time zone; a value graphql-core would
not answer (a null in a non-null field, an Int out of 32 bits) voids the node (NULL), so the
general path answers it with its error."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
import pytest
from psycopg.rows import TupleRow

from danvan.graphql.encoded import _scalar
from danvan.graphql.schema import build_schema

VALUES: dict[str, tuple[str, list[str]]] = {
    "String": ("text", ["'plain'", """'quote " and back\\slash'""", r"E'tab\tnewline\n\x01'",
                        "'Lò Thị Mai 🎉'", "''", "NULL"]),
    "ID": ("text", ["'3a14e1df-0bfe-5045-b530-eebe4c8413d5'", "'a\"b'", "NULL"]),
    "Int": ("bigint", ["0", "-2147483648", "2147483647", "2147483648", "-2147483649", "NULL"]),
    "Boolean": ("boolean", ["true", "false", "NULL"]),
    "DateTime": ("timestamptz", [
        "'2026-06-30 12:00:00+00'", "'2026-06-30 12:00:00.12+07'",
        "'2026-01-01 00:00:00.000001+00'", "'2026-12-31 23:59:59.999999-03:30'",
        "'1999-02-28 17:45:00.5+05:45'", "'1960-06-30 00:00:00+00'", "'0999-01-01 00:00:00+00'",
        "NULL"]),
    "JSON": ("jsonb", ["""'{"b": 1.50, "a": [1, "x", null, true], "é": {"n": -0.5e3}}'""",
                       """'"text"'""", "'[]'", "'12345678901234567890'", "'null'", "NULL"]),
}
ZONES = ("UTC", "Asia/Ho_Chi_Minh", "America/St_Johns", "Asia/Kathmandu")
OLD = ("1960", "0999")
"""Times the encoding leaves to the general path (before 1973), though graphql-core answers
them: voiding is always allowed, answering otherwise is not."""


def _graphql_answer(scalar: Any, value: Any, non_null: bool) -> bytes | None:
    """The JSON graphql-core answers for ``value``, None where it answers an error."""
    if value is None:
        return None if non_null else b"null"
    try:
        serialized = scalar.serialize(value)
    except Exception:
        return None
    return msgspec.json.encode(serialized)


@pytest.mark.parametrize("zone", ZONES)
def test_each_scalar_is_spelled_as_graphql_core_answers_it(
        owner_conn: psycopg.Connection[TupleRow], zone: str) -> None:
    type_map = build_schema(production=False)._schema.type_map
    owner_conn.execute(f"SET TimeZone = '{zone}'")
    checked = 0
    for name, (sql_type, literals) in VALUES.items():
        for literal in literals:
            for non_null in (True, False):
                encoded = _scalar(name, "(v)", non_null)
                assert encoded is not None, name
                text, guard = encoded
                row = owner_conn.execute(
                    f"SELECT v, CASE WHEN {guard or 'true'} THEN {text} END "
                    f"FROM (VALUES ({literal}::{sql_type})) AS t(v)").fetchone()
                assert row is not None
                value, spelled = row
                expected = _graphql_answer(type_map[name], value, non_null)
                case = f"{name} {literal} non_null={non_null} in {zone}"
                if expected is None:
                    assert spelled is None, case  # graphql-core's error: the general path
                    continue
                if spelled is None:
                    assert name == "DateTime" and literal.strip("'").startswith(OLD), case
                    continue
                assert msgspec.json.decode(spelled) == msgspec.json.decode(expected), case
                if name in ("String", "ID", "DateTime"):
                    assert spelled == expected.decode(), case  # the very same string
                checked += 1
    assert checked > 40
