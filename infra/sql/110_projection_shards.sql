-- 110: projector shards by tenant hash (danvan.projections.sharding).
--
-- A version is kept unsharded (shards = 1: its position is the version row's) or in N tenant
-- shards: each shard K applies the events of the tenants whose hash mod N is K and keeps its
-- own position here; the version row's position is then the lowest of its shards'. The layout
-- is set by a rebuild (`danvan rebuild --shards N`) or, while every shard is at one
-- position, in place (`danvan projector reshard`); a runner refuses a version kept in
-- another layout than its --shard, so sharded and unsharded runners never mix.

ALTER TABLE public.danvan_projection_versions
    ADD COLUMN shards int NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 1024);

CREATE TABLE public.danvan_projection_shards (
    name text NOT NULL,
    version int NOT NULL,
    shard int NOT NULL,
    shards int NOT NULL,
    position bigint NOT NULL,
    events_applied bigint NOT NULL DEFAULT 0,
    advanced_at timestamptz,
    caught_up_at timestamptz,
    halted_at timestamptz,
    halt_reason text,
    PRIMARY KEY (name, version, shard),
    CHECK (shard >= 0 AND shard < shards),
    FOREIGN KEY (name, version) REFERENCES public.danvan_projection_versions (name, version)
        ON DELETE CASCADE
);

-- The shard that set a poison event aside (NULL: an unsharded runner).
ALTER TABLE public.danvan_projection_quarantine ADD COLUMN shard int;

GRANT SELECT ON public.danvan_projection_shards TO :"app_role";
