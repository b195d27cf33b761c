-- A project's own wording of its messages (login, signup, invite, otp, reset_password), over
-- Latchkey's defaults. Placeholders are filled in when a message is queued (core
-- `delivery::Template`).
CREATE TABLE message_templates (
    project_id TEXT NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL
        CHECK (kind IN ('login', 'signup', 'invite', 'otp', 'reset_password')),
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, kind)
);
