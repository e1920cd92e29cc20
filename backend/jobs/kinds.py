"""Every kind of job, in one table: its queue, time limit, handler and who may read it.

Handlers are named by import path and imported by the worker that runs them, so this table
stays light to import (the relay and the API read it too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from danvan.domain.policies import Action

if TYPE_CHECKING:
    from danvan.backend.jobs.running import JobRun

QUEUE = "jobs"
LONG_QUEUE = "long_jobs"
"""Hours-long operations wait here, so that they never hold up the day's short jobs."""


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: str
    """``module:function`` taking a ``JobRun`` and answering the job's result (JSON)."""
    queue: str = QUEUE
    time_limit_seconds: int = 600
    read_action: str = Action.TENANT_READ
    """What a caller needs in the job's scope to read it (its creator always may)."""


KINDS: dict[str, JobKind] = {kind.name: kind for kind in (
    JobKind("ping", "danvan.backend.jobs.maintenance:ping"),
    JobKind("seal", "danvan.backend.jobs.maintenance:seal", time_limit_seconds=3600),
    JobKind("purge", "danvan.backend.jobs.maintenance:purge"),
    JobKind("reminders", "danvan.backend.jobs.reminders:fan_out"),
    JobKind("tenant_reminders", "danvan.backend.jobs.reminders:tenant_reminders"),
    JobKind("deliver_reminder", "danvan.backend.jobs.reminders:deliver"),
    JobKind("rebuild", "danvan.backend.jobs.operations:rebuild", queue=LONG_QUEUE,
            time_limit_seconds=6 * 3600),
    JobKind("audit_export", "danvan.backend.jobs.operations:audit_export", queue=LONG_QUEUE,
            time_limit_seconds=3600, read_action=Action.AUDIT_READ),
    # an import is read by its scope's administrators (its generated passwords: its creator)
    *(JobKind(f"import_{kind}", "danvan.backend.jobs.imports:run_import",
              time_limit_seconds=900, read_action=Action.USER_CREATE)
      for kind in ("units", "users", "models")),
    JobKind("import_tenants", "danvan.backend.jobs.imports:run_import",
            time_limit_seconds=900, read_action=Action.IMPORT_TENANTS),
    JobKind("report", "danvan.backend.jobs.reports:produce", time_limit_seconds=1800,
            read_action=Action.REPORT),
)}

QUEUES = tuple(dict.fromkeys(kind.queue for kind in KINDS.values()))


def kind_of(name: str) -> JobKind:
    """The kind named ``name``; an unknown one (a job recorded by another version) runs on
    the main queue, where no actor takes it and it stays queued, visible, until replayed."""
    return KINDS.get(name) or JobKind(name, "", QUEUE)


@cache
def handler_of(name: str) -> Callable[[JobRun], Any]:
    module, _, function = KINDS[name].handler.partition(":")
    handler: Callable[[JobRun], Any] = getattr(importlib.import_module(module), function)
    return handler
