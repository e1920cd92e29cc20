"""A seeded world for the fuzz and hostile-input suites: the role matrix's province (two
tenants, units, one user per role, a province admin and analyst of another province), plus
models in every state of the ladder, a few users and plan tasks, collected as pools of real
ids that a generator can put into paths, bodies and GraphQL arguments.

    with seeded_world(admin, template, tmp) as seeded:
        seeded.headers["reviewer"], seeded.path_choices(["tenant_id", "model_id"])
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from danvan.infra.database import ConnParams
from danvan.projections.embedded import make_runner
from danvan.projections.events import log_head
from danvan.projections.schema import active_versions
from tests.e2e.test_role_route_matrix import (
    ALL_ROLES,
    FOREIGN_PROVINCE,
    LADDER,
    PASSWORD,
    LiveEnv,
    live_env,
)
from tests.e2e.world import GIA_PHU, YEN_BAI, ok

ANONYMOUS = "anonymous"
FOREIGN_ADMIN = "foreign_province_admin"
CALLERS = (*ALL_ROLES, FOREIGN_ADMIN, ANONYMOUS)
"""Every role of the policy table (in Yên Bái), a province admin of another province, and
nobody at all."""


@dataclass
class Pools:
    """Real ids of one tenant."""

    tenant_id: str
    units: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)


@dataclass
class Seeded:
    env: LiveEnv
    pools: dict[str, Pools]
    """By tenant code."""
    models_by_state: dict[str, str]
    """One model of Yên Bái at each rung of the ladder, and returned and rejected ones."""

    @property
    def base_url(self) -> str:
        return str(self.env.client.base_url).rstrip("/")

    def headers(self, caller: str) -> dict[str, str]:
        if caller == ANONYMOUS:
            return {}
        if caller == FOREIGN_ADMIN:
            return self.env.foreign["province_admin"]
        return self.env.world.as_(caller, YEN_BAI)

    def events(self) -> int:
        return self.env.events()

    def catch_up(self) -> None:
        """Bring the read models to the log's head (``danvan projector``'s runner, once)."""
        runner = make_runner(self.env.settings)
        try:
            runner.catch_up()
        finally:
            runner.close()

    def behind(self) -> dict[str, int]:
        """Projections whose position is short of the log's head: name → events behind."""
        head = log_head(self.env.conn)
        return {name: head - version.position
                for name, version in active_versions(self.env.conn).items()
                if version.position < head}

    def path_values(self, rng: random.Random, names: Sequence[str]) -> dict[str, Any]:
        """Real values for the path parameters ``names``, all of one tenant (mostly the
        caller's own, Yên Bái)."""
        pools = self.pools[YEN_BAI if rng.random() < 0.8 else GIA_PHU]
        choices: dict[str, Sequence[Any]] = {
            "tenant_id": [pools.tenant_id], "model_id": pools.models, "unit_id": pools.units,
            "user_id": pools.users, "task_id": pools.tasks,
            "code": ["15", "15", FOREIGN_PROVINCE], "year": [2026, 2027, 2031],
            "start_year": [2026, 2030], "end_year": [2030, 2035]}
        return {name: rng.choice(choices[name]) for name in names if name in choices}

    def all_ids(self) -> list[str]:
        return [value for pools in self.pools.values()
                for value in (pools.tenant_id, *pools.units, *pools.models, *pools.users,
                              *pools.tasks)]


def _models_in_every_state(env: LiveEnv, code: str) -> dict[str, str]:
    """A model at each rung of the ladder (draft to recognized at province level), and one
    returned and one rejected: the states every model action can meet."""
    made = {f"rung-{steps}": env.model_at(steps, code) for steps in range(len(LADDER) + 1)}
    for action in ("return", "reject"):
        model_id = env.model_at(1, code)
        ok(env.world.act(model_id, action, "reviewer", {"reason": "Chưa đủ hồ sơ"}, code=code))
        made[action] = model_id
    return made


@contextmanager
def seeded_world(admin: ConnParams, template: str, tmp_path: Path) -> Iterator[Seeded]:
    with live_env(admin, template, tmp_path) as env:
        pools: dict[str, Pools] = {}
        by_state: dict[str, str] = {}
        for code in (YEN_BAI, GIA_PHU):
            tenant = env.world.tenants[code]
            pool = Pools(tenant.id, units=list(tenant.units.values()))
            made = _models_in_every_state(env, code)
            if code == YEN_BAI:
                by_state = made
            pool.models = [env.shared[code].model, *made.values()]
            pool.tasks = [env.shared[code].task]
            admin_headers = tenant.headers["tenant_admin"]
            for role in ("reviewer", "approver"):
                user = ok(env.send("POST", f"/tenants/{tenant.id}/users", admin_headers, {
                    "username": env.unique(f"{role}.seeded."), "password": PASSWORD,
                    "full_name": "Cán bộ thử", "roles": [role]}), 201)
                pool.users.append(str(user["id"]))
            task = ok(env.send("POST", f"/tenants/{tenant.id}/plan-tasks", admin_headers, {
                "year": 2026, "title": "Hội nghị tổng kết", "due_date": "2026-12-20"}), 201)
            pool.tasks.append(str(task["id"]))
            pools[code] = pool
        seeded = Seeded(env, pools, by_state)
        seeded.catch_up()
        yield seeded
