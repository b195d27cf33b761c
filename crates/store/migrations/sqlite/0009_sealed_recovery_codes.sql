-- Stytch shows a user's or member's recovery codes again (issue 20): each registration keeps its
-- codes sealed by the vault (AES-256-GCM, bound to project and registration), beside the digests
-- that a login checks and uses up in constant time. Registrations written before this keep
-- NULL: their codes were never kept, and cannot be shown.
ALTER TABLE totps ADD COLUMN recovery_codes_sealed BLOB;
ALTER TABLE member_totps ADD COLUMN recovery_codes_sealed BLOB;
