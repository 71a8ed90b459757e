-- Reviewers' sessions in the console. Only a SHA-256 of each session id is kept, so a copy of the
-- database opens no session. Each session has its own CSRF token for the console's forms.
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
