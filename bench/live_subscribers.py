"""Memory of idle live subscribers: opens N ``graphql-transport-ws`` sockets to a running
``danvan serve``, each subscribed to ``quotaChanged``, and reports the server's RSS (its
process and every descendant, from ``/proc``) before, with them open, and after they close.

    python -m bench.live_subscribers --url http://127.0.0.1:8765 --pid SERVE_PID \\
        --username admin.laocai --password dan-van-kheo-2026 --sockets 1000

Every socket has its ``connection_ack`` before RSS is read; 100 sockets are opened and
closed first (``--warm-up``), so imports, the province's figures and the allocator's arenas
are not counted.

Measured 2026-12-04 on the demo data (Lào Cai 2026), a fresh ``danvan serve --workers 1``
each time, on the shared 2-core machine: 1000 subscribed sockets cost 162 KiB each under
granian (338 → 496 MiB), of which 147 KiB are the signed-in socket alone
(``--connect-only``: granian's own per-socket buffers, which it does not let us size);
under uvicorn (``--server uvicorn``) 85 KiB each (246 → 330 MiB) with permessage-deflate,
48 KiB each (243 → 289 MiB) once ``danvan serve`` turned it off (a zlib context per socket
was about 50 KiB of it, found with tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

QUERY = ("subscription($code: ID!, $year: Int!) { quotaChanged(provinceCode: $code, "
         "year: $year) { tenant { id } newModels status } }")


def tree_rss_kib(pid: int) -> int:
    """RSS of ``pid`` and its descendants, KiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in (Path("/proc") / str(current) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


async def subscriber(url: str, token: str, code: str, year: int,
                     subscribe: bool = True) -> ClientConnection:
    ws = await connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                       open_timeout=60, ping_interval=None)
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"Authorization": f"Bearer {token}"}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    if not subscribe:
        return ws
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": QUERY, "variables": {"code": code, "year": year}}}))
    return ws


async def run(args: argparse.Namespace) -> dict[str, object]:
    token = httpx.post(f"{args.url}/api/v1/auth/token", json={
        "username": args.username, "password": args.password}, timeout=30).json()["access_token"]
    ws_url = args.url.replace("http", "ws", 1) + "/graphql"
    if args.warm_up:  # imports, the province's figures in the cache, the allocator's arenas
        warm = await asyncio.gather(*(subscriber(ws_url, token, args.province, args.year,
                                                 not args.connect_only)
                                      for _ in range(args.warm_up)))
        await asyncio.sleep(1)
        await asyncio.gather(*(ws.close() for ws in warm))
    await asyncio.sleep(args.settle)
    before = tree_rss_kib(args.pid)
    sockets: list[ClientConnection] = []
    started = time.monotonic()
    for start in range(0, args.sockets, 50):
        sockets += await asyncio.gather(*(subscriber(ws_url, token, args.province, args.year,
                                                     not args.connect_only)
                                          for _ in range(start, min(start + 50, args.sockets))))
    opened = time.monotonic() - started
    await asyncio.sleep(args.settle)
    during = tree_rss_kib(args.pid)
    await asyncio.gather(*(ws.close() for ws in sockets))
    await asyncio.sleep(args.settle)
    after = tree_rss_kib(args.pid)
    return {"sockets": len(sockets), "opened_in_s": round(opened, 1),
            "rss_before_mib": round(before / 1024, 1), "rss_open_mib": round(during / 1024, 1),
            "rss_after_close_mib": round(after / 1024, 1),
            "kib_per_idle_subscriber": round((during - before) / max(1, len(sockets)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--pid", type=int, required=True, help="the danvan serve process")
    parser.add_argument("--username", default="admin.laocai")
    parser.add_argument("--password", default="dan-van-kheo-2026")
    parser.add_argument("--province", default="15")
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--warm-up", type=int, default=100,
                        help="sockets opened and closed before the first reading")
    parser.add_argument("--connect-only", action="store_true",
                        help="sockets that sign in but subscribe to nothing "
                             "(the transport's share)")
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
