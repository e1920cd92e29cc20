"""The baseline of ``danvan bench jobs``: dramatiq alone, no outbox and no bookkeeping. Its
worker is dramatiq's own (``python -m dramatiq bench.dramatiq_noop``); its one actor notes
how long after ``send()`` it started (a Redis list the benchmark reads) and does nothing."""

from __future__ import annotations

import os
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = os.environ.get("DANVAN_BENCH_NAMESPACE", "danvan-bench")
LATENCIES = f"{NAMESPACE}:latencies"

broker = RedisBroker(url=URL, namespace=NAMESPACE)
dramatiq.set_broker(broker)
_client = redis.Redis.from_url(URL)


@dramatiq.actor(queue_name="jobs", max_retries=0)
def noop(sent_at: float) -> None:
    _client.rpush(LATENCIES, time.time() - sent_at)
