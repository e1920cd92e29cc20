"""What every projection provides: its tables (in a schema of its own), and how a batch of
events changes them with set-based SQL. The runner does the rest (tracking, locking, retries).

A projection's tables live in a versioned schema (``rm_<name>_v<version>``) so a rebuild can
fill new tables while the old ones serve; the API reads them through views in
``danvan_read`` (see ``schema``). Every table has a ``tenant_id`` column: row-level security
keys on it, unless the projection's ``scope_policies`` says otherwise for a table.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import psycopg

from danvan.projections.events import Batch, Envelope

Cursor = psycopg.Cursor[Any]
Connection = psycopg.Connection[Any]
Write = Callable[[Cursor], None]
"""A prepared batch's writes, run later inside the batch transaction."""

SCOPE = "(SELECT danvan_read.scope())::text[]"
"""SQL: the reader's scope (``danvan_read.scope()``), worked out once per statement."""
SCOPE_CONDITION = f"tenant_id = ANY ({SCOPE})"
"""The row-level security condition of a read-model table: its tenant is in the scope."""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_identifier(name: str) -> str:
    """Schema and table names are ours, never user input; still refuse anything odd, since
    they are formatted into SQL text."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


class TableSharding(enum.Enum):
    """How a table's rows may be written by tenant shards (``projections.sharding``)."""

    TENANT = "tenant"
    """Each row belongs to one tenant; only that tenant's events write it."""
    ADDITIVE = "additive"
    """Rows shared by tenants (roll-ups), written only by commutative upserts in key order,
    with deltas from the batch and ``TENANT`` rows (never from the shared row itself)."""
    ONE_WRITER = "one writer"
    """Rows that need every tenant's events in one place: no tenant shards."""


class Projection(ABC):
    """One independently tracked, rebuildable group of read-model tables."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    """Tables exposed to readers as ``danvan_read.<table>`` views (RLS on ``tenant_id``)."""
    topics: ClassVar[frozenset[str] | None] = None
    """Topics this projection reads; ``None`` means every event."""
    written_apart: ClassVar[bool] = False
    """Whether a pipelined run writes this projection's batches on a connection of its own,
    beside the others' (``pipeline``): for a projection whose writes are a large share of
    the database's work."""
    sharding: ClassVar[Mapping[str, TableSharding]] = {}
    """Per table, how tenant shards may write it; a table left out needs one writer, so
    the projection is refused tenant shards (``projections.sharding``)."""

    @abstractmethod
    def ddl(self, schema: str) -> list[str]:
        """CREATE statements for the tables (with their primary keys) in ``schema``."""

    def indexes(self, schema: str) -> list[str]:
        """Secondary indexes. A version being built gets them only at the end (one sort
        each instead of an insert per row), just before readers switch to it."""
        return []

    def views(self, schema: str) -> dict[str, str]:
        """What readers see: ``danvan_read.<name>`` defined by a SELECT over ``schema``
        (by default every table as it is)."""
        return {table: f"SELECT * FROM {schema}.{table}" for table in self.tables}

    def scope_policies(self) -> dict[str, str]:
        """Per table, the row-level security condition a reader's rows must meet where it is
        not ``SCOPE_CONDITION`` (a row whose ``tenant_id`` is in the reader's scope): SQL over
        the table's columns and ``SCOPE`` (the reader's scope, a ``text[]``). Part of the
        tables' shape: a version built under another condition is stale."""
        return {}

    @abstractmethod
    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        """Work out what ``batch`` (in log order) does to the tables in ``schema`` and return
        the writes, to run later in the batch's transaction.

        Must be deterministic: the same events give the same rows, however the log is cut
        into batches. ``reader`` sees the committed tables (as of the batches before this
        one). ``memo`` is state kept across the batches of one pipelined run by a runner
        holding the projection's lock (a projection may cache there what it has written);
        it is thrown away whenever a batch fails."""

    def apply(self, cur: Cursor, schema: str, batch: Batch) -> None:
        """Prepare and write ``batch`` at once, inside the caller's transaction."""
        self.prepare(cur, schema, batch)(cur)

    def topic_sets(self) -> tuple[frozenset[str], ...]:
        """The topic sets ``prepare`` asks the batch for (``Batch.of_topics``), so that a
        runner sorts a batch out for every projection in one pass (``Batch.sort_out``)."""
        return () if self.topics is None else (self.topics,)

    def wanted(self, batch: Batch) -> list[Envelope]:
        topics = self.topics
        if topics is None:
            return list(batch.events)
        return batch.of_topics(topics)


