"""Jobs as the read API lists them (``public.jobs``, written by the job platform,
``infra/jobs.py``): not a read model (jobs are bookkeeping, not history), but read like one."""
