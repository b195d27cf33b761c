-- Email magic links, embedded tokens and password-reset links (issue 21). A token is kept only
-- as its keyed digest; it is used once (`used_at`, set by the completing authentication's
-- transaction) and not after `expires_at`. `email_id` is where it was sent (none for an
-- embedded token); `code_challenge` the PKCE challenge its authenticate must meet.
CREATE TABLE magic_links (
    token_digest   BLOB NOT NULL,
    project_id     TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    email_id       TEXT REFERENCES user_emails (email_id) ON DELETE CASCADE,
    purpose        TEXT NOT NULL
        CHECK (purpose IN ('login', 'signup', 'invite', 'embedded', 'reset_password')),
    code_challenge TEXT,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (project_id, token_digest)
);
CREATE INDEX magic_links_user ON magic_links (project_id, user_id);
