"""Model registry: every model's current state (searchable without diacritics) and its form,
the recognition registry (decision numbers and dates, and revocations), and the years' lists
a model was maintained into. The timestamps kept here (accepted, submitted, recognised,
revoked, maintained, discontinued) are what answers "as of" questions.

``models`` rows are rewritten as a model moves, so they are kept narrow (the form lives in
``model_forms``, written only when it changes) and none of their indexed columns changes
after registration but the name: updates stay HOT (no index entries to add).
"""

from __future__ import annotations

import weakref
from typing import Any

from danvan.projections.base import (
    FEW_ROWS,
    Cursor,
    copy_rows,
    copy_text,
    copy_values,
    insert_rows,
)
from danvan.projections.models.fold import (
    MODEL_COLUMNS,
    RECOGNITION_COLUMNS,
    Changes,
    ModelRow,
)

TABLES = ("models", "model_forms", "recognitions", "model_years")


def ddl(s: str) -> list[str]:
    return [
        f"""CREATE TABLE {s}.models (
            model_id uuid PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            unit_id uuid NOT NULL,
            year int NOT NULL,
            kind text NOT NULL,
            name text NOT NULL,
            field text,
            state text NOT NULL,
            vertical_line boolean NOT NULL,
            registered_at timestamptz NOT NULL,
            submitted_at timestamptz,
            accepted_at timestamptz,
            copy_received_at timestamptz,
            discontinued_at timestamptz,
            evaluation_total numeric,
            passed boolean NOT NULL,
            person_erased boolean NOT NULL,
            list_years int[] NOT NULL,
            recognized_levels text[] NOT NULL,
            version bigint NOT NULL,
            updated_at timestamptz NOT NULL,
            search_text text NOT NULL) WITH (fillfactor = 70)""",
        f"""CREATE TABLE {s}.model_forms (
            model_id uuid PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            form jsonb NOT NULL)""",
        f"""CREATE TABLE {s}.recognitions (
            position bigint NOT NULL,
            model_id uuid NOT NULL,
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            field text,
            level text NOT NULL,
            decision_number text NOT NULL,
            decision_date date NOT NULL,
            recognized_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_position bigint,
            revoke_reason text)""",
        # Revocations look up the open recognition: needed while the version is built.
        f"CREATE INDEX ON {s}.recognitions (model_id, level) WHERE revoked_at IS NULL",
        f"""CREATE TABLE {s}.model_years (
            model_id uuid NOT NULL,
            year int NOT NULL,
            tenant_id text COLLATE "C" NOT NULL,
            field text,
            maintained_at timestamptz NOT NULL,
            position bigint NOT NULL)""",
    ]


def indexes(s: str) -> list[str]:
    return [
        f"CREATE UNIQUE INDEX ON {s}.recognitions (position)",
        f"CREATE UNIQUE INDEX ON {s}.model_years (model_id, year)",
        f"CREATE INDEX ON {s}.models (tenant_id, year)",
        f"CREATE INDEX ON {s}.models (tenant_id, name, model_id)",
        f"CREATE INDEX ON {s}.recognitions (tenant_id, year, level)",
        f"CREATE INDEX ON {s}.model_years (tenant_id, year)",
    ]


_LOAD = ("SELECT model_id::text, tenant_id, unit_id::text, year, kind, name, field, state, "
         "vertical_line, registered_at::text, submitted_at::text, accepted_at::text, "
         "copy_received_at::text, discontinued_at::text, evaluation_total::text, passed, "
         "person_erased, list_years, recognized_levels, version, updated_at::text "
         "FROM {schema}.models WHERE model_id ")
# (the ids travel as one array literal: uuids need no quoting, and psycopg's list dumper
#  would escape each element on its own; a few ids (a live batch's) as a parameter each, so
#  that the prepared statement keeps its generic plan instead of being planned every batch)


def load(cur: Cursor, schema: str, ids: set[str]) -> dict[str, ModelRow]:
    if not ids:
        return {}
    if len(ids) < FEW_ROWS:
        cur.execute(f"{_LOAD.format(schema=schema)}IN ({', '.join(['%s'] * len(ids))})",
                    list(ids), binary=True)
    else:
        cur.execute(_LOAD.format(schema=schema) + "= ANY(%s::uuid[])",
                    ("{" + ",".join(ids) + "}",), binary=True)
    return {row.model_id: row for row in map(ModelRow.from_values, cur.fetchall())}


class ModelCache:
    """Model rows a pipelined runner has written or read, so that preparing the next batch
    needs no read of rows the previous (maybe uncommitted) batch changed. Bounded: rows not
    touched in the last ``margin`` batches (all committed by then) may be dropped."""

    def __init__(self, limit: int = 30_000, margin: int = 6) -> None:
        self.limit = limit
        self.margin = margin
        self.rows: dict[str, ModelRow] = {}
        self.touched: dict[str, int] = {}
        self.seq = 0

    def take(self, reader: Cursor, schema: str, ids: set[str]) -> dict[str, ModelRow]:
        self.seq += 1
        missing = {i for i in ids if i not in self.rows}
        self.rows.update(load(reader, schema, missing))
        return {i: self.rows[i] for i in ids if i in self.rows}

    def keep(self, rows: dict[str, ModelRow]) -> None:
        for model_id, row in rows.items():
            self.rows[model_id] = row
            self.touched.pop(model_id, None)
            self.touched[model_id] = self.seq  # insertion order = recency
        if len(self.rows) > self.limit:
            for model_id, seq in list(self.touched.items()):
                if len(self.rows) <= self.limit * 0.8 or seq > self.seq - self.margin:
                    break
                del self.rows[model_id], self.touched[model_id]


