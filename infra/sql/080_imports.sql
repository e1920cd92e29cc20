-- 080: the files sent to imports (danvan.infra.imports, danvan.backend.services.imports).
--
-- An import is a job (``jobs``, kind ``import_<kind>``) whose dedup key is its scope, kind and
-- the file's SHA-256, so the same file sent again to the same scope names the first job. The
-- file is kept here, written in the transaction that records the job. ``applied_at`` and
-- ``result`` are written in the transaction that appends the import's events (an
-- ``InTransaction`` writer of the event store), so a worker that dies after that commit and
-- before recording the job's outcome finds the import applied, and answers its result again
-- instead of applying anything twice. The file itself (it may hold passwords) is dropped once
-- the import is applied or refused; its hash stays, and the events name it. Purged with its
-- job.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.import_files (
    job_id uuid PRIMARY KEY REFERENCES public.jobs (job_id) ON DELETE CASCADE,
    scope text NOT NULL,
    kind text NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name text NOT NULL,
    content bytea NOT NULL,
    applied_at timestamptz,
    result jsonb
);

REVOKE ALL ON public.import_files FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.import_files TO :"app_role";
