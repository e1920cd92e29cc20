-- 070: background jobs (danvan.infra.outbox, danvan.infra.jobs, danvan.backend.jobs).
--
-- A job is a row of ``jobs``, written with an ``job_outbox`` row in the transaction of the
-- request that asks for it (the command's events, when it has any), so a job exists exactly
-- when its request committed. The relay deletes outbox rows as it hands them to the broker;
-- workers claim a job (queued -> running) before doing it and record one outcome, so a
-- message delivered twice does nothing twice. Job bookkeeping, not history: the effects of
-- a job are events in the store, and old finished jobs are purged.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.jobs (
    job_id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    tenant_id text,
    -- the scope it acts for: a tenant, a province (province:<code>), or NULL (the deployment)
    created_by text,
    -- the user who asked; NULL for scheduled jobs
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedup_key text UNIQUE,
    -- at most one job per key (a schedule's tick, a tenant's reminders of a day)
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    dead boolean NOT NULL DEFAULT false,
    -- failed after its last retry: listed by `danvan jobs dead`, replayed by `jobs retry`
    attempts integer NOT NULL DEFAULT 0,
    progress_done bigint NOT NULL DEFAULT 0,
    progress_total bigint,
    result jsonb,
    errors jsonb NOT NULL DEFAULT '[]'::jsonb,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    -- when it was last sent again (a retry, the reaper); the relay's first send leaves it
    started_at timestamptz,
    heartbeat_at timestamptz,
    finished_at timestamptz,
    CHECK (state <> 'succeeded' OR NOT dead)
) WITH (fillfactor = 70);

-- No index on what a job's life changes (state, times): claiming and finishing a job are
-- then HOT updates, which touch no index (the room fillfactor leaves keeps them on their
-- page). The reaper's and the purge's scans of the table run every few seconds and hourly.
CREATE INDEX jobs_tenant_created_idx ON public.jobs (tenant_id, created_at DESC, job_id DESC);
CREATE INDEX jobs_dead_idx ON public.jobs (created_at DESC, job_id DESC) WHERE dead;

CREATE TABLE public.job_outbox (
    outbox_id bigserial PRIMARY KEY,
    job_id uuid NOT NULL REFERENCES public.jobs (job_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX job_outbox_job_idx ON public.job_outbox (job_id);

-- A file a job produced (an audit export; reports later), kept with the job.
CREATE TABLE public.job_files (
    job_id uuid PRIMARY KEY REFERENCES public.jobs (job_id) ON DELETE CASCADE,
    name text NOT NULL,
    media_type text NOT NULL,
    content bytea NOT NULL
);

-- Counters for /metrics, shared by every process that runs jobs (monotonic: purging old
-- jobs leaves them alone). Latency: from the request's transaction to the job's first start.
-- Each process adds its counts every few seconds to its shard (of 16, by process id) of
-- each counter; readers sum the shards.
CREATE TABLE public.job_counts (
    kind text NOT NULL,
    outcome text NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (kind, outcome, shard)
);

CREATE TABLE public.job_latency (
    kind text NOT NULL,
    shard smallint NOT NULL,
    buckets bigint[] NOT NULL,
    -- observations per bucket of danvan.infra.jobs.LATENCY_BUCKETS (the last: above them)
    total bigint NOT NULL,
    sum_seconds double precision NOT NULL,
    PRIMARY KEY (kind, shard)
);

REVOKE ALL ON public.jobs, public.job_outbox, public.job_files, public.job_counts,
              public.job_latency FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.jobs, public.job_outbox, public.job_files,
    public.job_counts, public.job_latency TO :"app_role";
GRANT USAGE ON SEQUENCE public.job_outbox_outbox_id_seq TO :"app_role";
