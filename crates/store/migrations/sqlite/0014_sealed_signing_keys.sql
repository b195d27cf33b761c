-- JWT signing keys' private halves are sealed with the vault (issue 20), like TOTP secrets: the
-- column holds the sealed value. Keys stored before hold their DER until `latchkey serve`
-- seals them at start. A retired key signs nothing from `retired_at` on, and stays published
-- until the JWTs it signed have expired.
ALTER TABLE signing_keys RENAME COLUMN private_der TO private_key;
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
