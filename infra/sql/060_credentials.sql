-- 060: each user's credentials generation (danvan.backend.auth.credentials).
--
-- generation is the version of the user's latest credentials change (roles, password,
-- deactivation: the User events derived from CredentialsChanged in danvan.domain.users).
-- Each access token carries the generation it was issued at; a token with an older one is
-- refused. The row is written by the application in the very transaction that appends the
-- event (the recorder hook of danvan.backend.http.idempotency), so every process sees the
-- new generation from the moment the command's commit is visible. A user without a row has
-- had no credentials change since registering (generation 0).
-- The events stay the truth: danvan.backend.auth.credentials.rebuild_generations
-- recomputes the rows from them.
-- :"app_role" is replaced by the application's role (psql -v syntax, see 010).

CREATE TABLE public.user_credentials (
    user_id uuid PRIMARY KEY,
    generation bigint NOT NULL CHECK (generation > 0),
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- A generation never goes back: a token refused once stays refused.
CREATE FUNCTION public.user_credentials_forward_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        RAISE EXCEPTION 'user_credentials: user_id is immutable'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.generation < OLD.generation THEN
        RAISE EXCEPTION 'user_credentials: generation % of user % cannot go back to %',
            OLD.generation, OLD.user_id, NEW.generation
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER user_credentials_forward_only BEFORE UPDATE ON public.user_credentials
    FOR EACH ROW EXECUTE FUNCTION public.user_credentials_forward_only();

REVOKE ALL ON public.user_credentials FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON public.user_credentials TO :"app_role";
