"""Imports, all rows or none (API.md "Imports"): a tenant's units, users or models of earlier
years from a file, and a province's communes and wards from the catalogue.

    job_id, first = start_import(pool, ctx, "units", scope=tenant_id, name=..., content=...)
    result = apply_import(ImportRun(...))            # the job (backend/jobs/imports.py)

The request records the job and the file, nothing else (``infra/imports.record_upload``): the
same file sent again to the same scope names the first job. The job reads the file
(``import_tables``), validates every row through the domain, exactly as the REST commands do
(the aggregates are built by the same service functions: ``tenancy.new_unit``,
``people.registered_user``, ``models.imported_model``, ``tenancy.onboarded_tenant``), and
checks that none of them exists yet (one query on the events' primary key) or repeats another
row. Any problem fails the job with every problem found, ``{row, field, message}`` in
Vietnamese, and nothing is appended.

All or none, even when the worker dies
--------------------------------------
Everything is appended in **one save, so one transaction**: ``store.save(*aggregates,
import_applied=Applied(job_id, result))``. The mark ``import_applied`` is written by an
``InTransaction`` writer of the event store (``infra/imports.record_applied``) in that same
transaction. So:

- a worker that dies before the commit leaves nothing: the job runs again after its lease and
  validates afresh (the rows are still new);
- one that dies after the commit and before recording the job's outcome leaves the mark: the
  next run finds it (``applied_result``) and answers the recorded result (one-time passwords
  included) without appending anything;
- two runs racing past validation cannot both commit: the aggregates' ids are derived from
  their natural keys (a second create is a version conflict) and the mark refuses a second
  save. The loser's exception retries the job, which then finds the mark.

Deterministic ids with an idempotent apply per row would have left a half-applied import
visible between a crash and its retry; one transaction never shows one. The price is one
insert of up to ``MAX_ROWS`` events holding the events' table lock for its duration: the save
of 5,000 units took 2.2 s here (encoding included, on a loaded machine), during which other
writers wait.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from eventsourcing.application import Application

from danvan.backend.i18n import field_message
from danvan.backend.services import models, people, tenancy
from danvan.backend.services.errors import ServiceError
from danvan.backend.services.import_tables import (
    Column,
    FileProblem,
    Problem,
    Table,
    read_table,
)
from danvan.backend.services.repository import find
from danvan.domain.base import Actor, Context, DomainError, InvalidInput, TenantAggregate
from danvan.domain.commands import IMPORTABLE_STATES, AddUnit, ImportModel, State
from danvan.domain.policies import Role, RoleGrant, province_of_scope
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.tenants import Tenant
from danvan.domain.units import Unit, UnitKind
from danvan.infra.catalogue import Catalogue
from danvan.infra.imports import (
    Applied,
    Upload,
    applied_result,
    dedup_key,
    existing,
    read_upload,
    record_refusal,
)
from danvan.infra.imports import record_upload as record
from danvan.infra.outbox import JobRequest

E = TypeVar("E", bound=StrEnum)
Hasher = Callable[[str], str]
Progress = Callable[[int, int], None]

MAX_ROWS = 5_000
MAX_USER_ROWS = 1_000
"""Each new user's password is hashed (argon2id, 20-40 ms of a core here; two threads were no
faster): 1,000 take well under a minute."""
MAX_ERRORS = 200
"""Problems listed in a failed job's ``errors`` (a file of 5,000 bad rows says enough)."""
PROGRESS_EVERY = 250
ONE_TIME_PASSWORDS = "one_time_passwords"
"""The result's member listing generated passwords: shown to the importer alone."""


class ImportKind(StrEnum):
    UNITS = "units"
    USERS = "users"
    MODELS = "models"
    TENANTS = "tenants"

    @property
    def job_kind(self) -> str:
        return f"import_{self.value}"


TENANT_KINDS = (ImportKind.UNITS, ImportKind.USERS, ImportKind.MODELS)

COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.UNITS: (
        Column("name", "Tên đơn vị", hint="Tên đầy đủ, không trùng trong xã/phường"),
        Column("kind", "Loại đơn vị", hint=", ".join(UnitKind)),
        Column("reports_to_vertical_line", "Thuộc ngành dọc", required=False,
               hint="có/không (true/false); để trống: không"),
    ),
    ImportKind.USERS: (
        Column("username", "Tên đăng nhập", hint="3-64 ký tự: chữ thường, chữ số, . _ -"),
        Column("full_name", "Họ và tên"),
        Column("roles", "Vai trò", hint="Cách nhau bởi dấu ;  (" + ", ".join(
            r for r in Role if r not in (Role.PROVINCE_ADMIN, Role.PROVINCE_ANALYST)) + ")"),
        Column("unit", "Đơn vị", required=False,
               hint="Tên đúng của đơn vị (bắt buộc với unit_user)"),
        Column("password", "Mật khẩu", required=False,
               hint="Tối thiểu 10 ký tự; để trống: hệ thống cấp mật khẩu dùng một lần"),
    ),
    ImportKind.MODELS: (
        Column("unit", "Đơn vị", hint="Tên đúng của đơn vị"),
        Column("year", "Năm", hint="Năm đăng ký (các năm trước)"),
        Column("name", "Tên mô hình"),
        Column("field", "Lĩnh vực", hint=", ".join(Field)),
        Column("kind", "Loại mô hình", hint=", ".join(ModelKind)),
        Column("state", "Trạng thái", hint=", ".join(IMPORTABLE_STATES)),
        Column("decision_number", "Số quyết định", required=False,
               hint="Bắt buộc khi đã được công nhận"),
        Column("decision_date", "Ngày quyết định", required=False,
               hint="YYYY-MM-DD hoặc DD/MM/YYYY; bắt buộc khi đã được công nhận"),
    ),
    ImportKind.TENANTS: (
        Column("code", "Mã đơn vị hành chính", hint="Mã 5 chữ số của xã, phường, đặc khu"),
    ),
}

TEMPLATE_TITLES: dict[ImportKind, str] = {
    ImportKind.UNITS: "Đơn vị trực thuộc", ImportKind.USERS: "Người dùng",
    ImportKind.MODELS: "Mô hình các năm trước", ImportKind.TENANTS: "Xã phường",
}

MEMBER_COLUMNS: dict[str, str] = {"unit_id": "unit", "grants": "roles",
                                  "province_code": "code"}
"""The domain's member names that a column of another name carries."""


