"""Open units by how many models they submitted, so that "units below a minimum" is a sum
over a few rows instead of a scan of every unit of a province.

The models projection keeps its own record of which units are open (``unit_states``, fed by
the units' Added and Closed events, which it reads beside the model events: it cannot join
the directory's tables, which another projection builds at its own position), how many are
open per tenant (``open_units``), and per tenant and year how many open units have exactly
``submitted`` models of that year submitted (``submitted >= 1``; a received copy counts, as
in ``unit_counts``). Units open with none of the year's models submitted are the open units
less those rows. The rows describe the present only: "as of" questions read the history.

A histogram row depends only on where units are now, not on the order in which they got
there, so a batch writes its openings first, then its submissions, then its closings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from danvan.domain.units import Unit
from danvan.projections.base import FEW_ROWS, Cursor, pg_array, pg_text_array
from danvan.projections.events import Envelope, topic_of
from danvan.projections.models.provinces import with_province

UNIT_ADDED = topic_of(Unit.Added)
UNIT_CLOSED = topic_of(Unit.Closed)
UNIT_TOPICS = frozenset({UNIT_ADDED, UNIT_CLOSED})

TABLES = ("unit_states", "open_units", "unit_histogram")


def ddl(s: str) -> list[str]:
    return [
        f"""CREATE TABLE {s}.unit_states (
            unit_id uuid PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            open boolean NOT NULL)""",
        f"""CREATE TABLE {s}.open_units (
            tenant_id text COLLATE "C" PRIMARY KEY,
            units int NOT NULL DEFAULT 0,
            province_code text) WITH (fillfactor = 70)""",
        f"""CREATE TABLE {s}.unit_histogram (
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            submitted int NOT NULL,
            units int NOT NULL DEFAULT 0,
            province_code text,
            PRIMARY KEY (tenant_id, year, submitted)) WITH (fillfactor = 70)""",
    ]


class UnitMoves:
    """The units a batch opens and closes (in log order)."""

    def __init__(self, events: Iterable[Envelope]) -> None:
        self.added: list[tuple[str, str]] = []
        self.closed: list[str] = []
        for e in events:
            if e.topic == UNIT_ADDED:
                self.added.append((e.originator_id, e.tenant_id))
            elif e.topic == UNIT_CLOSED:
                self.closed.append(e.originator_id)


def write_openings(cur: Cursor, schema: str, moves: UnitMoves) -> None:
    if not moves.added:
        return
    added = "(SELECT tenant_id, count(*) AS units FROM added GROUP BY tenant_id) d"
    cur.execute(
        f"""WITH added AS (
              INSERT INTO {schema}.unit_states (unit_id, tenant_id, open)
              SELECT u, t, true FROM unnest(%s::uuid[], %s::text[]) AS a(u, t)
              ON CONFLICT (unit_id) DO NOTHING RETURNING tenant_id)
            INSERT INTO {schema}.open_units AS o (tenant_id, units, province_code)
            SELECT d.tenant_id, d.units, p.province_code FROM {with_province(schema, added)}
            ON CONFLICT (tenant_id) DO UPDATE SET units = o.units + excluded.units""",
        (pg_array(u for u, _ in moves.added), pg_text_array(t for _, t in moves.added)))


def write_submissions(cur: Cursor, schema: str,
                      units: dict[tuple[str, int, str], int]) -> None:
    """Move each open unit whose count of submitted models changes from its old row to its
    new one; runs before ``unit_counts`` takes the same deltas."""
    if not units:
        return
    keys = list(units)
    summed = ("(SELECT tenant_id, year, submitted, sum(units) AS units FROM steps "
              "GROUP BY tenant_id, year, submitted) d")
    if len(keys) < FEW_ROWS:
        # A live batch's few units as a VALUES list: the generic plan then knows as many
        # rows as a custom one and is kept, instead of the prepared statement being planned
        # anew (about 0.3 ms) every batch.
        rows = f"(VALUES {', '.join(['(%s, %s::int, %s::uuid, %s::int)'] * len(keys))})"
        params: Sequence[object] = [value for k in keys for value in (*k, units[k])]
    else:
        rows = "unnest(%s::text[], %s::int[], %s::uuid[], %s::int[])"
        params = (pg_text_array(k[0] for k in keys), pg_array(k[1] for k in keys),
                  pg_array(k[2] for k in keys), pg_array(units[k] for k in keys))
    cur.execute(
        f"""WITH d AS (
              SELECT * FROM {rows} AS d(tenant_id, year, unit_id, added)),
            moved AS (
              SELECT d.tenant_id, d.year, coalesce(c.submitted_models, 0) AS old, d.added
                FROM d JOIN {schema}.unit_states s ON s.unit_id = d.unit_id AND s.open
                LEFT JOIN {schema}.unit_counts c ON c.tenant_id = d.tenant_id
                 AND c.year = d.year AND c.unit_id = d.unit_id),
            steps AS (
              SELECT tenant_id, year, old AS submitted, -1 AS units FROM moved WHERE old > 0
              UNION ALL
              SELECT tenant_id, year, old + added, 1 FROM moved WHERE old + added > 0)
            INSERT INTO {schema}.unit_histogram AS h (tenant_id, year, submitted, units,
                                                      province_code)
            SELECT d.*, p.province_code FROM {with_province(schema, summed)}
            ON CONFLICT (tenant_id, year, submitted)
            DO UPDATE SET units = h.units + excluded.units""", params)
    _drop_empty(cur, schema, {k[0] for k in keys})


def write_closings(cur: Cursor, schema: str, moves: UnitMoves) -> None:
    """Take each closing unit out of its tenant's open units and out of every year's row
    (with its counts as they stand after the batch's submissions)."""
    if not moves.closed:
        return
    cur.execute(
        f"""WITH closed AS (
              UPDATE {schema}.unit_states SET open = false
               WHERE unit_id = ANY(%s::uuid[]) AND open RETURNING unit_id, tenant_id),
            fewer AS (
              UPDATE {schema}.open_units o SET units = o.units - n.units
                FROM (SELECT tenant_id, count(*) AS units FROM closed GROUP BY tenant_id) n
               WHERE o.tenant_id = n.tenant_id)
            UPDATE {schema}.unit_histogram h SET units = h.units - n.units
              FROM (SELECT c.tenant_id, c.year, c.submitted_models AS submitted,
                           count(*) AS units
                      FROM closed JOIN {schema}.unit_counts c USING (unit_id)
                     WHERE c.submitted_models > 0
                     GROUP BY c.tenant_id, c.year, c.submitted_models) n
             WHERE h.tenant_id = n.tenant_id AND h.year = n.year
               AND h.submitted = n.submitted
            RETURNING h.tenant_id""",
        (pg_array(moves.closed),))
    _drop_empty(cur, schema, {row[0] for row in cur.fetchall()})


def _drop_empty(cur: Cursor, schema: str, tenant_ids: set[str]) -> None:
    """Rows no unit is in any more go: the table must not depend on how the log was cut into
    batches (one batch moving a unit from 0 to 2 models leaves no row at 1)."""
    if tenant_ids:
        cur.execute(f"DELETE FROM {schema}.unit_histogram WHERE tenant_id = ANY(%s::text[]) "
                    "AND units = 0", (pg_text_array(tenant_ids),))
