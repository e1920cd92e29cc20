"""Who may call which command route: the role × route matrix, walked from ``domain.policies``.

The rows come from the policy side, not from a hand-copied list of expectations: every model
action of ``MODEL_ACTIONS`` (recognition and revocation once per level: a row per rule) plus
the onboarding, target, list and plan routes with the ``Action`` their guard asks. Two
completeness tests tie the rows to the app's own routes and to every ``Action``.

For every row and every role, against the province's phường Yên Bái:
- refused (``may(role, action)`` is false, or the role holds no scope covering the path, as a
  tenant role on a ``/provinces/{code}`` route) → a 403 problem, and nothing is appended;
- allowed → on state built for that call, the 2xx the contract promises and exactly one event.
Then every tenant-scoped route of xã Gia Phú is tried by each role of Yên Bái, and every
route by a province admin and analyst of another province: 403, with a problem body that
names nothing of the scope it refused.

The world is built once per module, on a database and live server of its own
(``live_env``); ``test_command_errors_http``, ``test_idempotent_commands`` and
``test_concurrent_commands`` use it too.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from litestar import Litestar
from psycopg.rows import TupleRow

from danvan.backend.app import HttpOptions, create_app
from danvan.backend.wiring import build, open_redis
from danvan.domain.commands import MODEL_ACTIONS, ModelAction
from danvan.domain.model import Level
from danvan.domain.policies import (
    PROVINCE_ROLES,
    ROLES,
    TENANT_ROLES,
    Action,
    Role,
    may,
)
from danvan.infra.database import ConnParams, connect_owner
from danvan.infra.event_store import EVENTS_TABLE, EventStore, open_event_store
from danvan.infra.settings import Settings
from tests.conftest import make_settings, migrated_database
from tests.e2e.conftest import PASSWORD, LiveServer, MadeUser, login, redis_url, register_user
from tests.e2e.world import API, FORM, GIA_PHU, YEN_BAI, World, ok

# --- the module's world: built once, on its own database and server ----------------------

OWN_UNIT = "Chi bộ Tổ dân phố 5"  # the unit user's unit
OTHER_UNIT = "Hội Phụ nữ"
VERTICAL_UNIT = "Chi bộ Công an"
FOREIGN_PROVINCE = "01"
PERSON = {"full_name": "Lò Thị Mai", "birth_year": 1972, "phone": "0915 222 333",
          "address": "Tổ 5"}
SCORES = {"effectiveness": 85, "creativity": 80, "participation": 90, "replicability": 75,
          "political_tie": 80, "planning": 70}
RECOGNITION = {
    Level.TENANT: {"level": "tenant", "decision_number": "125-QĐ/ĐU",
                   "decision_date": "2026-06-15"},
    Level.PROVINCE: {"level": "province", "decision_number": "2150-QĐ/TU",
                     "decision_date": "2026-09-02"},
}
LADDER: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("submit", "unit_user", {}),                                  # 1 → submitted
    ("accept", "reviewer", {}),                                   # 2 → accepted
    ("self-assessment", "unit_user", {"summary": "Đạt các mục tiêu"}),  # 3 → self_assessed
    ("evaluation", "reviewer", {"scores": SCORES}),               # 4 → evaluated (passed)
    ("proposal", "reviewer", {}),                                 # 5 → proposed
    ("recognition", "approver", RECOGNITION[Level.TENANT]),       # 6 → recognized_tenant
    ("nomination", "approver", {}),                               # 7 → nominated
    ("recognition", "province_admin", RECOGNITION[Level.PROVINCE]),  # 8 → recognized_province
)
"""The way up a model's life, each step by the role the movement names."""


def user_maker(store: EventStore) -> Callable[..., MadeUser]:
    """``make_user`` of ``tests/e2e/conftest.py``, on a store that outlives one test."""
    return functools.partial(register_user, store)


@dataclass(frozen=True)
class Shared:
    """What calls that must be refused point at, in one tenant: they never change it."""

    model: str
    unit: str
    task: str
    user: str
    unit_task: str
    """A task given to the unit user's unit (its part's completion route exists)."""


