-- Why: a score is only comparable with a score made by the same engine: AN_ENGINE_VERSION
-- changes whenever counting, rules or the score's formula change, and a new formula can move a
-- repository's score by points without a line of its code changing. Every analysis records the
-- engine that made it (a column older databases may lack: added here, NULL meaning unknown), and
-- repository_quality says which engine scored the latest and the previous analysis: its trend is
-- only computed between scores of the same engine, and formula_changed marks the rest, so a
-- dashboard shows "new formula" instead of a drop or a jump that never happened.

ALTER TABLE analyses ADD COLUMN IF NOT EXISTS engine_version text;

DROP VIEW IF EXISTS repository_quality;
CREATE VIEW repository_quality AS
SELECT r.id               AS repository_id,
       r.full_name,
       l.id               AS analysis_id,
       l.head_sha,
       l.ref,
       l.score,
       l.created_at       AS analyzed_at,
       p.score            AS previous_score,
       CASE WHEN p.engine_version IS NOT DISTINCT FROM l.engine_version
            THEN l.score - p.score END AS trend,
       l.engine_version,
       p.engine_version   AS previous_engine_version,
       (p.id IS NOT NULL AND p.engine_version IS DISTINCT FROM l.engine_version) AS formula_changed
FROM repositories r
JOIN LATERAL (
    SELECT a.id, a.head_sha, a.ref, a.score, a.created_at, a.engine_version
    FROM analyses a
    WHERE a.repository_id = r.id AND a.status = 'completed'
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT 1) l ON true
LEFT JOIN LATERAL (
    SELECT a.id, a.score, a.engine_version
    FROM analyses a
    WHERE a.repository_id = r.id AND a.status = 'completed'
      AND (a.created_at, a.id) < (l.created_at, l.id)
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT 1) p ON true;

-- The check run's base (migration 0003's singularity_find_base) is looked for among analyses of
-- this engine. After an upgrade the first analysis of a ref finds none, and its check run would
-- show no comparison at all; this one then returns the base as another engine scored it, with
-- that engine's version (o_engine_version), so the check run can say "new score formula" instead
-- of comparing scores of two formulas. Same parameters; the other engine is the one that scored
-- the base commit (or the ref's previous analysis) last, searched within the same bounds.
CREATE FUNCTION singularity_find_base_any(
    p_repository_id bigint, p_engine_version text, p_base_sha text, p_ref text, p_head_sha text,
    p_created_at timestamptz, p_id bigint)
RETURNS TABLE (o_head_sha text, o_score numeric, o_files bigint, o_code_lines bigint,
               o_comment_lines bigint, o_blank_lines bigint, o_bytes bigint,
               o_complexity bigint, o_findings_total bigint, o_rule_counts text,
               o_engine_version text)
LANGUAGE plpgsql AS $$
DECLARE
    v_first timestamptz;
    v_other text;
BEGIN
    RETURN QUERY
    SELECT b.*, p_engine_version
    FROM singularity_find_base(p_repository_id, p_engine_version, p_base_sha, p_ref, p_head_sha,
                               p_created_at, p_id) b;
    IF FOUND THEN
        RETURN;
    END IF;
    IF p_base_sha IS NOT NULL THEN
        SELECT c.first_at INTO v_first
        FROM analysed_commits c
        WHERE c.repository_id = p_repository_id AND c.head_sha = p_base_sha;
        SELECT x.engine_version INTO v_other
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.head_sha = p_base_sha
          AND x.status = 'completed' AND x.created_at >= v_first
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
    END IF;
    IF v_other IS NULL AND p_ref IS NOT NULL THEN
        SELECT r.first_at INTO v_first
        FROM analysed_refs r
        WHERE r.repository_id = p_repository_id AND r.ref = p_ref;
        SELECT x.engine_version INTO v_other
        FROM analyses x
        WHERE x.repository_id = p_repository_id AND x.ref = p_ref AND x.status = 'completed'
          AND x.head_sha <> p_head_sha AND x.created_at >= v_first
          AND (x.created_at, x.id) < (p_created_at, p_id)
        ORDER BY x.created_at DESC, x.id DESC LIMIT 1;
    END IF;
    IF v_other IS NOT NULL AND v_other <> p_engine_version THEN
        RETURN QUERY
        SELECT b.*, v_other
        FROM singularity_find_base(p_repository_id, v_other, p_base_sha, p_ref, p_head_sha,
                                   p_created_at, p_id) b;
    END IF;
END
$$;
ALTER FUNCTION singularity_find_base_any SET plan_cache_mode = force_generic_plan;
