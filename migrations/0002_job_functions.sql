-- Why: the statements a worker runs for every job, as functions. PostgreSQL parses and plans a
-- statement sent from the client every time (the worker sends unnamed statements: named prepared
-- statements are session state, which PgBouncer in transaction mode does not keep), and planning
-- the lookups over the partitioned `analyses` grows with the number of monthly partitions. A
-- PL/pgSQL function keeps the plans of its statements for the life of the server connection, which
-- is not session state a client can see, so PgBouncer transaction mode still works. With
-- scripts/bench-worker.sh, planning was ~1.1 ms of the ~3 ms of PostgreSQL CPU per job
-- (pg_stat_statements, track_planning). The client still sends BEGIN, SET LOCAL
-- statement_timeout (which bounds each call) and COMMIT; the semantics are those of the
-- statements they replace in worker/db.c.

-- The claim of a job for (repository, head_sha): the installation and repository rows, then the
-- transaction-scoped advisory lock that serialises every claim of this commit until COMMIT (the
-- key is the text "<repository id>:<head sha>", the same as before this migration, so workers of
-- both versions exclude each other during a rolling upgrade), then the analysis to reuse, defer to
-- or resume: a running or completed one, matched by engine version, or by delivery for a forced
-- job (which makes its own analysis). When there is none, a running analysis is inserted and
-- returned with o_inserted = true; otherwise the existing one is returned and nothing is written
-- to `analyses`. created_at comes back as text with microseconds, to be passed back exactly.
CREATE FUNCTION singularity_claim(
    p_repository_id bigint, p_installation_id bigint, p_full_name text, p_head_sha text,
    p_forced boolean, p_match text, p_ref text, p_pull bigint, p_base_sha text, p_trigger text,
    p_delivery text, p_engine_version text, p_worker_id text, p_attempt integer)
RETURNS TABLE (o_inserted boolean, o_id bigint, o_created_at text, o_status text,
               o_worker_id text, o_check_run_id bigint, o_idle_s bigint)
LANGUAGE plpgsql AS $$
DECLARE
    a record;
BEGIN
    -- Not ON CONFLICT DO UPDATE: that locks the existing row even when its WHERE is false, so
    -- every claim of the repository would queue behind the last one until it commits. An UPDATE
    -- whose WHERE is false locks nothing, and changes are rare.
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
    IF p_forced THEN
        SELECT x.id, x.created_at, x.status, x.worker_id, x.check_run_id, x.updated_at INTO a
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.head_sha = p_head_sha
          AND x.delivery = p_match AND x.status IN ('running', 'completed')
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
    ELSE
        SELECT x.id, x.created_at, x.status, x.worker_id, x.check_run_id, x.updated_at INTO a
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.head_sha = p_head_sha
          AND x.engine_version = p_match AND x.status IN ('running', 'completed')
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
    END IF;
    IF FOUND THEN
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

-- An analysis's result (its findings go in with COPY in the same transaction, after this call),
-- with the id of its check run (0: keep the stored one). p_replace_findings: an earlier attempt may
-- have stored findings before it died; they are deleted first.
CREATE FUNCTION singularity_store_result(
    p_id bigint, p_created_at timestamptz, p_score numeric, p_threshold numeric,
    p_passed boolean, p_files bigint, p_code_lines bigint, p_comment_lines bigint,
    p_blank_lines bigint, p_bytes bigint, p_complexity bigint, p_languages jsonb,
    p_rule_counts jsonb, p_findings_total bigint, p_findings_stored integer, p_skipped jsonb,
    p_config_errors jsonb, p_tarball_bytes bigint, p_download_ms integer,
    p_check_run_id bigint, p_replace_findings boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_replace_findings THEN
        DELETE FROM findings WHERE analysis_id = p_id AND analysis_created_at = p_created_at;
    END IF;
    UPDATE analyses SET check_run_id = coalesce(nullif(p_check_run_id, 0), check_run_id),
        score = p_score, threshold = p_threshold, passed = p_passed,
        files = p_files, code_lines = p_code_lines, comment_lines = p_comment_lines,
        blank_lines = p_blank_lines, bytes = p_bytes, complexity = p_complexity,
        languages = p_languages, rule_counts = p_rule_counts, findings_total = p_findings_total,
        findings_stored = p_findings_stored, skipped = p_skipped, config_errors = p_config_errors,
        tarball_bytes = p_tarball_bytes, download_ms = p_download_ms, updated_at = now()
    WHERE id = p_id AND created_at = p_created_at;
END
$$;

-- The analysis finished: its check run is completed.
CREATE FUNCTION singularity_complete(p_id bigint, p_created_at timestamptz, p_conclusion text,
                                     p_duration_ms integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE analyses SET status = 'completed', conclusion = p_conclusion,
        duration_ms = p_duration_ms, finished_at = now(), worker_id = NULL, error = NULL,
        updated_at = now()
    WHERE id = p_id AND created_at = p_created_at;
END
$$;

-- The analysis a result is compared with: the latest completed analysis of p_base_sha (given only
-- when it differs from the head), else the latest completed one on p_ref before this analysis
-- (p_created_at, p_id) of another commit. At most one row; none when neither is given or found.
CREATE FUNCTION singularity_find_base(
    p_repository_id bigint, p_engine_version text, p_base_sha text, p_ref text, p_head_sha text,
    p_created_at timestamptz, p_id bigint)
RETURNS TABLE (o_head_sha text, o_score numeric, o_files bigint, o_code_lines bigint,
               o_comment_lines bigint, o_blank_lines bigint, o_bytes bigint,
               o_complexity bigint, o_findings_total bigint, o_rule_counts text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_base_sha IS NOT NULL THEN
        RETURN QUERY
        SELECT x.head_sha, x.score, x.files, x.code_lines, x.comment_lines, x.blank_lines,
               x.bytes, x.complexity, x.findings_total, coalesce(x.rule_counts, '{}')::text
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.head_sha = p_base_sha
          AND x.engine_version = p_engine_version AND x.status = 'completed'
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    IF p_ref IS NOT NULL THEN
        RETURN QUERY
        SELECT x.head_sha, x.score, x.files, x.code_lines, x.comment_lines, x.blank_lines,
               x.bytes, x.complexity, x.findings_total, coalesce(x.rule_counts, '{}')::text
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.ref = p_ref AND x.status = 'completed'
          AND x.head_sha <> p_head_sha AND x.engine_version = p_engine_version
          AND (x.created_at, x.id) < (p_created_at, p_id)
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
    END IF;
END
$$;