def write(cur: Cursor, schema: str, changes: Changes) -> None:
    """Write a frozen ``Changes`` (``Changes.freeze``)."""
    if changes.model_text:
        _upsert_models(cur, schema, changes)
    if changes.new_form_text:  # (a model is created once: by its first event)
        copy_text(cur, f"{schema}.model_forms", ("model_id", "tenant_id", "form"),
                  changes.new_form_text)
    if changes.form_text:
        _upsert_forms(cur, schema, changes)
    # Close earlier batches' recognitions before opening this batch's: a model revoked and
    # recognised again at the same level in one batch must keep its new recognition open.
    if changes.closed:
        cur.executemany(f"UPDATE {schema}.recognitions SET revoked_at = %s, "
                        "revoked_position = %s, revoke_reason = %s "
                        "WHERE model_id = %s AND level = %s AND revoked_at IS NULL",
                        changes.closed)
    if changes.recognition_text:
        copy_rows(cur, f"{schema}.recognitions", RECOGNITION_COLUMNS, changes.recognition_text)
    if changes.list_years:
        copy_rows(cur, f"{schema}.model_years", ("model_id", "year", "tenant_id", "field",
                                                  "maintained_at", "position"),
                  changes.list_years)


def _stage(cur: Cursor, name: str, select: str) -> str:
    """A session temp table (shaped by ``select``, no constraints) to COPY into before an
    upsert; emptied after each use, since several batches may share one transaction."""
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS {select} WITH NO DATA")
    return name


def folded(text: str) -> str:
    """``public.danvan_fold(text)`` (infra/sql/040) spelled out: the same expression, which
    the planner evaluates in place. The function itself cannot be inlined (it sets its
    search_path), so each call would cost a SQL-function call and a GUC change, about
    three times the folding itself, once for every model registered or renamed."""
    return f"pg_catalog.lower(public.unaccent('public.unaccent'::regdictionary, {text}))"


def _upsert_models(cur: Cursor, schema: str, changes: Changes) -> None:
    columns = ", ".join(MODEL_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in MODEL_COLUMNS[1:])
    upsert = (f" ON CONFLICT (model_id) DO UPDATE SET {updates}, "
              "search_text = CASE WHEN m.name = excluded.name THEN m.search_text "
              f"ELSE {folded('excluded.name')} END")
    rows = changes.model_text
    if len(rows) < FEW_ROWS:  # no stage: the rows as parameters, ``renamed`` and the name last
        values = ", ".join(["%s"] * len(MODEL_COLUMNS))
        insert_rows(cur, f"{schema}.models AS m", (*MODEL_COLUMNS, "search_text"),
                    [(*row, row[_NAME]) for row in rows],
                    row=f"({values}, CASE WHEN %s THEN {folded('%s')} ELSE '' END)",
                    then=upsert, names=(*MODEL_COLUMNS, "renamed", "name"))
        return
    stage = _stage(cur, f"stage_models_{schema}",
                   f"SELECT {columns}, true AS renamed FROM {schema}.models")
    copy_rows(cur, stage, (*MODEL_COLUMNS, "renamed"), rows)
    cur.execute(
        f"INSERT INTO {schema}.models AS m ({columns}, search_text) "
        f"SELECT {columns}, CASE WHEN renamed THEN {folded('name')} ELSE '' END "
        f"FROM {stage}{upsert}")
    _empty(cur, stage, len(rows))


_NAME = MODEL_COLUMNS.index("name")


def _empty(cur: Cursor, stage: str, rows: int) -> None:
    """Empty a stage after use. A few rows (a live batch's): DELETE them. TRUNCATE gives the
    table a new file, which updates the catalog and sends every backend of the server (the
    API's too) an invalidation, dozens of times a second live; it is kept for big batches
    and for every ``_TRUNCATE_EVERY``-th small one, since the dead rows DELETE leaves would
    otherwise pile up (autovacuum never visits temp tables)."""
    uses = _STAGE_USES.setdefault(cur.connection, {})
    n = uses.get(stage, 0) + 1
    if rows >= _DELETE_BELOW or n >= _TRUNCATE_EVERY:
        cur.execute(f"TRUNCATE {stage}")
        n = 0
    else:
        cur.execute(f"DELETE FROM {stage}")
    uses[stage] = n


_DELETE_BELOW = 1000
_TRUNCATE_EVERY = 500
_STAGE_USES: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def _upsert_forms(cur: Cursor, schema: str, changes: Changes) -> None:
    columns = ("model_id", "tenant_id", "form")
    merge = " ON CONFLICT (model_id) DO UPDATE SET form = f.form || excluded.form"
    lines = changes.form_text
    if len(lines) < FEW_ROWS:
        insert_rows(cur, f"{schema}.model_forms AS f", columns,
                    [copy_values(line) for line in lines], then=merge)
        return
    stage = _stage(cur, f"stage_forms_{schema}", f"SELECT * FROM {schema}.model_forms")
    copy_text(cur, stage, columns, lines)
    cur.execute(f"INSERT INTO {schema}.model_forms AS f SELECT * FROM {stage}{merge}")
    _empty(cur, stage, len(lines))