class ImportRefused(Exception):
    """The file, or some of its rows, cannot be imported: nothing was appended."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s), first: {problems[0].message}")
        self.problems = list(problems)[:MAX_ERRORS]

    def errors(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems]


# --- the request ---------------------------------------------------------------------------

def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def start_import(pool: Any, ctx: Context, kind: ImportKind, *, name: str, content: bytes,
                 from_catalogue: bool = False) -> tuple[str, bool]:
    """Record the import of ``content`` into ``ctx.tenant_id`` (a tenant, or a province's
    scope for tenants) as a job; answers its id and whether it is new (False: the same file
    went to the same scope before, and the id is that first job's). ``from_catalogue``:
    ``content`` is the canonical JSON of ``{"all": true}`` or ``{"codes": [...]}``."""
    digest = sha256_of(content)
    job = JobRequest(kind.job_kind, tenant_id=ctx.tenant_id, created_by=ctx.actor.user_id,
                     params={"kind": kind.value, "role": ctx.actor.role,
                             "request_id": ctx.request_id, "sha256": digest,
                             "source": "catalogue" if from_catalogue else "file"},
                     dedup_key=dedup_key(ctx.tenant_id, kind.value, digest))
    with pool.connection() as conn:
        return record(conn, job, Upload(ctx.tenant_id, kind.value, digest, name[:200], content))


# --- the job -------------------------------------------------------------------------------

@dataclass
class ImportRun:
    """One run of an import's job: where it reads and writes, and whose it is."""

    job_id: str
    scope: str
    created_by: str
    params: dict[str, Any]
    store: Application
    pool: Any
    catalogue: Catalogue
    hash_password: Hasher
    progress: Progress = lambda done, total: None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def context(self, sha256: str) -> Context:
        return Context(tenant_id=self.scope,
                       actor=Actor(self.created_by, str(self.params.get("role") or "")),
                       at=self.at, correlation_id=self.job_id,
                       request_id=self.params.get("request_id"),
                       extra={"import_job": self.job_id, "file_hash": sha256})


def apply_import(run: ImportRun) -> dict[str, Any]:
    """Validate every row, then append them all in one transaction (see the module
    docstring); ``ImportRefused`` with every problem otherwise. A run after an applied one
    answers its recorded result."""
    with run.pool.connection() as conn:
        done, result = applied_result(conn, run.job_id)
        if done:
            return dict(result or {})
        if isinstance(result, dict) and result.get("errors"):  # refused by an earlier run
            raise ImportRefused([Problem(int(e.get("row") or 0), e.get("field"),
                                         str(e.get("message", "")))
                                 for e in result["errors"]])
        upload = read_upload(conn, run.job_id)
    if upload is None:
        raise ImportRefused([Problem(0, "file", "không còn tệp của lần nhập này")])
    kind = ImportKind(upload.kind)
    ctx = run.context(upload.sha256)
    builder = BUILDERS[kind](run, ctx, upload.sha256)
    try:
        if run.params.get("source") == "catalogue":
            table, every = catalogue_table(upload.content, run.catalogue, run.scope)
            if every:  # every commune and ward: those onboarded already are skipped
                builder.skip_existing.update(number for number, _ in table.rows)
        else:
            table = read_table(upload.content, COLUMNS[kind],
                               max_rows=MAX_USER_ROWS if kind == ImportKind.USERS else MAX_ROWS)
    except FileProblem as exc:
        raise refused(run, exc.problems) from exc
    if not table.rows:
        raise refused(run, [Problem(0, "file", "tệp không có dòng dữ liệu nào")])
    total = len(table.rows)
    run.progress(0, total)
    built: list[tuple[int, list[TenantAggregate]]] = []
    problems: list[Problem] = []
    seen: dict[uuid.UUID, int] = {}
    for count, (number, values) in enumerate(table.rows, start=1):
        try:
            aggregates = builder.row(number, values)
        except RowProblem as exc:
            problems.append(Problem(number, exc.field, exc.message))
        except (DomainError, ServiceError) as exc:
            problems.extend(_domain_problems(number, exc))
        else:
            for aggregate in aggregates:
                first = seen.setdefault(aggregate.id, number)
                if first != number:
                    problems.append(Problem(number, builder.key_column,
                                            f"trùng với dòng {first} của tệp"))
            built.append((number, aggregates))
        if len(problems) >= MAX_ERRORS:
            break
        if count % PROGRESS_EVERY == 0:
            run.progress(count, total)
    with run.pool.connection() as conn:
        taken = existing(conn, seen)
    skipped = 0
    for index, (number, aggregates) in enumerate(built):
        if number in builder.skip_existing:
            kept = [a for a in aggregates if a.id not in taken]
            skipped += len(aggregates) - len(kept)
            built[index] = (number, kept)
        elif any(a.id in taken for a in aggregates):
            problems.append(Problem(number, builder.key_column, builder.exists_message))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise refused(run, problems)
    aggregates = builder.finish([a for _, row in built for a in row])
    result = {"kind": kind.value, "file_hash": upload.sha256, "created": len(aggregates),
              **({"skipped": skipped} if builder.skip_existing else {}), **builder.result()}
    # One transaction with the mark. An IntegrityError (someone created one of these
    # meanwhile, or another run applied the import) goes on: the job's retry finds the mark,
    # or names the rows that now exist.
    run.store.save(*aggregates, import_applied=Applied(run.job_id, result))
    run.progress(total, total)
    return result


def refused(run: ImportRun, problems: Sequence[Problem]) -> ImportRefused:
    """The refusal of the whole import; its file is dropped (it may hold passwords)."""
    refusal = ImportRefused(problems)
    with run.pool.connection() as conn:
        record_refusal(conn, run.job_id, refusal.errors())
    return refusal


def _domain_problems(number: int, exc: Exception) -> list[Problem]:
    if isinstance(exc, InvalidInput):
        return [Problem(number, MEMBER_COLUMNS.get(member, member), field_message(message, "vi"))
                for member, message in exc.errors.items()]
    if isinstance(exc, DomainError):
        member = MEMBER_COLUMNS.get(exc.member or "", exc.member)
        return [Problem(number, member, field_message(exc.message, "vi"))]
    return [Problem(number, None, field_message(str(exc), "vi"))]


class RowProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def catalogue_table(content: bytes, catalogue: Catalogue, scope: str) -> tuple[Table, bool]:
    """``{"all": true}`` or ``{"codes": [...]}``, as the request recorded it (canonical JSON),
    as a table of codes (for ``all``: every commune and ward of the scope's province, in the
    catalogue's order), and whether it was ``all``."""
    try:
        body = json.loads(content)
        every = body.get("all") is True
        codes = ([u.code for u in catalogue.units_of(province_of_scope(scope) or "")] if every
                 else [str(c)[:100] for c in body.get("codes") or []])
    except (ValueError, AttributeError, TypeError) as exc:
        raise FileProblem([Problem(0, "codes", "danh sách mã không đọc được")]) from exc
    return Table(("code",), [(i, {"code": c}) for i, c in enumerate(codes, start=1)]), every


# --- reading cells -------------------------------------------------------------------------

def text(values: dict[str, str], name: str) -> str:
    return values.get(name, "").strip()


def optional(values: dict[str, str], name: str) -> str | None:
    return text(values, name) or None


def choice(enum: type[E], values: dict[str, str], name: str) -> E:
    raw = text(values, name).lower()
    try:
        return enum(raw)
    except ValueError:
        message = "bắt buộc phải có" if not raw else "phải là một trong: " + ", ".join(enum)
        raise RowProblem(name, message) from None


TRUE = frozenset({"true", "có", "co", "1", "x", "yes"})
FALSE = frozenset({"false", "không", "khong", "0", "", "no"})


def boolean(values: dict[str, str], name: str) -> bool:
    raw = text(values, name).casefold()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise RowProblem(name, "phải là có hoặc không (true hoặc false)")


def integer(values: dict[str, str], name: str) -> int:
    raw = text(values, name)
    if not re.fullmatch(r"\d{1,6}", raw):
        raise RowProblem(name, "bắt buộc phải có" if not raw else "phải là số nguyên")
    return int(raw)


def day(values: dict[str, str], name: str) -> date | None:
    raw = text(values, name)
    if not raw:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw)
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        pass
    raise RowProblem(name, "phải là ngày theo dạng YYYY-MM-DD hoặc DD/MM/YYYY")


