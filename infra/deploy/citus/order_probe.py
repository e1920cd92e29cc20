"""Does a reader of a log distributed by tenant ever see a later position before an earlier
one? (docs/scaling.md, "Citus".) Lab use only, not part of ``make test``.

    .venv/bin/python infra/deploy/citus/order_probe.py \\
        postgresql://postgres@127.0.0.1:5440/danvan_citus --seconds 20

Makes schema ``citus_probe`` (dropped at the end) with two logs shaped like the event store's
ordering: ``dist_log`` distributed by tenant over two shards (one on each worker), and
``local_log``, a coordinator-local table. A writer appends transactions of two rows, one for a
tenant on each worker, numbered from one coordinator sequence under the library's
``LOCK TABLE ... IN EXCLUSIVE MODE`` (Citus propagates it to the workers); a reader meanwhile
counts the rows and takes the lowest and highest number. On a log where insert order is
commit order and a transaction becomes visible at once, every read sees a prefix: count =
highest - lowest + 1. A read that sees fewer has seen a number while a lower one was not yet
visible: a projector that kept that number as its position would never apply the lower one.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import psycopg

SETUP = """
DROP SCHEMA IF EXISTS citus_probe CASCADE;
CREATE SCHEMA citus_probe;
CREATE SEQUENCE citus_probe.ids;
CREATE TABLE citus_probe.dist_log (tenant_id text NOT NULL, id bigint NOT NULL,
                                   PRIMARY KEY (tenant_id, id));
SELECT create_distributed_table('citus_probe.dist_log', 'tenant_id',
                                colocate_with => 'none', shard_count => 2);
CREATE TABLE citus_probe.local_log (tenant_id text NOT NULL, id bigint NOT NULL,
                                    PRIMARY KEY (tenant_id, id));
"""


def two_tenants(conn: psycopg.Connection[Any]) -> tuple[str, str]:
    """Two tenant ids whose shards are on different workers."""
    by_port: dict[int, str] = {}
    for candidate in (f"t{i}" for i in range(100)):
        row = conn.execute(
            "SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = "
            "get_shard_id_for_distribution_column('citus_probe.dist_log', %s::text)",
            (candidate,)).fetchone()
        assert row is not None
        by_port.setdefault(int(row[0]), candidate)
        if len(by_port) == 2:
            first, second = by_port.values()
            return first, second
    raise RuntimeError("the two shards are on one node")


def probe(url: str, table: str, tenants: tuple[str, str], seconds: float) -> str:
    stop = threading.Event()
    written = [0]
    reads = [0]
    partial: list[tuple[int, int]] = []

    def writer() -> None:
        with psycopg.connect(url) as conn:
            while not stop.is_set():
                first, second = tenants if written[0] % 2 else tenants[::-1]
                with conn.transaction():
                    conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                    conn.execute(f"INSERT INTO {table} VALUES "
                                 "(%s, nextval('citus_probe.ids')), "
                                 "(%s, nextval('citus_probe.ids'))", (first, second))
                written[0] += 1

    def reader() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(f"SELECT count(*), coalesce(max(id) - min(id) + 1, 0) "
                                   f"FROM {table}").fetchone()
                assert row is not None
                reads[0] += 1
                if row[0] != row[1]:
                    partial.append((int(row[0]), int(row[1])))

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return (f"{table}: {written[0]} transactions of 2 rows, {reads[0]} reads; "
            f"{len(partial)} reads saw a number while a lower one was missing "
            f"(rows seen, span): {partial[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the Citus coordinator's database (a superuser)")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(SETUP)
        tenants = two_tenants(conn)
    try:
        for table in ("citus_probe.dist_log", "citus_probe.local_log"):
            print(probe(args.url, table, tenants, args.seconds), flush=True)
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA citus_probe CASCADE")


if __name__ == "__main__":
    main()
