-- Bearer tokens of the REST API (/api/0/): only a hash is kept; scopes as Sentry names them.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,       -- BLAKE2b-512 hex of the token
    scopes      TEXT NOT NULL,              -- space-separated, e.g. "project:read event:write"
    created_at  INTEGER NOT NULL,
    last_used   INTEGER,
    revoked     INTEGER NOT NULL DEFAULT 0
);
