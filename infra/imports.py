"""The files sent to imports, and the mark of an applied import (``infra/sql/080_imports.sql``).

    job_id, first = record_upload(conn, job, Upload(scope, kind, sha256, name, content))
    upload = read_upload(conn, job_id)                       # the worker reads it back
    store.save(*aggregates, import_applied=Applied(job_id, result))   # events + mark: one commit
    applied_result(conn, job_id)                             # the result once applied, else None

``record_upload`` records the job (with its outbox row) and the file in one transaction; the
job's ``dedup_key`` names scope, kind and the file's SHA-256, so the same file sent again to
the same scope records nothing and answers the first job's id. ``record_applied`` is an
``InTransaction`` writer of the event store: the mark commits with the import's events or not
at all, and a second mark for the same job refuses its whole save.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from danvan.infra.outbox import JobRequest, enqueue


@dataclass(frozen=True)
class Upload:
    scope: str
    """The tenant it imports into, or a province's scope (``province:<code>``)."""
    kind: str
    sha256: str
    name: str
    content: bytes


@dataclass(frozen=True)
class Applied:
    """What ``store.save(..., import_applied=...)`` marks: this job's import, and its result."""

    job_id: str
    result: Any


class AlreadyApplied(RuntimeError):
    """The import was applied by another run of its job: this save must append nothing."""


def dedup_key(scope: str, kind: str, sha256: str) -> str:
    return f"import:{scope}:{kind}:{sha256}"


def record_upload(conn: psycopg.Connection[Any], job: JobRequest, upload: Upload
                  ) -> tuple[str, bool]:
    """Record ``job`` and its file; answers the job's id and whether it is new (False: the
    same file was sent to the same scope before, and this is that first job's id)."""
    assert job.dedup_key is not None
    with conn.transaction():
        if enqueue(conn, [job]):
            conn.execute(
                "INSERT INTO public.import_files (job_id, scope, kind, sha256, name, content) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (job.id, upload.scope, upload.kind, upload.sha256, upload.name, upload.content))
            return str(job.id), True
        row = conn.execute("SELECT job_id::text FROM public.jobs WHERE dedup_key = %s",
                           (job.dedup_key,)).fetchone()
    if row is None:  # purged between the two statements: a retry records it afresh
        raise psycopg.OperationalError("the first job of this import was just purged")
    return str(row[0]), False


def read_upload(conn: psycopg.Connection[Any], job_id: str) -> Upload | None:
    row = conn.execute("SELECT scope, kind, sha256, name, content FROM public.import_files "
                       "WHERE job_id = %s", (job_id,)).fetchone()
    return Upload(row[0], row[1], row[2], row[3], bytes(row[4])) if row else None


def applied_result(conn: psycopg.Connection[Any], job_id: str) -> tuple[bool, Any]:
    """Whether the import was applied, and its result then (else None, or the refusal
    ``{"errors": [...]}`` recorded by ``record_refusal``)."""
    row = conn.execute("SELECT applied_at IS NOT NULL, result FROM public.import_files "
                       "WHERE job_id = %s", (job_id,)).fetchone()
    return (bool(row[0]), row[1]) if row else (False, None)


def record_refusal(conn: psycopg.Connection[Any], job_id: str,
                   errors: Sequence[Mapping[str, Any]]) -> None:
    """Keep why the import was refused (a run after a worker died says it again) and drop
    its file (it may hold passwords); its hash stays."""
    conn.execute("UPDATE public.import_files SET content = ''::bytea, result = %s::jsonb "
                 "WHERE job_id = %s AND applied_at IS NULL",
                 (json.dumps({"errors": list(errors)}), job_id))


def existing(conn: psycopg.Connection[Any], ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` name an aggregate the store holds (one query, by the primary key)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    rows = conn.execute("SELECT originator_id FROM danvan_events "
                        "WHERE originator_id = ANY(%s) AND originator_version = 1",
                        (wanted,)).fetchall()
    return {row[0] for row in rows}


def record_applied(curs: Any, stored_events: Sequence[Any], saved_with: Mapping[str, Any]
                   ) -> None:
    """The event store's writer for ``import_applied``: marks the job's import applied, in
    the transaction of its events, and drops its file (it may hold passwords; the events
    name its hash); refuses the save when it was marked already."""
    applied = saved_with.get("import_applied")
    if applied is None:
        return
    curs.execute("UPDATE public.import_files SET applied_at = now(), result = %s::jsonb, "
                 "content = ''::bytea WHERE job_id = %s AND applied_at IS NULL",
                 (json.dumps(applied.result), applied.job_id))
    if curs.rowcount != 1:
        raise AlreadyApplied(f"import {applied.job_id} is applied already (or unknown)")
