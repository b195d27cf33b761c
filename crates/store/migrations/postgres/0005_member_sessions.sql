-- B2B member sessions. Consumer sessions reference users; a member session references its
-- member, so the two kinds live in separate tables and can never be confused.

CREATE TABLE member_sessions (
    member_session_id TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    member_id         TEXT NOT NULL REFERENCES members (member_id) ON DELETE CASCADE,
    organization_id   TEXT NOT NULL,
    -- SHA-256 of the opaque session token; the token itself is never stored.
    token_digest      BYTEA NOT NULL UNIQUE,
    started_at        BIGINT NOT NULL,
    last_accessed_at  BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    -- JSON: the authentication factors and the custom claims.
    factors           TEXT NOT NULL,
    custom_claims     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX member_sessions_member ON member_sessions (project_id, member_id);
