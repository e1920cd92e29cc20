-- 030: Idempotency-Key records of commands (danvan.backend.http.idempotency).
--
-- One row per (user, key), kept 24 hours. The row is first written inside the transaction
-- that appends the command's events (attempt_id claims it, saved lists the aggregates and
-- versions reached), then completed with the first 2xx answer (status, body, headers).
-- A row with saved but no status means the events were committed and the answer was lost:
-- a retry answers from the saved versions and appends nothing.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.idempotency_keys (
    user_id text NOT NULL,
    key text NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    method text NOT NULL,
    path text NOT NULL,
    attempt_id text NOT NULL,
    saved jsonb NOT NULL DEFAULT '[]'::jsonb,
    status smallint CHECK (status IS NULL OR status BETWEEN 200 AND 299),
    body bytea,
    headers jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_expires_at_idx ON public.idempotency_keys (expires_at);

REVOKE ALL ON public.idempotency_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.idempotency_keys TO :"app_role";
