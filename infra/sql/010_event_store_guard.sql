-- 010: immutable events and the per-tenant hash chain of public.danvan_events.
--
-- Runs after the library's own tables exist (migration 000_eventsourcing_tables).
-- :"app_role" is replaced by the application's role as a quoted identifier (psql -v syntax),
-- so this file also runs as: psql -v app_role=danvan_app -f 010_event_store_guard.sql
--
-- Canonical event hash (mirrored byte for byte by danvan.infra.audit_chain.event_hash):
--   hash = SHA-256( prev_hash                                  32 bytes; genesis: 32 x 0x00
--                 || int8 big-endian notification_id            8 bytes
--                 || originator_id as its 16 raw UUID bytes    16 bytes
--                 || int8 big-endian originator_version          8 bytes
--                 || int4 big-endian length(topic UTF-8) || topic UTF-8 (NULL as '')
--                 || int4 big-endian length(state)       || state bytes (NULL as '') )
-- prev_hash is the hash of the same tenant's previous event in notification_id order.

CREATE FUNCTION public.danvan_genesis_hash() RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea $$;

CREATE FUNCTION public.danvan_event_hash(
    prev bytea, notification_id bigint, originator_id uuid, originator_version bigint,
    topic text, state bytea
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT sha256(
        prev
        || int8send(notification_id)
        || uuid_send(originator_id)
        || int8send(originator_version)
        || int4send(octet_length(convert_to(coalesce(topic, ''), 'UTF8')))
        || convert_to(coalesce(topic, ''), 'UTF8')
        || int4send(octet_length(coalesce(state, ''::bytea)))
        || coalesce(state, ''::bytea))
$$;

-- The tenant of an event: the top-level string "tenant_id" of its JSON state. Required.
CREATE FUNCTION public.danvan_event_tenant(state bytea) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    doc jsonb := convert_from(state, 'UTF8')::jsonb;
BEGIN
    IF jsonb_typeof(doc -> 'tenant_id') IS DISTINCT FROM 'string' OR doc ->> 'tenant_id' = '' THEN
        RAISE EXCEPTION 'event state has no top-level string "tenant_id"'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN doc ->> 'tenant_id';
END
$$;

CREATE TABLE public.audit_chain_heads (
    tenant_id text PRIMARY KEY,
    position bigint NOT NULL,
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE TABLE public.audit_seals (
    seal_id bigserial PRIMARY KEY,
    tenant_id text NOT NULL,
    position bigint NOT NULL,
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now(),
    key_id text NOT NULL,
    signature bytea NOT NULL,
    UNIQUE (tenant_id, position, key_id)
);

-- Link one event to its tenant's chain and move the head. Callers hold the table's
-- EXCLUSIVE lock, so links are made in notification_id order, which is commit order.
CREATE FUNCTION public.danvan_chain_advance(
    p_tenant text, p_notification_id bigint, p_originator_id uuid,
    p_originator_version bigint, p_topic text, p_state bytea,
    OUT out_prev_hash bytea, OUT out_hash bytea
)
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    head_position bigint;
BEGIN
    SELECT h.position, h.hash INTO head_position, out_prev_hash
      FROM public.audit_chain_heads h WHERE h.tenant_id = p_tenant;
    IF NOT FOUND THEN
        out_prev_hash := public.danvan_genesis_hash();
    ELSIF head_position >= p_notification_id THEN
        RAISE EXCEPTION 'audit chain of tenant % is at position %, cannot append %',
            p_tenant, head_position, p_notification_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    out_hash := public.danvan_event_hash(out_prev_hash, p_notification_id, p_originator_id,
                                         p_originator_version, p_topic, p_state);
    INSERT INTO public.audit_chain_heads AS h (tenant_id, position, hash)
    VALUES (p_tenant, p_notification_id, out_hash)
    ON CONFLICT (tenant_id) DO UPDATE SET position = excluded.position, hash = excluded.hash;
END
$$;
REVOKE ALL ON FUNCTION public.danvan_chain_advance(text, bigint, uuid, bigint, text, bytea)
    FROM PUBLIC;

ALTER TABLE public.danvan_events
    ADD COLUMN tenant_id text,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash bytea;

-- Chain any rows written before this migration (none on a fresh database).
DO $$
DECLARE
    r record;
    link record;
BEGIN
    LOCK TABLE public.danvan_events IN EXCLUSIVE MODE;
    FOR r IN SELECT notification_id, originator_id, originator_version, topic, state
               FROM public.danvan_events ORDER BY notification_id LOOP
        link := public.danvan_chain_advance(public.danvan_event_tenant(r.state),
                    r.notification_id, r.originator_id, r.originator_version, r.topic, r.state);
        UPDATE public.danvan_events
           SET tenant_id = public.danvan_event_tenant(r.state),
               prev_hash = link.out_prev_hash, hash = link.out_hash
         WHERE notification_id = r.notification_id;
    END LOOP;
END
$$;

ALTER TABLE public.danvan_events
    ALTER COLUMN tenant_id SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT danvan_events_hash_length
        CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32);

CREATE INDEX danvan_events_tenant_position_idx
    ON public.danvan_events (tenant_id, notification_id);

-- BEFORE INSERT, per row: fill tenant_id, prev_hash and hash whatever the client sent.
CREATE FUNCTION public.danvan_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    link record;
BEGIN
    NEW.tenant_id := public.danvan_event_tenant(NEW.state);
    link := public.danvan_chain_advance(NEW.tenant_id, NEW.notification_id, NEW.originator_id,
                                        NEW.originator_version, NEW.topic, NEW.state);
    NEW.prev_hash := link.out_prev_hash;
    NEW.hash := link.out_hash;
    RETURN NEW;
END
$$;

-- BEFORE INSERT, per statement (before any notification_id is drawn): the inserting
-- transaction must hold the table's EXCLUSIVE lock (danvan_events_lock()), so that insert
-- order, chain order and commit order are one and the same.
CREATE FUNCTION public.danvan_events_require_lock() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks l
         WHERE l.locktype = 'relation' AND l.relation = TG_RELID
           AND l.pid = pg_backend_pid() AND l.granted
           AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
    ) THEN
        RAISE EXCEPTION 'insert into % without its EXCLUSIVE lock: call %.%_lock() first',
            TG_TABLE_NAME, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NULL;
