-- 050: events a projection knows but cannot apply, and why a runner stopped.
--
-- A poison event (a value the read model cannot hold, a fold that fails on it) must not
-- freeze every projection of every tenant: the runner isolates it, records it here, skips it
-- for that projection version only and applies the rest (danvan.projections.quarantine).
-- An entry belongs to the version whose tables lack the event: dropping the version (after a
-- rebuild replayed the event with a fix or an upcaster in place) drops its entries, and only
-- the active versions' entries count for health, metrics and `danvan projector status`.

CREATE TABLE public.danvan_projection_quarantine (
    name text NOT NULL,
    version int NOT NULL,
    position bigint NOT NULL,
    tenant_id text,
    topic text NOT NULL,
    aggregate_id uuid NOT NULL,
    aggregate_version bigint NOT NULL,
    error text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version, position),
    FOREIGN KEY (name, version) REFERENCES public.danvan_projection_versions (name, version)
        ON DELETE CASCADE
);

-- A runner that meets an event no decoder knows (a topic renamed without an alias, a class
-- version newer than the code) stops there and says why; the next batch applied clears it.
ALTER TABLE public.danvan_projection_versions
    ADD COLUMN halted_at timestamptz,
    ADD COLUMN halt_reason text;

GRANT SELECT ON public.danvan_projection_quarantine TO :"app_role";
