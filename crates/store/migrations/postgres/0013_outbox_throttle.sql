-- Verification emails are throttled per address and per user by counting the outbox
-- (docs/security.md), so each message names the user it was sent for; earlier messages name
-- none and count per address only. The outbox and expired verification codes are pruned past
-- a retention as new messages are queued: these indexes find both counts and the old rows.
ALTER TABLE outbox ADD COLUMN user_id TEXT;
CREATE INDEX outbox_project_recipient ON outbox (project_id, recipient, created_at);
CREATE INDEX outbox_project_user ON outbox (project_id, user_id, created_at);
CREATE INDEX email_verification_codes_project_expires
    ON email_verification_codes (project_id, expires_at);
