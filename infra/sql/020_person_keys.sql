-- 020: per-person data keys for personal data of individual exemplars (crypto-shredding).
--
-- Events carry personal data only as ciphertext sealed with the person's data key
-- (danvan.infra.personal_data). Each key is stored wrapped (AES-256-GCM) by a
-- key-encryption key derived from the service secret, which is never in the database.
-- Erasing a key sets wrapped_key to NULL and keeps the row, so the data is reported as
-- erased rather than unknown; an erased key can never be given material again.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.person_keys (
    key_id uuid PRIMARY KEY,
    tenant_id text NOT NULL CHECK (tenant_id <> ''),
    person_id text NOT NULL CHECK (person_id <> ''),
    -- nonce (12 bytes) || AES-256-GCM(kek, data key) || tag (16 bytes); NULL once erased
    wrapped_key bytea CHECK (wrapped_key IS NULL OR octet_length(wrapped_key) = 60),
    -- fingerprint of the key-encryption key that wrapped it (tells a wrong or old KEK apart)
    kek_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    erased_reason text,
    CONSTRAINT person_keys_erased_means_no_key CHECK (
        (erased_at IS NULL AND wrapped_key IS NOT NULL AND erased_reason IS NULL)
        OR (erased_at IS NOT NULL AND wrapped_key IS NULL AND erased_reason IS NOT NULL))
);

-- At most one live key per person of a tenant; an erased person may get a new key later.
CREATE UNIQUE INDEX person_keys_one_live_key_per_person
    ON public.person_keys (tenant_id, person_id) WHERE erased_at IS NULL;
CREATE INDEX person_keys_tenant_person_idx ON public.person_keys (tenant_id, person_id);

-- Identity columns never change; an erased key never changes again (no "un-erase").
CREATE FUNCTION public.person_keys_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NEW.key_id IS DISTINCT FROM OLD.key_id
       OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
       OR NEW.person_id IS DISTINCT FROM OLD.person_id
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'person_keys: key_id, tenant_id, person_id and created_at are immutable'
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.erased_at IS NOT NULL THEN
        RAISE EXCEPTION 'person_keys: key % was erased at % and cannot change', OLD.key_id, OLD.erased_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER person_keys_guard BEFORE UPDATE ON public.person_keys
    FOR EACH ROW EXECUTE FUNCTION public.person_keys_guard();

-- The application creates, reads, rewraps and erases keys. No DELETE: the row is the
-- record that the data was erased.
REVOKE ALL ON public.person_keys FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON public.person_keys TO :"app_role";
