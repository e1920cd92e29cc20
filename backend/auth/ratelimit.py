"""Fixed-window rate limiting on Redis (INCR + EXPIRE NX), or in memory without Redis.

Litestar's ``RateLimitConfig`` keys on what a middleware can see before the body is read
(the client address) and counts with a non-atomic get/set per process, so it cannot limit
per username across workers; this limiter is called from the login handler with any key.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` per ``window_seconds`` for one key."""

    attempts: int
    window_seconds: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int


class Limiter(Protocol):
    async def hit(self, key: str, limit: Limit) -> Decision: ...


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str = "danvan:rl:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, key: str, limit: Limit) -> Decision:
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, limit.window_seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        retry_after = int(ttl) if int(ttl) > 0 else limit.window_seconds
        return Decision(allowed=int(count) <= limit.attempts, count=int(count),
                        retry_after=retry_after)


class MemoryLimiter:
    """One process's counters: for the embedded single-process mode and tests."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    async def hit(self, key: str, limit: Limit) -> Decision:
        now = time.monotonic()
        with self._lock:
            count, reset = self._windows.get(key, (0, now + limit.window_seconds))
            if reset <= now:
                count, reset = 0, now + limit.window_seconds
            count += 1
            self._windows[key] = (count, reset)
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        return Decision(allowed=count <= limit.attempts, count=count,
                        retry_after=max(1, math.ceil(reset - now)))
