-- Why: a check run judges what a change adds, not the repository's old debt (DESIGN.md section 9).
-- An analysis remembers the base it was judged against and the exact new / fixed counts; every
-- finding's fingerprint is kept in one compact value per analysis (`fingerprints`: the sorted
-- 64-bit fingerprints, 8 bytes each, big-endian), also for findings beyond the stored cap, so a
-- later analysis on top of this one classifies exactly without reading findings rows. Stored
-- findings gain their own fingerprint and whether they were new.
--
-- Only nullable columns without a default are added: PostgreSQL then changes the catalogue only,
-- so the upgrade takes the same few milliseconds on a table of any size (no rewrite, no scan);
-- rows written before it read as NULL ("not classified"), which the worker and the views treat as
-- no base.

ALTER TABLE analyses
    ADD COLUMN base_analysis_id bigint,   -- the analysis judged against (no FK: partitioned)
    ADD COLUMN new_findings     bigint,   -- NULL: no base
    ADD COLUMN fixed_findings   bigint,
    ADD COLUMN fingerprints     bytea;    -- sorted uint64 big-endian; NULL before this migration

ALTER TABLE findings
    ADD COLUMN fingerprint bigint,        -- the uint64 as a signed bigint (same bits)
    ADD COLUMN is_new      boolean;       -- NULL: no base

-- The analysis a change is judged against, with what classification needs: the latest completed
-- analysis of p_base_sha that has fingerprints, else (no base commit given) the latest completed
-- one on p_ref of another commit. Bounded by analysed_commits / analysed_refs (migration 0003).
CREATE FUNCTION singularity_find_gate_base(
    p_repository_id bigint, p_engine_version text, p_base_sha text, p_ref text, p_head_sha text)
RETURNS TABLE (o_id bigint, o_created_at timestamptz, o_head_sha text, o_score numeric,
               o_fingerprints bytea)
LANGUAGE plpgsql AS $$
DECLARE
    v_first timestamptz;
BEGIN
    IF p_base_sha IS NOT NULL THEN
        SELECT c.first_at INTO v_first
        FROM analysed_commits c
        WHERE c.repository_id = p_repository_id AND c.head_sha = p_base_sha;
        IF v_first IS NULL THEN
            RETURN;
        END IF;
        RETURN QUERY
        SELECT x.id, x.created_at, x.head_sha, x.score, x.fingerprints
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.head_sha = p_base_sha
          AND x.engine_version = p_engine_version AND x.status = 'completed'
          AND x.fingerprints IS NOT NULL AND x.created_at >= v_first
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
        RETURN;
    END IF;
    IF p_ref IS NULL THEN
        RETURN;
    END IF;
    SELECT r.first_at INTO v_first
    FROM analysed_refs r
    WHERE r.repository_id = p_repository_id AND r.ref = p_ref;
    IF v_first IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT x.id, x.created_at, x.head_sha, x.score, x.fingerprints
    FROM analyses x
    WHERE x.repository_id = p_repository_id AND x.ref = p_ref AND x.status = 'completed'
      AND x.head_sha <> p_head_sha AND x.engine_version = p_engine_version
      AND x.fingerprints IS NOT NULL AND x.created_at >= v_first
    ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
END
$$;

-- A base commit that was never analysed is analysed in the head's job: its row, trigger 'base',
-- no check run. Completed by the same singularity_store_result / singularity_complete as any.
CREATE FUNCTION singularity_insert_base(
    p_repository_id bigint, p_installation_id bigint, p_head_sha text, p_engine_version text,
    p_worker_id text)
RETURNS TABLE (o_id bigint, o_created_at timestamptz)
LANGUAGE sql AS $$
    INSERT INTO analyses (repository_id, installation_id, head_sha, trigger, engine_version,
                          status, worker_id)
    VALUES (p_repository_id, p_installation_id, p_head_sha, 'base', p_engine_version, 'running',
            p_worker_id)
    RETURNING id, created_at;
$$;

ALTER FUNCTION singularity_find_gate_base SET plan_cache_mode = force_generic_plan;

