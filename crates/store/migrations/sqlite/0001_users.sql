-- Projects, users and every user factor. Instants are microseconds since the Unix epoch.
-- Every child row repeats project_id so uniqueness is per project and every query can filter
-- on it.

CREATE TABLE projects (
    project_id    TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    environment   TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    secret_digest BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE users (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            TEXT NOT NULL UNIQUE,
    project_id         TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    status             TEXT NOT NULL CHECK (status IN ('active', 'pending')),
    first_name         TEXT NOT NULL DEFAULT '',
    middle_name        TEXT NOT NULL DEFAULT '',
    last_name          TEXT NOT NULL DEFAULT '',
    trusted_metadata   TEXT NOT NULL DEFAULT '{}',
    untrusted_metadata TEXT NOT NULL DEFAULT '{}',
    external_id        TEXT,
    created_at         INTEGER NOT NULL,
    lock_created_at    INTEGER,
    lock_expires_at    INTEGER,
    CONSTRAINT users_project_external_id_key UNIQUE (project_id, external_id)
);
CREATE INDEX users_project_seq ON users (project_id, seq);
CREATE INDEX users_project_created_at ON users (project_id, created_at);

CREATE TABLE user_roles (
    project_id TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    role       TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_project_role ON user_roles (project_id, role);

CREATE TABLE user_emails (
    email_id   TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    verified   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    CONSTRAINT user_emails_project_email_key UNIQUE (project_id, email)
);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE user_phone_numbers (
    phone_id     TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    phone_number TEXT NOT NULL,
    verified     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   INTEGER NOT NULL,
    CONSTRAINT user_phone_numbers_project_phone_key UNIQUE (project_id, phone_number)
);
CREATE INDEX user_phone_numbers_user ON user_phone_numbers (user_id);

CREATE TABLE webauthn_registrations (
    webauthn_registration_id TEXT PRIMARY KEY,
    project_id               TEXT NOT NULL,
    user_id                  TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    domain                   TEXT NOT NULL DEFAULT '',
    user_agent               TEXT NOT NULL DEFAULT '',
    authenticator_type       TEXT NOT NULL DEFAULT '',
    name                     TEXT NOT NULL DEFAULT '',
    verified                 BOOLEAN NOT NULL DEFAULT FALSE,
    created_at               INTEGER NOT NULL
);
CREATE INDEX webauthn_registrations_user ON webauthn_registrations (user_id);

CREATE TABLE biometric_registrations (
    biometric_registration_id TEXT PRIMARY KEY,
    project_id                TEXT NOT NULL,
    user_id                   TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    verified                  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                INTEGER NOT NULL
);
CREATE INDEX biometric_registrations_user ON biometric_registrations (user_id);

CREATE TABLE totps (
    totp_id    TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    verified   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL
);
CREATE INDEX totps_user ON totps (user_id);

CREATE TABLE crypto_wallets (
    crypto_wallet_id      TEXT PRIMARY KEY,
    project_id            TEXT NOT NULL,
    user_id               TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    crypto_wallet_address TEXT NOT NULL,
    crypto_wallet_type    TEXT NOT NULL,
    verified              BOOLEAN NOT NULL DEFAULT FALSE,
    created_at            INTEGER NOT NULL
);
CREATE INDEX crypto_wallets_user ON crypto_wallets (user_id);
CREATE INDEX crypto_wallets_project_address ON crypto_wallets (project_id, crypto_wallet_address);

CREATE TABLE oauth_registrations (
    oauth_user_registration_id TEXT PRIMARY KEY,
    project_id                 TEXT NOT NULL,
    user_id                    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    provider_type              TEXT NOT NULL,
    provider_subject           TEXT NOT NULL,
    profile_picture_url        TEXT NOT NULL DEFAULT '',
    locale                     TEXT NOT NULL DEFAULT '',
    created_at                 INTEGER NOT NULL
);
CREATE INDEX oauth_registrations_user ON oauth_registrations (user_id);
CREATE INDEX oauth_registrations_project_provider ON oauth_registrations (project_id, provider_type);

CREATE TABLE passwords (
    password_id    TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL,
    user_id        TEXT NOT NULL UNIQUE REFERENCES users (user_id) ON DELETE CASCADE,
    requires_reset BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     INTEGER NOT NULL
);
CREATE INDEX passwords_project ON passwords (project_id);
