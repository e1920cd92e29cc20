"""A report's content, read only through the read models' read API (``projections/<model>/
read.py``, the functions GraphQL answers with), so that every figure equals the GraphQL
answer for the same scope, year and ``as_of``:

    with scoped(conn, ...):
        report = compose(conn, scope, request, moment=..., now=...)

The kinds are ``lists.py`` (registration and recognition lists) and ``results.py`` (quota and
review); ``scope.py`` gives the letterhead.
"""

from __future__ import annotations

from datetime import datetime

from danvan.backend.reports import wording as w
from danvan.backend.reports.asked import Asked
from danvan.backend.reports.content import Report, Section
from danvan.backend.reports.lists import recognition_list, registration_list
from danvan.backend.reports.results import quota, review
from danvan.backend.reports.scope import Scope, letterhead
from danvan.domain.clock import vietnam_date
from danvan.domain.reports import ReportKind, ReportPeriod, ReportRequest
from danvan.projections.base import Connection

KINDS = {ReportKind.REGISTRATION_LIST: registration_list,
         ReportKind.RECOGNITION_LIST: recognition_list, ReportKind.QUOTA: quota,
         ReportKind.REVIEW: review}


def compose(conn: Connection, scope: Scope, request: ReportRequest, *,
            moment: datetime | None, now: datetime) -> Report:
    asked = Asked(conn, scope, request, moment, now)
    text = w.section("kinds", request.kind.value)
    sections, extra = KINDS[request.kind](asked)
    values = {**asked.values(), **extra}
    if request.kind == ReportKind.REVIEW:
        period = (request.period or ReportPeriod.YEAR).value
        subject = w.render(text[f"subject_{period}"], **values)
    else:
        subject = w.render(text["subject"], **values)
    intro = Section(paragraphs=w.lines(text["intro"], **values))
    return Report(
        letterhead=letterhead(scope, request, text["type"], vietnam_date(now)),
        title=text["title"], subject=subject, scope_name=scope.display,
        moment_line=str(values["moment"]), sections=(intro, *sections),
        closing=w.lines(text["closing"], **values))
