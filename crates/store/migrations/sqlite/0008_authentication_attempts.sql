-- Each factor counts its own attempts (issue 20): a correct password no longer forgives TOTP
-- guesses, and only a wrong secret is a failure. An attempt is reserved (pending) before its
-- secret is checked and ends as a failure, a success or a release; a reservation whose request
-- never came back lapses at pending_until. principal_id is a user_id or a member_id: both id
-- kinds carry their prefix, so the two never collide. The account's lock stays on its row.
CREATE TABLE authentication_attempts (
    project_id        TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    principal_id      TEXT NOT NULL,
    factor            TEXT NOT NULL,
    failed_attempts   INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    pending_attempts  INTEGER NOT NULL DEFAULT 0 CHECK (pending_attempts >= 0),
    pending_until     INTEGER,
    PRIMARY KEY (project_id, principal_id, factor)
);

-- The shared counter counted passwords and TOTP codes alike; it carries over as the password's.
INSERT INTO authentication_attempts (project_id, principal_id, factor, failed_attempts)
SELECT project_id, user_id, 'password', failed_attempts FROM users WHERE failed_attempts > 0;
INSERT INTO authentication_attempts (project_id, principal_id, factor, failed_attempts)
SELECT project_id, member_id, 'totp', failed_attempts FROM members WHERE failed_attempts > 0;
ALTER TABLE users DROP COLUMN failed_attempts;
ALTER TABLE members DROP COLUMN failed_attempts;
