-- Email ownership (docs/security.md): at most one user of a project signs in with an address,
-- and an address that signs nobody in may be listed by several users (Stack Auth's rule), so a
-- user can keep another person's address as a contact without blocking or shadowing them. One
-- user holds an address once.
ALTER TABLE user_emails DROP CONSTRAINT user_emails_project_email_key;
-- One row per address and user; also the index of lookups by address.
CREATE UNIQUE INDEX user_emails_project_email_user_key ON user_emails (project_id, email, user_id);
-- One user per address signs in with it.
CREATE UNIQUE INDEX user_emails_project_sign_in_key ON user_emails (project_id, email)
    WHERE used_for_auth;
