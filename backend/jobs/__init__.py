"""Background jobs on dramatiq: thin actors over the services (DESIGN §2).

| module | what |
|---|---|
| ``kinds.py`` | every kind of job: its queue, time limit, handler, who reads it |
| ``running.py`` | one delivery of a job's message: claim, run the handler, one outcome |
| ``broker.py`` | the broker (Redis at ``REDIS_URL``, else in-process) and the actors on it |
| ``schedule.py`` | what runs on a schedule (Vietnam time), through the outbox |
| ``process.py`` | ``danvan worker`` (processes × threads); jobs inside ``danvan serve`` |
| ``maintenance.py``, ``reminders.py``, ``operations.py`` | the handlers |

A job is asked for through the outbox (``infra/outbox.py``) and recorded in ``jobs``
(``infra/jobs.py``); nothing sends to the broker but the relay.
"""
