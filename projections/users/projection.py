"""Users: one row per account (``User.Registered``), changed by the events that change its
credentials (roles, password, deactivation). Password hashes are never read from the events:
the decoded ``PasswordChanged``/``PasswordReset`` are used only for their moment. Sign-ins
(``LoginFailed``, ``LoggedIn``) and re-hashes are not projected: many, and nothing shown.

An account is listed in (``listed_in``) the scope it was created in and every tenant it holds
a role in: an account created in the province's scope (``province:15``), or in another tenant,
with a role in this one is one of this tenant's accounts, for its admins as for the
province's. ``user_listings`` holds one row per place an account is listed in, keyed
``(listed_in, username)``: a tenant's list is one ordered index scan.
Row-level security lets a reader see the listings in its scope and the accounts listed there.

(A GIN index on ``users.listed_in`` was tried first: ``@>`` is not leakproof, so under row-level
security PostgreSQL may not use the list's own condition in an index scan, and took the
policy's ``&&`` with the whole scope instead: 120 ms for one tenant's list of a province admin
of 300 tenants and 6,000 accounts, against one index range by ``(listed_in, username)``.)"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from danvan.domain.users import User
from danvan.projections.base import (
    SCOPE,
    Cursor,
    Projection,
    TableSharding,
    Write,
    copy_rows,
    pg_bool,
    pg_text_array,
)
from danvan.projections.events import Batch, Envelope, topic_of

REGISTERED = topic_of(User.Registered)
GRANTS_CHANGED = topic_of(User.GrantsChanged)
PASSWORD_CHANGED = topic_of(User.PasswordChanged)
PASSWORD_RESET = topic_of(User.PasswordReset)
DEACTIVATED = topic_of(User.Deactivated)
_encode = msgspec.json.Encoder().encode

COLUMNS = ("user_id", "tenant_id", "username", "full_name", "grants", "unit_id", "active",
           "must_change_password", "registered_at", "deactivated_at", "deactivated_reason",
           "credentials_changed_at", "position", "listed_in")
_UPDATE = (
    "UPDATE {schema}.users SET "
    "grants = coalesce(%(grants)s::jsonb, grants), "
    "listed_in = CASE WHEN %(grants)s::jsonb IS NULL THEN listed_in "
    "ELSE array_prepend(tenant_id, array_remove(%(tenants)s::text[], tenant_id)) END, "
    "unit_id = CASE WHEN %(grants)s::jsonb IS NULL THEN unit_id ELSE %(unit)s::uuid END, "
    "must_change_password = must_change_password AND NOT %(changed)s, "
    "active = active AND NOT %(stopped)s, "
    "deactivated_at = CASE WHEN %(stopped)s THEN %(at)s::timestamptz ELSE deactivated_at END, "
    "deactivated_reason = CASE WHEN %(stopped)s THEN %(reason)s ELSE deactivated_reason END, "
    "credentials_changed_at = %(at)s::timestamptz, position = %(position)s "
    "WHERE user_id = %(id)s::uuid")


def unit_of(grants: list[dict[str, Any]]) -> str | None:
    return next((g["unit_id"] for g in grants if g.get("unit_id")), None)


def granted_tenants(grants: list[dict[str, Any]]) -> list[str]:
    """The tenants ``grants`` hold a role in, each once, in order."""
    return list(dict.fromkeys(str(g["tenant_id"]) for g in grants if g.get("tenant_id")))


def listed_in(scope: str, tenants: list[str]) -> list[str]:
    """Where an account is listed: its own scope first, then the other tenants it holds roles
    in (``granted_tenants``; ``_UPDATE`` says the same in SQL after a change of roles)."""
    return [scope, *(t for t in tenants if t != scope)]


_LIST = (
    "INSERT INTO {schema}.user_listings (listed_in, username, user_id, tenant_id) "
    "SELECT t, u.username, u.user_id, u.tenant_id FROM {schema}.users u, "
    "unnest(u.listed_in) AS t WHERE u.user_id = ANY(%(ids)s::uuid[])")
"""The listings of accounts new in a batch or whose roles it changed, from their rows."""



def change_of(e: Envelope) -> dict[str, Any]:
    """What a credentials event does to its account's row (``_UPDATE``'s parameters)."""
    grants = e.data.grants if e.topic == GRANTS_CHANGED else None
    stopped = e.topic == DEACTIVATED
    return {"id": e.originator_id,
            "grants": _encode(grants).decode() if grants is not None else None,
            "unit": unit_of(grants) if grants is not None else None,
            "tenants": granted_tenants(grants) if grants is not None else None,
            "changed": e.topic == PASSWORD_CHANGED, "stopped": stopped,
            "reason": e.meta.reason if stopped else None, "at": e.at,
            "position": e.position}


class Users(Projection):
    name = "users"
    tables = ("users", "user_listings")
    sharding = dict.fromkeys(tables, TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = frozenset(
        {REGISTERED, GRANTS_CHANGED, PASSWORD_CHANGED, PASSWORD_RESET, DEACTIVATED})

    def ddl(self, schema: str) -> list[str]:
        return [f"""CREATE TABLE {schema}.users (
            user_id uuid PRIMARY KEY,
            tenant_id text COLLATE "C" NOT NULL,
            username text COLLATE "C" NOT NULL,
            full_name text NOT NULL,
            grants jsonb NOT NULL,
            unit_id uuid,
            active boolean NOT NULL,
            must_change_password boolean NOT NULL,
            registered_at timestamptz NOT NULL,
            deactivated_at timestamptz,
            deactivated_reason text,
            credentials_changed_at timestamptz,
            position bigint NOT NULL,
            listed_in text[] NOT NULL)""",
                f"""CREATE TABLE {schema}.user_listings (
            listed_in text COLLATE "C" NOT NULL,
            username text COLLATE "C" NOT NULL,
            user_id uuid NOT NULL,
            tenant_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (listed_in, username))"""]

    def indexes(self, schema: str) -> list[str]:
        return [f"CREATE INDEX ON {schema}.user_listings (user_id)"]

    def scope_policies(self) -> dict[str, str]:
        """A reader sees the listings in its scope, and the accounts listed in its scope
        (``tenant_id``, where the account was created and whose events write it, is the
        first of them)."""
        return {"users": f"listed_in && {SCOPE}", "user_listings": f"listed_in = ANY ({SCOPE})"}

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        new: dict[str, dict[str, Any]] = {}  # registered in this batch: changed before written
        changes: list[dict[str, Any]] = []  # of accounts written earlier, in log order
        for e in self.wanted(batch):
            if e.topic == REGISTERED:
                d = e.data
                new[e.originator_id] = {
                    "user_id": e.originator_id, "tenant_id": e.tenant_id,
                    "username": d.username, "full_name": d.full_name,
                    "grants": _encode(d.grants).decode(), "unit_id": unit_of(d.grants),
                    "active": True, "must_change_password": bool(d.must_change_password),
                    "registered_at": e.at, "deactivated_at": None,
                    "deactivated_reason": None, "credentials_changed_at": None,
                    "position": e.position,
                    "listed_in": listed_in(e.tenant_id, granted_tenants(d.grants))}
                continue
            change = change_of(e)
            row = new.get(e.originator_id)
            if row is None:
                changes.append(change)
            else:
                _apply(row, change)
        rows = [tuple(_text(row[c]) for c in COLUMNS) for row in new.values()]
        relisted = list(dict.fromkeys(c["id"] for c in changes if c["grants"] is not None))
        listed = [*new, *relisted]

        def write(cur: Cursor) -> None:
            if rows:
                copy_rows(cur, f"{schema}.users", COLUMNS, rows)
            if changes:
                cur.executemany(_UPDATE.format(schema=schema).encode(), changes)
            if relisted:
                cur.execute(f"DELETE FROM {schema}.user_listings "
                            "WHERE user_id = ANY(%(ids)s::uuid[])".encode(), {"ids": relisted})
            if listed:
                cur.execute(_LIST.format(schema=schema).encode(), {"ids": listed})
        return write


def _apply(row: dict[str, Any], change: dict[str, Any]) -> None:
    """``_UPDATE`` on a row not written yet."""
    if change["grants"] is not None:
        row["grants"], row["unit_id"] = change["grants"], change["unit"]
        row["listed_in"] = listed_in(row["tenant_id"], change["tenants"])
    row["must_change_password"] = row["must_change_password"] and not change["changed"]
    if change["stopped"]:
        row["active"] = False
        row["deactivated_at"], row["deactivated_reason"] = change["at"], change["reason"]
    row["credentials_changed_at"], row["position"] = change["at"], change["position"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return pg_bool(value)
    if isinstance(value, list):
        return pg_text_array(value)
    return str(value)
