"""Reports kept in PostgreSQL (``infra/sql/090_reports.sql``): written by the report job,
read by ``GET /reports/{id}`` and the scope's list.

    reports = ReportStore(pool.connection)
    reports.save(StoredReport(...), content)       # the job (an upsert: a rerun replaces it)
    reports.get(report_id)                         # the row, without its content
    reports.content(report_id)                     # (file name, media type, bytes)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Connect = Callable[[], AbstractContextManager[Any]]

MAX_LISTED = 100


@dataclass(frozen=True)
class StoredReport:
    id: str
    scope: str
    province_code: str
    kind: str
    year: int
    period: str | None
    as_of: datetime | None
    format: str
    position: int
    file_name: str
    media_type: str
    created_by: str | None
    created_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "year": self.year, "period": self.period,
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "format": self.format, "position": self.position, "file_name": self.file_name,
                "url": f"/api/v1/reports/{self.id}",
                "created_at": self.created_at.isoformat() if self.created_at else None}


_ROW = ("report_id::text, scope, province_code, kind, year, period, as_of, format, position, "
        "file_name, media_type, created_by, created_at")


class ReportStore:
    def __init__(self, connect: Connect) -> None:
        self.connect = connect

    def save(self, report: StoredReport, content: bytes) -> None:
        with self.connect() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO public.reports (report_id, scope, province_code, kind, year, "
                "period, as_of, format, position, file_name, media_type, content, created_by) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (report_id) DO UPDATE SET as_of = EXCLUDED.as_of, "
                "position = EXCLUDED.position, file_name = EXCLUDED.file_name, "
                "media_type = EXCLUDED.media_type, content = EXCLUDED.content, "
                "created_at = now()",
                (report.id, report.scope, report.province_code, report.kind, report.year,
                 report.period, report.as_of, report.format, report.position,
                 report.file_name, report.media_type, content, report.created_by))

    def get(self, report_id: str) -> StoredReport | None:
        try:
            uuid.UUID(report_id)
        except ValueError:
            return None
        with self.connect() as conn:
            row = conn.execute(f"SELECT {_ROW} FROM public.reports WHERE report_id = %s",
                               (report_id,)).fetchone()
        return StoredReport(*row) if row else None

    def content(self, report_id: str) -> bytes | None:
        with self.connect() as conn:
            row = conn.execute("SELECT content FROM public.reports WHERE report_id = %s",
                               (report_id,)).fetchone()
        return bytes(row[0]) if row else None

    def of_scope(self, scope: str, limit: int = MAX_LISTED) -> list[StoredReport]:
        """The scope's reports, newest first."""
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT {_ROW} FROM public.reports WHERE scope = %s "
                "ORDER BY created_at DESC, report_id LIMIT %s", (scope, limit)).fetchall()
        return [StoredReport(*row) for row in rows]
