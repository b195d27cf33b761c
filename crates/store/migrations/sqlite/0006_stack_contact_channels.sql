-- Stack Auth's API over the same users: a project's Stack keys, the contact-channel flags of
-- user emails, email verification codes, and the development outbox they are delivered to.

-- The publishable client key is public by design; the secret server key is kept as a digest.
ALTER TABLE projects ADD COLUMN stack_publishable_client_key TEXT;
ALTER TABLE projects ADD COLUMN stack_secret_server_key_digest BLOB;

-- A contact channel is a user email. `used_for_auth`: the email signs the user in (Stytch's
-- emails always did); `is_primary`: at most one per user, enforced below.
ALTER TABLE user_emails ADD COLUMN used_for_auth BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE user_emails ADD COLUMN is_primary BOOLEAN NOT NULL DEFAULT FALSE;
-- Each existing user's first email becomes its primary one.
UPDATE user_emails SET is_primary = TRUE WHERE email_id IN (
    SELECT email_id FROM user_emails AS e WHERE NOT EXISTS (
        SELECT 1 FROM user_emails AS f WHERE f.user_id = e.user_id
        AND (f.created_at < e.created_at OR (f.created_at = e.created_at AND f.email_id < e.email_id))
    )
);
CREATE UNIQUE INDEX user_emails_one_primary ON user_emails (user_id) WHERE is_primary;

-- A code proves an email; only its digest is kept. Single use: `used_at` is set once.
CREATE TABLE email_verification_codes (
    code_digest BLOB PRIMARY KEY,
    project_id  TEXT NOT NULL,
    email_id    TEXT NOT NULL REFERENCES user_emails (email_id) ON DELETE CASCADE,
    -- The address the code was sent to: a code for an email that changed since proves nothing.
    email       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX email_verification_codes_email ON email_verification_codes (email_id);

-- Messages Latchkey would send, for the operator to read (`latchkey outbox`) until a delivery
-- provider is configured. They hold codes in the clear, like the email they stand for.
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_project_created ON outbox (project_id, created_at);
