-- Why: the first schema of Singularity (DESIGN.md section 6): installations and repositories kept
-- current by `sync` jobs, one `analyses` row per analysis of a commit and its `findings`, both
-- range-partitioned by month so old months can be detached or dropped cheaply.
-- Applied once by `singularity-worker migrate` (recorded in schema_migrations).

CREATE TABLE installations (
    id                   bigint PRIMARY KEY,             -- GitHub installation id
    account_login        text,
    account_type         text,                           -- 'User' or 'Organization'
    repository_selection text,                           -- 'all' or 'selected'
    suspended_at         timestamptz,
    deleted_at           timestamptz,
    synced_at            timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE repositories (
    id              bigint PRIMARY KEY,                  -- GitHub repository id
    installation_id bigint REFERENCES installations (id),
    full_name       text NOT NULL,
    default_branch  text,
    private         boolean,
    removed_at      timestamptz,                         -- no longer visible to the installation
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX repositories_installation_idx ON repositories (installation_id);
CREATE INDEX repositories_full_name_idx ON repositories (full_name);

CREATE SEQUENCE analyses_id_seq;

-- One row per analysis of a commit. The partition key (created_at) is part of the primary key, as
-- PostgreSQL requires; ids come from one sequence so they stay unique across partitions.
-- A job claims a row in status 'running' (worker_id, check_run_id stored before any work), so a
-- retried job resumes it instead of creating a second analysis or check run.
CREATE TABLE analyses (
    id              bigint NOT NULL DEFAULT nextval('analyses_id_seq'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    repository_id   bigint NOT NULL,
    installation_id bigint,
    head_sha        text NOT NULL,
    ref             text,
    pull            bigint,
    base_sha        text,
    trigger         text NOT NULL,                       -- 'push', 'pull_request.opened', ...
    delivery        text,                                -- X-GitHub-Delivery of the job
    forced          boolean NOT NULL DEFAULT false,
    engine_version  text NOT NULL,
    status          text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    worker_id       text,                                -- worker working on it (while running)
    attempt         integer NOT NULL DEFAULT 0,
    check_run_id    bigint,
    score           numeric(3, 1),
    threshold       numeric(3, 1),
    passed          boolean,
    conclusion      text,
    files           bigint,
    code_lines      bigint,
    comment_lines   bigint,
    blank_lines     bigint,
    bytes           bigint,
    complexity      bigint,
    languages       jsonb,                               -- [{"name","files","code",...}]
    rule_counts     jsonb,                               -- {"SEC002": 1, ...}, exact
    findings_total  bigint,                              -- before the storage cap
    findings_stored integer,
    skipped         jsonb,
    config_errors   jsonb,
    tarball_bytes   bigint,
    download_ms     integer,                             -- download + analysis (streamed)
    duration_ms     integer,
    error           text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- Reuse check and base-commit lookup: (repository, sha, engine) with the newest first.
CREATE INDEX analyses_repo_sha_idx ON analyses (repository_id, head_sha, engine_version, created_at DESC);
-- Previous analysis on the same ref (base when a push has no usable before).
CREATE INDEX analyses_repo_ref_idx ON analyses (repository_id, ref, created_at DESC) WHERE status = 'completed';
-- repository_quality: latest completed analyses of a repository.
CREATE INDEX analyses_repo_completed_idx ON analyses (repository_id, created_at DESC, id DESC) WHERE status = 'completed';
-- A forced job resumes the analysis its own delivery started.
CREATE INDEX analyses_delivery_idx ON analyses (delivery) WHERE delivery IS NOT NULL;
-- Operators: analyses still running (stuck jobs).
CREATE INDEX analyses_running_idx ON analyses (updated_at) WHERE status = 'running';

-- Findings of an analysis, written with COPY, capped per analysis (analyses.rule_counts stays
-- exact). Partitioned by the analysis's created_at so an analysis and its findings share a month.
-- No foreign key: it would fire a trigger per COPY'd row; rows are only written by the worker in
-- the same transaction as their analysis.
CREATE TABLE findings (
    analysis_id         bigint NOT NULL,
    analysis_created_at timestamptz NOT NULL,
    ordinal             integer NOT NULL,                -- 0-based, most severe first
    path                text NOT NULL,
    line                integer NOT NULL,
    rule                text NOT NULL,
    severity            text NOT NULL CHECK (severity IN ('error', 'warning', 'notice')),
    message             text NOT NULL,
    PRIMARY KEY (analysis_created_at, analysis_id, ordinal)
) PARTITION BY RANGE (analysis_created_at);
-- The primary key serves the only query the product runs on findings ("findings of analysis X");
-- no other index, so COPY stays fast (each index costs a B-tree insert per row).

-- Creates the monthly partitions of analyses and findings for the current month and `ahead`
-- months after it (idempotent; serialised by a transaction-scoped advisory lock). Called by
-- `singularity-worker migrate` and by every worker at start and daily.
CREATE FUNCTION singularity_ensure_partitions(ahead integer DEFAULT 1) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m       timestamp;
    t       text;
    name    text;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('singularity_ensure_partitions'));
    FOR i IN 0..ahead LOOP
        m := date_trunc('month', (now() AT TIME ZONE 'UTC')) + make_interval(months => i);
        FOREACH t IN ARRAY ARRAY['analyses', 'findings'] LOOP
            name := t || '_' || to_char(m, 'YYYY_MM');
            IF to_regclass(name) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               name, t, (m AT TIME ZONE 'UTC'),
                               ((m + interval '1 month') AT TIME ZONE 'UTC'));
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

SELECT singularity_ensure_partitions(1);

-- Each repository's latest completed score and its change against the analysis before it.
CREATE VIEW repository_quality AS
SELECT r.id               AS repository_id,
       r.full_name,
       l.id               AS analysis_id,
       l.head_sha,
       l.ref,
       l.score,
       l.created_at       AS analyzed_at,
       p.score            AS previous_score,
       l.score - p.score  AS trend
FROM repositories r
JOIN LATERAL (
    SELECT a.id, a.head_sha, a.ref, a.score, a.created_at
    FROM analyses a
    WHERE a.repository_id = r.id AND a.status = 'completed'
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT 1) l ON true
LEFT JOIN LATERAL (
    SELECT a.score
    FROM analyses a
    WHERE a.repository_id = r.id AND a.status = 'completed'
      AND (a.created_at, a.id) < (l.created_at, l.id)
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT 1) p ON true;