def copy_rows(cur: Cursor, table: str, columns: Sequence[str],
              rows: Iterable[Sequence[str | None]]) -> None:
    """COPY rows into ``table`` (schema-qualified), text format. Give every value as ``str``
    (or None): psycopg then copies without choosing a dumper per value, about three times
    faster than mixed Python types. A few rows (a live batch's) go as one INSERT's
    parameters instead (``insert_rows``)."""
    if isinstance(rows, Sequence) and len(rows) < FEW_ROWS:
        if rows:
            insert_rows(cur, table, columns, rows)
        return
    with cur.copy(_copy_into(table, columns)) as copy:
        if _format_row_text is None:
            for row in rows:
                copy.write_row(row)
            return
        # The rows formatted by psycopg's own (C) row formatter into one buffer, sent in
        # chunks: what ``write_row`` does, without its two Python calls per row.
        transformer = copy.formatter.transformer
        buffer = bytearray()
        for row in rows:
            _format_row_text(row, transformer, buffer)
            if len(buffer) > _COPY_CHUNK:
                copy.write(buffer)
                buffer = bytearray()
        if buffer:
            copy.write(buffer)


def copy_text(cur: Cursor, table: str, columns: Sequence[str], lines: Sequence[str]) -> None:
    """COPY rows already spelled in COPY's text format (``copy_line``, or a projection's own
    spelling of values it knows need no escape): no per-value formatting at write time.
    A few rows go as one INSERT's parameters instead (``insert_rows``)."""
    if len(lines) < FEW_ROWS:
        if lines:
            insert_rows(cur, table, columns, [copy_values(line) for line in lines])
        return
    encoding = cur.connection.info.encoding
    with cur.copy(_copy_into(table, columns)) as copy:
        for start in range(0, len(lines), _COPY_LINES):
            copy.write("".join(lines[start:start + _COPY_LINES]).encode(encoding))


FEW_ROWS = 10
"""Below this many rows, ``copy_rows`` and ``copy_text`` send one INSERT with the values as
parameters: a COPY costs both sides more per statement than an INSERT (a live batch writes
a row or two per table, dozens of times a second), and the rows are too few for COPY's
cheaper rows to make up for it."""


def insert_rows(cur: Cursor, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[str | None]], *, row: str | None = None,
                then: str = "", names: Sequence[str] | None = None) -> None:
    """``INSERT INTO table (columns) VALUES row, row, ... then``: the values (``str`` or
    None) as parameters of unknown type, so that each is read by its column type's input
    function, as COPY's text format reads it. ``row`` is the SQL of one row (by default one
    ``%s`` per column); ``then`` follows the values (an ``ON CONFLICT`` clause). A value its
    column refuses raises as from COPY, naming the column (``names``: each of a row's
    parameters' column, by default ``columns``), which a quarantined event's error shows."""
    row = row or f"({', '.join(['%s'] * len(columns))})"
    try:
        cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    f"{', '.join([row] * len(rows))}{then}",
                    [value for values in rows for value in values])
    except psycopg.DataError as exc:
        found = _PARAMETER.search(exc.diag.context or "")
        if found is None:
            raise
        line, column = divmod(int(found.group(1)) - 1, len(names or columns))
        raise type(exc)(f"{exc.diag.message_primary} (INSERT INTO {table}, row {line + 1}, "
                        f"column {(names or columns)[column]})") from exc


_PARAMETER = re.compile(r"parameter \$(\d+)")


def copy_values(line: str) -> list[str | None]:
    """The values of one row spelled by ``copy_line`` (or a projection's own spelling of
    values that need no escape), its newline included: ``\\N`` is NULL."""
    return [None if field == COPY_NULL else
            _COPY_ESCAPED.sub(_unescape, field) if "\\" in field else field
            for field in line.removesuffix("\n").split("\t")]


def _unescape(match: re.Match[str]) -> str:
    return _COPY_UNESCAPES[match.group(1)]


_COPY_ESCAPED = re.compile(r"\\([\\tnr])")
_COPY_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _copy_into(table: str, columns: Sequence[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


COPY_NULL = "\\N"


def copy_line(values: Iterable[str | None]) -> str:
    """One row in COPY's text format: values escaped (backslash, tab, newline, carriage
    return), None as ``\\N``."""
    return "\t".join(COPY_NULL if v is None else v.translate(_COPY_ESCAPES)
                     for v in values) + "\n"


def copy_safe(text: str) -> bool:
    """Whether ``text`` goes into COPY's text format as it is (nothing to escape)."""
    return not ("\\" in text or "\t" in text or "\n" in text or "\r" in text)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_LINES = 2000


try:  # psycopg's text COPY row formatter (its C one with psycopg[binary])
    from psycopg._copy_base import format_row_text as _format_row_text
except ImportError:  # pragma: no cover - another psycopg layout: row by row
    _format_row_text = None
_COPY_CHUNK = 1 << 18


def pg_bool(value: bool) -> str:
    return "t" if value else "f"


def pg_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of plain values (ints or identifier-like strings)."""
    return "{" + ",".join(str(v) for v in values) + "}"


def pg_text_array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of any texts (each quoted), to pass as one ``%s::text[]``
    parameter: cheaper than psycopg's per-element list dumper for thousands of values."""
    return "{" + ",".join(
        '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def opt(value: object) -> str | None:
    return None if value is None else str(value)
