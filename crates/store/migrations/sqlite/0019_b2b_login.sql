-- B2B intermediate sessions (issue 22): left by a primary factor that is not enough for a
-- member session (MFA owed, or a discovery login before an organization is chosen). Kept only
-- as the digest of its token; bound to the email proven and, once chosen, the organization and
-- member; used up by the call that turns it into a member session or an organization.
CREATE TABLE intermediate_sessions (
    token_digest    BLOB NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    organization_id TEXT REFERENCES organizations (organization_id) ON DELETE CASCADE,
    member_id       TEXT REFERENCES members (member_id) ON DELETE CASCADE,
    factors         TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (project_id, token_digest)
);
CREATE INDEX intermediate_sessions_expires ON intermediate_sessions (project_id, expires_at);

-- B2B email magic links: organization logins and sign-ups, invites, and discovery links (no
-- organization: bound to the email alone). Kept only as keyed digests, used once by the
-- completing authentication (or the discovery authenticate).
CREATE TABLE member_magic_links (
    token_digest    BLOB NOT NULL,
    project_id      TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    organization_id TEXT REFERENCES organizations (organization_id) ON DELETE CASCADE,
    member_id       TEXT REFERENCES members (member_id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    purpose         TEXT NOT NULL CHECK (purpose IN ('login', 'signup', 'invite', 'discovery')),
    code_challenge  TEXT,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (project_id, token_digest)
);
CREATE INDEX member_magic_links_member ON member_magic_links (project_id, member_id);
