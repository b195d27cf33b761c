-- TOTP registrations gain their secret (sealed with the server's vault key, never plaintext),
-- the last step accepted (a code is accepted once: only a later step passes), the expiry of a
-- registration not yet verified, and the digests of its recovery codes (a JSON array of hex
-- HMAC-SHA256 digests; a used code leaves the array).
ALTER TABLE totps ADD COLUMN secret_sealed BYTEA;
ALTER TABLE totps ADD COLUMN last_step BIGINT;
ALTER TABLE totps ADD COLUMN expires_at BIGINT;
ALTER TABLE totps ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';

-- Server-wide values, e.g. the vault's check value that tells at start-up whether the
-- configured key is the one this database's secrets were sealed with.
CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
