"""CPU seconds (user + system) spent so far by processes of this machine, from Linux ``/proc``:
given processes, a process and its descendants (a server and its workers), a database's
backends. A process gone meanwhile counts nothing."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def processes_cpu(pids: Iterable[int]) -> float:
    return sum(_own_cpu(pid) or 0.0 for pid in pids)


def each_process_cpu(pids: Iterable[int]) -> dict[int, float]:
    """Each process's CPU seconds so far, for those of ``pids`` still running."""
    found = {pid: _own_cpu(pid) for pid in pids}
    return {pid: seconds for pid, seconds in found.items() if seconds is not None}


def spent_since(before: dict[int, float], pids: Iterable[int]) -> float:
    """CPU seconds ``pids`` spent since ``each_process_cpu`` gave ``before``: a process not in
    it counts from zero (it started meanwhile), one gone counts nothing."""
    return sum(seconds - before.get(pid, 0.0)
               for pid, seconds in each_process_cpu(pids).items())


def process_tree_cpu(pid: int) -> float:
    return processes_cpu(_tree(pid))


def database_backends(conn: Any) -> set[int]:
    """The client backends of ``conn``'s database, but ``conn``'s own."""
    return {pid for (pid,) in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")}


def _own_cpu(pid: int) -> float | None:
    """None: the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found
