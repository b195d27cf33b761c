-- B2B one-time passcodes (issue 22): by SMS as a member's MFA factor, by email as a primary
-- factor. One live code per member and channel; a new send replaces it, a success deletes it,
-- it dies after too many wrong tries. Kept only as a keyed digest bound to project and
-- destination.
CREATE TABLE member_otp_codes (
    project_id      TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL REFERENCES members (member_id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    destination     TEXT NOT NULL,
    code_digest     BYTEA NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (project_id, member_id, channel)
);

-- B2B discovery passcodes by email: bound to the email alone, before any organization.
CREATE TABLE discovery_otp_codes (
    project_id      TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    code_digest     BYTEA NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (project_id, email)
);
