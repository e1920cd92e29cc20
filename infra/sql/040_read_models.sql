-- 040: what the read models (danvan.projections) need from the database itself.
--
-- The read-model tables live in versioned schemas (rm_<projection>_v<N>) created by
-- danvan.projections.schema.ensure_read_models(), so that a rebuild fills new tables while
-- the old ones serve; readers use the views in schema danvan_read, which point at the active
-- version. This file holds what does not change with a version: the tracking tables, the
-- diacritics-folding function, the readers' scope function used by row-level security.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE EXTENSION IF NOT EXISTS unaccent;
-- GIN over plain columns (the audit log's tenant/actor/type filters): its pending list makes
-- an insert nearly free, where each extra B-tree would cost the projector about 5 us a row.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Lower case without diacritics: "Đường Hội Phụ nữ" -> "duong hoi phu nu" (unaccent's rules
-- map đ/Đ to d/D). Immutable so that it may be indexed; the dictionary is named explicitly.
CREATE FUNCTION public.danvan_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, public
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

-- One row per projection: which version readers see. Runners lock it (FOR UPDATE) for each
-- batch, so a rebuild's switch and a live batch never interleave.
CREATE TABLE public.danvan_projections (
    name text PRIMARY KEY,
    active_version int NOT NULL,
    switched_at timestamptz NOT NULL DEFAULT now()
);

-- One row per built (or building) version: where its tables are and how far it has read.
CREATE TABLE public.danvan_projection_versions (
    name text NOT NULL,
    version int NOT NULL,
    schema_name text NOT NULL UNIQUE,
    ddl_hash text NOT NULL,
    status text NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    position bigint NOT NULL DEFAULT 0,
    events_applied bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    advanced_at timestamptz,
    caught_up_at timestamptz,
    PRIMARY KEY (name, version)
);

CREATE SCHEMA danvan_read;

-- The tenant ids the current reader may see: those listed in the session setting
-- danvan.tenant_ids (comma-separated), plus every tenant (and the province scope itself) of
-- the provinces listed in danvan.province_codes. Unset settings allow nothing.
-- SECURITY DEFINER: it reads the directory past row-level security.
CREATE FUNCTION danvan_read.scope() RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    tenants text[] := coalesce(
        string_to_array(nullif(current_setting('danvan.tenant_ids', true), ''), ','),
        '{}'::text[]);
    provinces text[] := coalesce(
        string_to_array(nullif(current_setting('danvan.province_codes', true), ''), ','),
        '{}'::text[]);
    found text[];
BEGIN
    IF cardinality(provinces) = 0 THEN
        RETURN tenants;
    END IF;
    IF to_regclass('danvan_read.tenants') IS NOT NULL THEN
        EXECUTE 'SELECT array_agg(tenant_id) FROM danvan_read.tenants '
                'WHERE province_code = ANY($1)' INTO found USING provinces;
    END IF;
    RETURN tenants || coalesce(found, '{}'::text[])
                   || array(SELECT 'province:' || p FROM unnest(provinces) AS p);
END
$$;
REVOKE ALL ON FUNCTION danvan_read.scope() FROM PUBLIC;

GRANT USAGE ON SCHEMA danvan_read TO :"app_role";
GRANT EXECUTE ON FUNCTION danvan_read.scope() TO :"app_role";
GRANT EXECUTE ON FUNCTION public.danvan_fold(text) TO :"app_role";
GRANT SELECT ON public.danvan_projections, public.danvan_projection_versions TO :"app_role";
