"""``danvan admin create --username U --role province_admin [--province 15]``.

The password is read from standard input (without echo on a terminal, asked twice). The user
is registered by the actor ``system`` in the province's scope (``province:<code>``), in
``--tenant`` for a tenant role, or, for ``national_analyst`` (reads every province, writes
nothing), in the national scope.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands

DEFAULT_PROVINCE = "15"


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("admin", help="manage accounts from the command line")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = verbs.add_parser("create", help="create a user (password from standard input)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", default="province_admin",
                        help="role to grant (default province_admin)")
    create.add_argument("--province", default=DEFAULT_PROVINCE,
                        help=f"province code (default {DEFAULT_PROVINCE}, Lào Cai)")
    create.add_argument("--tenant", help="tenant id, for a tenant role")
    create.add_argument("--unit", help="unit id, for unit_user")
    create.add_argument("--full-name", help="display name (default: the username)")
    create.set_defaults(handler=run_create)


def read_password(stream: object = None) -> str:
    """The password from a terminal (no echo, twice) or the first line of standard input."""
    from danvan.backend.cli import CommandError

    source = stream if stream is not None else sys.stdin
    if getattr(source, "isatty", lambda: False)():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the passwords differ")
        return first
    return str(getattr(source, "readline")()).rstrip("\r\n")  # noqa: B009


def run_create(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from danvan.backend.auth.passwords import hash_password
    from danvan.backend.cli import CommandError
    from danvan.backend.commands.serve import settings_with_database
    from danvan.backend.services.errors import AlreadyExists, ServiceError
    from danvan.backend.services.people import NewUser, create_user
    from danvan.domain.base import Actor, Context, InvalidInput
    from danvan.domain.policies import (
        EVERY_PROVINCE,
        NATIONAL_ROLES,
        NATIONAL_SCOPE,
        PROVINCE_ROLES,
        Role,
        RoleGrant,
        SpecialRole,
        province_scope,
    )
    from danvan.infra.event_store import open_event_store
    from danvan.infra.settings import get_settings

    settings = get_settings()
    password = read_password()
    settings = settings_with_database(settings)  # the embedded server `danvan serve` uses
    try:
        role = Role(args.role)
    except ValueError as exc:
        raise CommandError(f"no such role {args.role!r}") from exc
    if role in NATIONAL_ROLES:
        scope = NATIONAL_SCOPE
        grant = RoleGrant(role=role, province_code=EVERY_PROVINCE)
    elif role in PROVINCE_ROLES:
        scope = province_scope(args.province)
        grant = RoleGrant(role=role, province_code=args.province)
    else:
        if not args.tenant:
            raise CommandError(f"{role} is held in a tenant: pass --tenant")
        scope = args.tenant
        grant = RoleGrant(role=role, province_code=args.province, tenant_id=args.tenant,
                          unit_id=args.unit)
    ctx = Context(tenant_id=scope, actor=Actor(user_id="system", role=SpecialRole.SYSTEM),
                  at=datetime.now(UTC), correlation_id=uuid.uuid4().hex,
                  request_id=None, extra={"source": "cli"})
    new = NewUser(username=args.username.strip().lower(), password=password,
                  full_name=args.full_name or args.username, roles=[role])
    store = open_event_store(settings)
    try:
        result = create_user(store, ctx, new, [grant], hash_password)
    except InvalidInput as exc:
        raise CommandError("; ".join(f"{f}: {m}" for f, m in exc.errors.items())) from exc
    except AlreadyExists as exc:
        raise CommandError(f"user {new.username!r} already exists") from exc
    except ServiceError as exc:
        raise CommandError(f"user {new.username!r}: {exc}") from exc
    finally:
        store.close()
    print(f"created {new.username} ({result.id}) as {role} in {scope}")
    return 0
