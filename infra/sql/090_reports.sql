-- 090: official reports (danvan.infra.reports, danvan.backend.reports): each document a
-- report job wrote, with what it reports and the read models' position its figures were
-- read at, so that an inspector can ask for the same document again `as_of` that moment.
-- A report's id is its job's (one document per job; a job run again replaces it).
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.reports (
    report_id uuid PRIMARY KEY,
    scope text NOT NULL,
    -- the tenant's id, or province:<code> for a province's report
    province_code text NOT NULL,
    kind text NOT NULL,
    year integer NOT NULL,
    period text,
    as_of timestamptz,
    -- the moment the figures were counted at (NULL: the read models as they stood)
    format text NOT NULL CHECK (format IN ('docx', 'xlsx', 'pdf')),
    position bigint NOT NULL,
    -- the log position every read model had reached when the figures were read
    file_name text NOT NULL,
    media_type text NOT NULL,
    content bytea NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reports_scope_created_idx ON public.reports (scope, created_at DESC, report_id);

REVOKE ALL ON public.reports FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.reports TO :"app_role";
