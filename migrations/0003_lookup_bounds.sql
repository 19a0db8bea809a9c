-- Why: a job's lookups in `analyses` (the claim's "is this commit analysed already?" and the base
-- lookup's "the base commit's analysis" / "the previous analysis on this ref") filter by
-- repository and commit or ref, not by the partition key, so each one visited every monthly
-- partition: with 25 months of history a job cost ~25-30% more PostgreSQL CPU than in the first
-- month, and it would keep growing. Two small unpartitioned tables remember when a commit, and a
-- ref, was first analysed; a lookup then skips the search when there is nothing to find (a new
-- commit: most claims) and otherwise searches only the months since (scripts/bench-db.sh).
--
-- A trigger on `analyses` keeps them, so every insert is covered: the claim's, one by an older
-- worker during a rolling upgrade, or an operator's. first_at stays the minimum: an analysis can
-- be inserted after another of the same commit or ref that has a later created_at (created_at is
-- the inserting transaction's start, and a claim may wait for the commit's lock behind a younger
-- transaction). Rows are never deleted: a first_at older than the oldest kept analysis (after old
-- months are dropped) is still a correct bound, only a looser one. One row per analysed commit
-- (~150 bytes with its index entry) and per analysed ref.

CREATE TABLE analysed_commits (
    repository_id bigint NOT NULL,
    head_sha      text NOT NULL,
    first_at      timestamptz NOT NULL,                  -- earliest created_at of its analyses
    PRIMARY KEY (repository_id, head_sha)
);

CREATE TABLE analysed_refs (
    repository_id bigint NOT NULL,
    ref           text NOT NULL,
    first_at      timestamptz NOT NULL,                  -- earliest created_at of its analyses
    PRIMARY KEY (repository_id, ref)
);

