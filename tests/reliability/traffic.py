"""Commands under load, as the movement issues them, and the ledger that checks the store
against what the clients were told.

``set_up(live, tenants)`` onboards tenants of Lào Cai through the API (one unit each) and
saves a few users in the store, each holding its role in a group of tenants (so that a
handful of logins serve fifty tenants: logins are rate-limited per address). ``drive(...)``
runs clients on one asyncio loop (``bench.load_client``): each picks a tenant, then either
registers a model or moves one of the tenant's models a step up its life (submit, accept,
self-assessment, evaluation, proposal, recognition, progress, amend, return), the models
being shared by every client so several act on the same one at once; half the actions carry
``If-Match``. Every command carries an ``Idempotency-Key`` (and is retried with it, under
faults, after a lost connection or a 5xx), and is recorded as ``Sent``.

``ledger(live, sent)`` reads the events' ``meta.idempotency_key`` from the store: a 2xx whose
event is not there is lost, a command whose events are there twice is duplicated, and a
refusal or error whose event is there anyway is misreported.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.load_client import KeepAlive
from danvan.backend.auth.passwords import hash_password
from danvan.domain.commands import RegisterUser
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.users import User
from danvan.infra.catalogue import official_catalogue
from danvan.infra.event_store import EVENTS_TABLE, open_event_store
from tests.e2e.conftest import PASSWORD, system_context
from tests.reliability.deployment import Live
from tests.unit.builders import FORM

API = "/api/v1"
PROVINCE = "15"
YEAR = 2026
TENANTS_PER_USER = 10
"""Tenants one user holds its role in (a token of ten grants stays small)."""
ROLES = ("tenant_admin", "unit_user", "reviewer", "approver")
SCORES = {"effectiveness": 85, "creativity": 80, "participation": 90, "replicability": 75,
          "political_tie": 80, "planning": 70}
RETRY_FOR = 60.0
"""Seconds a command is retried (same key) after lost connections and 5xx, under faults."""


@dataclass
class Slot:
    """A model as the clients last saw it (shared: several clients act on it)."""

    id: str
    version: int
    state: str


@dataclass
class Crew:
    """One tenant: its unit, the headers of each role, and its models."""

    tenant_id: str
    unit_id: str
    headers: dict[str, dict[str, str]]
    models: list[Slot] = field(default_factory=list)


@dataclass
class Sent:
    key: str
    action: str
    path: str
    statuses: list[int | str] = field(default_factory=list)
    """Every attempt's status, or the exception's name when there was no answer."""
    answer: dict[str, Any] | None = None

    @property
    def final(self) -> int | str:
        return self.statuses[-1] if self.statuses else "not sent"

    @property
    def acknowledged(self) -> bool:
        return isinstance(self.final, int) and 200 <= self.final < 300


def _login(http: httpx.Client, username: str) -> dict[str, str]:
    response = http.post(f"{API}/auth/token", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} "
                           f"{response.text[:300]}")
    body = response.json()
    assert isinstance(body, dict)
    return body


def set_up(live: Live, tenants: int) -> list[Crew]:
    password_hash = hash_password(PASSWORD)
    store = open_event_store(live.settings)

    def save_user(username: str, grants: list[RoleGrant]) -> None:
        scope = grants[0].tenant_id or province_scope(PROVINCE)
        store.save(User.register(system_context(scope), RegisterUser(
            username, password_hash, "Cán bộ thử tải", tuple(grants))))

    try:
        save_user("admin.load", [RoleGrant(role="province_admin", province_code=PROVINCE)])
        codes = [u.code for u in official_catalogue().units_of(PROVINCE)][:tenants]
        with httpx.Client(base_url=live.server.url, timeout=120) as http:
            province = _login(http, "admin.load")
            ids = [str(_ok(http.post(f"{API}/tenants", headers=province,
                                     json={"code": code}))["id"]) for code in codes]
            groups = [ids[i:i + TENANTS_PER_USER] for i in range(0, len(ids),
                                                                  TENANTS_PER_USER)]
            crews: dict[str, Crew] = {}
            for g, group in enumerate(groups):
                save_user(f"quantri.load.{g}", [RoleGrant(role="tenant_admin",
                                                          province_code=PROVINCE, tenant_id=t)
                                                for t in group])
                admin = _login(http, f"quantri.load.{g}")
                for tenant_id in group:
                    unit = _ok(http.post(f"{API}/tenants/{tenant_id}/units", headers=admin,
                                         json={"name": "Chi bộ thôn Tải", "kind": "party_cell"}))
                    crews[tenant_id] = Crew(tenant_id, str(unit["id"]), {"tenant_admin": admin})
                for role in ROLES[1:]:
                    save_user(f"{role.replace('_', '.')}.load.{g}", [
                        RoleGrant(role=role, province_code=PROVINCE, tenant_id=t,
                                  unit_id=crews[t].unit_id if role == "unit_user" else None)
                        for t in group])
                    headers = _login(http, f"{role.replace('_', '.')}.load.{g}")
                    for tenant_id in group:
                        crews[tenant_id].headers[role] = headers
    finally:
        store.close()
    return list(crews.values())


# --- what a client does next -----------------------------------------------------------

def _progress(rng: random.Random) -> dict[str, Any]:
    return {"period": f"{YEAR}-Q{rng.randint(1, 4)}", "participants": rng.randint(1, 500),
            "workdays": rng.randint(1, 2000), "money_vnd": str(rng.randint(0, 10**9)),
            "land_m2": f"{rng.randint(0, 5000)}.5", "note": "Báo cáo tiến độ"}


def _unique(text: str, rng: random.Random) -> str:
    """An amendment that changes something (an unchanged form appends nothing)."""
    return f"{text} {rng.getrandbits(48):x}"


NEXT: dict[str, list[tuple[float, str, str, Callable[[random.Random], dict[str, Any]]]]] = {
    "draft": [(0.7, "submit", "unit_user", lambda r: {}),
              (0.3, "amend", "unit_user", lambda r: {"goals": _unique("Mục tiêu", r)})],
    "returned": [(0.5, "amend", "unit_user", lambda r: {"goals": _unique("Bổ sung", r)}),
                 (0.5, "submit", "unit_user", lambda r: {})],
    "submitted": [(0.85, "accept", "reviewer", lambda r: {}),
                  (0.15, "return", "reviewer", lambda r: {"reason": "Bổ sung hồ sơ"})],
    "accepted": [(0.5, "self-assessment", "unit_user", lambda r: {"summary": "Đạt mục tiêu"}),
                 (0.5, "progress", "unit_user", _progress)],
    "self_assessed": [(0.7, "evaluation", "reviewer", lambda r: {"scores": SCORES}),
                      (0.3, "progress", "unit_user", _progress)],
    "evaluated": [(0.7, "proposal", "reviewer", lambda r: {}),
                  (0.3, "progress", "unit_user", _progress)],
    "proposed": [(0.7, "recognition", "approver",
                  lambda r: {"level": "tenant", "decision_number": f"{r.randint(1, 999)}-QĐ/ĐU",
                             "decision_date": f"{YEAR}-10-20"}),
                 (0.3, "progress", "unit_user", _progress)],
}
FINISHED = frozenset({"rejected", "discontinued", "revoked"})


def next_step(rng: random.Random, state: str
              ) -> tuple[str, str, dict[str, Any]] | None:
    options = NEXT.get(state)
    if options is None:
        return None if state in FINISHED else ("progress", "unit_user", _progress(rng))
    pick = rng.random()
    for weight, action, role, body in options:
        pick -= weight
        if pick <= 0:
            return action, role, body(rng)
    weight, action, role, body = options[-1]
    return action, role, body(rng)


# --- the clients -------------------------------------------------------------------------

@dataclass
class Drive:
    sent: list[Sent] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    """Final statuses other than 2xx, 409 and 412 (and exceptions), by name."""


def drive(url: Callable[[], str], crews: list[Crew], clients: int, seconds: float, *,
          retry: bool, stop: threading.Event | None = None, seed: int = 11) -> Drive:
    """``clients`` clients on one loop for ``seconds`` (or until ``stop`` is set); ``url()``
    is asked again after a lost connection (a restarted server listens elsewhere)."""
    result = Drive()

    async def client(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        connection: KeepAlive | None = None
        end = time.monotonic() + seconds
        counter = 0

        async def send(method: str, path: str, headers: dict[str, str],
                       body: dict[str, Any], action: str) -> Sent:
            nonlocal connection
            key = uuid.uuid4().hex
            record = Sent(key, action, path)
            result.sent.append(record)
            data = json.dumps(body, ensure_ascii=False).encode()
            give_up = time.monotonic() + RETRY_FOR
            pause = 0.25
            for attempt in range(1, 1000):
                full = {**headers, "Content-Type": "application/json",
                        "Idempotency-Key": key, "X-Request-Id": f"{key}.{attempt}"}
                try:
                    if connection is None:
                        address = urlsplit(url())
                        connection = await KeepAlive.open(address.hostname or "127.0.0.1",
                                                          address.port or 80)
                    status, content = await asyncio.wait_for(
                        connection.send(method, path, full, data), timeout=120)
                    record.statuses.append(status)
                    if 200 <= status < 300:
                        record.answer = json.loads(content)
                except (TimeoutError, OSError, asyncio.IncompleteReadError,
                        asyncio.LimitOverrunError, ValueError) as exc:
                    record.statuses.append(type(exc).__name__)
                    if connection is not None:
                        connection.close()
                    connection = None
                final = record.final
                transient = not isinstance(final, int) or final >= 500
                if not (retry and transient) or time.monotonic() > give_up:
                    break
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
            final = record.final
            if not (record.acknowledged or final in (409, 412)):
                result.errors[str(final)] += 1
            return record

        try:
            while time.monotonic() < end and not (stop is not None and stop.is_set()):
                crew = rng.choice(crews)
                counter += 1
                models = f"{API}/tenants/{crew.tenant_id}/models"
                live_models = [s for s in crew.models if s.state not in FINISHED]
                if len(live_models) < 4 or rng.random() < 0.15:
                    record = await send("POST", models, crew.headers["unit_user"], {
                        "unit_id": crew.unit_id, "year": YEAR,
                        "name": f"Mô hình tải {i}-{counter}", **FORM}, "register")
                    if record.answer:
                        crew.models.append(Slot(str(record.answer["id"]),
                                                int(record.answer.get("version", 1)),
                                                str(record.answer.get("state", "draft"))))
                    continue
                slot = rng.choice(live_models)
                step = next_step(rng, slot.state)
                if step is None:
                    continue
                action, role, body = step
                headers = dict(crew.headers[role])
                if rng.random() < 0.5:
                    headers["If-Match"] = f'"{slot.version}"'
                record = await send("POST", f"{models}/{slot.id}/{action}", headers, body,
                                    action)
                answer = record.answer
                if answer and int(answer.get("version", 0)) > slot.version:
                    slot.version = int(answer["version"])
                    slot.state = str(answer.get("state", slot.state))
        finally:
            if connection is not None:
                connection.close()

    async def everyone() -> None:
        await asyncio.gather(*(client(i) for i in range(clients)))

    asyncio.run(everyone())
    return result


# --- the ledger --------------------------------------------------------------------------

@dataclass
class Ledger:
    commands: int = 0
    acknowledged: int = 0
    conflicts: int = 0
    lost: int = 0
    duplicated: int = 0
    misreported: int = 0
    unanswered: int = 0
    unanswered_stored: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def example(self, kind: str, record: Sent, note: str) -> None:
        kept = self.examples.setdefault(kind, [])
        if len(kept) < 3:
            kept.append(f"{record.action} {record.path} key={record.key} "
                        f"statuses={record.statuses} {note}")

    def counts(self) -> dict[str, int]:
        return {"commands": self.commands, "acknowledged": self.acknowledged,
                "409/412": self.conflicts, "lost": self.lost, "duplicated": self.duplicated,
                "misreported": self.misreported, "unanswered": self.unanswered,
                "unanswered but stored": self.unanswered_stored}


def stored_keys(live: Live) -> dict[str, list[tuple[str, int]]]:
    """Each idempotency key in the events' meta → the (aggregate, version) it appended."""
    by_key: dict[str, list[tuple[str, int]]] = {}
    with live.conn() as conn:
        rows = conn.execute(
            f"SELECT convert_from(state, 'UTF8')::jsonb #>> '{{meta,idempotency_key}}', "
            f"originator_id::text, originator_version FROM public.{EVENTS_TABLE}").fetchall()
    for key, aggregate, version in rows:
        if key:
            by_key.setdefault(str(key), []).append((str(aggregate), int(version)))
    return by_key


def ledger(live: Live, sent: list[Sent]) -> Ledger:
    """Every acknowledged command in the store exactly once, every refusal absent."""
    stored = stored_keys(live)
    book = Ledger()
    for record in sent:
        book.commands += 1
        events = stored.get(record.key, [])
        if len(events) > 1:
            book.duplicated += 1
            book.example("duplicated", record, f"events {events}")
        if record.acknowledged:
            book.acknowledged += 1
            answer = record.answer or {}
            expected = (str(answer.get("id")), int(answer.get("version", 0)))
            if expected not in events:
                book.lost += 1
                book.example("lost", record, f"answered {expected}, stored {events}")
        elif isinstance(record.final, int):
            if record.final in (409, 412):
                book.conflicts += 1
            if events:
                book.misreported += 1
                book.example("misreported", record, f"yet stored {events}")
        else:
            book.unanswered += 1
            if events:
                book.unanswered_stored += 1
    return book
