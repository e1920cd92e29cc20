"""Imports as jobs (``import_units``, ``import_users``, ``import_models``, ``import_tenants``):
the file recorded with the request, validated and applied all or none by
``services.imports.apply_import``; bad rows fail the job with their ``{row, field, message}``
(no retry: the same file would fail the same way)."""

from __future__ import annotations

from typing import Any

from danvan.backend.auth.passwords import hash_password
from danvan.backend.jobs.running import JobFailed, JobRun
from danvan.backend.services.imports import ImportRefused, ImportRun, apply_import
from danvan.backend.wiring import load_catalogue


def run_import(run: JobRun) -> dict[str, Any]:
    services = run.services
    if services.store is None or services.db_pool is None:
        raise RuntimeError("imports need the event store and the database")
    if run.job.tenant_id is None or run.job.created_by is None:
        raise JobFailed("an import names its scope and its importer")
    try:
        return apply_import(ImportRun(
            job_id=run.job.id, scope=run.job.tenant_id, created_by=run.job.created_by,
            params=run.params, store=services.store, pool=services.db_pool,
            catalogue=services.catalogue or load_catalogue(), hash_password=hash_password,
            progress=run.progress))
    except ImportRefused as refused:
        raise JobFailed(refused.problems[0].message, refused.errors()) from refused