-- No insert may run between the backfill and the trigger's creation: the lock is held until this
-- migration commits. Claims wait for it (they run under statement_timeout and are retried).
-- CREATE TRIGGER below takes the same lock; taking it first keeps the guarantee if the statements
-- are ever reordered (worker_db's rolling-upgrade checks fail without it in effect).
LOCK TABLE analyses IN SHARE ROW EXCLUSIVE MODE;

CREATE FUNCTION singularity_note_analysis() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_first timestamptz;
BEGIN
    -- Read first: for every analysis of a known commit or ref the row is there with an earlier
    -- first_at, and a plain read takes no row lock and writes nothing.
    SELECT c.first_at INTO v_first FROM analysed_commits c
    WHERE c.repository_id = NEW.repository_id AND c.head_sha = NEW.head_sha;
    IF v_first IS NULL OR v_first > NEW.created_at THEN
        INSERT INTO analysed_commits AS c (repository_id, head_sha, first_at)
        VALUES (NEW.repository_id, NEW.head_sha, NEW.created_at)
        ON CONFLICT (repository_id, head_sha) DO UPDATE SET first_at = EXCLUDED.first_at
        WHERE c.first_at > EXCLUDED.first_at;
    END IF;
    IF NEW.ref IS NOT NULL THEN
        SELECT r.first_at INTO v_first FROM analysed_refs r
        WHERE r.repository_id = NEW.repository_id AND r.ref = NEW.ref;
        IF v_first IS NULL OR v_first > NEW.created_at THEN
            INSERT INTO analysed_refs AS r (repository_id, ref, first_at)
            VALUES (NEW.repository_id, NEW.ref, NEW.created_at)
            ON CONFLICT (repository_id, ref) DO UPDATE SET first_at = EXCLUDED.first_at
            WHERE r.first_at > EXCLUDED.first_at;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER analyses_note AFTER INSERT ON analyses
FOR EACH ROW EXECUTE FUNCTION singularity_note_analysis();

INSERT INTO analysed_commits (repository_id, head_sha, first_at)
SELECT repository_id, head_sha, min(created_at) FROM analyses GROUP BY 1, 2;
INSERT INTO analysed_refs (repository_id, ref, first_at)
SELECT repository_id, ref, min(created_at) FROM analyses WHERE ref IS NOT NULL GROUP BY 1, 2;

-- The claim of migration 0002, with its lookup bounded: no search at all for a commit never
-- analysed, else only the partitions from its first analysis on. Same parameters and results.
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
              AND x.created_at >= v_first
            ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
        ELSE
            SELECT x.id, x.created_at, x.status, x.worker_id, x.check_run_id, x.updated_at INTO a
            FROM analyses x
            WHERE x.repository_id = p_repository_id AND x.head_sha = p_head_sha
              AND x.engine_version = p_match AND x.status IN ('running', 'completed')
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

-- The base lookup of migration 0002, bounded the same way. The previous analysis on a ref is
-- looked for in this analysis's month first, where an active ref's usually is, and only then in
-- the months between the ref's first analysis and this one. Same parameters and results.
CREATE OR REPLACE FUNCTION singularity_find_base(
    p_repository_id bigint, p_engine_version text, p_base_sha text, p_ref text, p_head_sha text,
    p_created_at timestamptz, p_id bigint)
RETURNS TABLE (o_head_sha text, o_score numeric, o_files bigint, o_code_lines bigint,
               o_comment_lines bigint, o_blank_lines bigint, o_bytes bigint,
               o_complexity bigint, o_findings_total bigint, o_rule_counts text)
LANGUAGE plpgsql AS $$
DECLARE
    v_first timestamptz;
    v_month timestamptz;
BEGIN
    IF p_base_sha IS NOT NULL THEN
        SELECT c.first_at INTO v_first
        FROM analysed_commits c
        WHERE c.repository_id = p_repository_id AND c.head_sha = p_base_sha;
        IF v_first IS NOT NULL THEN
            RETURN QUERY
            SELECT x.head_sha, x.score, x.files, x.code_lines, x.comment_lines, x.blank_lines,
                   x.bytes, x.complexity, x.findings_total, coalesce(x.rule_counts, '{}')::text
            FROM analyses x
            WHERE x.repository_id = p_repository_id AND x.head_sha = p_base_sha
              AND x.engine_version = p_engine_version AND x.status = 'completed'
              AND x.created_at >= v_first
            ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
            IF FOUND THEN
                RETURN;
            END IF;
        END IF;
    END IF;
    IF p_ref IS NULL THEN
        RETURN;
    END IF;
    SELECT r.first_at INTO v_first
    FROM analysed_refs r
    WHERE r.repository_id = p_repository_id AND r.ref = p_ref;
    IF v_first IS NULL OR v_first > p_created_at THEN
        RETURN;
    END IF;
    -- The month is UTC's, as the partitions' bounds are.
    v_month := date_trunc('month', p_created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    RETURN QUERY
    SELECT x.head_sha, x.score, x.files, x.code_lines, x.comment_lines, x.blank_lines,
           x.bytes, x.complexity, x.findings_total, coalesce(x.rule_counts, '{}')::text
    FROM analyses x
    WHERE x.repository_id = p_repository_id AND x.ref = p_ref AND x.status = 'completed'
      AND x.head_sha <> p_head_sha AND x.engine_version = p_engine_version
      AND x.created_at >= greatest(v_first, v_month)
      AND (x.created_at, x.id) < (p_created_at, p_id)
    ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
    IF FOUND OR v_first >= v_month THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT x.head_sha, x.score, x.files, x.code_lines, x.comment_lines, x.blank_lines,
           x.bytes, x.complexity, x.findings_total, coalesce(x.rule_counts, '{}')::text
    FROM analyses x
    WHERE x.repository_id = p_repository_id AND x.ref = p_ref AND x.status = 'completed'
      AND x.head_sha <> p_head_sha AND x.engine_version = p_engine_version
      AND x.created_at >= v_first AND x.created_at < v_month
    ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
END
$$;

-- Generic plans for the job's functions. Left to choose, PostgreSQL's plan cache keeps re-planning
-- these statements with their values ("custom plans") once a generic plan over many partitions
-- looks costly, and planning then grows with the partitions. A generic plan is made once per
-- server connection and prunes the partitions when it runs, from the bounds above or the
-- (id, created_at) key: with 60 months of history, the base lookup took 0.23 ms with it against
-- 0.52 ms without (scripts/bench-db.sh, BENCH_DB_FUNCS=1, 2 clients). A SET on a function holds
-- for its call only, so PgBouncer's transaction mode is unaffected.
ALTER FUNCTION singularity_claim SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION singularity_find_base SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION singularity_store_result SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION singularity_complete SET plan_cache_mode = force_generic_plan;
