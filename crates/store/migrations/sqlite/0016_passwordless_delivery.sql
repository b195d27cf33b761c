-- One-time passcodes by SMS, WhatsApp and email (issue 21): one live code per method (the
-- phone_id or email_id it was sent to); a new send replaces it, a success deletes it, and it
-- dies after too many wrong tries. Kept only as a keyed digest, bound to project and
-- destination (the phone number or email it was sent to).
CREATE TABLE otp_codes (
    project_id      TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    method_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email')),
    destination     TEXT NOT NULL,
    code_digest     BLOB NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (project_id, method_id)
);
CREATE INDEX otp_codes_user ON otp_codes (project_id, user_id);

-- The redirect URLs a project allows, each for the flows of its type, one default per type.
CREATE TABLE redirect_urls (
    project_id  TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    url_type    TEXT NOT NULL
        CHECK (url_type IN ('login', 'signup', 'invite', 'reset_password', 'discovery')),
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, url_type, url)
);
CREATE UNIQUE INDEX redirect_urls_one_default ON redirect_urls (project_id, url_type) WHERE is_default;

-- The outbox becomes the delivery queue. A message's content is sealed with the vault
-- (`sealed`; `body` is empty then) since it carries a code or a link. `status`: held (no
-- provider for its channel: the development outbox), queued (a worker will send it, at
-- next_attempt_at, claimed until claimed_until), sent, or failed (retries spent).
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE outbox ADD COLUMN sealed BLOB;
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'held';
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN delivered_at INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
