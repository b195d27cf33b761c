-- Email ownership (docs/security.md): at most one user of a project signs in with an address,
-- and an address that signs nobody in may be listed by several users (Stack Auth's rule), so a
-- user can keep another person's address as a contact without blocking or shadowing them. One
-- user holds an address once.
--
-- SQLite cannot drop a table constraint, so user_emails is rebuilt without
-- user_emails_project_email_key. Its verification codes reference it (ON DELETE CASCADE): they
-- are kept aside and put back, so dropping the old table deletes none of them.
CREATE TABLE user_emails_rebuilt (
    email_id      TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    verified      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL,
    used_for_auth BOOLEAN NOT NULL DEFAULT TRUE,
    is_primary    BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO user_emails_rebuilt (email_id, project_id, user_id, email, verified, created_at,
    used_for_auth, is_primary)
SELECT email_id, project_id, user_id, email, verified, created_at, used_for_auth, is_primary
FROM user_emails;

CREATE TEMP TABLE email_verification_codes_kept AS SELECT * FROM email_verification_codes;
DROP TABLE email_verification_codes;
DROP TABLE user_emails;
ALTER TABLE user_emails_rebuilt RENAME TO user_emails;

CREATE TABLE email_verification_codes (
    code_digest BLOB PRIMARY KEY,
    project_id  TEXT NOT NULL,
    email_id    TEXT NOT NULL REFERENCES user_emails (email_id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);
INSERT INTO email_verification_codes (code_digest, project_id, email_id, email, expires_at,
    used_at, created_at)
SELECT code_digest, project_id, email_id, email, expires_at, used_at, created_at
FROM email_verification_codes_kept;
DROP TABLE email_verification_codes_kept;
CREATE INDEX email_verification_codes_email ON email_verification_codes (email_id);

CREATE INDEX user_emails_user ON user_emails (user_id, project_id);
CREATE UNIQUE INDEX user_emails_one_primary ON user_emails (user_id) WHERE is_primary;
-- One row per address and user; also the index of lookups by address.
CREATE UNIQUE INDEX user_emails_project_email_user_key ON user_emails (project_id, email, user_id);
-- One user per address signs in with it.
CREATE UNIQUE INDEX user_emails_project_sign_in_key ON user_emails (project_id, email)
    WHERE used_for_auth;
