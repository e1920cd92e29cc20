"""Read-your-writes: ``Danvan-Min-Position: <n>`` holds a query until the read models reach
``n`` (the ``Danvan-Position`` a command answered), at most ``WAIT_SECONDS``; past that it is
answered as the data stood, flagged ``stale``. Every answer says the position it was read at
(``extensions.position``): a lower bound, since the stamp is read before the query runs.

The wait polls the shared ``Freshness`` stamp no more often than every ``POLL_SECONDS`` per
process, however many requests wait.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

from danvan.graphql.db import Reader
from danvan.graphql.freshness import Freshness, Stamp
from danvan.projections.schema import stamp_position as position_of

HEADER = "danvan-min-position"
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.01
MAX_POSITION = 2**63 - 1
"""A position is a PostgreSQL ``bigint``."""
_DIGITS = re.compile(r"^[0-9]{1,19}$")


class InvalidPosition(ValueError):
    """The header is not a non-negative integer (answered 400 ``invalid_position``)."""

    header = "Danvan-Min-Position"


def min_position(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.match(text) or int(text) > MAX_POSITION:
        raise InvalidPosition(value)
    return int(text)


@dataclass(frozen=True)
class ReadAt:
    stamp: Stamp
    stale: bool = False

    @property
    def position(self) -> int:
        return position_of(self.stamp)

    def extensions(self) -> dict[str, object]:
        return {"position": self.position, "stale": True} if self.stale \
            else {"position": self.position}


async def read_at(freshness: Freshness, reader: Reader, wanted: int | None, *,
                  wait: float = WAIT_SECONDS,
                  clock: Callable[[], float] | None = None) -> ReadAt:
    """The stamp to answer at: the current one, or, when the caller wants ``wanted``, the
    first that reached it within ``wait`` seconds (else the last seen, stale)."""
    stamp = await freshness.stamp(reader)
    if wanted is None or position_of(stamp) >= wanted:
        return ReadAt(stamp)
    now = clock or asyncio.get_running_loop().time
    deadline = now() + wait
    while True:
        left = deadline - now()
        if left <= 0:
            return ReadAt(stamp, stale=True)
        await asyncio.sleep(min(POLL_SECONDS, left))
        stamp = await freshness.stamp(reader, max_age=POLL_SECONDS)
        if position_of(stamp) >= wanted:
            return ReadAt(stamp)