-- A commit first analysed as another change's base (trigger 'base') has no check run of its own.
-- The claim of migration 0003 took any completed analysis of the commit as the job's own, so a
-- later push or pull request of that commit was counted as done and never got its check run.
-- Here a 'base' row is not the commit's own analysis: the job inserts its own row, creates its
-- check run and analyses the commit. Base lookups (singularity_find_gate_base, singularity_find_base)
-- still find 'base' rows. Same parameters and results as before.
CREATE OR REPLACE FUNCTION singularity_claim(
    p_repository_id bigint, p_installation_id bigint, p_full_name text, p_head_sha text,
    p_forced boolean, p_match text, p_ref text, p_pull bigint, p_base_sha text, p_trigger text,
    p_delivery text, p_engine_version text, p_worker_id text, p_attempt integer)
RETURNS TABLE (o_inserted boolean, o_id bigint, o_created_at text, o_status text,
               o_worker_id text, o_check_run_id bigint, o_idle_s bigint)
LANGUAGE plpgsql AS $$
DECLARE
    a record;
    v_first timestamptz;
    v_found boolean := false;
BEGIN
    INSERT INTO installations (id) VALUES (p_installation_id) ON CONFLICT DO NOTHING;
    INSERT INTO repositories (id, installation_id, full_name)
    VALUES (p_repository_id, p_installation_id, p_full_name)
    ON CONFLICT (id) DO NOTHING;
    UPDATE repositories r
    SET full_name = p_full_name, installation_id = p_installation_id, removed_at = NULL,
        updated_at = now()
    WHERE r.id = p_repository_id
      AND (r.full_name IS DISTINCT FROM p_full_name
           OR r.installation_id IS DISTINCT FROM p_installation_id
           OR r.removed_at IS NOT NULL);
    PERFORM pg_advisory_xact_lock(hashtextextended(p_repository_id::text || ':' || p_head_sha, 0));
    -- Read after the lock: an analysis committed by the claim we waited for is seen, with its row
    -- here (the trigger wrote both in that claim's transaction).
    SELECT c.first_at INTO v_first
    FROM analysed_commits c
    WHERE c.repository_id = p_repository_id AND c.head_sha = p_head_sha;
    IF v_first IS NOT NULL THEN
        IF p_forced THEN
            SELECT x.id, x.created_at, x.status, x.worker_id, x.check_run_id, x.updated_at INTO a
            FROM analyses x
            WHERE x.repository_id = p_repository_id AND x.head_sha = p_head_sha
              AND x.delivery = p_match AND x.status IN ('running', 'completed')
              AND x.trigger <> 'base'
              AND x.created_at >= v_first
            ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
        ELSE
            SELECT x.id, x.created_at, x.status, x.worker_id, x.check_run_id, x.updated_at INTO a
            FROM analyses x
            WHERE x.repository_id = p_repository_id AND x.head_sha = p_head_sha
              AND x.engine_version = p_match AND x.status IN ('running', 'completed')
              AND x.trigger <> 'base'
              AND x.created_at >= v_first
            ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
        END IF;
        v_found := FOUND;
    END IF;
    IF v_found THEN
        o_inserted := false;
        o_status := a.status;
        o_worker_id := a.worker_id;
        o_check_run_id := coalesce(a.check_run_id, 0);
        o_idle_s := extract(epoch FROM now() - a.updated_at)::bigint;
    ELSE
        INSERT INTO analyses AS x (repository_id, installation_id, head_sha, ref, pull, base_sha,
                                   trigger, delivery, forced, engine_version, status, worker_id,
                                   attempt)
        VALUES (p_repository_id, p_installation_id, p_head_sha, p_ref, p_pull, p_base_sha,
                p_trigger, p_delivery, p_forced, p_engine_version, 'running', p_worker_id,
                p_attempt)
        RETURNING x.id, x.created_at INTO a;
        o_inserted := true;
        o_status := 'running';
        o_worker_id := p_worker_id;
        o_check_run_id := 0;
        o_idle_s := 0;
    END IF;
    o_id := a.id;
    o_created_at := to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    RETURN NEXT;
END
$$;

ALTER FUNCTION singularity_claim SET plan_cache_mode = force_generic_plan;
