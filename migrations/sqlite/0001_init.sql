-- Snag's first schema. Ids are integers, times are unix milliseconds (portable to PostgreSQL).

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE project_keys (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    public_key  TEXT NOT NULL UNIQUE,
    secret_key  TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);
CREATE INDEX project_keys_project ON project_keys(project_id);

CREATE TABLE issues (
    id                  INTEGER PRIMARY KEY,
    project_id          INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    short_id            INTEGER NOT NULL,
    primary_hash        TEXT NOT NULL,
    title               TEXT NOT NULL,
    culprit             TEXT NOT NULL,
    type                TEXT NOT NULL,          -- 'error' or 'default' (message)
    level               TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'unresolved',  -- unresolved | resolved | ignored
    substatus           TEXT NOT NULL DEFAULT 'new',         -- new | ongoing | regressed | ...
    first_seen          INTEGER NOT NULL,
    last_seen           INTEGER NOT NULL,
    times_seen          INTEGER NOT NULL DEFAULT 0,
    users_seen          INTEGER NOT NULL DEFAULT 0,
    first_release       TEXT,
    last_release        TEXT,
    resolved_in_release TEXT,
    metadata            TEXT NOT NULL DEFAULT '{}',  -- JSON: type, value, filename, function
    UNIQUE (project_id, short_id)
);
CREATE INDEX issues_project_last_seen ON issues(project_id, last_seen DESC);

-- Every grouping hash that maps to an issue (app and system variants, later merges).
CREATE TABLE issue_hashes (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    hash        TEXT NOT NULL,
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, hash)
);
CREATE INDEX issue_hashes_issue ON issue_hashes(issue_id);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,          -- 32 lowercase hex
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    timestamp   INTEGER NOT NULL,
    received    INTEGER NOT NULL,
    level       TEXT NOT NULL,
    platform    TEXT NOT NULL,
    release     TEXT,
    environment TEXT,
    user_key    TEXT,
    title       TEXT NOT NULL,
    data        BLOB NOT NULL,          -- the normalized event, JSON compressed with zstd
    UNIQUE (project_id, event_id)
);
CREATE INDEX events_issue_timestamp ON events(issue_id, timestamp DESC);

-- Events per issue and minute, written in the event's transaction (rates, spikes, charts).
CREATE TABLE issue_minutes (
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    minute      INTEGER NOT NULL,       -- unix minutes
    count       INTEGER NOT NULL,
    PRIMARY KEY (issue_id, minute)
) WITHOUT ROWID;

CREATE TABLE issue_tags (
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (issue_id, key, value)
) WITHOUT ROWID;

CREATE TABLE issue_users (
    issue_id    INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    user_key    TEXT NOT NULL,
    PRIMARY KEY (issue_id, user_key)
) WITHOUT ROWID;

-- users_seen counts issue_users; an INSERT … ON CONFLICT DO NOTHING fires this only for new users.
CREATE TRIGGER issue_users_count AFTER INSERT ON issue_users BEGIN
    UPDATE issues SET users_seen = users_seen + 1 WHERE id = NEW.issue_id;
END;

-- Attachments arrive with, before or without their event: linked by event_id, not by row.
CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    filename        TEXT NOT NULL,
    content_type    TEXT,
    attachment_type TEXT NOT NULL,
    size            INTEGER NOT NULL,
    data            BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX attachments_event ON attachments(project_id, event_id);

-- Legacy `user_report` items and `feedback` items (user feedback, optionally about an event).
CREATE TABLE user_reports (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event_id    TEXT,                   -- the event the feedback is about, when known
    name        TEXT,
    email       TEXT,
    comments    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX user_reports_event ON user_reports(project_id, event_id);
