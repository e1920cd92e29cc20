"""How far a streaming replica's read models are behind the primary's: one definition for the
read API's routing (``graphql/replica.py``) and for ``/health/ready``.

Level or ahead (the replica's read models have reached the primary's position), it is 0 s
behind. Behind, it is at most the time since the last transaction it replayed was committed on
the primary (``pg_last_xact_replay_timestamp``): every commit it lacks came later. That bound
is what is reported and compared with ``DANVAN_REPLICA_MAX_LAG``. It needs no privilege on
either server, and it is right whether the replica lags in receiving or in replaying WAL.
"""

from __future__ import annotations

from dataclasses import dataclass

from danvan.projections.base import Connection
from danvan.projections.schema import read_models_stamp, stamp_position


@dataclass(frozen=True)
class ReplicaState:
    stamp: tuple[int, ...]
    """The replica's ``read_models_stamp`` (active versions and their positions)."""
    seconds_since_replay: float | None
    """Since the commit of the last transaction it replayed (None: none yet, or not a
    replica)."""

    @property
    def position(self) -> int:
        return stamp_position(self.stamp)


def replica_state(conn: Connection) -> ReplicaState:
    """Read on the replica, in one transaction-free round trip each."""
    stamp = read_models_stamp(conn)
    row = conn.execute("SELECT extract(epoch FROM clock_timestamp() "
                       "- pg_last_xact_replay_timestamp())::float8").fetchone()
    return ReplicaState(stamp, None if row is None or row[0] is None else max(0.0, row[0]))


def behind_seconds(primary_position: int, state: ReplicaState) -> float | None:
    """0 when the replica's read models have reached ``primary_position``; else the bound
    above (None: unknown, so too far)."""
    if state.position >= primary_position:
        return 0.0
    return state.seconds_since_replay
