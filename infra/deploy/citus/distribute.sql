-- Distribute a migrated danvan database on a Citus coordinator (lab use; see
-- docs/scaling.md "Citus"). Run as a superuser on the coordinator, after `danvan migrate`
-- has made every projection's active version:
--
--   psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5440 -U postgres -d danvan_citus \
--        -f infra/deploy/citus/distribute.sql
--
-- Idempotent: tables already in Citus's metadata are left alone. It acts on the ACTIVE
-- read-model versions only: a rebuild (`danvan rebuild`) makes new, local tables, so run it
-- again after a switch (the rebuild itself filled local tables on the coordinator: the
-- move happens then, with the data; see docs/scaling.md).
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
-- application's policy is `tenant_id = ANY ((SELECT danvan_read.scope())::text[])`. Without
-- the subquery, `tenant_id = ANY (danvan_read.scope())` is accepted but runs on the workers,
-- once per row, and for a province scope it reads the directory from a worker: "cannot
-- execute a distributed query from a query on a shard". So the policy here reads one
-- setting only, danvan.scope (the tenant ids, comma-separated), through an inlinable SQL
-- function, and the scope is worked out once on the coordinator by the reader:
--
--   BEGIN;
--   SELECT set_config('danvan.tenant_ids', ..., true), set_config('danvan.province_codes', ..., true);
--   SELECT array_to_string(danvan_read.scope(), ',');      -- on the coordinator
--   SET LOCAL danvan.scope = '<that list>';                -- SET, not set_config()
--
-- It has to be SET LOCAL: Citus sends SET LOCAL to the workers of the transaction when
-- citus.propagate_set_commands = 'local' (set below for the database), never set_config().
-- The application's scoped() uses set_config(), which leaves the workers with an empty
-- scope: they return no rows (fail closed). A Citus deployment needs scoped() to add the
-- two statements above: an application change, not made here.

\set ON_ERROR_STOP 1
-- Shards per distributed table: -v shard_count=N (default: the server's citus.shard_count).
\if :{?shard_count}
SET citus.shard_count = :shard_count;
\endif

ALTER DATABASE :"DBNAME" SET citus.propagate_set_commands = 'local';

-- The tenant ids the policies below let a reader see: the setting danvan.scope.
CREATE OR REPLACE FUNCTION danvan_read.scope_list() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(string_to_array(nullif(current_setting('danvan.scope', true), ''), ','),
                      '{}'::text[]) $$;
GRANT EXECUTE ON FUNCTION danvan_read.scope_list() TO PUBLIC;

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
       c.relname = 'quota_counts' AS anchor,
       EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid) AS placed
  FROM pg_class c
  JOIN public.danvan_projection_versions v
    ON v.schema_name = c.relnamespace::regnamespace::text AND v.status = 'active'
 WHERE c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'tenant_id' AND NOT a.attisdropped);

-- 1. The scope policy without its subquery, on what will be distributed or replicated.
SELECT format('DROP POLICY IF EXISTS tenant_scope ON %s', rel),
       format('CREATE POLICY tenant_scope ON %s FOR SELECT USING '
              '(tenant_id = ANY (danvan_read.scope_list()))', rel)
  FROM citus_plan WHERE placement <> 'local' \gexec

-- 2. Reference tables.
SELECT format('SELECT create_reference_table(%L)', rel::text)
  FROM citus_plan WHERE placement = 'reference' AND NOT placed \gexec

-- 3. Tenant tables: the anchor first, then the rest colocated with it.
SELECT format('SELECT create_distributed_table(%L, %L, colocate_with => %L)',
              rel::text, 'tenant_id', 'default')
  FROM citus_plan WHERE placement = 'tenant' AND anchor AND NOT placed \gexec
SELECT format('SELECT create_distributed_table(%L, %L, colocate_with => %L)',
              rel::text, 'tenant_id',
              (SELECT p.logicalrelid::regclass::text FROM pg_dist_partition p
                 JOIN pg_class c ON c.oid = p.logicalrelid
                WHERE c.relname = 'quota_counts' LIMIT 1))
  FROM citus_plan WHERE placement = 'tenant' AND NOT anchor AND NOT placed ORDER BY name \gexec

-- 4. A table distributed with rows in it (after a rebuild's switch) keeps its old rows in
--    the coordinator's local copy, unread; free them.
SELECT format('SELECT truncate_local_data_after_distributing_table(%L)', rel::text)
  FROM citus_plan WHERE placement <> 'local' \gexec

-- What is where now.
SELECT c.rel::text AS "table", c.placement,
       coalesce(p.partmethod, '-') AS method, coalesce(p.colocationid, 0) AS colocation
  FROM citus_plan c LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.rel
 ORDER BY c.placement, 1;
