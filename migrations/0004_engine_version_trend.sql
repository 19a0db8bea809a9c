-- Why: a score is only comparable with a score made by the same engine: SG_AN_ENGINE_VERSION
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
