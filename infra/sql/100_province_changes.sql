-- 100: which provinces each projected batch touched, so that what is cached per province
-- (graphql/figures.py) outlives a batch that changed only other provinces' rows.
--
-- danvan_province_changes counts, per province code, the batches whose events belong to one
-- of its tenants or to its own scope ('*' when a batch held an event of a tenant whose
-- province is unknown: every province then counts as changed). danvan_tenant_provinces is
-- the runner's own map from tenant to province, filled from Tenant.Onboarded events
-- (danvan.projections.province_changes). A rebuild's switch changes the active versions,
-- which every cache keys on too.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.danvan_province_changes (
    province_code text PRIMARY KEY,
    changes bigint NOT NULL
);

CREATE TABLE public.danvan_tenant_provinces (
    tenant_id text COLLATE "C" PRIMARY KEY,
    province_code text NOT NULL
);

DO $$
BEGIN
    IF to_regclass('danvan_read.tenants') IS NOT NULL THEN
        INSERT INTO public.danvan_tenant_provinces (tenant_id, province_code)
        SELECT tenant_id, province_code FROM danvan_read.tenants ON CONFLICT DO NOTHING;
    END IF;
END
$$;

GRANT SELECT ON public.danvan_province_changes TO :"app_role";
