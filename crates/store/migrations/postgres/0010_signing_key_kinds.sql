-- Consumer and B2B sessions are signed by keys of their own (issue 20), published at their own
-- JWKS URLs, so that each official SDK accepts only its own kind's JWTs. Every key so far signed
-- consumer sessions (and B2B ones with them); a project's first B2B key is made when first
-- needed.
ALTER TABLE signing_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'consumer'
    CHECK (kind IN ('consumer', 'b2b'));