END
$$;

-- Audit tables are append-only, for the owner too (short of disabling the triggers).
CREATE FUNCTION public.danvan_forbid_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is forbidden: audit records are immutable',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER danvan_events_require_lock BEFORE INSERT ON public.danvan_events
    FOR EACH STATEMENT EXECUTE FUNCTION public.danvan_events_require_lock();
CREATE TRIGGER danvan_events_chain BEFORE INSERT ON public.danvan_events
    FOR EACH ROW EXECUTE FUNCTION public.danvan_events_chain();
CREATE TRIGGER danvan_events_guard BEFORE UPDATE OR DELETE ON public.danvan_events
    FOR EACH ROW EXECUTE FUNCTION public.danvan_forbid_change();
CREATE TRIGGER danvan_events_guard_truncate BEFORE TRUNCATE ON public.danvan_events
    FOR EACH STATEMENT EXECUTE FUNCTION public.danvan_forbid_change();
CREATE TRIGGER audit_seals_guard BEFORE UPDATE OR DELETE ON public.audit_seals
    FOR EACH ROW EXECUTE FUNCTION public.danvan_forbid_change();
CREATE TRIGGER audit_seals_guard_truncate BEFORE TRUNCATE ON public.audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION public.danvan_forbid_change();

-- The application's role: read and append, never change or remove.
REVOKE ALL ON public.danvan_events, public.danvan_snapshots,
              public.audit_chain_heads, public.audit_seals FROM PUBLIC;
REVOKE ALL ON public.danvan_events, public.danvan_snapshots,
              public.audit_chain_heads, public.audit_seals FROM :"app_role";
GRANT SELECT, INSERT ON public.danvan_events TO :"app_role";
GRANT USAGE ON SEQUENCE public.danvan_events_notification_id_seq TO :"app_role";
GRANT SELECT, INSERT ON public.danvan_snapshots TO :"app_role";
GRANT SELECT ON public.audit_chain_heads TO :"app_role";
GRANT SELECT, INSERT ON public.audit_seals TO :"app_role";
GRANT USAGE ON SEQUENCE public.audit_seals_seal_id_seq TO :"app_role";
REVOKE ALL ON FUNCTION public.danvan_events_lock() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.danvan_events_lock() TO :"app_role";
