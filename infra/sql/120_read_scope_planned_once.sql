-- 120: danvan_read.scope() reads the province's tenants with a static query instead of
-- EXECUTE, so PL/pgSQL keeps its plan for the session (EXECUTE parsed and planned it on every
-- call, and row-level security calls scope() once per table a statement reads: about 70 us
-- of the server's CPU each time). Same answer: the query, the guard for a directory not built
-- yet and the statement's snapshot are unchanged; a plan kept across a blue/green switch is
-- made again when the view it reads is replaced.
CREATE OR REPLACE FUNCTION danvan_read.scope() RETURNS text[]
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
        SELECT array_agg(t.tenant_id) INTO found FROM danvan_read.tenants t
         WHERE t.province_code = ANY (provinces);
    END IF;
    RETURN tenants || coalesce(found, '{}'::text[])
                   || array(SELECT 'province:' || p FROM unnest(provinces) AS p);
END
$$;
