-- Refresh tokens of the password grant. Only a SHA-256 of each token is kept. Each use replaces
-- the token with a new one of the same family; presenting a replaced token again means it was
-- stolen, and the whole family is revoked.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES apps (client_id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    scope       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE INDEX apps_by_tenant ON apps (tenant_id);
CREATE INDEX users_by_tenant ON users (tenant_id);
