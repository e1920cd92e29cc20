"""The broker and the actors on it: Redis at ``REDIS_URL``, else in-process (dramatiq's
``StubBroker``, for ``danvan serve`` on one machine with nothing installed).

    broker = make_broker(settings)
    declare_actors(broker, runtime)        # in each process that runs jobs
    send = sender(broker)                  # the relay's way to the queues

Configured for this project rather than dramatiq's defaults (FIELD-NOTES): retries
``DANVAN_JOB_MAX_RETRIES`` times with backoff from ``DANVAN_JOB_MIN_BACKOFF`` to
``DANVAN_JOB_MAX_BACKOFF`` seconds (not 20 from 15 s), a crashed worker's messages return
after ``DANVAN_JOB_LEASE`` seconds (dramatiq's heartbeat timeout; the reaper of
``process.py`` resends the job itself after the same time), and an idle worker looks at its
queues every ``DANVAN_JOB_POLL_MS`` ms at most (1 s by default, which would be a job's
latency after a quiet minute). Every actor takes one argument, the job's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import current_millis
from dramatiq.middleware import CurrentMessage, Retries, ShutdownNotifications, TimeLimit

from danvan.backend.jobs.kinds import KINDS, kind_of
from danvan.backend.jobs.running import Runtime, perform
from danvan.infra.outbox import Send
from danvan.infra.settings import Settings

REDIS_SOCKET_TIMEOUT = 10


def make_broker(settings: Settings, *, in_process: bool | None = None) -> dramatiq.Broker:
    """Redis when ``REDIS_URL`` is set (unless ``in_process``), else in-process."""
    middleware: list[Any] = [
        TimeLimit(),
        ShutdownNotifications(),
        Retries(max_retries=settings.job_max_retries,
                min_backoff=settings.job_min_backoff_seconds * 1000,
                max_backoff=settings.job_max_backoff_seconds * 1000),
        CurrentMessage(),
    ]
    if in_process is None:
        in_process = settings.redis_url is None
    if in_process:
        return StubBroker(middleware=middleware)
    assert settings.redis_url is not None
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2,
                                  socket_timeout=REDIS_SOCKET_TIMEOUT)
    return RedisBroker(client=client, namespace=settings.job_namespace,
                       heartbeat_timeout=settings.job_lease_seconds * 1000,
                       middleware=middleware)


def declare_actors(broker: dramatiq.Broker, runtime: Runtime) -> None:
    """One actor per kind of job, each doing ``perform`` for the job id it is given."""
    max_retries = runtime.settings.job_max_retries

    def act(job_id: str) -> None:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0)) if message is not None else 0
        perform(runtime, job_id, retries=retries, max_retries=max_retries)

    for kind in KINDS.values():
        dramatiq.actor(actor_name=kind.name, queue_name=kind.queue, broker=broker,
                       time_limit=kind.time_limit_seconds * 1000, max_retries=max_retries)(act)


def sender(broker: dramatiq.Broker) -> Send:
    """Hands jobs to their kinds' queues (what the relay calls). On Redis, a batch goes in
    one pipelined round trip: each message exactly as ``RedisBroker.enqueue`` would send it
    (its enqueue script, a fresh redis message id), so the relay keeps up with the workers."""

    def message(kind: str, job_id: str, **options: Any) -> dramatiq.Message[Any]:
        return dramatiq.Message(queue_name=kind_of(kind).queue, actor_name=kind,
                                args=(job_id,), kwargs={}, options=options)

    if not isinstance(broker, RedisBroker):
        def send_each(jobs: Sequence[tuple[str, str]]) -> None:
            for kind, job_id in jobs:
                broker.enqueue(message(kind, job_id))

        return send_each

    redis_broker = broker
    dispatch = redis_broker.scripts["dispatch"]

    def send_pipelined(jobs: Sequence[tuple[str, str]]) -> None:
        pipeline = redis_broker.client.pipeline(transaction=False)
        unpack = redis_broker._max_unpack_size()
        for kind, job_id in jobs:
            one = message(kind, job_id, redis_message_id=str(uuid.uuid4()))
            redis_broker.emit_before("enqueue", one, None)
            dispatch(keys=[redis_broker.namespace], client=pipeline, args=[
                "enqueue", current_millis(), one.queue_name, redis_broker.broker_id,
                redis_broker.heartbeat_timeout, redis_broker.dead_message_ttl, 0, unpack,
                one.options["redis_message_id"], one.encode()])
        pipeline.execute()

    return send_pipelined


def live_workers(client: Any, settings: Settings, now_ms: int) -> Any:
    """How many worker processes signalled within the lease (dramatiq's heartbeats), as an
    awaitable when ``client`` is asyncio's."""
    key = f"{settings.job_namespace}:__heartbeats__"
    return client.zcount(key, now_ms - settings.job_lease_seconds * 1000, "+inf")