# --- what each kind builds -----------------------------------------------------------------

class Builder:
    """Turns one row into the aggregates it creates (not stored), raising on any problem."""

    key_column = "name"
    exists_message = "đã tồn tại"
    skip_existing: set[int]
    """Rows whose aggregates may exist already (skipped, not refused): ``{"all": true}``."""

    def __init__(self, run: ImportRun, ctx: Context, sha256: str) -> None:
        self.run = run
        self.ctx = ctx
        self.sha256 = sha256
        self._units: dict[str, Unit | None] = {}
        self.skip_existing = set()

    def row(self, number: int, values: dict[str, str]) -> list[TenantAggregate]:
        raise NotImplementedError

    def finish(self, aggregates: list[TenantAggregate]) -> list[TenantAggregate]:
        return aggregates

    def result(self) -> dict[str, Any]:
        return {}

    def unit(self, values: dict[str, str]) -> Unit:
        """The tenant's open unit the row names by its exact name."""
        name = text(values, "unit")
        if not name:
            raise RowProblem("unit", "bắt buộc phải có")
        if name not in self._units:
            self._units[name] = find(self.run.store, Unit, Unit.id_for(self.ctx.tenant_id, name),
                                     self.ctx.tenant_id)
        unit = self._units[name]
        if unit is None:
            raise RowProblem("unit", "không có đơn vị trực thuộc tên này trong xã/phường")
        return unit


