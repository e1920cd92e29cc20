-- Distribute a migrated danvan database on a Citus coordinator (lab use; see
-- docs/scaling.md "Citus"). Run as a superuser on the coordinator, after `danvan migrate`
-- has made every projection's active version:
--
--   psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5440 -U postgres -d danvan_citus \
--        -f infra/deploy/citus/distribute.sql
--
-- Idempotent: tables already in Citus's metadata are left alone. It acts on the ACTIVE
-- read-model versions only: a rebuild (`danvan rebuild`) makes new, local tables, so run it
-- again after a switch (the new version's tables are empty until then only if the rebuild
-- itself ran against distributed tables -- it does not; see docs/scaling.md).
--
-- What goes where:
--   * the event store (danvan_events, snapshots, audit chain heads and seals), the
--     projection bookkeeping, jobs, credentials, keys: coordinator-local plain tables. The
--     events table keeps its sequence, its EXCLUSIVE-lock guard trigger and its per-row
--     hash-chain trigger, so the global notification order is exactly plain PostgreSQL's.
--     (Citus refuses to distribute it: "cannot distribute relation ... because it has
--     triggers"; and a lock on a distributed table would not order inserts across nodes.)
--   * the tenant directory and the targets: reference tables (copied to every node), so
--     the scope function and the quota reads find them on the node that runs the query.
--   * every read-model table whose unique keys all include tenant_id: distributed by
--     tenant_id, all colocated with rm_models_v1.quota_counts (a province's scope
--     'province:NN' is a tenant_id too, so province roll-ups land by province).
--   * read-model tables with a unique key without tenant_id (models, model_forms,
--     model_years, recognitions, progress_reports, unit_states, units, plan_tasks,
--     plan_task_units, reminders, users): stay coordinator-local. Citus refuses them ("cannot
--     create constraint ... that do not include the partition column"); distributing them
--     needs their keys widened to (tenant_id, key) and the projections' ON CONFLICT targets
--     with them: an application change, not made here.
--
-- Row-level security: Citus refuses a policy with a subquery on a distributed or
-- reference table ("Subqueries are not supported in policies on distributed tables"); the
-- application's policy is `tenant_id = ANY ((SELECT danvan_read.scope())::text[])`. This
-- file replaces it, on the tables it distributes, by `tenant_id = ANY (danvan_read.scope())`
-- (same rows on plain PostgreSQL; the scope is then evaluated on the worker, per row).
-- The workers only see the readers' scope if it reaches them: the application sets it with
-- set_config(), which Citus does not propagate, so workers see an empty scope and return no
-- rows (fail closed). `SET LOCAL danvan.tenant_ids = ...` with
-- citus.propagate_set_commands = 'local' (set below for the database) does reach them.

\set ON_ERROR_STOP 1

ALTER DATABASE :"DBNAME" SET citus.propagate_set_commands = 'local';

-- The tables this file places, by the active versions' schemas.
CREATE TEMP TABLE citus_plan AS
SELECT c.oid::regclass AS rel, c.relname::text AS name,
       CASE
           WHEN c.relname IN ('tenants', 'tenant_targets', 'province_targets', 'period_targets')
               THEN 'reference'
           WHEN NOT EXISTS (
               SELECT 1 FROM pg_index x
                WHERE x.indrelid = c.oid AND x.indisunique
                  AND NOT EXISTS (
                      SELECT 1 FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                         AND a.attnum = ANY (x.indkey)))
               THEN 'tenant'
           ELSE 'local'
       END AS placement,
       c.relname = 'quota_counts' AS anchor
  FROM pg_class c
  JOIN public.danvan_projection_versions v
    ON v.schema_name = c.relnamespace::regnamespace::text AND v.status = 'active'
 WHERE c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'tenant_id' AND NOT a.attisdropped)
   AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid);

-- 1. The scope policy without its subquery, on what will be distributed or replicated.
SELECT format('DROP POLICY IF EXISTS tenant_scope ON %s', rel),
       format('CREATE POLICY tenant_scope ON %s FOR SELECT USING '
              '(tenant_id = ANY (danvan_read.scope()))', rel)
  FROM citus_plan WHERE placement <> 'local' \gexec

-- 2. Reference tables.
SELECT format('SELECT create_reference_table(%L)', rel::text)
  FROM citus_plan WHERE placement = 'reference' \gexec

-- 3. Tenant tables: the anchor first, then the rest colocated with it.
SELECT format('SELECT create_distributed_table(%L, %L, colocate_with => %L)',
              rel::text, 'tenant_id', 'default')
  FROM citus_plan WHERE placement = 'tenant' AND anchor \gexec
SELECT format('SELECT create_distributed_table(%L, %L, colocate_with => %L)',
              rel::text, 'tenant_id',
              (SELECT p.logicalrelid::regclass::text FROM pg_dist_partition p
                 JOIN pg_class c ON c.oid = p.logicalrelid
                WHERE c.relname = 'quota_counts' LIMIT 1))
  FROM citus_plan WHERE placement = 'tenant' AND NOT anchor ORDER BY name \gexec

-- What is where now.
SELECT c.rel::text AS "table", c.placement,
       coalesce(p.partmethod, '-') AS method, coalesce(p.colocationid, 0) AS colocation
  FROM citus_plan c LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.rel
 ORDER BY c.placement, 1;