@dataclass
class LiveEnv:
    world: World
    client: httpx.Client
    app: Litestar
    settings: Settings
    store: EventStore
    conn: psycopg.Connection[TupleRow]
    shared: dict[str, Shared]
    foreign: dict[str, dict[str, str]]
    """Headers of a province admin and analyst of another province."""
    names: dict[str, str]
    """Each tenant's official name, by code."""
    counter: Iterator[int]
    years: Iterator[int] = field(default_factory=lambda: itertools.count(2040))
    """Target years no call has used yet (for calls that must create them)."""

    def events(self) -> int:
        """Rows in the event table: what "nothing is appended" is measured by."""
        row = self.conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
        assert row is not None
        return int(row[0])

    def model_events(self, model_id: str) -> list[Any]:
        return list(self.store.events.get(uuid.UUID(model_id)))

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def tenant_id(self, code: str = YEN_BAI) -> str:
        return self.world.tenants[code].id

    def unit_id(self, name: str = OWN_UNIT, code: str = YEN_BAI) -> str:
        return self.world.tenants[code].units[name]

    def register(self, code: str = YEN_BAI, *, unit: str = OWN_UNIT, role: str = "unit_user",
                 **overrides: Any) -> dict[str, Any]:
        return self.world.register(code, name=self.unique("Mô hình dân vận khéo số "),
                                   unit=unit, role=role, **overrides)

    def model_at(self, steps: int, code: str = YEN_BAI, **register: Any) -> str:
        """A new model of the unit user's unit, taken ``steps`` rungs up ``LADDER``."""
        model_id = str(self.register(code, **register)["id"])
        for action, role, body in LADDER[:steps]:
            ok(self.world.act(model_id, action, role, body, code=code))
        return model_id

    def send(self, method: str, path: str, headers: dict[str, str],
             body: dict[str, Any] | Files | None) -> httpx.Response:
        if isinstance(body, Files):
            return self.client.request(method, API + path, headers=headers, files=body.files)
        return self.client.request(method, API + path, headers=headers,
                                   json=None if method == "GET" else body)


@contextmanager
def live_env(admin: ConnParams, template: str, tmp_path: Path) -> Iterator[LiveEnv]:
    """A fresh migrated database, the production app on it (real Redis) served on loopback,
    and ``World.build`` run once through it; everything torn down on exit."""
    prefix = f"danvan-test:{secrets.token_hex(6)}:"
    with migrated_database(admin, template) as url:
        settings = make_settings(url, tmp_path)
        store = open_event_store(settings)
        services = build(settings, store=store, redis=open_redis(redis_url()),
                         redis_prefix=prefix)
        services.owns_redis = True
        app = create_app(settings, services=services, options=HttpOptions(access_log=False))
        try:
            with LiveServer(app) as server, \
                    httpx.Client(base_url=server.url, timeout=60) as client, \
                    connect_owner(settings) as conn:
                make_user = user_maker(store)
                world = World.build(client, make_user)
                world.as_("national_analyst")  # made now: no test counts its event
                shared = {}
                for code in (YEN_BAI, GIA_PHU):
                    tenant = world.tenants[code]
                    model = world.register(code, name="Mô hình dùng chung")
                    task = ok(client.post(f"{API}/tenants/{tenant.id}/plan-tasks",
                                          headers=tenant.headers["tenant_admin"],
                                          json={"year": 2026, "title": "Sơ kết 6 tháng",
                                                "due_date": "2026-07-15"}), 201)
                    user = ok(client.post(f"{API}/tenants/{tenant.id}/users",
                                          headers=tenant.headers["tenant_admin"],
                                          json={"username": f"dung.chung.{code}",
                                                "password": PASSWORD,
                                                "full_name": "Cán bộ dùng chung",
                                                "roles": ["reviewer"]}), 201)
                    unit_task = ok(client.post(
                        f"{API}/tenants/{tenant.id}/plan-tasks",
                        headers=tenant.headers["tenant_admin"],
                        json={"year": 2026, "title": "Ban hành kế hoạch của đơn vị",
                              "due_date": "2026-04-30",
                              "unit_ids": [tenant.units[OWN_UNIT]]}), 201)
                    shared[code] = Shared(model["id"], tenant.units[OTHER_UNIT], task["id"],
                                          user["id"], unit_task["id"])
                foreign: dict[str, dict[str, str]] = {
                    role.value: login(client, make_user(f"{role.replace('_', '.')}.hanoi",
                                                        role=role, province=FOREIGN_PROVINCE))
                    for role in (Role.PROVINCE_ADMIN, Role.PROVINCE_ANALYST)}
                names = {code: ok(client.get(f"{API}/tenants/{tenant.id}",
                                             headers=world.province))["name"]
                         for code, tenant in world.tenants.items()}
                yield LiveEnv(world, client, app, settings, store, conn, shared, foreign,
                              names, itertools.count(1))
        finally:
            services.close()
            store.close()
            leftovers = redis.Redis.from_url(redis_url())
            try:
                keys = list(leftovers.scan_iter(match=prefix + "*", count=1000))
                if keys:
                    leftovers.delete(*keys)
            finally:
                leftovers.close()


