-- Passwords gain their hash, users a failure counter, projects their lock and strength
-- settings; signing keys and sessions arrive.

-- The StoredHash as JSON (see latchkey_core::password). '' only for rows seeded without one,
-- which no login can match.
ALTER TABLE passwords ADD COLUMN hash TEXT NOT NULL DEFAULT '';
ALTER TABLE passwords ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

-- Consecutive failed authentications since the last success or lock.
ALTER TABLE users ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;

ALTER TABLE projects ADD COLUMN lock_threshold BIGINT NOT NULL DEFAULT 10
    CHECK (lock_threshold BETWEEN 1 AND 100);
ALTER TABLE projects ADD COLUMN lock_ttl_seconds BIGINT NOT NULL DEFAULT 3600
    CHECK (lock_ttl_seconds BETWEEN 300 AND 604800);
ALTER TABLE projects ADD COLUMN strength_policy TEXT NOT NULL DEFAULT 'zxcvbn'
    CHECK (strength_policy IN ('zxcvbn', 'luds'));
ALTER TABLE projects ADD COLUMN luds_min_length BIGINT NOT NULL DEFAULT 8;
ALTER TABLE projects ADD COLUMN luds_complexity BIGINT NOT NULL DEFAULT 3;

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    private_der BYTEA NOT NULL,
    n           TEXT NOT NULL,
    e           TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX signing_keys_project ON signing_keys (project_id, created_at);

CREATE TABLE sessions (
    session_id       TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    user_id          TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    -- SHA-256 of the opaque session token; the token itself is never stored.
    token_digest     BYTEA NOT NULL UNIQUE,
    started_at       BIGINT NOT NULL,
    last_accessed_at BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- JSON arrays/objects: the authentication factors and the custom claims.
    factors          TEXT NOT NULL,
    custom_claims    TEXT NOT NULL DEFAULT '{}',
    -- Whether a password authenticated this session (deleting the password ends it).
    by_password      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_user ON sessions (project_id, user_id);
