"""``danvan audit verify|export|seal|pubkey``: the tamper-evident audit trail.

``verify`` exits 0 when every chain is intact and sealed recently enough, 1 when a chain is
broken, and 3 when the chains are intact but some tenant has no seal or a stale one
(``DANVAN_SEAL_EVERY`` events or a day past its last seal, ``infra/seals.SealPolicy``): the
events after its last seal could have been rewritten without showing. ``seal --due`` seals
what that rule says is due (what the scheduler runs); ``seal`` alone, every moved chain.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from danvan.backend.commands.serve import settings_with_database

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands
    from danvan.infra.audit_chain import TenantVerification

EXIT_BROKEN = 1
EXIT_UNSEALED = 3


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("audit", help="verify, export and seal the events' hash chains")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    verify = verbs.add_parser(
        "verify", help="recompute chains and check seals (exit 1 if broken, 3 if intact but "
                       "a seal is missing or stale)")
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--tenant", help="only this tenant (default: every tenant)")
    source.add_argument("--file", type=Path, help="verify an export offline (no database)")
    verify.add_argument("--public-key", type=Path, action="append", default=[],
                        help="trusted seal public key (PEM); repeatable. "
                             "Default: the local seal key, if present")
    verify.add_argument("--json", action="store_true", help="print JSON lines")
    verify.set_defaults(handler=run_verify)

    export = verbs.add_parser("export", help="write one tenant's chain as JSON Lines")
    export.add_argument("--tenant", required=True)
    export.add_argument("--out", required=True, help="output file, or - for standard output")
    export.set_defaults(handler=run_export)

    seal = verbs.add_parser("seal", help="sign every tenant's chain head that moved")
    seal.add_argument("--tenant", help="only this tenant")
    seal.add_argument("--due", action="store_true",
                      help="only chains due by DANVAN_SEAL_EVERY events or a day since their "
                           "last seal (what the scheduler runs)")
    seal.set_defaults(handler=run_seal)

    pubkey = verbs.add_parser("pubkey", help="print the seal public key (PEM) for inspectors")
    pubkey.add_argument("--out", type=Path, help="also write it to this file")
    pubkey.set_defaults(handler=run_pubkey)


def _print_result(result: TenantVerification, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    if result.ok:
        print(f"ok      tenant={result.tenant_id} events={result.events_checked} "
              f"head={result.head_position} seals={result.seals_checked}")
    else:
        print(f"BROKEN  tenant={result.tenant_id} events={result.events_checked} "
              f"first_broken_position={result.first_broken_position}")
        for problem in result.problems:
            print(f"        {problem}")
    for warning in result.warnings:
        print(f"WARNING tenant={result.tenant_id} {warning}")


def run_verify(args: argparse.Namespace) -> int:
    from danvan.infra.audit_verify import trusted_keys, verify_all, verify_export
    from danvan.infra.database import connect_owner
    from danvan.infra.seals import SealPolicy
    from danvan.infra.settings import get_settings

    settings = get_settings()
    keys = trusted_keys(settings, args.public_key)
    if args.file:
        results = [verify_export(args.file, check_signature=keys.check)]
    else:
        with connect_owner(settings_with_database(settings)) as conn:
            results = verify_all(conn, tenant_id=args.tenant, check_signature=keys.check,
                                 policy=SealPolicy.of(settings))
    for result in results:
        _print_result(result, args.json)
    if not results and not args.json:
        print("no events, heads or seals to verify")
    if not keys and any(r.seals_unverified for r in results):
        print("note: seal signatures not checked (no public key: pass --public-key)",
              file=sys.stderr)
    if not all(r.ok for r in results):
        return EXIT_BROKEN
    return EXIT_UNSEALED if any(r.warnings for r in results) else 0


def run_export(args: argparse.Namespace) -> int:
    from danvan.infra.audit_verify import export_tenant
    from danvan.infra.database import connect_owner
    from danvan.infra.settings import get_settings

    with connect_owner(settings_with_database(get_settings())) as conn:
        if args.out == "-":
            count = export_tenant(conn, args.tenant, sys.stdout)
        else:
            with open(args.out, "w", encoding="utf-8") as out:
                count = export_tenant(conn, args.tenant, out)
    print(f"exported {count} events of tenant {args.tenant}", file=sys.stderr)
    return 0


def run_seal(args: argparse.Namespace) -> int:
    from danvan.infra.database import connect_owner
    from danvan.infra.seals import SealPolicy, load_seal_key, seal_all
    from danvan.infra.settings import get_settings

    settings = get_settings()
    key = load_seal_key(settings)
    policy = SealPolicy.of(settings) if args.due else None
    with connect_owner(settings_with_database(settings)) as conn:
        results = seal_all(conn, key, tenant_id=args.tenant, policy=policy)
    for r in results:
        status = "sealed " if r.sealed else "REFUSED"
        print(f"{status} tenant={r.tenant_id} position={r.position}"
              + (f" ({r.reason})" if r.reason else ""))
    return 0 if all(r.sealed for r in results) else 1


def run_pubkey(args: argparse.Namespace) -> int:
    from danvan.infra.seals import key_id, load_seal_key, public_key_pem
    from danvan.infra.settings import get_settings

    public = load_seal_key(get_settings()).public_key()
    pem = public_key_pem(public)
    if args.out:
        args.out.write_bytes(pem)
    print(f"# key id {key_id(public)}")
    print(pem.decode("ascii"), end="")
    return 0