@pytest.fixture(scope="module")
def env(admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    with live_env(admin_params, template_database, tmp_path_factory.mktemp("matrix")) as built:
        yield built


# --- problems ----------------------------------------------------------------------------

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}
REFUSAL_CODES = {"forbidden", "other_unit", "not_permitted", "inspector_needs_province_admin"}


def assert_problem(response: httpx.Response, status: int, code: str | None = None
                   ) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert body["type"] == f"urn:danvan:problem:{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_refused(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 403)
    assert body["code"] in REFUSAL_CODES, body
    return body


# --- the rows ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Files:
    """A ``multipart/form-data`` body (an import's file) in place of JSON."""

    files: dict[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Call:
    path: str
    body: dict[str, Any] | Files | None


Builder = Callable[[LiveEnv, str, str, bool], Call]
"""``(env, tenant code, acting role, fresh)`` → the call. ``fresh``: build what the call needs
so that an allowed caller succeeds; otherwise point at the tenant's shared resources."""


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    """Path under ``/api/v1`` as the app declares it, parameter types left out."""
    action: Action
    build: Builder
    status: int = 200
    """What an allowed caller gets on state built for it."""
    appends: int = 1
    multipart: bool = False
    """Its body is a file (``Files``), not JSON."""

    @property
    def scope(self) -> str:
        if "{tenant_id}" in self.route:
            return "tenant"
        if "{code}" in self.route:
            return "province"
        return "any"

    @property
    def label(self) -> str:
        return f"{self.method} {self.route} [{self.action.value}]"


def allowed(role: str, row: Row) -> bool:
    """The policy table, plus scope: a province route is seen by province roles only."""
    return may(role, row.action) and (row.scope != "province" or role in PROVINCE_ROLES)


READY: dict[Action, tuple[int, dict[str, Any]]] = {
    Action.MODEL_AMEND: (0, {}),
    Action.MODEL_SUBMIT: (0, {}),
    Action.MODEL_RETURN: (1, {}),
    Action.MODEL_REJECT: (1, {}),
    Action.MODEL_ACCEPT: (1, {}),
    Action.MODEL_COPY_RECEIVED: (0, {"unit": VERTICAL_UNIT, "role": "reviewer"}),
    Action.MODEL_PROGRESS: (2, {}),
    Action.MODEL_INSPECTION: (2, {}),
    Action.MODEL_SELF_ASSESSMENT: (2, {}),
    Action.MODEL_EVALUATION: (3, {}),
    Action.MODEL_PROPOSAL: (4, {}),
    Action.MODEL_RECOGNITION_TENANT: (5, {}),
    Action.MODEL_NOMINATION: (6, {}),
    Action.MODEL_REVOCATION_TENANT: (6, {}),
    Action.MODEL_RECOGNITION_PROVINCE: (7, {}),
    Action.MODEL_REVOCATION_PROVINCE: (8, {}),
    Action.MODEL_DISCONTINUATION: (2, {}),
    Action.MODEL_MAINTENANCE: (2, {}),
    Action.PERSONAL_DATA_ERASE: (0, {"kind": "individual", "person": PERSON}),
}
"""Rungs of ``LADDER`` (and registration overrides) after which each model action applies."""

BODIES: dict[Action, dict[str, Any]] = {
    Action.MODEL_AMEND: {"goals": "Bê tông hóa 3 km đường"},
    Action.MODEL_SUBMIT: {},
    Action.MODEL_RETURN: {"reason": "Bổ sung chỉ số đo lường"},
    Action.MODEL_REJECT: {"reason": "Trùng với mô hình đã có"},
    Action.MODEL_ACCEPT: {},
    Action.MODEL_COPY_RECEIVED: {},
    Action.MODEL_PROGRESS: {"period": "2026-Q2", "participants": 320, "workdays": 1150,
                            "money_vnd": "450000000", "land_m2": "1250.5",
                            "note": "Hoàn thành 1 km"},
    Action.MODEL_INSPECTION: {"findings": "Đúng tiến độ"},
    Action.MODEL_SELF_ASSESSMENT: {"summary": "Đạt các mục tiêu"},
    Action.MODEL_EVALUATION: {"scores": SCORES},
    Action.MODEL_PROPOSAL: {},
    Action.MODEL_RECOGNITION_TENANT: RECOGNITION[Level.TENANT],
    Action.MODEL_RECOGNITION_PROVINCE: RECOGNITION[Level.PROVINCE],
    Action.MODEL_NOMINATION: {},
    Action.MODEL_REVOCATION_TENANT: {"level": "tenant", "reason": "Không duy trì"},
    Action.MODEL_REVOCATION_PROVINCE: {"level": "province", "reason": "Không duy trì"},
    Action.MODEL_DISCONTINUATION: {"reason": "Hết nguồn lực"},
    Action.MODEL_MAINTENANCE: {"year": 2027},
    Action.PERSONAL_DATA_ERASE: {"reason": "Theo đề nghị của cá nhân"},
}


def actions_of(spec: ModelAction) -> list[Action]:
    """The policy actions one model route may ask: one, or one per level."""
    return [rule.policy for rule in spec.rules()]


def model_action_row(name: str, action: Action) -> Row:
    def build_call(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
        if fresh:
            steps, register = READY[action]
            model_id = env.model_at(steps, code, **register)
        else:
            model_id = env.shared[code].model
        return Call(f"/tenants/{env.tenant_id(code)}/models/{model_id}/{name}", BODIES[action])

    return Row("POST", f"/tenants/{{tenant_id}}/models/{{model_id}}/{name}", action, build_call)


def _onboard(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call("/tenants", {"kind": "agency", "province_code": "15",
                             "code": env.unique("SXD"), "name": env.unique("Sở Xây dựng ")})


def _read(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}", None)


def _add_unit(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}/units",
                {"name": env.unique("Chi bộ thôn "), "kind": "party_cell"})


def _close_unit(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    unit = env.shared[code].unit
    if fresh:
        unit = ok(env.send("POST", f"/tenants/{env.tenant_id(code)}/units",
                           env.world.as_("tenant_admin", code),
                           {"name": env.unique("Tổ tự quản "), "kind": "other"}), 201)["id"]
    return Call(f"/tenants/{env.tenant_id(code)}/units/{unit}/closure",
                {"reason": "Sáp nhập theo Nghị quyết"})


def _tenant_user(roles: list[str]) -> Builder:
    def build_call(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
        return Call(f"/tenants/{env.tenant_id(code)}/users",
                    {"username": env.unique("can.bo."), "password": PASSWORD,
                     "full_name": "Cán bộ mới", "roles": roles})
    return build_call


def _change_roles(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    made = _tenant_user(["reviewer"])(env, code, role, fresh)
    user = ok(env.send("POST", made.path, env.world.as_("tenant_admin", code), made.body),
              201)["id"]
    return Call(f"/tenants/{env.tenant_id(code)}/users/{user}/roles", {"roles": ["approver"]})


def _user_action(action: str, body: dict[str, Any]) -> Builder:
    """An action on a user of the tenant: a new one when fresh (an allowed call stops or
    re-keys it), else the tenant's shared user."""
    def build_call(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
        user = env.shared[code].user
        if fresh:
            made = _tenant_user(["reviewer"])(env, code, role, fresh)
            user = ok(env.send("POST", made.path, env.world.as_("tenant_admin", code),
                               made.body), 201)["id"]
        return Call(f"/tenants/{env.tenant_id(code)}/users/{user}/{action}", body)
    return build_call


def _province_user(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call("/provinces/15/users", {"username": env.unique("phan.tich."),
                                        "password": PASSWORD, "full_name": "Chuyên viên",
                                        "roles": ["province_analyst"]})


TARGETS = {"new_models": 12, "recognized_tenant_level": 3, "recognized_province_level": 1,
           "per_unit_minimum": 1}


def _year(env: LiveEnv, fresh: bool) -> int:
    return next(env.years) if fresh else 2030


def _province_targets(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/provinces/15/targets/{_year(env, fresh)}", {"commune": TARGETS})


def _tenant_targets(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}/targets/{_year(env, fresh)}", TARGETS)


def _period_targets(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    start = _year(env, fresh)
    return Call(f"/tenants/{env.tenant_id(code)}/period-targets/{start}/{start + 5}",
                {"recognized_tenant_level": 5, "recognized_province_level": 2,
                 "maintained_models": 3})


RULES = {"weights": {"effectiveness": 20, "creativity": 20, "participation": 20,
                     "replicability": 20, "political_tie": 10, "planning": 10},
         "person_weights": {"reputation": 25, "ethics": 25, "responsibility": 25,
                            "mobilisation": 25}, "pass_mark": 75}


def _evaluation_rules(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/provinces/15/evaluation-rules/{_year(env, fresh)}", RULES)


def _decision(level: Level) -> Builder:
    """A decision recognising one model ready for it (or the tenant's shared model)."""
    def build_call(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
        steps = 5 if level == Level.TENANT else 7
        model_id = env.model_at(steps, code) if fresh else env.shared[code].model
        path = (f"/tenants/{env.tenant_id(code)}/recognitions" if level == Level.TENANT
                else "/provinces/15/recognitions")
        return Call(path, {**RECOGNITION[level], "model_ids": [model_id]})
    return build_call


def _approve_list(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}/lists/2026/approval",
                {"decision_number": "05-QĐ/ĐU"})


def _schedule(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}/plan-tasks",
                {"year": 2026, "title": env.unique("Hội nghị sơ kết lần "),
                 "due_date": "2026-12-15"})


def _complete(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    task = env.shared[code].task
    if fresh:
        scheduled = _schedule(env, code, role, fresh)
        task = ok(env.send("POST", scheduled.path, env.world.as_("tenant_admin", code),
                           scheduled.body), 201)["id"]
    return Call(f"/tenants/{env.tenant_id(code)}/plan-tasks/{task}/completion",
                {"note": "Đã tổ chức"})


def _complete_unit(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    """The unit user's unit's part of a task given to units (a fresh one where it must
    succeed; refusals point at the shared one, never changed)."""
    task = env.shared[code].unit_task
    if fresh:
        scheduled = _schedule(env, code, role, fresh)
        task = ok(env.send("POST", scheduled.path, env.world.as_("tenant_admin", code),
                           {**scheduled.body, "unit_ids": [env.unit_id(OWN_UNIT, code)]}),
                  201)["id"]
    return Call(f"/tenants/{env.tenant_id(code)}/plan-tasks/{task}/units/"
                f"{env.unit_id(OWN_UNIT, code)}/completion", {"note": "Đã ban hành"})


def _register(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}/models",
                {"unit_id": env.unit_id(OWN_UNIT, code), "year": 2026,
                 "name": env.unique("Mô hình mới số "), **FORM})


def _rebuild(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call("/provinces/15/rebuilds", {"projections": ["audit"]})


def _audit_export(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call(f"/tenants/{env.tenant_id(code)}/audit-exports", {})


def _tenant_import(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    content = f"name,kind\r\n{env.unique('Chi hội nhập số ')},mass_org\r\n".encode()
    return Call(f"/tenants/{env.tenant_id(code)}/imports?kind=units",
                Files({"file": ("don-vi.csv", content, "text/csv")}))


def _province_import(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
    return Call("/provinces/15/imports?kind=tenants", {"codes": [env.unique("9")]})
REPORT = {"kind": "quota", "year": 2026, "format": "docx"}


def _report(scope: str) -> Builder:
    def build_call(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
        path = "/provinces/15" if scope == "province" else f"/tenants/{env.tenant_id(code)}"
        return Call(f"{path}/reports", REPORT)
    return build_call


def _reports(scope: str) -> Builder:
    def build_call(env: LiveEnv, code: str, role: str, fresh: bool) -> Call:
        path = "/provinces/15" if scope == "province" else f"/tenants/{env.tenant_id(code)}"
        return Call(f"{path}/reports", None)
    return build_call


ROWS: tuple[Row, ...] = (
    Row("POST", "/tenants", Action.TENANT_ONBOARD, _onboard, 201),
    Row("GET", "/tenants/{tenant_id}", Action.TENANT_READ, _read, 200, appends=0),
    Row("POST", "/tenants/{tenant_id}/units", Action.UNIT_ADD, _add_unit, 201),
    Row("POST", "/tenants/{tenant_id}/units/{unit_id}/closure", Action.UNIT_CLOSE, _close_unit),
    Row("POST", "/tenants/{tenant_id}/users", Action.USER_CREATE, _tenant_user(["reviewer"]),
        201),
    Row("POST", "/tenants/{tenant_id}/users", Action.INSPECTOR_CREATE,
        _tenant_user(["inspector"]), 201),
    Row("PUT", "/tenants/{tenant_id}/users/{user_id}/roles", Action.USER_CREATE, _change_roles),
    Row("POST", "/tenants/{tenant_id}/users/{user_id}/password-reset",
        Action.USER_PASSWORD_RESET, _user_action("password-reset",
                                                 {"new_password": "mật-khẩu-đặt-lại-3"})),
    Row("POST", "/tenants/{tenant_id}/users/{user_id}/deactivation", Action.USER_DEACTIVATE,
        _user_action("deactivation", {"reason": "Chuyển công tác"})),
    Row("POST", "/provinces/{code}/users", Action.USER_CREATE, _province_user, 201),
    Row("PUT", "/provinces/{code}/targets/{year}", Action.TARGETS_SET_PROVINCE,
        _province_targets, 201),
    Row("PUT", "/tenants/{tenant_id}/targets/{year}", Action.TARGETS_SET_TENANT,
        _tenant_targets, 201),
    Row("PUT", "/tenants/{tenant_id}/period-targets/{start_year}/{end_year}",
        Action.TARGETS_SET_TENANT, _period_targets, 201),
    Row("PUT", "/provinces/{code}/evaluation-rules/{year}", Action.EVALUATION_RULES_SET,
        _evaluation_rules, 201),
    Row("POST", "/tenants/{tenant_id}/recognitions", Action.MODEL_RECOGNITION_TENANT,
        _decision(Level.TENANT)),
    Row("POST", "/provinces/{code}/recognitions", Action.MODEL_RECOGNITION_PROVINCE,
        _decision(Level.PROVINCE)),
    Row("POST", "/tenants/{tenant_id}/lists/{year}/approval", Action.LIST_APPROVE,
        _approve_list, 201),
    Row("POST", "/tenants/{tenant_id}/plan-tasks", Action.PLAN_SCHEDULE, _schedule, 201),
    Row("POST", "/tenants/{tenant_id}/plan-tasks/{task_id}/completion", Action.PLAN_COMPLETE,
        _complete),
    Row("POST", "/tenants/{tenant_id}/plan-tasks/{task_id}/units/{unit_id}/completion",
        Action.PLAN_COMPLETE_UNIT, _complete_unit),
    Row("POST", "/tenants/{tenant_id}/models", Action.MODEL_REGISTER, _register, 201),
    Row("POST", "/provinces/{code}/rebuilds", Action.REBUILD, _rebuild, 202),
    Row("POST", "/tenants/{tenant_id}/audit-exports", Action.AUDIT_EXPORT, _audit_export, 202),
    # an import records its job and file, no event (the job appends them all or none)
    Row("POST", "/tenants/{tenant_id}/imports", Action.IMPORT_TENANT_DATA, _tenant_import, 202,
        appends=0, multipart=True),
    Row("POST", "/provinces/{code}/imports", Action.IMPORT_TENANTS, _province_import, 202,
        appends=0),
    Row("POST", "/tenants/{tenant_id}/reports", Action.REPORT, _report("tenant"), 202),
    Row("POST", "/provinces/{code}/reports", Action.REPORT, _report("province"), 202),
    Row("GET", "/tenants/{tenant_id}/reports", Action.REPORT, _reports("tenant"), appends=0),
    Row("GET", "/provinces/{code}/reports", Action.REPORT, _reports("province"), appends=0),
    *(model_action_row(spec.route, action)
      for spec in MODEL_ACTIONS.values() for action in actions_of(spec)),
)

READ_ONLY_ACTIONS = {Action.PERSONAL_DATA_READ, Action.AUDIT_READ, Action.JOBS_DEAD_READ,
                     Action.USER_READ}
"""Actions no command route asks: they guard reads (GraphQL), not commands."""

ALL_ROLES = sorted(ROLES)
CASES = [(row, role) for row in ROWS for role in ALL_ROLES]
REFUSED = [pytest.param(row, role, id=f"{row.label} by {role}")
           for row, role in CASES if not allowed(role, row)]
ALLOWED = [pytest.param(row, role, id=f"{row.label} by {role}")
           for row, role in CASES if allowed(role, row)]
TENANT_ROWS = [row for row in ROWS if row.scope == "tenant"]


def _without_path_types(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def test_the_rows_are_every_command_route_the_app_serves(env: LiveEnv) -> None:
    served = {(method, _without_path_types(route.path.removeprefix(API)))
              for route in env.app.routes if route.path.startswith(API + "/")
              for handler in getattr(route, "route_handlers", ())
              for method in handler.http_methods - {"OPTIONS", "HEAD"}}
    served.discard(("POST", "/auth/token"))  # public: anyone may try to sign in
    # every signed-in user, for oneself only (tests/e2e/test_people_http.py)
    served.discard(("POST", "/auth/password"))
    # public: no login (tests/e2e/test_pages_public_registry.py)
    served.discard(("GET", "/public/recognized-models"))
    # a job is read by its creator and its scope's readers (tests/e2e/test_jobs_http.py)
    served -= {("GET", "/jobs/{job_id}"), ("GET", "/jobs/{job_id}/file")}
    # the import templates are for anyone signed in (tests/e2e/test_imports_http.py)
    served -= {("GET", "/import-templates/{name}")}
    # a report is read by its scope's readers (tests/e2e/test_reports_http.py)
    served.discard(("GET", "/reports/{report_id}"))
    assert served == {(row.method, row.route) for row in ROWS}


def test_the_rows_walk_every_action_of_the_policy_table() -> None:
    assert {row.action for row in ROWS} == set(Action) - READ_ONLY_ACTIONS
    assert set(READY) == set(BODIES) == {row.action for row in ROWS
                                         if row.route.startswith("/tenants/{tenant_id}/models/")}
    # every role is allowed something and refused something: the matrix has both halves
    for role in ALL_ROLES:
        assert any(allowed(role, row) for row in ROWS), role
        assert any(not allowed(role, row) for row in ROWS), role


@pytest.mark.parametrize(("row", "role"), REFUSED)
def test_a_role_the_policy_refuses_gets_a_403_and_appends_nothing(
        env: LiveEnv, row: Row, role: str) -> None:
    call = row.build(env, YEN_BAI, role, False)
    before = env.events()
    assert_refused(env.send(row.method, call.path, env.world.as_(role), call.body))
    assert env.events() == before


@pytest.mark.parametrize(("row", "role"), ALLOWED)
def test_a_role_the_policy_allows_succeeds_with_one_event(
        env: LiveEnv, row: Row, role: str) -> None:
    call = row.build(env, YEN_BAI, role, True)
    before = env.events()
    response = env.send(row.method, call.path, env.world.as_(role), call.body)
    assert response.status_code == row.status, response.text
    assert env.events() - before == row.appends


def _names_nothing_of(body: dict[str, Any], secrets_: set[str]) -> None:
    shown = json.dumps({k: v for k, v in body.items() if k != "request_id"},
                       ensure_ascii=False)
    leaked = {s for s in secrets_ if s in shown}
    assert not leaked, (leaked, shown)


def _what_names(env: LiveEnv, code: str) -> set[str]:
    tenant = env.world.tenants[code]
    name = env.names[code]
    shared = env.shared[code]
    return {tenant.id, code, name, name.split(" ", 1)[1], shared.model, shared.task,
            shared.user, *tenant.units.values()}


@pytest.mark.parametrize("role", sorted(TENANT_ROLES))
@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in TENANT_ROWS])
def test_a_tenant_role_on_another_tenants_route_is_a_403_naming_nothing_of_it(
        env: LiveEnv, row: Row, role: str) -> None:
    call = row.build(env, GIA_PHU, role, False)
    before = env.events()
    body = assert_refused(env.send(row.method, call.path, env.world.as_(role, YEN_BAI),
                                   call.body))
    _names_nothing_of(body, _what_names(env, GIA_PHU))
    assert env.events() == before


@pytest.mark.parametrize("role", sorted(PROVINCE_ROLES))
@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in ROWS])
def test_a_province_role_of_another_province_is_refused_everywhere_here(
        env: LiveEnv, row: Row, role: str) -> None:
    call = row.build(env, YEN_BAI, role, False)
    before = env.events()
    body = assert_refused(env.send(row.method, call.path, env.foreign[role], call.body))
    _names_nothing_of(body, _what_names(env, YEN_BAI))
    assert env.events() == before


NOT_TENANTS = ("province targets", "unit", "model", "plan task")
"""Aggregates whose ids a path might give where a tenant's belongs."""


def _id_of(env: LiveEnv, kind: str) -> str:
    shared = env.shared[YEN_BAI]
    if kind == "province targets":
        made = env.send("PUT", "/provinces/15/targets/2039", env.world.province,
                        {"commune": TARGETS})
        assert made.status_code in (200, 201), made.text
        return str(made.json()["id"])
    return {"unit": shared.unit, "model": shared.model, "plan task": shared.task}[kind]


@pytest.mark.parametrize("kind", NOT_TENANTS)
@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in TENANT_ROWS])
def test_another_aggregates_id_in_the_tenants_place_is_no_tenant(
        env: LiveEnv, row: Row, kind: str) -> None:
    """A province admin covers every tenant of the province, so where it may act an id naming
    no tenant is a 404 (even the id of an aggregate that carries the province's code, its
    targets), and elsewhere the usual 403; never a write."""
    call = row.build(env, YEN_BAI, "province_admin", False)
    foreign = _id_of(env, kind)
    path = call.path.replace(env.tenant_id(YEN_BAI), foreign, 1)
    before = env.events()
    response = env.send(row.method, path, env.world.province, call.body)
    route_admits = any(may(Role.PROVINCE_ADMIN, other.action) for other in ROWS
                       if (other.method, other.route) == (row.method, row.route))
    if route_admits:  # (recognition and revocation admit it at province level)
        assert_problem(response, 404, "not_found")
    else:
        assert_refused(response)
    assert env.events() == before
