-- B2B: organizations and their members, and members' TOTP registrations. Members live in the
-- same project as consumer users but in their own tables: the two never mix.

CREATE TABLE organizations (
    organization_id   TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    slug              TEXT NOT NULL,
    logo_url          TEXT NOT NULL DEFAULT '',
    external_id       TEXT,
    trusted_metadata  TEXT NOT NULL DEFAULT '{}',
    -- The policy fields Stytch exposes (JIT provisioning, auth and MFA methods, …) as JSON.
    settings          TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    CONSTRAINT organizations_project_slug_key UNIQUE (project_id, slug),
    CONSTRAINT organizations_project_external_id_key UNIQUE (project_id, external_id)
);
CREATE INDEX organizations_project_created ON organizations (project_id, created_at);

CREATE TABLE members (
    member_id                 TEXT PRIMARY KEY,
    project_id                TEXT NOT NULL,
    organization_id           TEXT NOT NULL REFERENCES organizations (organization_id) ON DELETE CASCADE,
    email                     TEXT NOT NULL,
    email_verified            BOOLEAN NOT NULL DEFAULT FALSE,
    status                    TEXT NOT NULL CHECK (status IN ('active', 'pending', 'invited', 'deleted')),
    name                      TEXT NOT NULL DEFAULT '',
    is_breakglass             BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_phone_number          TEXT NOT NULL DEFAULT '',
    mfa_phone_number_verified BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_enrolled              BOOLEAN NOT NULL DEFAULT FALSE,
    default_mfa_method        TEXT NOT NULL DEFAULT '',
    trusted_metadata          TEXT NOT NULL DEFAULT '{}',
    untrusted_metadata        TEXT NOT NULL DEFAULT '{}',
    external_id               TEXT,
    -- JSON array of directly assigned role ids.
    roles                     TEXT NOT NULL DEFAULT '[]',
    failed_attempts           INTEGER NOT NULL DEFAULT 0,
    lock_created_at           INTEGER,
    lock_expires_at           INTEGER,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
-- An email names one live member per organization; a deleted member's email can be reused.
CREATE UNIQUE INDEX members_organization_email_key ON members (organization_id, email) WHERE status <> 'deleted';
CREATE UNIQUE INDEX members_organization_external_id_key ON members (organization_id, external_id);
CREATE INDEX members_project_created ON members (project_id, created_at);

CREATE TABLE member_totps (
    totp_registration_id TEXT PRIMARY KEY,
    project_id           TEXT NOT NULL,
    member_id            TEXT NOT NULL REFERENCES members (member_id) ON DELETE CASCADE,
    verified             BOOLEAN NOT NULL DEFAULT FALSE,
    secret_sealed        BLOB NOT NULL,
    last_step            INTEGER,
    expires_at           INTEGER,
    recovery_codes       TEXT NOT NULL DEFAULT '[]',
    created_at           INTEGER NOT NULL
);
CREATE INDEX member_totps_member ON member_totps (member_id);
