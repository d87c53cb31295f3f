-- Accounts for the web UI, server secrets, and the indexes the issue list sorts and filters by.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT NOT NULL,          -- argon2id, PHC string
    is_admin        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

-- Server-wide values generated on first start (the session cookie key).
CREATE TABLE secrets (
    name    TEXT PRIMARY KEY,
    value   BLOB NOT NULL
) WITHOUT ROWID;

-- Each ends with the id, the lists' tiebreak: pages deep in a list are read off the index.
CREATE INDEX issues_project_status_last_seen ON issues(project_id, status, last_seen DESC, id DESC);
CREATE INDEX issues_project_first_seen ON issues(project_id, first_seen DESC, id DESC);
CREATE INDEX issues_project_times_seen ON issues(project_id, times_seen DESC, id DESC);