class UnitRows(Builder):
    exists_message = "đơn vị tên này đã có"

    def row(self, number: int, values: dict[str, str]) -> list[TenantAggregate]:
        kind = choice(UnitKind, values, "kind")
        vertical = boolean(values, "reports_to_vertical_line")
        return [tenancy.new_unit(self.ctx, AddUnit(text(values, "name"), kind, vertical))]


class UserRows(Builder):
    key_column = "username"
    exists_message = "tên đăng nhập này đã được dùng"

    def __init__(self, run: ImportRun, ctx: Context, sha256: str) -> None:
        super().__init__(run, ctx, sha256)
        self.tenant = find(run.store, Tenant, ctx.tenant_id)
        self.rows: list[tuple[int, people.NewUser, tuple[RoleGrant, ...]]] = []
        self.generated: list[dict[str, Any]] = []

    def row(self, number: int, values: dict[str, str]) -> list[TenantAggregate]:
        if self.tenant is None:
            raise RowProblem("file", "không có xã/phường này")
        roles = [r.strip() for r in re.split(r"[;,]", text(values, "roles")) if r.strip()]
        for role in roles:
            if role not in set(Role):
                raise RowProblem("roles", f"vai trò không xác định: {role[:40]}")
        unit_id = str(self.unit(values).id) if text(values, "unit") else None
        password = text(values, "password")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        new = people.NewUser(text(values, "username"), password, text(values, "full_name"),
                             [Role(r) for r in roles], unit_id, must_change_password=generated)
        grants = people.tenant_grants(self.run.store, self.tenant, new.roles, new.unit_id)
        user = people.registered_user(self.ctx, new, grants, lambda _: "-")  # checks only
        self.rows.append((number, new, grants))
        if generated:
            self.generated.append({"row": number, "username": user.username,
                                   "password": password})
        return [user]

    def finish(self, aggregates: list[TenantAggregate]) -> list[TenantAggregate]:
        """The same users again, now with their passwords hashed (only once every row is
        known to be good: hashing is the slow part)."""
        return [people.registered_user(self.ctx, new, grants, self.run.hash_password)
                for _, new, grants in self.rows]

    def result(self) -> dict[str, Any]:
        return {ONE_TIME_PASSWORDS: self.generated}


class ModelRows(Builder):
    exists_message = "mô hình này của đơn vị trong năm đó đã có"

    def row(self, number: int, values: dict[str, str]) -> list[TenantAggregate]:
        unit = self.unit(values)
        command = ImportModel(
            unit_id=str(unit.id), year=integer(values, "year"), name=text(values, "name"),
            field=choice(Field, values, "field"), kind=choice(ModelKind, values, "kind"),
            state=choice(State, values, "state"),
            decision_number=optional(values, "decision_number"),
            decision_date=day(values, "decision_date"), file_hash=self.sha256)
        return [models.imported_model(self.ctx, unit, command)]


class TenantRows(Builder):
    key_column = "code"
    exists_message = "xã/phường này đã được đưa vào hệ thống"

    def __init__(self, run: ImportRun, ctx: Context, sha256: str) -> None:
        super().__init__(run, ctx, sha256)
        self.province = province_of_scope(ctx.tenant_id) or ""
        self.grants = [RoleGrant(Role.PROVINCE_ADMIN, self.province)]

    def row(self, number: int, values: dict[str, str]) -> list[TenantAggregate]:
        code = text(values, "code")
        if not code:
            raise RowProblem("code", "bắt buộc phải có")
        return [self.tenant(code)]

    def tenant(self, code: str) -> Tenant:
        command = tenancy.from_catalogue(self.run.catalogue, code)
        if command.province_code != self.province:
            raise RowProblem("code", "đơn vị hành chính này không thuộc tỉnh")
        return tenancy.onboarded_tenant(self.ctx, self.grants, command)


BUILDERS: dict[ImportKind, type[Builder]] = {
    ImportKind.UNITS: UnitRows, ImportKind.USERS: UserRows, ImportKind.MODELS: ModelRows,
    ImportKind.TENANTS: TenantRows,
}
