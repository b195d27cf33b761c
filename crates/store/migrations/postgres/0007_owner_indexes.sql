-- Every read of a user's (or member's) rows filters on its owner and its project. With indexes on
-- the owner alone, PostgreSQL without fresh statistics (a new table, autovacuum behind) combined
-- the owner index with a project-wide one and read every row of the project: users.get fell to
-- 90/s with 10^5 users. An index on (owner, project) answers both conditions in one scan
-- whatever the statistics say, and still serves the owner-only lookups (cascades, counts).
-- Sessions were indexed (project, owner), which the ON DELETE CASCADE of a user or member
-- (owner only) cannot use: deleting one user read every session of the server.
DROP INDEX user_emails_user;
CREATE INDEX user_emails_user ON user_emails (user_id, project_id);
DROP INDEX user_phone_numbers_user;
CREATE INDEX user_phone_numbers_user ON user_phone_numbers (user_id, project_id);
DROP INDEX webauthn_registrations_user;
CREATE INDEX webauthn_registrations_user ON webauthn_registrations (user_id, project_id);
DROP INDEX biometric_registrations_user;
CREATE INDEX biometric_registrations_user ON biometric_registrations (user_id, project_id);
DROP INDEX totps_user;
CREATE INDEX totps_user ON totps (user_id, project_id);
DROP INDEX crypto_wallets_user;
CREATE INDEX crypto_wallets_user ON crypto_wallets (user_id, project_id);
DROP INDEX oauth_registrations_user;
CREATE INDEX oauth_registrations_user ON oauth_registrations (user_id, project_id);
CREATE INDEX user_roles_user ON user_roles (user_id, project_id);
DROP INDEX member_totps_member;
CREATE INDEX member_totps_member ON member_totps (member_id, project_id);
DROP INDEX sessions_user;
CREATE INDEX sessions_user ON sessions (user_id, project_id);
DROP INDEX member_sessions_member;
CREATE INDEX member_sessions_member ON member_sessions (member_id, project_id);
