-- Stytch names an OAuth registration `oauth-user-<env>-<uuid>` (user objects' `providers[]`
-- carry `oauth-user-test-…`); Latchkey minted `oauth-user-registration-<env>-<uuid>` before,
-- which its own parser now refuses. The environment and the UUID stay as they were.
UPDATE oauth_registrations
SET oauth_user_registration_id = 'oauth-user-' || substr(oauth_user_registration_id, 25)
WHERE oauth_user_registration_id LIKE 'oauth-user-registration-%';
